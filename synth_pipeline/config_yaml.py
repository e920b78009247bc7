"""The strict YAML reader shared by policy and spec files.

``yaml.safe_load`` trusts its input in ways a settings file must not:

- anchors and aliases (``&a`` / ``*a``) let a few hundred bytes expand to gigabytes (the
  "billion laughs"); they are refused, as are merge keys (``<<``) and explicit tags other
  than the core ones (``!!binary``, ``!!set``, ...);
- a repeated key silently replaces the earlier value (``max_depth: 3`` then
  ``max_depth: 100`` loosens the limit); it is refused, naming both lines, at any level;
- deep nesting and very long values cost time and end up in messages; both are capped;
- YAML 1.1 reads ``1e-3`` as text, ``010`` as 8 and ``1:30`` as 90. Here ``1e-3`` is a
  number (as in YAML 1.2), a leading zero is refused and ``1:30`` stays text.
  ``yes``/``no``/``on``/``off`` stay booleans, so a strict model can reject them where a
  number or text is expected; the words are kept for the message.

Errors are :class:`~synth_pipeline.errors.ConfigFileError` naming the file, the line and
column, the problem and the fix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.events import AliasEvent, CollectionStartEvent, ScalarEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from synth_pipeline.config_text import cut, read_config_text
from synth_pipeline.errors import ConfigFileError

MAX_NESTING = 20
"""Deepest nesting of mappings and lists (a spec uses 3 levels)."""

MAX_SCALAR_CHARS = 4_096
"""Longest single value or key, in characters (the longest path most systems accept)."""

MAX_INT_DIGITS = 30
"""Longest integer, in digits; every bounded setting is far shorter."""

KeyPath = tuple[str | int, ...]
"""Where a value sits: keys and list indices from the top, as in pydantic's error ``loc``."""

_TAG = "tag:yaml.org,2002:"
# Explicit tags: !!str (to make a value text) and the harmless !!map / !!seq. An explicit
# !!int, !!float or !!bool would bypass the patterns below and reach constructors that fail
# on text they do not expect.
_ALLOWED_TAGS = {f"{_TAG}{name}" for name in ("str", "map", "seq")}
_KINDS = {f"{_TAG}bool": "a boolean", f"{_TAG}int": "a number", f"{_TAG}float": "a number",
          f"{_TAG}null": "null"}
_FIX_SYNTAX = (
    "fix the syntax: one 'field: value' per line, nested fields indented under their parent, "
    "lists in [...] or as '- item' lines"
)


class _Refused(yaml.MarkedYAMLError):
    """Valid YAML that a settings file may not use; ``note`` holds the fix."""

    def __init__(self, problem: str, mark: yaml.Mark | None, fix: str) -> None:
        super().__init__(problem=problem, problem_mark=mark, note=fix)


class StrictYamlLoader(yaml.SafeLoader):
    """A ``SafeLoader`` that refuses anchors, aliases, exotic tags, deep nesting and long values.

    Duplicate and non-text keys are refused by :func:`load_yaml_config`, which walks the
    composed node tree (it knows the line of every key) before anything is constructed.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._nesting = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        """PyYAML's hook per node: refuse what a settings file may not use before composing it."""
        event = self.peek_event()
        if isinstance(event, AliasEvent) or event.anchor is not None:
            sign = "*" if isinstance(event, AliasEvent) else "&"
            raise _Refused(
                f"YAML anchors and aliases ({sign}{cut(str(event.anchor), 40)}) are not allowed: they let a small "
                "file expand to gigabytes",
                event.start_mark, "write each value out in full",
            )
        tag = getattr(event, "tag", None)
        if tag not in (None, "!") and tag not in _ALLOWED_TAGS:
            raise _Refused(f"the YAML tag {cut(tag.replace(_TAG, '!!'), 60)} is not allowed", event.start_mark,
                           "remove it and write a plain value, list or mapping")
        if isinstance(event, ScalarEvent) and len(event.value) > MAX_SCALAR_CHARS:
            raise _Refused(
                f"a value or key of {len(event.value):,} characters is over the limit of {MAX_SCALAR_CHARS:,}",
                event.start_mark, "no setting needs text this long: shorten it",
            )
        if not isinstance(event, CollectionStartEvent):
            return super().compose_node(parent, index)
        if self._nesting >= MAX_NESTING:
            raise _Refused(f"lists and mappings are nested more than {MAX_NESTING} levels deep (the limit)",
                           event.start_mark, "no setting is nested this deep: flatten the value")
        self._nesting += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._nesting -= 1

    def get_single_node(self) -> Node | None:
        """PyYAML's hook for the whole stream: one document, or a refusal naming the second."""
        self.get_event()  # stream start
        document = None if self.check_event(yaml.StreamEndEvent) else self.compose_document()
        if not self.check_event(yaml.StreamEndEvent):
            raise _Refused("a second YAML document starts here (after a '---' line)", self.peek_event().start_mark,
                           "a settings file holds one document: remove the '---' line and what follows it")
        self.get_event()
        return document

    def construct_yaml_int(self, node: ScalarNode) -> int:
        """PyYAML's hook for integers: bounded length, no YAML 1.1 octal from a leading zero."""
        text = node.value.replace("_", "")
        digits = text.lstrip("+-")
        if len(digits) > MAX_INT_DIGITS:
            raise _Refused(f"an integer of {len(digits):,} digits is over the limit of {MAX_INT_DIGITS}",
                           node.start_mark, "every setting is a far smaller number: fix the value")
        if len(digits) > 1 and digits[0] == "0" and digits[1].isdigit():
            raise _Refused(
                f"the number {text} has a leading zero, which YAML 1.1 reads as octal ({text} would be "
                f"{int(text, 8) if set(digits) <= set('01234567') else 'invalid'})",
                node.start_mark, f"write {int(text, 10)} (or 0o{digits.lstrip('0')} if you meant octal)",
            )
        return int(text, 0)


def _strict_resolvers() -> dict[str | None, list[tuple[str, re.Pattern[str]]]]:
    """SafeLoader's implicit resolvers with YAML 1.2 numbers and no timestamps."""
    replaced = {f"{_TAG}int", f"{_TAG}float", f"{_TAG}timestamp"}
    return {
        first: [(tag, regexp) for tag, regexp in resolvers if tag not in replaced]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


StrictYamlLoader.yaml_implicit_resolvers = _strict_resolvers()
# Integers before floats: the resolver takes the first pattern that matches.
StrictYamlLoader.add_implicit_resolver(
    f"{_TAG}int",
    re.compile(r"^[-+]?(?:0b[01][01_]*|0o[0-7][0-7_]*|0x[0-9a-fA-F][0-9a-fA-F_]*|[0-9][0-9_]*)$"),
    list("-+0123456789"),
)
StrictYamlLoader.add_implicit_resolver(
    f"{_TAG}float",
    re.compile(r"""^(?:[-+]?(?:\.[0-9][0-9_]*|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?
                    |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."),
)
StrictYamlLoader.add_constructor(f"{_TAG}int", StrictYamlLoader.construct_yaml_int)


@dataclass(frozen=True)
class YamlConfig:
    """A settings file's mapping, with where each value was written.

    Attributes:
        values: The top-level mapping (empty for an empty file).
        lines: The 1-based line of every key and list item, by path.
        booleans: The words YAML read as booleans (``yes``, ``off``, ...), by path, so a
            message can show what was written.
    """

    values: dict[str, Any]
    lines: Mapping[KeyPath, int] = field(default_factory=dict)
    booleans: Mapping[KeyPath, str] = field(default_factory=dict)

    def line_of(self, path: KeyPath) -> int | None:
        """The line of ``path``, or of its nearest written ancestor (a missing field: its parent)."""
        for end in range(len(path), 0, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None


def _index(node: Node, path: KeyPath, lines: dict[KeyPath, int], booleans: dict[KeyPath, str]) -> None:
    """Record lines and boolean words under ``node``; refuse duplicate, non-text and merge keys."""
    if isinstance(node, MappingNode):
        first_seen: dict[str, yaml.Mark] = {}
        for key_node, value_node in node.value:
            mark = key_node.start_mark
            if key_node.tag == f"{_TAG}merge":
                raise _Refused("merge keys (<<) are not allowed", key_node.start_mark, "write the fields out in full")
            if not isinstance(key_node, ScalarNode):
                raise _Refused("a list or mapping used as a key", key_node.start_mark, "field names are text")
            if key_node.tag != f"{_TAG}str":
                raise _Refused(
                    f"the key {cut(key_node.value, 40)} is not a field name (YAML reads it as "
                    f"{_KINDS.get(key_node.tag, 'a value that is not text')})",
                    key_node.start_mark, "field names are text: quote the key if it is one",
                )
            key = key_node.value
            dotted = ".".join(str(part) for part in (*path, key))
            if key in first_seen:
                first = first_seen[key]
                places = (f"at lines {first.line + 1} and {mark.line + 1}" if first.line != mark.line else
                          f"on line {mark.line + 1} (columns {first.column + 1} and {mark.column + 1})")
                raise _Refused(
                    f"the key {cut(dotted, 100)!r} is given twice, {places} (YAML would silently keep the second "
                    "value)", mark, "keep one of the two",
                )
            first_seen[key] = mark
            lines[(*path, key)] = mark.line + 1
            _index(value_node, (*path, key), lines, booleans)
    elif isinstance(node, SequenceNode):
        for position, item in enumerate(node.value):
            lines[(*path, position)] = item.start_mark.line + 1
            _index(item, (*path, position), lines, booleans)
    elif node.tag == f"{_TAG}bool":
        booleans[path] = node.value


def _where(mark: yaml.Mark | None) -> str:
    return f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


def load_yaml_config(text: str, *, source: str) -> YamlConfig:
    """Parse a settings file's text strictly into a top-level mapping.

    Args:
        text: The file's content.
        source: What and where the file is, for messages (e.g. ``policy file /x/policy.yaml``).

    Returns:
        The mapping with the lines of its keys.

    Raises:
        ConfigFileError: The text is not valid YAML (the message gives line and column), uses
            a refused feature (anchors, aliases, merge keys, exotic tags, duplicate or non-text
            keys, a second document, deep nesting, overlong values, numbers with a leading
            zero), or does not hold a mapping.
    """
    loader = None
    try:
        loader = StrictYamlLoader(text)  # checks the characters: may raise ReaderError
        node = loader.get_single_node()
        lines: dict[KeyPath, int] = {}
        booleans: dict[KeyPath, str] = {}
        if node is not None:
            _index(node, (), lines, booleans)
        values = loader.construct_document(node) if node is not None else None
    except _Refused as error:
        raise ConfigFileError(f"{source}{_where(error.problem_mark)}: {error.problem}; {error.note}") from None
    except yaml.reader.ReaderError as error:
        line = text.count("\n", 0, error.position) + 1
        raise ConfigFileError(
            f"{source} is not valid YAML (character U+{error.character:04X} at line {line} is not allowed: "
            "control characters cannot appear in YAML); remove it"
            if isinstance(error.character, int) else f"{source} is not valid YAML ({cut(str(error), 200)})"
        ) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ConfigFileError(f"{source} is not valid YAML ({cut(problem, 200)}{where}); {_FIX_SYNTAX}") from None
    finally:
        if loader is not None:
            loader.dispose()
    if values is None:
        return YamlConfig({})
    if not isinstance(values, dict):
        raise ConfigFileError(
            f"{source} must hold a mapping of field: value (one per line), not a {type(values).__name__}"
        )
    return YamlConfig(values, lines, booleans)


def read_yaml_config(path: str | Path, *, what: str) -> YamlConfig:
    """Read a settings file (size-capped, UTF-8) and parse it with :func:`load_yaml_config`.

    Args:
        path: The file.
        what: What the file is, for messages (e.g. ``policy file``).

    Returns:
        The file's top-level mapping with the lines of its keys.

    Raises:
        ConfigFileError: The file is missing, unreadable, too large or not UTF-8, or its
            content is refused by :func:`load_yaml_config`.
    """
    return load_yaml_config(read_config_text(path, what=what), source=f"{what} {path}")

"""Command-line argument checks: numeric ranges, path arguments, and argparse errors that cut what they echo.

The argparse types here fail as argparse errors (exit code 2) naming the option, the value
given (cut, see :func:`~synth_pipeline.user_input.cut`) and what is allowed, before any
command runs or anything is written. :func:`existing_directory` is called by the commands
that must not create a directory; it raises ``SynthPipelineError``, which ``main`` turns
into exit code 2 as well.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from synth_pipeline.errors import SynthPipelineError
from synth_pipeline.user_input import cut, cut_echoes, quoted

MAX_GENERATION = 1_000_000
"""The highest generation number the command line accepts (the lineage store holds 32-bit generations)."""

MAX_GENERATIONS_PER_RUN = 1_000
"""The most generations one ``synth-pipeline run`` may run (each is a Dagster run of a minute or more)."""

MAX_EPOCHS = 100_000
"""The most training epochs for ctgan / tvae."""

_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")
_PATH_MAX = 4096  # Linux's PATH_MAX, in bytes
_NAME_MAX = 255  # the longest file name on common file systems, in bytes


def int_range(minimum: int, maximum: int | None = None, *, meaning: str = "") -> Callable[[str], int]:
    """An argparse ``type`` accepting whole numbers from ``minimum`` to ``maximum`` (no upper bound if None).

    Args:
        minimum: The smallest value allowed.
        maximum: The largest value allowed, if any.
        meaning: Said after the range, e.g. ``"(0: only the dataset itself)"``.

    Returns:
        The converter; it raises ``argparse.ArgumentTypeError``, which argparse reports as
        ``argument --option: ...`` with exit code 2.
    """
    allowed = f"a whole number from {minimum:,} to {maximum:,}" if maximum is not None else (
        f"a whole number of at least {minimum:,}")
    allowed += f" {meaning}" if meaning else ""

    def convert(text: str) -> int:
        digits = text.strip()
        if not _WHOLE_NUMBER.fullmatch(digits):
            raise argparse.ArgumentTypeError(f"{quoted(text)} is not a whole number; allowed: {allowed}")
        # More digits than int() converts (4,300) is out of range anyway, whatever the range.
        value = int(digits) if len(digits) <= 100 else (-1 if digits.startswith("-") else 1) * 10**100
        if value < minimum or (maximum is not None and value > maximum):
            raise argparse.ArgumentTypeError(f"{cut(digits)} is out of range; allowed: {allowed}")
        return value

    return convert


def path_argument(text: str) -> str:
    """An argparse ``type`` for a file or directory path: non-empty and short enough to name a file.

    Whether the file exists is left to the command (some create it); a path no file system
    can hold is refused here, so it is never echoed whole by a later error.
    """
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path names no file")
    encoded = os.fsencode(text)
    longest = max((len(part) for part in encoded.split(b"/")), default=0)
    if len(encoded) > _PATH_MAX or longest > _NAME_MAX:
        raise argparse.ArgumentTypeError(
            f"path {quoted(text)} is too long: paths may have at most {_PATH_MAX:,} bytes and "
            f"{_NAME_MAX} bytes per file name"
        )
    return text


def existing_directory(option: str, value: str | None, *, environment: str | None = None) -> Path | None:
    """``value`` as an absolute path, if it names an existing directory (None if not given).

    For the read-only commands, which must not create an empty data directory on a typo.

    Args:
        option: The option the value came from, e.g. ``"--data-dir"``.
        value: The value given (None: not given).
        environment: The environment variable the value came from, if it came from one.

    Raises:
        SynthPipelineError: The directory does not exist or is a file.
    """
    if value is None:
        return None
    path = Path(value).expanduser().absolute()
    if not path.is_dir():
        source = f"${environment}" if environment else option
        state = "is not a directory" if path.exists() else "does not exist"
        raise SynthPipelineError(f"{source} {cut(str(path))} {state}; pass the data directory of your runs "
                                 f"(only `synth-pipeline run` creates one)")
    return path


class CliArgumentParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose error messages cut every long argument they repeat.

    argparse echoes values whole ("invalid choice: '...'", "unrecognized arguments: ...");
    this parser records the arguments it parses and cuts any of them found in its message.
    Subparsers made by :meth:`add_subparsers` are of this class too.
    """

    _arguments: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # No abbreviations: `run --generation 99` (the option of `report` and `lineage`) would
        # otherwise be taken as `--generations 99` and run 99 generations.
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def parse_known_args(self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None):
        self._arguments = tuple(str(arg) for arg in (sys.argv[1:] if args is None else args))
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        super().error(cut_echoes(message, self._arguments))

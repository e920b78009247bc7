"""Resolving ``synthesizer.method`` to a generator: a built-in name or ``module:function``.

Built-in names (:data:`BUILTIN_GENERATORS`) map to factories in this package, imported
only when a stage builds its generator. Any other method is a reference
``package.module:factory`` (or ``package.module:Class``) to the user's own code: it is
imported as a module of the user's project (:func:`synth_pipeline.user_modules.import_user_module`),
called with the spec's ``synthesizer.params`` as keyword arguments, and must return an
object following :class:`~synth_pipeline.generators.protocol.Generator`.

Example spec (YAML)::

    synthesizer:
      method: mypkg.generators:make_bootstrap   # def make_bootstrap(noise: float = 0.0) -> Generator
      params: {noise: 0.05}

A generator declares which of its params are file paths (:func:`path_params`): a built-in in its
:class:`Builtin` entry (``file``: ``path``), a factory of your own by annotating the parameter
``pathlib.Path`` (or ``os.PathLike``). Where the spec has a folder of its own (a
``SynthPipelineComponent``'s), relative ones are taken from it (:func:`anchor_path_params`).
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
import re
import types
import typing
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from synth_pipeline.errors import GeneratorSpecError, SynthPipelineError
from synth_pipeline.generators.protocol import Generator
from synth_pipeline.user_input import quoted, unknown_name

REFERENCE = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")
"""A user generator: ``package.module:attribute`` (dotted attribute paths allowed)."""

_FIELD = "synthesizer.method"


@dataclass(frozen=True)
class Builtin:
    """A generator shipped with synth-pipeline.

    Attributes:
        module: The module holding its factory (imported only when the generator is built).
        factory: The factory's name: ``factory(method, params, log) -> Generator``.
        extra: The optional extra its library comes with (None: a core dependency).
        summary: One line for messages and docs.
        path_params: Its params that name files (taken from a component's folder when relative).
    """

    module: str
    factory: str
    extra: str | None
    summary: str
    path_params: tuple[str, ...] = ()


BUILTIN_GENERATORS: dict[str, Builtin] = {
    "gaussian_copula": Builtin("synth_pipeline.generators.sdv", "make_sdv_generator", None,
                               "SDV GaussianCopulaSynthesizer"),
    "ctgan": Builtin("synth_pipeline.generators.sdv", "make_sdv_generator", None, "SDV CTGANSynthesizer"),
    "tvae": Builtin("synth_pipeline.generators.sdv", "make_sdv_generator", None, "SDV TVAESynthesizer"),
    "dp_privbayes": Builtin("synth_pipeline.generators.dp", "make_privbayes_generator", "dp",
                            "PrivBayes, epsilon-differentially private (DataSynthesizer)"),
    "mostlyai": Builtin("synth_pipeline.generators.mostlyai", "make_mostlyai_generator", "mostlyai",
                        "MOSTLY AI's TabularARGN engine, on CPU"),
    "file": Builtin("synth_pipeline.generators.external", "make_file_generator", None,
                    "rows made elsewhere, read from a CSV, Parquet or JSON Lines file", path_params=("path",)),
    "word_markov": Builtin("synth_pipeline.generators.markov", "make_word_markov_generator", None,
                           "free text: class-conditional word n-gram Markov chains (collapses refitted on itself)"),
    "openai_chat": Builtin("synth_pipeline.generators.chat", "make_chat_generator", "llm",
                           "rows from an LLM behind an OpenAI-compatible chat-completions endpoint"),
}
"""Built-in generators by ``synthesizer.method`` name."""


def known_methods() -> list[str]:
    """The built-in ``synthesizer.method`` names, in documentation order."""
    return list(BUILTIN_GENERATORS)


def is_reference(method: str) -> bool:
    """Whether ``method`` has the form of a user generator reference, ``package.module:factory``."""
    return REFERENCE.fullmatch(method) is not None


def method_problem(method: object) -> str | None:
    """Why ``method`` is not a valid ``synthesizer.method``, or None when it is one.

    Only the form is checked here (at spec load): a reference is imported when the stage runs.
    """
    if isinstance(method, str) and (method in BUILTIN_GENERATORS or is_reference(method)):
        return None
    names = [quoted(name) for name in BUILTIN_GENERATORS]
    return (f"Input should be {', '.join(names[:-1])} or {names[-1]}, or 'package.module:factory' naming a "
            "generator factory of your own")


def path_params(method: str, params: Collection[str] = ()) -> tuple[str, ...]:
    """The params of generator ``method`` that name files, as the generator declares them.

    A built-in declares them in its :class:`Builtin` entry. A factory of your own
    (``package.module:factory``) declares a parameter a path by annotating it ``pathlib.Path``,
    ``os.PathLike`` or a union holding one (e.g. ``Path | None``); its module is imported only
    when one of ``params`` could be such a parameter.

    Args:
        method: A built-in name or ``package.module:factory``.
        params: The params given (for a factory of your own, only these are looked at).

    Raises:
        GeneratorSpecError: ``method`` is a reference whose module or factory cannot be imported.
    """
    builtin = BUILTIN_GENERATORS.get(method)
    if builtin is not None:
        return builtin.path_params
    if not is_reference(method) or not params:
        return ()
    factory = _import_factory(method)
    target = factory.__init__ if inspect.isclass(factory) else factory
    try:
        hints = typing.get_type_hints(target)
    except Exception:  # unresolvable annotations (a name only imported under TYPE_CHECKING): none declared
        hints = {}
    return tuple(name for name in params if name in hints and _is_path_type(hints[name]))


def _is_path_type(hint: Any) -> bool:
    """Whether an annotation is a path type, or a union holding one."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return any(_is_path_type(member) for member in typing.get_args(hint))
    origin = typing.get_origin(hint) or hint
    return isinstance(origin, type) and issubclass(origin, (PurePath, os.PathLike))


def anchor_path_params(method: str, params: dict[str, Any], folder: Path) -> dict[str, Any]:
    """``params`` with each relative path the generator declares (:func:`path_params`) taken from ``folder``.

    Absolute paths, ``~/...`` and object-storage URLs (``s3://...``) are kept as given.
    """
    from synth_pipeline.object_storage import is_url

    anchored = dict(params)
    candidates = [name for name, value in params.items() if isinstance(value, str) and value.strip()]
    for name in path_params(method, candidates):
        value = params[name]
        if not (is_url(value) or Path(value).expanduser().is_absolute() or value.startswith("~")):
            anchored[name] = str(folder / value)
    return anchored


def resolve_generator(
    method: str, params: dict[str, Any], *, log: logging.Logger | Any | None = None, label_is_class: bool = True,
    open_columns: Collection[str] = (), text_columns: Collection[str] | None = None,
    categorical_columns: Collection[str] = (),
) -> Generator:
    """Build the generator ``synthesizer.method`` names, with ``synthesizer.params``.

    Args:
        method: A built-in name (:data:`BUILTIN_GENERATORS`) or ``package.module:factory``.
        params: The spec's ``synthesizer.params``; keyword arguments of a user factory.
        log: Where built-in generators report progress (a Dagster or stdlib logger).
        label_is_class: False for a regression label (:mod:`synth_pipeline.task`); a generator
            with a ``label_is_class`` attribute (the SDV ones) is told, so it models the label
            as a number rather than as a category.
        open_columns: The spec's ``synthesizer.open_categories``; a generator with an
            ``open_columns`` attribute (the SDV ones) is told, so it lets SDV make up values
            for those columns only (:mod:`synth_pipeline.synthesizers`).
        text_columns: The free-text columns of the fit input; a generator with a
            ``text_columns`` attribute (the text generators, ``word_markov`` and ``openai_chat``)
            is told, so it writes text exactly where the pipeline's checks expect it (``[]``: none);
            None (outside a pipeline): it detects them itself.
        categorical_columns: Numeric columns that hold categories (flags, codes;
            :mod:`synth_pipeline.categorical_columns`); a generator with a ``categorical_columns``
            attribute (the SDV ones) is told, so it models them as categories, as the checks measure them.

    Returns:
        A generator, not yet fitted.

    Raises:
        GeneratorSpecError: ``method`` is neither a built-in name nor a reference; the module
            or attribute it names does not exist or fails to import; the params do not fit
            the factory's signature; the factory raised; or what it returned lacks the
            protocol's ``fit``, ``sample`` or ``info``. Each message names the spec field and the fix.
        MissingExtraError: A built-in generator's optional library is not installed
            (raised when it is fitted, naming the extra).
    """
    problem = method_problem(method)
    if problem is not None:
        raise GeneratorSpecError(f"{_FIELD}: {problem} (got {quoted(method)})")
    builtin = BUILTIN_GENERATORS.get(method)
    if builtin is not None:
        factory = getattr(importlib.import_module(builtin.module), builtin.factory)
        generator = factory(method, dict(params), log)
    else:
        generator = _user_generator(method, params)
    if hasattr(generator, "label_is_class"):
        generator.label_is_class = label_is_class
    if hasattr(generator, "open_columns"):
        generator.open_columns = tuple(open_columns)
    if hasattr(generator, "text_columns") and text_columns is not None:
        generator.text_columns = tuple(text_columns)
    if hasattr(generator, "categorical_columns"):
        generator.categorical_columns = tuple(categorical_columns)
    return generator


def _user_generator(reference: str, params: dict[str, Any]) -> Generator:
    factory = _import_factory(reference)
    try:
        inspect.signature(factory).bind(**params)
    except TypeError as error:
        raise GeneratorSpecError(
            f"synthesizer.params {sorted(params)} do not fit {reference}{_signature(factory)} ({error}): "
            "fix synthesizer.params in the spec, or the factory's parameters"
        ) from None
    except ValueError:  # no signature to inspect (a builtin): let the call decide
        pass
    try:
        generator = factory(**params)
    except SynthPipelineError:
        raise
    except Exception as error:
        raise GeneratorSpecError(
            f"the generator factory {reference} (synthesizer.method) raised {type(error).__name__}: {error}; "
            "fix the factory or synthesizer.params"
        ) from error
    missing = protocol_gaps(generator)
    if missing:
        raise GeneratorSpecError(
            f"{reference} (synthesizer.method) returned a {type(generator).__name__}, not a generator: it lacks "
            f"{', '.join(missing)}. A generator has fit(frame, *, label_column, seed), sample(num_rows, *, seed) "
            "and info() -> GeneratorInfo (synth_pipeline.generators.Generator): make the factory return one"
        )
    return generator


def protocol_gaps(candidate: object) -> list[str]:
    """The protocol methods ``candidate`` lacks (or has as non-callables); empty for a generator."""
    return [f"{name}()" for name in ("fit", "sample", "info") if not callable(getattr(candidate, name, None))]


def _import_factory(reference: str) -> Callable[..., Any]:
    from synth_pipeline.user_modules import import_user_module

    module_name, _, attribute = reference.partition(":")
    try:
        module = import_user_module(module_name)
    except SynthPipelineError as error:
        raise GeneratorSpecError(
            f"synthesizer.method {quoted(reference)}: {error}. Fix synthesizer.method: "
            "'package.module:factory' of an importable module (run from the project directory)"
        ) from None
    target: Any = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            callables = sorted(name for name, value in vars(module).items()
                               if callable(value) and not name.startswith("_"))
            problem = unknown_name("attribute", attribute, callables, where=f"in module {quoted(module_name)}",
                                   plural="callables")
            raise GeneratorSpecError(f"synthesizer.method {quoted(reference)}: {problem}. Fix synthesizer.method")
        target = getattr(target, part)
    if not callable(target):
        raise GeneratorSpecError(
            f"synthesizer.method {quoted(reference)} is a {type(target).__name__}, not a function or class: "
            "name a factory that returns a generator"
        )
    return target


def _signature(factory: Callable[..., Any]) -> str:
    try:
        return str(inspect.signature(factory))
    except ValueError:
        return "(...)"

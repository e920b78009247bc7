"""Optional extras: importing a library that ``pip install 'synth-pipeline[<extra>]'`` provides.

A generator backed by an optional library imports it through :func:`require_extra` when it
is fitted, never at definition load, so a pipeline that does not use it loads without it
and one that does gets a message naming the extra to install.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping
from types import ModuleType

from synth_pipeline.errors import MissingExtraError


def install_hint(extra: str) -> str:
    """The command that installs an extra, e.g. ``pip install 'synth-pipeline[dp]'``."""
    return f"pip install 'synth-pipeline[{extra}]'"


def missing_extra_error(module: str, *, extra: str, purpose: str, cause: str = "") -> MissingExtraError:
    """The error for an optional library that is not installed.

    Args:
        module: The module that could not be imported, e.g. ``DataSynthesizer``.
        extra: The synth-pipeline extra that installs it, e.g. ``dp``.
        purpose: What needs it, e.g. ``the dp_privbayes generator (synthesizer.method)``.
        cause: The import error's text, when it adds something.

    Returns:
        An error naming what needs the module, the extra and the command that installs it.
    """
    why = f" ({cause})" if cause else ""
    return MissingExtraError(
        f"{purpose} needs the Python module {module!r}, which is not installed{why}: install the optional "
        f"extra '{extra}' with `{install_hint(extra)}`, or choose another synthesizer.method"
    )


def require_extra(module: str, *, extra: str, purpose: str) -> ModuleType:
    """Import ``module`` of an optional extra, or raise :class:`MissingExtraError`.

    Raises:
        MissingExtraError: The module, or a module it imports, is not installed.
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise missing_extra_error(module, extra=extra, purpose=purpose, cause=str(error)) from error


def _installed(module_name: str) -> bool:
    """Whether ``module_name`` can be found, without importing it (its parents are imported)."""
    try:
        return importlib.util.find_spec(module_name) is not None
    except (ImportError, ValueError):  # a missing parent package, or a module with no spec
        return False


def _chain(error: BaseException) -> list[BaseException]:
    """``error`` and the exceptions it was raised from (``__cause__``, else ``__context__``), outermost first."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def import_extra(
    module_name: str, *, extra: str, purpose: str, hints: Mapping[str, str] | None = None
) -> ModuleType:
    """Import ``module_name``, the library of the optional extra ``extra``.

    Args:
        module_name: The dotted module to import (e.g. ``mostlyai.engine``).
        extra: The synth-pipeline extra that installs it (e.g. ``mostlyai``).
        purpose: What needs it, for the message (e.g. ``the MOSTLY AI generator``).
        hints: Known import failures: a text to look for in the failure (any exception
            of its chain) -> the fix to give when it is found.

    Returns:
        The imported module.

    Raises:
        MissingExtraError: The module is not installed (the message gives the
            ``pip install 'synth-pipeline[<extra>]'`` command), or it is installed but
            fails to import (the message gives the library's own error).
    """
    if not _installed(module_name):
        raise MissingExtraError(
            f"{purpose} needs {module_name}, which is not installed: install the optional extra with "
            f"{install_hint(extra)} (or choose another generator)"
        )
    try:
        return importlib.import_module(module_name)
    except Exception as error:  # an installed library that breaks on import raises anything
        chain = _chain(error)
        text = " ".join(f"{type(e).__name__}: {e}" for e in chain)
        fixes = [fix for needle, fix in (hints or {}).items() if needle in text]
        fix = "; ".join(fixes) or (
            f"reinstall the extra with {install_hint(extra)} into a fresh environment and make sure "
            "its compiled dependencies match the installed torch build")
        root = chain[-1]
        raise MissingExtraError(
            f"{purpose} needs {module_name}, which is installed but fails to import "
            f"({type(error).__name__}: {error}; first cause {type(root).__name__}: {root}): {fix}"
        ) from error

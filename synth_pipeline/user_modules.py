"""The user's code named on the command line: ``-m MODULE`` (Dagster ``defs``) and ``MODULE:OBJECT`` (a pipeline).

A module or object that does not exist is a usage error that lists the modules (or
pipeline objects) that do, with the closest match; a module that exists but fails to
import (a missing dependency of it, a syntax error) is reported as that, not as a typo.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from synth_pipeline.errors import SynthPipelineError, UnknownNameError
from synth_pipeline.user_input import listing, quoted, unknown_name

_EXAMPLE = "e.g. assets.definitions"


def _search_dirs() -> list[str]:
    """Where top-level user modules are looked for: the working directory and the import path
    outside the Python installation (``$PYTHONPATH``, the project), not the standard library
    or installed packages, whose hundreds of modules no one means to pass as ``-m``."""
    installed = tuple(str(Path(prefix).absolute()) for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix})
    project = [str(Path(entry or ".").absolute()) for entry in sys.path]
    return list(dict.fromkeys(
        entry for entry in [str(Path.cwd()), *project] if Path(entry).is_dir() and not entry.startswith(installed)
    ))


def _submodules(parent: str) -> list[str]:
    """The modules that could have been meant: those of package ``parent``, or top-level ones."""
    if parent:
        package = sys.modules.get(parent)
        paths = getattr(package, "__path__", None)
        found = pkgutil.iter_modules(paths) if paths is not None else []
        return sorted(f"{parent}.{module.name}" for module in found if not module.name.startswith("_"))
    found = pkgutil.iter_modules(_search_dirs())
    return sorted({module.name for module in found if not module.name.startswith("_")})


def import_user_module(name: str) -> ModuleType:
    """Import a module of the user's project (the working directory is put on ``sys.path``).

    Raises:
        UnknownNameError: ``name`` is not a module name, or no such module exists (the
            message lists the modules that do, with the closest match).
        SynthPipelineError: The module exists but importing it failed.
    """
    if not name or not all(part.isidentifier() for part in name.split(".")):
        hint = ""
        if name.endswith(".py") or "/" in name:
            dotted = name.removesuffix(".py").strip("/").replace("/", ".")
            hint = f" (a file path? write it as the module {quoted(dotted)})"
        raise UnknownNameError(f"{quoted(name)} is not a module name: use dotted Python names, {_EXAMPLE}{hint}")
    if not sys.path or sys.path[0] != str(Path.cwd()):
        sys.path.insert(0, str(Path.cwd()))  # the project's modules come first, as `python -m` would have it
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        missing = error.name or ""
        if not (name == missing or name.startswith(f"{missing}.")):
            # The module was found; something it imports is not installed.
            raise SynthPipelineError(f"importing module {quoted(name)} failed: {error}") from error
        parent = missing.rpartition(".")[0]
        where = (f"in package {quoted(parent)}" if parent
                 else f"in the working directory or the import path ({listing(_search_dirs(), limit=5)})")
        problem = unknown_name("module", missing, _submodules(parent), where=where)
        prefix = "" if missing == name else f"cannot import {quoted(name)}: "
        raise UnknownNameError(f"{prefix}{problem}. Run from the project directory or pass -m MODULE") from None


def load_definitions(module_name: str) -> Any:
    """The Dagster ``Definitions`` named ``defs`` in a user module.

    Raises:
        UnknownNameError: No such module, or it has no ``defs`` (the message lists the
            Definitions objects it does hold).
    """
    import dagster as dg

    module = import_user_module(module_name)
    defs = getattr(module, "defs", None)
    if not isinstance(defs, dg.Definitions):
        held = sorted(name for name, value in vars(module).items() if isinstance(value, dg.Definitions))
        raise UnknownNameError(
            f"module {quoted(module_name)} has no Dagster Definitions named `defs`; Definitions it holds: "
            f"{listing(held)}. Pass the module that defines `defs` with -m MODULE ({_EXAMPLE})"
        )
    return defs

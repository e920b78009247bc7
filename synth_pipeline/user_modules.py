"""The user's code named on the command line: ``-m MODULE`` or ``-f FILE`` (Dagster definitions) and
``MODULE:OBJECT`` (a pipeline).

A module or object that does not exist is a usage error that lists the modules (or
pipeline objects) that do, with the closest match; a module that exists but fails to
import (a missing dependency of it, a syntax error) is reported as that, not as a typo.

The definitions of a module or file are found as Dagster finds them (``dagster dev -m`` / ``-f``):
a function decorated with ``@dg.definitions`` (what ``dg`` projects hold), called; else a
``Definitions`` object at module scope (``defs``, or the only one).
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from synth_pipeline.errors import SynthPipelineError, UnknownNameError
from synth_pipeline.user_input import listing, quoted, unknown_name

_EXAMPLE = "e.g. assets.definitions"
DEFAULT_DEFINITIONS_MODULE = "assets.definitions"
"""The module the commands load when neither ``-m`` nor ``-f`` is given: the reference pipeline."""


@dataclass(frozen=True)
class DefinitionsTarget:
    """Where a command loads Dagster definitions from: a module (``-m``) or a Python file (``-f``).

    Attributes:
        module: A dotted module name, importable from the working directory or the import path.
        python_file: A Python file (kept as given; :meth:`arguments` names it absolute).
    """

    module: str | None = None
    python_file: str | None = None

    def __post_init__(self) -> None:
        if (self.module is None) == (self.python_file is None):
            raise ValueError("a DefinitionsTarget names exactly one of module and python_file")

    @classmethod
    def of(cls, module: str | None = None, python_file: str | None = None) -> DefinitionsTarget:
        """The target of ``-m`` / ``-f`` as parsed (the default module when neither is given)."""
        if python_file is not None:
            return cls(python_file=python_file)
        return cls(module=module or DEFAULT_DEFINITIONS_MODULE)

    @property
    def is_default(self) -> bool:
        """Whether this is the module the commands load without ``-m`` and ``-f``."""
        return self.module == DEFAULT_DEFINITIONS_MODULE

    def arguments(self) -> list[str]:
        """The command-line arguments naming it: ``["-m", MODULE]`` or ``["-f", FILE]`` (absolute)."""
        if self.python_file is not None:
            return ["-f", str(Path(self.python_file).expanduser().absolute())]
        return ["-m", str(self.module)]

    def describe(self) -> str:
        """``module 'x'`` or ``file 'path'``, for messages."""
        return f"module {quoted(self.module)}" if self.module is not None else f"file {quoted(self.python_file)}"


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


def import_user_file(path: str) -> ModuleType:
    """Import a Python file as Dagster's ``-f`` does: as a module named after the file, with the working
    directory on ``sys.path`` for the imports it makes.

    Raises:
        UnknownNameError: No such file, or it is not a ``.py`` file.
        SynthPipelineError: Importing it failed.
    """
    file = Path(path).expanduser().absolute()
    if not file.is_file() or file.suffix != ".py":
        found = "does not exist" if not file.exists() else "is not a .py file"
        raise UnknownNameError(f"-f {quoted(path)}: {file} {found}; give the Python file holding the Dagster "
                               f"definitions, or their module with -m MODULE ({_EXAMPLE})")
    if not sys.path or sys.path[0] != str(Path.cwd()):
        sys.path.insert(0, str(Path.cwd()))
    spec = importlib.util.spec_from_file_location(file.stem, file)
    if spec is None or spec.loader is None:
        raise UnknownNameError(f"-f {quoted(path)}: {file} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[file.stem] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        sys.modules.pop(file.stem, None)
        raise SynthPipelineError(f"importing file {quoted(str(file))} failed: {type(error).__name__}: {error}") \
            from error
    return module


def load_definitions(target: DefinitionsTarget | str) -> Any:
    """The Dagster ``Definitions`` of a user module or file (a module name stands for ``-m`` of it).

    Found as Dagster finds them: a function decorated with ``@dg.definitions`` at module scope
    (called; at most one), else ``defs`` or the only ``Definitions`` object at module scope.

    Raises:
        UnknownNameError: No such module or file, or it holds no definitions (the message lists the
            Definitions objects it does hold).
        SynthPipelineError: It holds several ``@dg.definitions`` functions, or the one it holds fails
            or needs a ``ComponentLoadContext``.
    """
    import dagster as dg
    from dagster.components.definitions import LazyDefinitions

    target = DefinitionsTarget(module=target) if isinstance(target, str) else target
    module = import_user_file(target.python_file) if target.python_file else import_user_module(str(target.module))
    where = target.describe()
    lazy = sorted(name for name, value in vars(module).items() if isinstance(value, LazyDefinitions))
    if len(lazy) > 1:
        raise SynthPipelineError(f"{where} has several functions decorated with @dg.definitions ({listing(lazy)}); "
                                 "Dagster loads one per module: keep one, or pass the module that has it")
    if lazy:
        return _called(getattr(module, lazy[0]), f"{where}: the @dg.definitions function {quoted(lazy[0])}")
    held = sorted(name for name, value in vars(module).items() if isinstance(value, dg.Definitions))
    if isinstance(getattr(module, "defs", None), dg.Definitions):
        return module.defs
    if len(held) == 1:
        return getattr(module, held[0])
    raise UnknownNameError(
        f"{where} has no Dagster Definitions named `defs` nor a function decorated with @dg.definitions; "
        f"Definitions it holds: {listing(held)}. Pass the module that defines `defs` with -m MODULE ({_EXAMPLE}) "
        "or its file with -f FILE"
    )


def _called(lazy: Any, what: str) -> Any:
    """The definitions a ``@dg.definitions`` function returns, called as Dagster calls it (no context).

    Raises:
        SynthPipelineError: It needs a ``ComponentLoadContext`` or raised.
    """
    if lazy.has_context_arg:
        raise SynthPipelineError(f"{what} takes a ComponentLoadContext, which only a defs folder loading it "
                                 "provides; give it no parameter (as `dg scaffold` projects do) to load it here")
    try:
        return lazy()
    except Exception as error:
        # Dagster wraps a component's error (a bad defs.yaml value) in its own: name ours, it says the fix.
        cause: BaseException | None = error
        while cause is not None and not isinstance(cause, SynthPipelineError):
            cause = cause.__cause__ or cause.__context__
        shown = cause if cause is not None else error
        raise SynthPipelineError(f"{what} raised {type(shown).__name__}: {shown}") from error

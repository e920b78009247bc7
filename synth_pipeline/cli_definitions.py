"""The definitions a ``synth-pipeline`` command works on, bound to one data directory.

One source of truth for where a command reads and writes: the data directory of the
dataset store bound in the loaded definitions (``to_definitions(data_dir=...)``).
``--data-dir`` and then ``$SYNTH_PIPELINE_DATA_DIR`` only fill in where the definitions
leave it unset; then ``./.synth_pipeline/data`` under the working directory. When the
definitions bind a directory and the option or the variable names another, the command
stops with a :class:`~synth_pipeline.errors.DataDirConflictError` naming both.

:func:`load_bound_definitions` returns the definitions with the dataset store (and every
resource holding it, such as the IO manager) rebound to that absolute directory, so the
runs, the lineage sync, the report, the recovery of killed runs and the run lock all use
the same directory, whatever the environment or the working directory is afterwards.
Nothing here writes ``os.environ``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from synth_pipeline.data_dir import DATA_DIR_ENV, DEFAULT_DATA_DIR
from synth_pipeline.errors import DataDirConflictError, SynthPipelineError
from synth_pipeline.resources import IO_MANAGER_KEY, STORE_KEY
from synth_pipeline.storage import DatasetStore, SynthPipelineIOManager
from synth_pipeline.user_input import cut, quoted
from synth_pipeline.user_modules import load_definitions

OPTION = "--data-dir"
VARIABLE = f"${DATA_DIR_ENV}"


@dataclass(frozen=True)
class DataDirChoice:
    """The data directory a command uses, and where it came from.

    Attributes:
        path: The directory, absolute (not resolved: symbolic links are kept as given).
        origin: Where it came from, for people: ``"--data-dir"``, ``"$SYNTH_PIPELINE_DATA_DIR"``,
            ``"the definitions of module 'x'"`` or ``"the default"``.
    """

    path: Path
    origin: str

    @property
    def given(self) -> bool:
        """Whether it came from ``--data-dir`` or ``$SYNTH_PIPELINE_DATA_DIR`` (not the definitions or the default)."""
        return self.origin in (OPTION, VARIABLE)


@dataclass(frozen=True)
class BoundDefinitions:
    """Definitions loaded from a module, their dataset store bound to one data directory.

    Attributes:
        defs: The definitions, rebound (:func:`bind_data_dir`).
        module: The module they came from.
        data_dir: The data directory they are bound to, and where it came from.
    """

    defs: dg.Definitions
    module: str
    data_dir: DataDirChoice


def bound_base_dir(defs: dg.Definitions) -> str | None:
    """The ``base_dir`` of the dataset store bound in ``defs`` (None when unset or no store is bound)."""
    store = (defs.resources or {}).get(STORE_KEY)
    return (store.base_dir or None) if isinstance(store, DatasetStore) else None


def _absolute(path: str | Path) -> Path:
    return Path(path).expanduser().absolute()


def _same_directory(first: Path, second: Path) -> bool:
    return first.resolve() == second.resolve()


def choose_data_dir(
    defs: dg.Definitions, *, module: str, option: str | None = None, environ: Mapping[str, str] | None = None
) -> DataDirChoice:
    """The data directory a command on ``defs`` uses: the definitions', else ``--data-dir``, else the variable.

    Args:
        defs: The loaded definitions.
        module: The module they came from (for messages).
        option: The value of ``--data-dir`` (None: not given).
        environ: The environment to read ``$SYNTH_PIPELINE_DATA_DIR`` from (default: ``os.environ``).

    Returns:
        The directory and its origin.

    Raises:
        DataDirConflictError: The definitions bind a data directory and ``option`` or the
            variable names another one (compared resolved, symbolic links followed).
    """
    environ = os.environ if environ is None else environ
    given = [(OPTION, option or None), (VARIABLE, environ.get(DATA_DIR_ENV) or None)]
    own = bound_base_dir(defs)
    if own is not None:
        path = _absolute(own)
        conflicts = [(origin, _absolute(value)) for origin, value in given
                     if value is not None and not _same_directory(_absolute(value), path)]
        if conflicts:
            raise DataDirConflictError(_conflict_message(module, path, conflicts))
        return DataDirChoice(path, f"the definitions of module {quoted(module)}")
    for origin, value in given:
        if value is not None:
            return DataDirChoice(_absolute(value), origin)
    return DataDirChoice(_absolute(DEFAULT_DATA_DIR), "the default")


def _conflict_message(module: str, own: Path, conflicts: list[tuple[str, Path]]) -> str:
    named = " and ".join(f"{origin} names {cut(str(path))}" for origin, path in conflicts)
    fixes = []
    if any(origin == OPTION for origin, _ in conflicts):
        fixes.append(f"drop {OPTION}")
    if any(origin == VARIABLE for origin, _ in conflicts):
        fixes.append(f"unset {VARIABLE} for this command (e.g. `env -u {DATA_DIR_ENV} synth-pipeline ...`)")
    return (
        f"two data directories: the definitions of module {quoted(module)} bind the dataset store to "
        f"{cut(str(own))} (data_dir of to_definitions, or base_dir of the {STORE_KEY} resource), but {named}. "
        f"Either {' and '.join(fixes)} to use {cut(str(own))}, or remove data_dir from the definitions to choose "
        "the directory on the command line"
    )


def bind_data_dir(
    defs: dg.Definitions, data_dir: str | Path, *, input_dirs: Sequence[str | Path] = ()
) -> dg.Definitions:
    """``defs`` with the dataset store bound to ``data_dir``, and every resource holding the store rebound with it.

    The new store replaces the one under ``synth_pipeline_store``; every resource with a
    field holding a :class:`~synth_pipeline.storage.DatasetStore` (the IO manager
    ``synth_pipeline_io_manager``, a team's own resources) is rebuilt with the new store in
    that field, so the store and the IO manager stay one object. Everything else in
    ``defs`` is kept as it is.

    Args:
        defs: The definitions.
        data_dir: The data directory (made absolute here).
        input_dirs: Directories besides the data directory that run-config file paths may
            name (the store's ``input_dirs``).

    Returns:
        New definitions; ``defs`` is not changed.

    Raises:
        SynthPipelineError: ``synth_pipeline_store`` is bound to something that is not a
            :class:`~synth_pipeline.storage.DatasetStore`.
    """
    resources = dict(defs.resources or {})
    bound = resources.get(STORE_KEY)
    if bound is not None and not isinstance(bound, DatasetStore):
        raise SynthPipelineError(
            f"the resource {quoted(STORE_KEY)} of these definitions is a {type(bound).__name__}, not a "
            "synth_pipeline DatasetStore; bind DatasetStore(base_dir=...) there (see synth_pipeline.pipeline_resources)"
        )
    store = DatasetStore(base_dir=str(_absolute(data_dir)), input_dirs=[str(_absolute(d)) for d in input_dirs],
                         # stage data stays where the definitions put it (a stage URL is not a data directory)
                         stage_url=bound.stage_url if bound is not None else None,
                         storage_options=dict(bound.storage_options) if bound is not None else {})
    rebound = {key: _with_store(value, store) for key, value in resources.items()}
    rebound[STORE_KEY] = store
    rebound.setdefault(IO_MANAGER_KEY, SynthPipelineIOManager(store=store))
    return dg.Definitions(
        assets=defs.assets, schedules=defs.schedules, sensors=defs.sensors, jobs=defs.jobs, resources=rebound,
        executor=defs.executor, loggers=defs.loggers, asset_checks=defs.asset_checks, metadata=defs.metadata,
        component_tree=defs.component_tree,
    )


def _with_store(resource: object, store: DatasetStore) -> object:
    """``resource`` rebuilt with ``store`` in each of its fields that holds a dataset store (itself if none does)."""
    if not isinstance(resource, (dg.ConfigurableResource, dg.ConfigurableIOManager)):
        return resource
    fields = {name: getattr(resource, name) for name in type(resource).model_fields}
    holding = [name for name, value in fields.items() if isinstance(value, DatasetStore)]
    if not holding:
        return resource
    return type(resource)(**{**fields, **dict.fromkeys(holding, store)})


def load_bound_definitions(
    module: str,
    *,
    data_dir: str | None = None,
    input_dirs: Sequence[str | Path] = (),
    existing: bool = False,
    environ: Mapping[str, str] | None = None,
) -> BoundDefinitions:
    """Load ``module``'s ``defs`` and bind their dataset store to the data directory they name or leave open.

    Args:
        module: The module holding the Dagster ``Definitions`` as ``defs``.
        data_dir: The value of ``--data-dir`` (None: not given).
        input_dirs: Further directories run-config file paths may name (``run --source``'s).
        existing: The directory must exist when it came from ``--data-dir`` or the variable
            (read-only commands never create one on a typo). A directory from the
            definitions or the default that does not exist is left to the command, which
            says that nothing is recorded there.
        environ: Where ``$SYNTH_PIPELINE_DATA_DIR`` is read (default: ``os.environ``; never written).

    Returns:
        The bound definitions, their module and data directory.

    Raises:
        UnknownNameError: No such module, or it has no ``defs``.
        DataDirConflictError: As :func:`choose_data_dir`.
        SynthPipelineError: ``existing`` and the given directory does not exist, or the
            store resource is not a dataset store.
    """
    from synth_pipeline.cli_validation import existing_directory

    defs = load_definitions(module)
    choice = choose_data_dir(defs, module=module, option=data_dir, environ=environ)
    if existing and choice.given:
        existing_directory(OPTION, str(choice.path), environment=DATA_DIR_ENV if choice.origin == VARIABLE else None)
    return BoundDefinitions(defs=bind_data_dir(defs, choice.path, input_dirs=input_dirs), module=module,
                            data_dir=choice)

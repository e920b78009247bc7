"""The definitions a ``synth-pipeline`` command works on, bound to one data directory.

One source of truth for where a command reads and writes: the data directory of the
dataset store bound in the loaded definitions (``to_definitions(data_dir=...)``), the store of
the pipeline the command works on: the shared ``synth_pipeline_store``, or the pipeline's own
``<pipeline>_store`` for a pipeline built with ``scoped_resources`` (a ``SynthPipelineComponent``).
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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from synth_pipeline.data_dir import DATA_DIR_ENV, DEFAULT_DATA_DIR
from synth_pipeline.errors import DataDirConflictError, SynthPipelineError
from synth_pipeline.resources import ResourceKeys, store_resource_key
from synth_pipeline.storage import DatasetStore, SynthPipelineIOManager
from synth_pipeline.user_input import cut, quoted, unknown_name
from synth_pipeline.user_modules import DefinitionsTarget, load_definitions

OPTION = "--data-dir"
VARIABLE = f"${DATA_DIR_ENV}"


@dataclass(frozen=True)
class DataDirChoice:
    """The data directory a command uses, and where it came from.

    Attributes:
        path: The directory, absolute (not resolved: symbolic links are kept as given).
        origin: Where it came from, for people: ``"--data-dir"``, ``"$SYNTH_PIPELINE_DATA_DIR"``,
            ``"the definitions of module 'x'"`` (or ``file '...'``) or ``"the default"``.
    """

    path: Path
    origin: str

    @property
    def given(self) -> bool:
        """Whether it came from ``--data-dir`` or ``$SYNTH_PIPELINE_DATA_DIR`` (not the definitions or the default)."""
        return self.origin in (OPTION, VARIABLE)


@dataclass(frozen=True)
class BoundDefinitions:
    """Definitions loaded from a module or file, the chosen pipeline's dataset store bound to one data directory.

    Attributes:
        defs: The definitions, rebound (:func:`bind_data_dir`).
        target: The module or file they came from.
        data_dir: The data directory they are bound to, and where it came from.
        pipeline: The pipeline whose store was bound (None: the definitions hold no synth-pipeline,
            or the command needs none; then the shared store).
    """

    defs: dg.Definitions
    target: DefinitionsTarget
    data_dir: DataDirChoice
    pipeline: str | None = None


def store_keys(defs: dg.Definitions, pipeline: str | None = None) -> ResourceKeys:
    """The resource keys of the dataset store and IO manager ``pipeline``'s assets use in ``defs``.

    A pipeline built with ``scoped_resources`` (the Dagster component) binds its own,
    ``<pipeline>_store`` and ``<pipeline>_io_manager``; every other the shared ones.
    """
    if pipeline is not None and store_resource_key(pipeline) in (defs.resources or {}):
        return ResourceKeys.scoped(pipeline)
    return ResourceKeys()


def bound_base_dir(defs: dg.Definitions, pipeline: str | None = None) -> str | None:
    """The ``base_dir`` of the dataset store ``pipeline`` uses in ``defs`` (None when unset or no store is
    bound; ``pipeline`` None: the shared store)."""
    store = (defs.resources or {}).get(store_keys(defs, pipeline).store)
    return (store.base_dir or None) if isinstance(store, DatasetStore) else None


def choose_pipeline(defs: dg.Definitions, target: DefinitionsTarget | str, name: str | None, *,
                    required: bool = True) -> str | None:
    """The pipeline a command works on: ``name`` (``--pipeline``), else the only one in ``defs``.

    Args:
        defs: The loaded definitions.
        target: Where they came from (for messages).
        name: The value of ``--pipeline`` (None: not given).
        required: The command works on one pipeline (``run``, ``report``). When False (the
            ``lineage`` commands, which need only a data directory), ``--pipeline`` may be left
            out while the pipelines keep their data in one directory; the result is then the
            first pipeline (None if there is none).

    Raises:
        SynthPipelineError: ``defs`` hold no synth-pipeline (when ``required``), several of them
            and ``name`` is None (for ``lineage``: several in different data directories), or
            none named ``name``; the message lists their names.
    """
    from synth_pipeline.runner import pipeline_names

    target = DefinitionsTarget(module=target) if isinstance(target, str) else target
    names = pipeline_names(defs)
    where = target.describe()
    if name is not None and name not in names:
        raise SynthPipelineError(unknown_name("synth-pipeline named", name, names, where=f"in {where}",
                                              plural="synth-pipelines"))
    if name is not None:
        return name
    if not names:
        if not required:
            return None
        raise SynthPipelineError(f"{where} holds no synth-pipeline (no generation job); pass the module of your "
                                 "pipeline with -m MODULE (or its file with -f FILE)")
    if len(names) == 1:
        return names[0]
    if required:
        raise SynthPipelineError(f"{where} holds several synth-pipelines; choose one with --pipeline: "
                                 f"{', '.join(quoted(n) for n in names)}")
    directories = {n: bound_base_dir(defs, n) for n in names}
    if len({str(_absolute(d)) if d else None for d in directories.values()}) > 1:
        listed = ", ".join(f"{quoted(n)} ({cut(str(_absolute(d))) if d else 'no data_dir'})"
                           for n, d in directories.items())
        raise SynthPipelineError(f"{where} holds several synth-pipelines with data in different directories; "
                                 f"choose one with --pipeline: {listed}")
    return names[0]


def _absolute(path: str | Path) -> Path:
    return Path(path).expanduser().absolute()


def _same_directory(first: Path, second: Path) -> bool:
    return first.resolve() == second.resolve()


def choose_data_dir(
    defs: dg.Definitions, *, module: str | DefinitionsTarget, option: str | None = None,
    environ: Mapping[str, str] | None = None, pipeline: str | None = None,
) -> DataDirChoice:
    """The data directory a command on ``defs`` uses: the definitions', else ``--data-dir``, else the variable.

    Args:
        defs: The loaded definitions.
        module: The module (or file) they came from (for messages).
        option: The value of ``--data-dir`` (None: not given).
        environ: The environment to read ``$SYNTH_PIPELINE_DATA_DIR`` from (default: ``os.environ``).
        pipeline: The pipeline whose store names the directory (None: the shared store).

    Returns:
        The directory and its origin.

    Raises:
        DataDirConflictError: The definitions bind a data directory and ``option`` or the
            variable names another one (compared resolved, symbolic links followed).
    """
    environ = os.environ if environ is None else environ
    target = DefinitionsTarget(module=module) if isinstance(module, str) else module
    given = [(OPTION, option or None), (VARIABLE, environ.get(DATA_DIR_ENV) or None)]
    own = bound_base_dir(defs, pipeline)
    if own is not None:
        path = _absolute(own)
        conflicts = [(origin, _absolute(value)) for origin, value in given
                     if value is not None and not _same_directory(_absolute(value), path)]
        if conflicts:
            raise DataDirConflictError(_conflict_message(target, path, conflicts, store_keys(defs, pipeline).store))
        return DataDirChoice(path, f"the definitions of {target.describe()}")
    for origin, value in given:
        if value is not None:
            return DataDirChoice(_absolute(value), origin)
    return DataDirChoice(_absolute(DEFAULT_DATA_DIR), "the default")


def _conflict_message(target: DefinitionsTarget, own: Path, conflicts: list[tuple[str, Path]], key: str) -> str:
    named = " and ".join(f"{origin} names {cut(str(path))}" for origin, path in conflicts)
    fixes = []
    if any(origin == OPTION for origin, _ in conflicts):
        fixes.append(f"drop {OPTION}")
    if any(origin == VARIABLE for origin, _ in conflicts):
        fixes.append(f"unset {VARIABLE} for this command (e.g. `env -u {DATA_DIR_ENV} synth-pipeline ...`)")
    return (
        f"two data directories: the definitions of {target.describe()} bind the dataset store to "
        f"{cut(str(own))} (data_dir of to_definitions or of the component, or base_dir of the {key} resource), "
        f"but {named}. "
        f"Either {' and '.join(fixes)} to use {cut(str(own))}, or remove data_dir from the definitions to choose "
        "the directory on the command line"
    )


def bind_data_dir(
    defs: dg.Definitions, data_dir: str | Path, *, input_dirs: Sequence[str | Path] = (), pipeline: str | None = None
) -> dg.Definitions:
    """``defs`` with a pipeline's dataset store bound to ``data_dir``, and every resource holding it rebound with it.

    The new store replaces the one under the pipeline's store key (:func:`store_keys`: the shared
    ``synth_pipeline_store``, or ``<pipeline>_store`` for a pipeline built with ``scoped_resources``);
    every resource with a field holding that store (its IO manager, a team's own resources; with no
    store bound under the key, a field holding a store bound nowhere else) is rebuilt with the new store
    in that field, so the store and the IO manager stay one object. The stores of other pipelines and
    everything else in ``defs`` are kept as they are.

    Args:
        defs: The definitions.
        data_dir: The data directory (made absolute here).
        input_dirs: Directories besides the data directory that run-config file paths may
            name (the store's ``input_dirs``).
        pipeline: The pipeline whose store is bound (None: the shared store).

    Returns:
        New definitions; ``defs`` is not changed.

    Raises:
        SynthPipelineError: The store key is bound to something that is not a
            :class:`~synth_pipeline.storage.DatasetStore`.
    """
    keys = store_keys(defs, pipeline)
    resources = dict(defs.resources or {})
    bound = resources.get(keys.store)
    if bound is not None and not isinstance(bound, DatasetStore):
        raise SynthPipelineError(
            f"the resource {quoted(keys.store)} of these definitions is a {type(bound).__name__}, not a "
            "synth_pipeline DatasetStore; bind DatasetStore(base_dir=...) there (see synth_pipeline.pipeline_resources)"
        )
    store = DatasetStore(base_dir=str(_absolute(data_dir)), input_dirs=[str(_absolute(d)) for d in input_dirs],
                         # stage data stays where the definitions put it (a stage URL is not a data directory)
                         stage_url=bound.stage_url if bound is not None else None,
                         storage_options=dict(bound.storage_options) if bound is not None else {})
    others = [value for key, value in resources.items() if key != keys.store and isinstance(value, DatasetStore)]
    if bound is not None:
        replaced = lambda held: held is bound or held == bound  # noqa: E731
    else:
        replaced = lambda held: not any(held is other for other in others)  # noqa: E731
    rebound = {key: _with_store(value, store, replaced) for key, value in resources.items()}
    rebound[keys.store] = store
    rebound.setdefault(keys.io_manager, SynthPipelineIOManager(store=store))
    return dg.Definitions(
        assets=defs.assets, schedules=defs.schedules, sensors=defs.sensors, jobs=defs.jobs, resources=rebound,
        executor=defs.executor, loggers=defs.loggers, asset_checks=defs.asset_checks, metadata=defs.metadata,
        component_tree=defs.component_tree,
    )


def _with_store(resource: object, store: DatasetStore, replaced: Callable[[DatasetStore], bool]) -> object:
    """``resource`` rebuilt with ``store`` in each of its fields holding a dataset store that is ``replaced``
    (itself if none does)."""
    if not isinstance(resource, (dg.ConfigurableResource, dg.ConfigurableIOManager)):
        return resource
    fields = {name: getattr(resource, name) for name in type(resource).model_fields}
    holding = [name for name, value in fields.items() if isinstance(value, DatasetStore) and replaced(value)]
    if not holding:
        return resource
    return type(resource)(**{**fields, **dict.fromkeys(holding, store)})


def load_bound_definitions(
    target: DefinitionsTarget | str,
    *,
    data_dir: str | None = None,
    input_dirs: Sequence[str | Path] = (),
    existing: bool = False,
    environ: Mapping[str, str] | None = None,
    pipeline: str | None = None,
    pipeline_required: bool = False,
) -> BoundDefinitions:
    """Load the definitions of ``target`` and bind their pipeline's dataset store to the data directory they
    name or leave open.

    Args:
        target: The module (``-m``; a module name is taken as one) or file (``-f``) holding the
            Dagster definitions: ``defs``, or a function decorated with ``@dg.definitions``.
        data_dir: The value of ``--data-dir`` (None: not given).
        input_dirs: Further directories run-config file paths may name (``run --source``'s).
        existing: The directory must exist when it came from ``--data-dir`` or the variable
            (read-only commands never create one on a typo). A directory from the
            definitions or the default that does not exist is left to the command, which
            says that nothing is recorded there.
        environ: Where ``$SYNTH_PIPELINE_DATA_DIR`` is read (default: ``os.environ``; never written).
        pipeline: The value of ``--pipeline`` (None: not given).
        pipeline_required: The command works on one pipeline (see :func:`choose_pipeline`).

    Returns:
        The bound definitions, where they came from, the pipeline and the data directory.

    Raises:
        UnknownNameError: No such module or file, or it has no definitions.
        SynthPipelineError: No pipeline, or several and none chosen (see :func:`choose_pipeline`);
            ``existing`` and the given directory does not exist, or the store resource is not a
            dataset store.
        DataDirConflictError: As :func:`choose_data_dir`.
    """
    from synth_pipeline.cli_validation import existing_directory

    target = DefinitionsTarget(module=target) if isinstance(target, str) else target
    defs = load_definitions(target)
    chosen = choose_pipeline(defs, target, pipeline, required=pipeline_required)
    choice = choose_data_dir(defs, module=target, option=data_dir, environ=environ, pipeline=chosen)
    if existing and choice.given:
        existing_directory(OPTION, str(choice.path), environment=DATA_DIR_ENV if choice.origin == VARIABLE else None)
    return BoundDefinitions(defs=bind_data_dir(defs, choice.path, input_dirs=input_dirs, pipeline=chosen),
                            target=target, data_dir=choice, pipeline=chosen)

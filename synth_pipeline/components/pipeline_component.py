"""``SynthPipelineComponent``: one synth-pipeline declared in a ``defs.yaml`` (Dagster components, ``dg``).

.. code-block:: yaml

    type: synth_pipeline.SynthPipelineComponent
    attributes:
      spec_file: spec.yaml          # or spec: {name: ..., label_column: ..., real_source: {...}}
      policy: policy.yaml           # or an inline mapping of SynthPolicy fields
      expectation_suites: expectations
      data_dir: data
      executor: in_process          # or multiprocess, or {type: multiprocess, max_concurrent: 4}
      schedule: {cron: "0 3 * * *", timezone: UTC, enabled: false}
      sensor: {interval_seconds: 30, enabled: false}
      translation: {key_prefix: [team], group_name: synthetic_data, tags: {team: ml}}

Relative paths (``spec_file``, ``policy``, ``expectation_suites``, ``data_dir``,
``sensor.watch_dir``, the spec's ``real_source.path`` / ``unknown_source.path`` and every
``synthesizer.params`` entry the generator declares a path, such as the ``file`` generator's
``path``) are taken from the component's folder, so the project works from any working directory.

Each component binds its dataset store and IO manager under keys of its pipeline's own
(``<pipeline>_store``, ``<pipeline>_io_manager``, next to ``<pipeline>_policy``), so components
with different data directories load side by side in one code location.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

from synth_pipeline.components.blocks import ExecutorBlock, ScheduleBlock, SensorBlock, TranslationBlock
from synth_pipeline.components.scaffolder import SynthPipelineScaffolder
from synth_pipeline.errors import ComponentConfigError, GeneratorSpecError
from synth_pipeline.factory import build_synth_pipeline
from synth_pipeline.policy import SynthPolicy
from synth_pipeline.spec import SourceSpec, SynthesizerSpec, SynthPipelineSpec, load_spec, spec_from_mapping

TYPE_NAME = "synth_pipeline.SynthPipelineComponent"


@dg.scaffold_with(SynthPipelineScaffolder)
class SynthPipelineComponent(dg.Component, dg.Resolvable, dg.Model):
    """A synth-pipeline: real, synthetic, augmented and unknown-provenance data as lineage-tagged assets
    with blocking guard-rail checks, one generation per partition.

    ``dg scaffold defs synth_pipeline.SynthPipelineComponent my_pipe`` writes a working ``defs.yaml``.
    Set exactly one of ``spec`` and ``spec_file``. Relative paths are taken from the component's folder.
    """

    spec: dict[str, Any] | None = Field(
        default=None,
        description="The pipeline spec inline (the fields of SynthPipelineSpec: name, label_column, real_source, "
        "synthesizer, ...). Set this or spec_file.",
    )
    spec_file: str | None = Field(
        default=None, description="A YAML spec file (SynthPipelineSpec), relative to the component's folder."
    )
    policy: str | dict[str, Any] | None = Field(
        default=None,
        description="The limits the blocking checks enforce: a YAML policy file (relative to the component's "
        "folder) or an inline mapping of SynthPolicy fields. Omitted fields keep their defaults.",
    )
    expectation_suites: str | None = Field(
        default=None,
        description="A directory of Great Expectations suites, <stage>.json (relative to the component's folder).",
    )
    data_dir: str | None = Field(
        default=None,
        description="Where stage outputs, check records and the lineage journal go (relative to the component's "
        "folder). Default: $SYNTH_PIPELINE_DATA_DIR, else .synth_pipeline/data in the dg project's root (the "
        "nearest folder above with a pyproject.toml), whatever the working directory.",
    )
    include_checks: bool = Field(default=True, description="The provenance and policy checks (the guard rails).")
    include_quality_checks: bool = Field(
        default=True, description="The fidelity, privacy, utility and diversity checks."
    )
    unexpected_value_samples: int = Field(
        default=0, ge=0, le=20,
        description="Offending values a failed expectation shows in its metadata (0: counts only).",
    )
    executor: str | ExecutorBlock = Field(
        default="in_process",
        description="What the generation job runs its steps in: in_process (the default: every step in the run's "
        "process, quickest on small data) or multiprocess (a process per step), or a mapping "
        "{type: multiprocess, max_concurrent: 4}. A launch's run config may still choose the other.",
    )
    schedule: ScheduleBlock | None = Field(default=None, description="A schedule running the next generation.")
    sensor: SensorBlock | None = Field(default=None, description="A sensor running a generation per new file.")
    translation: TranslationBlock | None = Field(
        default=None, description="Asset key prefix, group, extra tags and kinds of the stages."
    )

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        """The pipeline's assets, checks, job, resources and the schedule and sensor asked for.

        Raises:
            ComponentConfigError: Neither or both of ``spec`` and ``spec_file``, or a path that does
                not exist; the message names the attribute, the ``defs.yaml`` and the fix.
            ConfigFileError: A spec or policy file cannot be read.
            ConfigValueError: The spec or policy holds an unknown field or a bad value.
        """
        folder = component_folder(context)
        where = f"{TYPE_NAME} in {folder / 'defs.yaml'}"
        translator = self.translation.translator() if self.translation is not None else None
        executor = ExecutorBlock.of(self.executor).build(where)
        pipeline = build_synth_pipeline(self.load_spec(folder, where), translator, scoped_resources=True,
                                        executor=executor)
        suites = _existing(folder, self.expectation_suites, "expectation_suites", where, directory=True)
        return pipeline.to_definitions(
            data_dir=str(folder / self.data_dir) if self.data_dir is not None else default_data_dir(folder),
            policy=self.load_policy(folder, where),
            include_checks=self.include_checks,
            include_quality_checks=self.include_quality_checks,
            expectation_suites=suites,
            unexpected_value_samples=self.unexpected_value_samples,
            schedules=[self.schedule.build(pipeline, where)] if self.schedule is not None else [],
            sensors=[self.sensor.build(pipeline, folder)] if self.sensor is not None else [],
        )

    def load_spec(self, folder: Path, where: str) -> SynthPipelineSpec:
        """The spec, from ``spec`` or ``spec_file``, with relative source paths and generator path params
        (:func:`~synth_pipeline.generators.registry.path_params`) taken from ``folder``.

        Raises:
            ComponentConfigError: Neither or both are set, ``spec_file`` does not exist, or the
                generator's factory cannot be imported to see which params are paths.
        """
        if (self.spec is None) == (self.spec_file is None):
            given = "both are set" if self.spec is not None else "neither is set"
            raise ComponentConfigError(
                f"{where}: set exactly one of 'spec' (the pipeline spec inline: name, label_column, real_source, "
                f"...) and 'spec_file' (a YAML spec file, relative to {folder}); {given}"
            )
        if self.spec_file is not None:
            spec = load_spec(_existing(folder, self.spec_file, "spec_file", where))
        else:
            spec = spec_from_mapping(self.spec or {}, source=f"'spec' of {where}")
        return spec.model_copy(update={
            "real_source": _anchored(spec.real_source, folder),
            "unknown_source": _anchored(spec.unknown_source, folder) if spec.unknown_source else None,
            "synthesizer": _anchored_params(spec.synthesizer, folder, where),
        })

    def load_policy(self, folder: Path, where: str) -> SynthPolicy | None:
        """The policy from ``policy`` (a file or a mapping); None when not set (the defaults apply).

        Raises:
            ComponentConfigError: The policy file does not exist.
        """
        if self.policy is None:
            return None
        if isinstance(self.policy, str):
            return SynthPolicy.from_yaml(_existing(folder, self.policy, "policy", where))
        return SynthPolicy.from_mapping(self.policy, source=f"'policy' of {where}")


def component_folder(context: dg.ComponentLoadContext) -> Path:
    """The folder holding the component's ``defs.yaml``, absolute."""
    path = Path(context.path).absolute()
    return path if path.is_dir() else path.parent


def _anchored(source: SourceSpec, folder: Path) -> SourceSpec:
    """``source`` with a relative ``path`` taken from ``folder``."""
    if source.path is None or Path(source.path).expanduser().is_absolute():
        return source
    return source.model_copy(update={"path": str(folder / source.path)})


def _anchored_params(synthesizer: SynthesizerSpec, folder: Path, where: str) -> SynthesizerSpec:
    """``synthesizer`` with each relative path param its generator declares taken from ``folder``.

    Raises:
        ComponentConfigError: The generator is a factory of the user's that cannot be imported.
    """
    from synth_pipeline.generators.registry import anchor_path_params

    try:
        params = anchor_path_params(synthesizer.method, synthesizer.params, folder)
    except GeneratorSpecError as error:
        raise ComponentConfigError(f"{where}: {error}") from None
    return synthesizer.model_copy(update={"params": params}) if params != synthesizer.params else synthesizer


def _existing(folder: Path, value: str | None, attribute: str, where: str, *, directory: bool = False) -> Path | None:
    """``value`` taken from ``folder`` when relative; it must exist (a directory if ``directory``).

    Raises:
        ComponentConfigError: It does not exist, or is not of the kind expected.
    """
    if value is None:
        return None
    path = (folder / Path(value).expanduser()).absolute()
    kind = "directory" if directory else "file"
    if not (path.is_dir() if directory else path.is_file()):
        found = "is a directory" if path.is_dir() else "is a file" if path.exists() else "does not exist"
        raise ComponentConfigError(
            f"{where}: {attribute} {value!r} names {path}, which {found}; give an existing {kind}, either absolute "
            f"or relative to the component's folder {folder}"
        )
    return path


def default_data_dir(folder: Path) -> str | None:
    """The data directory of a component that sets none: None when $SYNTH_PIPELINE_DATA_DIR is set (it
    applies), else ``.synth_pipeline/data`` in the project root, the nearest folder at or above ``folder``
    with a ``pyproject.toml`` (else ``folder``), so ``dg`` run from any folder of the project uses one
    store (a new user's trial found two, one per working directory)."""
    from synth_pipeline.data_dir import DATA_DIR_ENV, DEFAULT_DATA_DIR

    if os.environ.get(DATA_DIR_ENV):
        return None
    root = next((parent for parent in (folder, *folder.parents) if (parent / "pyproject.toml").is_file()), folder)
    return str(root / DEFAULT_DATA_DIR)

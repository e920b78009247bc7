"""``dg scaffold defs synth_pipeline.SynthPipelineComponent <folder>``: a working, commented ``defs.yaml``."""

from __future__ import annotations

import re

import dagster as dg
from pydantic import BaseModel, Field

_TEMPLATE = """\
type: {type_name}

attributes:
  # The pipeline spec (SynthPipelineSpec) inline, or `spec_file: spec.yaml` (relative to this folder).
  spec:
    name: {name}
    label_column: target
    real_source:
      # A CSV, Parquet or JSON Lines file (`path:`, relative to this folder) or a `loader: module:function`.
      loader: synth_pipeline.datasets:breast_cancer
    synthesizer:
      method: gaussian_copula
    mix:
      real_arrival_batches: 4
  # The limits the blocking checks enforce: a YAML file (e.g. policy.yaml) or a mapping; omitted fields keep
  # their defaults.
  policy:
    max_synthetic_fraction: 0.5
  # Great Expectations suites, <stage>.json (write them with `synth-pipeline expectations init`):
  # expectation_suites: expectations
  # Where stage data, check records and the lineage journal go (relative to this folder). Default:
  # $SYNTH_PIPELINE_DATA_DIR, else .synth_pipeline/data under the dg project's root (the nearest folder
  # above with a pyproject.toml), whichever folder dg runs from.
  # data_dir: data
  # What the generation job runs its steps in: in_process (every step in one process, quickest on small
  # data) or multiprocess (a process per step); e.g. {{type: multiprocess, max_concurrent: 4}}.
  executor: in_process
  schedule:
    cron: "0 3 * * *"
    timezone: UTC
    enabled: false
  sensor:
    # Default: incoming/{name} under the data directory.
    # watch_dir: incoming
    interval_seconds: 30
    enabled: false
  # translation:
  #   key_prefix: [team]
  #   group_name: synthetic_data
  #   tags: {{team: ml}}
"""


class SynthPipelineScaffoldParams(BaseModel):
    """Options of ``dg scaffold defs synth_pipeline.SynthPipelineComponent``."""

    name: str | None = Field(
        default=None, description="The pipeline's name (default: the folder's name, as an identifier)."
    )


class SynthPipelineScaffolder(dg.Scaffolder[SynthPipelineScaffoldParams]):
    """Writes a ``defs.yaml`` running the reference data through a pipeline named after the folder."""

    @classmethod
    def get_scaffold_params(cls) -> type[SynthPipelineScaffoldParams]:
        """The options ``dg scaffold`` accepts (``--name``)."""
        return SynthPipelineScaffoldParams

    def scaffold(self, request: dg.ScaffoldRequest[SynthPipelineScaffoldParams]) -> None:
        """Write ``defs.yaml`` into the target folder (YAML only: the component has no Python form)."""
        if request.scaffold_format != "yaml":
            raise ValueError("SynthPipelineComponent is scaffolded as defs.yaml only: drop --format python")
        params = request.params or SynthPipelineScaffoldParams()
        name = params.name or pipeline_name(request.target_path.name)
        request.target_path.mkdir(parents=True, exist_ok=True)
        (request.target_path / "defs.yaml").write_text(
            _TEMPLATE.format(type_name=request.type_name, name=name), encoding="utf-8"
        )


def pipeline_name(folder: str) -> str:
    """``folder`` as a pipeline name: letters, digits and underscores, not starting with a digit."""
    name = re.sub(r"\W", "_", folder, flags=re.ASCII).strip("_") or "pipeline"
    return f"p_{name}" if name[0].isdigit() else name

"""Shared fixtures: fast specs and real in-process runs against temporary directories."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from synth_pipeline import (
    DatasetStore,
    SourceSpec,
    SynthesizerSpec,
    SynthPipeline,
    SynthPipelineSpec,
    SynthPolicy,
)
from synth_pipeline.naming import Stage
from synth_pipeline.runner import GenerationRun, run_generations

# Tests never send events to a lineage server configured in the developer's environment
# (OPENLINEAGE_URL, OPENLINEAGE_CONFIG, OPENLINEAGE__TRANSPORT__*); the journal still gets them.
for _name in [name for name in os.environ if name.startswith("OPENLINEAGE")]:
    del os.environ[_name]

# The Gaussian copula with normal marginals fits in well under a second on these data.
FAST_SYNTHESIZER = SynthesizerSpec(params={"default_distribution": "norm"})


def fast_spec(name: str = "bc", **overrides) -> SynthPipelineSpec:
    """The reference data with a fast synthesizer; keyword arguments override fields."""
    fields = {
        "name": name,
        "label_column": "target",
        "real_source": SourceSpec(loader="synth_pipeline.datasets:breast_cancer"),
        "unknown_source": SourceSpec(loader="synth_pipeline.datasets:breast_cancer_vendor_drop"),
        "synthesizer": FAST_SYNTHESIZER,
    }
    fields.update(overrides)
    return SynthPipelineSpec(**fields)


class Runner:
    """Runs generations of pipelines in-process, recording into one temporary instance."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.instance = dg.DagsterInstance.ephemeral()
        self.store = DatasetStore(base_dir=str(data_dir))

    def run(
        self,
        pipeline: SynthPipeline,
        generations: list[int],
        stage_config: dict[Stage, dict] | None = None,
        policy: SynthPolicy | None = None,
        keep_going: bool = False,
        quality_checks: bool = False,
    ) -> list[GenerationRun]:
        """Run generations with the pipeline's checks, under ``policy`` (default: defaults).

        The quality checks (a few seconds per generation) run only where a test asks for them.
        """
        defs = pipeline.to_definitions(
            data_dir=str(self.data_dir), policy=policy, include_quality_checks=quality_checks
        )
        return list(
            run_generations(
                defs, pipeline=pipeline.name, generations=generations,
                instance=self.instance, stage_config=stage_config, keep_going=keep_going,
            )
        )

    def read(self, pipeline: SynthPipeline, stage: Stage, generation: int | None = None) -> pd.DataFrame:
        return self.store.read(pipeline.key(stage), None if generation is None else str(generation))


@pytest.fixture
def runner(tmp_path: Path) -> Runner:
    return Runner(tmp_path / "data")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (a server may still take it first)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def why(run: GenerationRun) -> str:
    """Why a run failed, for assertion messages."""
    from synth_pipeline.reporting import check_failures

    return "\n".join([*check_failures(run), *(f"{step}: {message}" for step, message in run.failures)])

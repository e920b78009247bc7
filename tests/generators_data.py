"""Small data and pipelines shared by the generator tests (test_generators_protocol, test_dp_generator,
test_external_rows, test_privacy_budget)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd

from synth_pipeline import (
    SourceSpec,
    SynthesizerSpec,
    SynthPipeline,
    SynthPipelineSpec,
    SynthPolicy,
    build_synth_pipeline,
)
from synth_pipeline.runner import GenerationRun, run_generations
from synth_pipeline.spec import MixSpec


def small_table(rows: int = 600, seed: int = 0) -> pd.DataFrame:
    """Four feature columns (two numeric, one integer, one categorical) and a label that depends on them."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=rows)
    colour = rng.choice(["red", "green", "blue"], size=rows)
    label = ((x1 + (colour == "red") * 1.5 + rng.normal(scale=0.5, size=rows)) > 0.5).astype(int)
    return pd.DataFrame({"x1": x1.round(3), "x2": rng.uniform(0, 10, rows).round(2),
                         "count": rng.integers(0, 50, rows), "colour": colour, "label": label})


def write_table(directory: Path, name: str = "real.csv", **kwargs) -> Path:
    path = directory / name
    small_table(**kwargs).to_csv(path, index=False)
    return path


def small_pipeline(
    directory: Path, synthesizer: SynthesizerSpec, *, name: str = "gen", batches: int = 1
) -> SynthPipeline:
    """A pipeline on :func:`small_table` (holdout 120 rows), without unknown or augmented stages."""
    return build_synth_pipeline(SynthPipelineSpec(
        name=name, label_column="label", real_source=SourceSpec(path=str(write_table(directory))),
        unknown_source=None, augmentation=None, synthesizer=synthesizer,
        mix=MixSpec(real_arrival_batches=batches),
    ))


def run_with_budget(pipeline: SynthPipeline, data_dir: Path, generations: list[int],
                    policy: SynthPolicy | None = None) -> list[GenerationRun]:
    """Run generations with the provenance and policy checks plus ``privacy_budget``, going on after failures."""
    kwargs = {"data_dir": str(data_dir), "policy": policy, "include_quality_checks": False}
    defs = pipeline.to_definitions(**kwargs)  # the policy checks include privacy_budget
    return list(run_generations(defs, pipeline=pipeline.name, generations=generations,
                                instance=dg.DagsterInstance.ephemeral(), keep_going=True))


def check(run: GenerationRun, name: str):
    """The record of check ``name`` in ``run``."""
    [record] = [c for c in run.checks if c.name == name]
    return record


def stage_metadata(run: GenerationRun, stage: str) -> dict:
    return {r.stage: r.metadata for r in run.stages}[stage]

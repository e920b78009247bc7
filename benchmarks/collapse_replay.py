"""Replay Shumailov et al. (Nature 2024): recursive fitting of a single Gaussian.

Start from M real samples of N(0, 1); every generation fits a Gaussian to the previous
generation's data and samples M new rows from it. This runs that loop through the
plugin itself: a synth-pipeline whose real data stop after generation 1
(``real_arrival_generations=1``), whose generator is SDV's Gaussian copula with normal
marginals refitted on the previous training mix (``fit_on=previous_mix``,
``num_rows=M``), materialized generation by generation with ``run_generations`` and
watched by the plugin's diversity monitor (the ``diversity`` check on the training mix:
the data each generation trains on; in ``replace`` mode from generation 2 that is the
synthetic rows alone). The check is blocking, so it is put on the last stage of the loop:
on the synthetic stage a failure would stop that generation's mix, and the loop with it.

- ``replace``: each training mix is only the new generation's rows (Shumailov's setup);
- ``accumulate``: each mix keeps all earlier data and adds the new rows (Gerstgrasser
  et al. 2024).

The generator's fit (SDV ``norm``) is the maximum-likelihood one, so under ``replace``
the fitted variance shrinks by ``(M-1)/M`` per generation in expectation and its median
by about ``exp(-2/M)``: collapse on a timescale of M generations. Under ``accumulate``
the real rows and every earlier generation stay in the data and the variance stays near 1.

Run: ``python benchmarks/collapse_replay.py [--generations 100] [--sizes 100 1000]``.
It prints the synthetic rows' standard deviation per generation for each (mode, M),
with ``!`` where the diversity check on the training mix failed, then a summary.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

COLUMN = "x"
LABEL = "group"


@dataclass
class Trajectory:
    """One replay: std of each generation's synthetic rows, and whether diversity failed."""

    mode: str
    rows: int
    std: list[float]
    flagged: list[bool]
    failed_rules: list[str]
    seconds: float


def replay(mode: str, rows: int, generations: int, seed: int = 0) -> Trajectory:
    """Run the recursive-fitting loop for one (mode, M) through the plugin."""
    import dagster as dg

    from synth_pipeline import (
        FitOn,
        GenerationMode,
        MixSpec,
        SourceSpec,
        Stage,
        SynthesizerSpec,
        SynthPipelineSpec,
        SynthPolicy,
        build_synth_pipeline,
    )
    from synth_pipeline.quality_checks import build_quality_checks
    from synth_pipeline.runner import run_generations

    work = Path(tempfile.mkdtemp(prefix=f"collapse_{mode}_{rows}_"))
    rng = np.random.default_rng(seed)
    # 2M real rows: half sealed as holdout, the other M arrive in generation 1.
    real = pd.DataFrame({COLUMN: rng.normal(0.0, 1.0, 2 * rows), LABEL: rng.choice(["a", "b"], 2 * rows)})
    real.to_csv(work / "real.csv", index=False)
    spec = SynthPipelineSpec(
        name=f"gauss_{mode}_{rows}", label_column=LABEL, real_source=SourceSpec(path=str(work / "real.csv")),
        holdout_fraction=0.5, seed=seed, augmentation=None,
        synthesizer=SynthesizerSpec(
            params={"default_distribution": "norm", "enforce_min_max_values": False, "enforce_rounding": False},
            fit_on=FitOn.PREVIOUS_MIX, num_rows=rows,
        ),
        mix=MixSpec(mode=GenerationMode(mode), real_arrival_generations=1),
    )
    pipeline = build_synth_pipeline(spec)
    defs = pipeline.to_definitions(
        data_dir=str(work / "data"), include_checks=False, include_quality_checks=False,
        asset_checks=[check for check in build_quality_checks(pipeline, only=["diversity"])
                      if next(iter(check.check_keys)).asset_key == pipeline.key(Stage.TRAINING_MIX)],
        policy=SynthPolicy(),
    )
    instance = dg.DagsterInstance.ephemeral()
    loop = [Stage.REAL_ARRIVALS, Stage.SYNTHETIC, Stage.TRAINING_MIX]
    trajectory = Trajectory(mode, rows, [], [], [], 0.0)
    started = time.perf_counter()
    for first, numbers in ((True, [1]), (False, list(range(2, generations + 1)))):
        stages = [Stage.REAL_SOURCE, Stage.REAL_HOLDOUT, Stage.REAL_TRAIN, *loop] if first else loop
        for run in run_generations(defs, pipeline=spec.name, generations=numbers, instance=instance,
                                   keep_going=True, stages=stages):
            if run.failures:
                raise RuntimeError(f"{mode} M={rows} generation {run.generation}: {run.failures}")
            synthetic = pd.read_parquet(work / "data" / spec.name / "synthetic" / f"{run.generation}.parquet")
            check = run.check("diversity")
            trajectory.std.append(float(synthetic[COLUMN].std()))
            trajectory.flagged.append(not check.passed)
            failed = [r["rule"] for r in check.metadata["rules"] if not r["passed"]]
            trajectory.failed_rules.append("; ".join(failed))
            if run.generation % 10 == 0:
                print(f"  {mode} M={rows}: generation {run.generation} done ({time.perf_counter() - started:.0f} s)",
                      file=sys.stderr, flush=True)
    trajectory.seconds = time.perf_counter() - started
    shutil.rmtree(work, ignore_errors=True)
    return trajectory


def expected_median_std(rows: int, generation: int) -> float:
    """Median std after ``generation`` maximum-likelihood refits on ``rows`` samples (replace).

    log sigma^2 is a sum of log(chi2_{M-1} / M) terms, each with mean about -2/M + ... ;
    here the exact mean of log(chi2_k / M) is used: digamma(k/2) + log(2/M).
    """
    from scipy.special import digamma

    drift = digamma((rows - 1) / 2) + math.log(2 / rows)
    return math.exp(generation * drift / 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--generations", type=int, default=100)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--modes", nargs="+", choices=["replace", "accumulate"], default=["replace", "accumulate"])
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    args = parser.parse_args()
    runs = [(mode, rows) for rows in args.sizes for mode in args.modes]
    with ProcessPoolExecutor(args.workers) as pool:
        trajectories = list(pool.map(replay, *zip(*runs, strict=True), [args.generations] * len(runs)))
    columns = [f"{t.mode} M={t.rows}" for t in trajectories]
    print("\nstd of each generation's synthetic rows (start: N(0,1); '!' = diversity check failed)\n")
    header = f"{'generation':>10}  " + "  ".join(f"{c:>16}" for c in columns)
    header += "  " + "  ".join(f"{'expected M=' + str(m):>14}" for m in args.sizes)
    print(header)
    shown = sorted({g for g in (1, 2, 5, *range(10, args.generations + 1, 10)) if g <= args.generations}
                   | {args.generations})
    for generation in shown:
        cells = [f"{t.std[generation - 1]:>15.3f}{'!' if t.flagged[generation - 1] else ' '}" for t in trajectories]
        expected = [f"{expected_median_std(m, generation):>14.3f}" for m in args.sizes]
        print(f"{generation:>10}  " + "  ".join(cells) + "  " + "  ".join(expected))
    print("\n(expected: median std under replace, maximum-likelihood refits; accumulate stays near 1)\n")
    for t in trajectories:
        first = next((g for g, f in enumerate(t.flagged, start=1) if f), None)
        flagged = sum(t.flagged)
        where = f"first at generation {first}: {t.failed_rules[first - 1]}" if first else "never"
        print(f"{t.mode:>10} M={t.rows:<5} final std {t.std[-1]:.3f}, min {min(t.std):.3f}; diversity failed in "
              f"{flagged} of {len(t.std)} generations ({where}); {t.seconds:.0f} s")


if __name__ == "__main__":
    main()

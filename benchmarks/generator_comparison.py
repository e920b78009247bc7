"""Gaussian copula (SDV) against MOSTLY AI's TabularARGN on UCI Adult: fidelity, utility, privacy.

The table is /work/shared/data/adult.csv (32,561 rows, 15 columns; ``../shared/data``
from the repository root), read as the pipeline reads a source
(:func:`synth_pipeline.sources.read_source`) and split as the pipeline splits it
(:func:`synth_pipeline.splitting.holdout_mask`, 20 % holdout per class, seed 0). Both
generators are fitted on the train split and sample as many rows as it holds (or
``--rows``). Each sample is measured with the functions the pipeline's asset checks call,
and judged against the default policy (:class:`synth_pipeline.policy.SynthPolicy`) the
way the checks judge it (on the 95 % confidence bound, :class:`synth_pipeline.verdicts.RuleOutcome`):

- fidelity: SDMetrics quality score with its holdout-control bound, adversarial AUC
  (:mod:`synth_pipeline.quality.fidelity`);
- utility: TSTR / TRTR balanced accuracy on the holdout with its bootstrap bound
  (:func:`synth_pipeline.quality.utility.utility_scores`, the spec's default model);
- privacy: copies of training rows beyond chance, DCR share, membership-inference AUC
  (:func:`synth_pipeline.quality.privacy.evaluate_privacy`).

The Gaussian copula runs through :func:`synth_pipeline.synthesizers.synthesize` with the
spec's default parameters (SDV's defaults). TabularARGN runs through
:class:`synth_pipeline.generators.mostlyai.MostlyAIGenerator` on CPU with a training budget
of ``--minutes`` (default 5). Needs the ``mostlyai`` extra. Run from the repository root::

    python benchmarks/generator_comparison.py                 # about 10 minutes on 2 cores
    python benchmarks/generator_comparison.py --minutes 2 --rows 5000
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

ADULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "adult.csv"
LABEL = "income"
SEED = 0
HOLDOUT_FRACTION = 0.2
FACTORY = "synth_pipeline.modeling:default_classifier"


def load_split(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The Adult table tagged as real rows and split into (train, holdout), each with provenance columns."""
    from synth_pipeline.provenance import ProvenanceKind, tag_rows
    from synth_pipeline.sources import read_source
    from synth_pipeline.spec import SourceSpec
    from synth_pipeline.splitting import holdout_mask

    frame = read_source(SourceSpec(path=str(path)), label_column=LABEL).frame
    tagged = tag_rows(frame, kind=ProvenanceKind.REAL, generation=0, dataset="adult")
    mask = holdout_mask(tagged, label_column=LABEL, fraction=HOLDOUT_FRACTION, seed=SEED)
    return tagged[~mask].reset_index(drop=True), tagged[mask].reset_index(drop=True)


def gaussian_copula(train: pd.DataFrame, rows: int) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Rows of SDV's Gaussian copula with the spec defaults (fit and sample in one call)."""
    from synth_pipeline.synthesizers import synthesize

    started = time.perf_counter()
    synthesis = synthesize(train, label_column=LABEL, method="gaussian_copula", params={}, num_rows=rows, seed=SEED)
    return synthesis.rows, {"fit + sample s": time.perf_counter() - started}


def tabular_argn(minutes: float) -> Callable[[pd.DataFrame, int], tuple[pd.DataFrame, dict[str, Any]]]:
    """Rows of MOSTLY AI's TabularARGN (Medium model, CPU) trained for at most ``minutes``."""

    def run(train: pd.DataFrame, rows: int) -> tuple[pd.DataFrame, dict[str, Any]]:
        from synth_pipeline.generators.mostlyai import MostlyAIGenerator

        generator = MostlyAIGenerator(max_training_time=minutes)
        started = time.perf_counter()
        generator.fit(train, label_column=LABEL, seed=SEED)
        fitted = time.perf_counter()
        sample = generator.sample(rows, seed=SEED)
        done = time.perf_counter()
        epochs = generator.info().extra.get("epochs_trained", float("nan"))
        generator.close()
        return sample, {"fit + sample s": done - started, "fit s": fitted - started, "sample s": done - fitted,
                        "epochs trained": epochs}

    return run


def measure(generated: pd.DataFrame, train: pd.DataFrame, holdout: pd.DataFrame) -> tuple[list[Any], dict[str, float]]:
    """Every fidelity, utility and privacy rule of the asset checks, as :class:`RuleOutcome` (default policy).

    Returns:
        The outcomes, and the wall seconds each group of measures took.
    """
    from synth_pipeline.policy import SynthPolicy
    from synth_pipeline.provenance import ProvenanceKind, tag_rows
    from synth_pipeline.quality.fidelity import (
        adversarial_auc,
        control_quality_score,
        quality_score,
        quality_upper_bound,
    )
    from synth_pipeline.quality.privacy import evaluate_privacy
    from synth_pipeline.quality.utility import utility_scores
    from synth_pipeline.verdicts import RuleOutcome

    policy = SynthPolicy()
    generated = tag_rows(generated, kind=ProvenanceKind.SYNTHETIC, generation=1, dataset="generated", depth=1)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    quality = quality_score(train, generated, label_column=LABEL, seed=SEED)
    control = control_quality_score(train, holdout, quality.synthetic_rows_used, label_column=LABEL, seed=SEED)
    seconds["SDMetrics quality + control s"] = time.perf_counter() - started
    started = time.perf_counter()
    adversarial = adversarial_auc(train, generated, seed=SEED)
    seconds["adversarial AUC s"] = time.perf_counter() - started
    started = time.perf_counter()
    utility = utility_scores(generated, train, holdout, label_column=LABEL, factory=FACTORY, seed=SEED)
    seconds["utility s"] = time.perf_counter() - started
    started = time.perf_counter()
    privacy = evaluate_privacy(generated, train, holdout, seed=SEED)
    seconds["privacy s"] = time.perf_counter() - started
    return [
        RuleOutcome("SDMetrics quality score", quality.score, policy.min_quality_score, "min",
                    confidence_bound=quality_upper_bound(quality.score, control.score)),
        RuleOutcome("  column shapes (not judged)", quality.column_shapes, float("nan"), "min"),
        RuleOutcome("  column pair trends (not judged)", quality.column_pair_trends, float("nan"), "min"),
        RuleOutcome("adversarial AUC", adversarial.auc, policy.max_adversarial_auc, "max",
                    confidence_bound=adversarial.auc_lower_bound),
        RuleOutcome("TSTR / TRTR (balanced accuracy)", utility.ratio, policy.min_tstr_trtr_ratio, "min",
                    confidence_bound=utility.ratio_upper_bound, unjudged=utility.undefined),
        RuleOutcome("  TSTR (not judged)", utility.trained_on_generated, float("nan"), "min"),
        RuleOutcome("  TRTR (not judged)", utility.trained_on_real, float("nan"), "min"),
        RuleOutcome("copies of training rows beyond chance", privacy.copies.excess_copy_fraction,
                    policy.max_exact_copy_fraction, "max",
                    confidence_bound=privacy.copies.excess_copy_fraction_lower_bound),
        RuleOutcome("  raw exact-copy share (not judged)", privacy.exact_copy_fraction, float("nan"), "max"),
        RuleOutcome("DCR share (size-adjusted)", privacy.dcr.dcr_share, policy.max_dcr_share, "max",
                    confidence_bound=privacy.dcr.dcr_share_lower_bound),
        RuleOutcome("membership-inference AUC", privacy.membership_auc, policy.max_membership_auc, "max",
                    confidence_bound=privacy.membership_auc_lower_bound),
    ], seconds


def _cell(outcome: Any) -> str:
    if outcome.threshold != outcome.threshold:  # NaN limit: a figure shown, not judged
        return f"{outcome.observed:.3f}"
    bound = "" if outcome.confidence_bound is None else f" ({outcome.confidence_bound:.3f})"
    return f"{outcome.observed:.3f}{bound} {outcome.verdict.value}"


def report(results: dict[str, tuple[dict[str, Any], list[Any]]]) -> str:
    """The side-by-side table (markdown): figure (95 % bound) and verdict per generator, and the limit."""
    names = list(results)
    lines = ["| measure | " + " | ".join(names) + " | default limit |", "|---" * (len(names) + 2) + "|"]
    timing_keys = list(dict.fromkeys(k for timings, _ in results.values() for k in timings))
    for key in timing_keys:
        cells = [f"{results[n][0][key]:.1f}" if key in results[n][0] else "" for n in names]
        lines.append(f"| {key} | " + " | ".join(cells) + " | |")
    for row, outcome in enumerate(results[names[0]][1]):
        limit = "" if outcome.threshold != outcome.threshold else f"{outcome.bound} {outcome.threshold:g}"
        cells = [_cell(results[n][1][row]) for n in names]
        lines.append(f"| {outcome.rule} | " + " | ".join(cells) + f" | {limit} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ADULT, help=f"the Adult CSV (default {ADULT})")
    parser.add_argument("--minutes", type=float, default=5.0, help="TabularARGN training budget in minutes")
    parser.add_argument("--rows", type=int, default=None, help="rows to sample (default: the fit input's)")
    parser.add_argument("--fit-rows", type=int, default=None,
                        help="fit on a seeded sample of this many train rows (default: all); for a quick run")
    args = parser.parse_args()
    if not args.data.is_file():
        sys.exit(f"skipped: {args.data} not present (the UCI Adult CSV; pass --data PATH)")
    warnings.simplefilter("ignore")
    from synth_pipeline.generators.mostlyai import load_engine

    load_engine()  # fail at once, with the install command, if the extra is missing
    from synth_pipeline.provenance import user_columns

    train, holdout = load_split(args.data)
    if args.fit_rows is not None and args.fit_rows < len(train):
        train = train.sample(args.fit_rows, random_state=SEED).reset_index(drop=True)
    rows = args.rows or len(train)
    print(f"Adult: {len(train)} train rows (fit input), {len(holdout)} holdout rows, {len(user_columns(train))} "
          f"columns; {rows} rows sampled per generator; TabularARGN budget {args.minutes:g} min", flush=True)
    fit_input = train[user_columns(train)]
    results: dict[str, tuple[dict[str, Any], list[Any]]] = {}
    for name, generate in (("Gaussian copula (SDV)", gaussian_copula),
                           ("TabularARGN (mostlyai-engine)", tabular_argn(args.minutes))):
        cpu = time.process_time()
        generated, timings = generate(fit_input, rows)
        timings["fit + sample CPU s (this process)"] = time.process_time() - cpu
        outcomes, seconds = measure(generated, train, holdout)
        timings.update(seconds)
        results[name] = timings, outcomes
        print(f"{name}: done ({', '.join(f'{k} {v:.1f}' for k, v in timings.items())})", flush=True)
    print()
    print("figure (95 % confidence bound the check compares) verdict against the default policy")
    print(report(results))


if __name__ == "__main__":
    main()

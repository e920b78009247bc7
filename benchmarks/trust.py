"""Trust benchmark: how often each blocking rule raises a false alarm on clean generators,
and how often it catches planted faults, measured on the real check code.

For every table and seed the benchmark lays out the stage datasets the checks read, made
the way the pipeline makes them (ingest, the sealed holdout split, the arrival batch,
the Gaussian copula, SMOTE, the training mix), in a :class:`~synth_pipeline.DatasetStore`
on a temporary directory, and calls the very evaluation functions the Dagster checks call
(``synth_pipeline.checks.quality_checks._fidelity`` / ``_privacy`` / ``_utility`` /
``_diversity`` and the policy checks of ``synth_pipeline.checks.policy_checks``). Each rule's
verdict (pass / fail / warn / skipped) is counted.

Conditions (generation 1 unless said otherwise):

=================  ======================================================================
condition          what is planted (expected to be caught by)
=================  ======================================================================
clean              GaussianCopula fitted on the real arrivals (SDV defaults) and SMOTE
                   augmentation: every fail is a false alarm
replay             synthetic = a sample of the generator's fit input, tagged synthetic
                   (privacy)
near_replay        the same rows + noise of 1 % of each numeric column's std (privacy)
const_column       clean output, one non-constant numeric column set to its median
                   (diversity, fidelity)
shrunk_column      clean output, one numeric column's spread shrunk 10x around its mean
                   (diversity)
label_flip         clean output with its labels permuted (utility)
leak_mix           20 % of the holdout ingested as unknown rows, in the training mix
                   (holdout isolation)
leak_mix_near      the same rows, numeric values x (1 + 1e-6) (holdout isolation)
leak_fit           generation 2 of a ``fit_on: previous_mix``, ``replace`` pipeline whose
                   generation-1 mix held the leaked holdout rows (unknown): the
                   generator's fit input held them (holdout isolation)
leak_fit_near      the same with the near copies (holdout isolation)
=================  ======================================================================

Fidelity and utility fit models and dominate the run time, so they run on the synthetic
stage only where the fault may concern them (clean, collapsed columns, label flip; see
``SYNTHETIC_CHECKS``; ``--all-checks`` runs every check everywhere). In ``leak_mix*`` the
synthetic stage is the clean one, so its checks are not rerun there.

The unknown-budget rule also fires on the leak conditions (the default policy allows no
unknown rows at all); it is reported but not counted as the detection, which must come
from holdout isolation (a user who allows unknown rows still needs it).

Tables: scikit-learn's breast cancer, wine and iris (digits with ``--tables``), a made-up low-cardinality table
(3,000 rows, four binary columns ``a``-``d``, ``label = a`` with 20 % flipped) and, when
present, ``../shared/data/adult.csv`` (label ``income``, subsampled).

Run from the repository root::

    nice .venv/bin/python benchmarks/trust.py            # 5 seeds, every table
    nice .venv/bin/python benchmarks/trust.py --quick    # 1 seed smoke run
    nice .venv/bin/python benchmarks/trust.py --seeds 10 --detail --tables wine binary

Progress goes to stderr; the tables to stdout.
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
import tempfile
import time
import traceback
import warnings
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
ADULT = ROOT.parent / "shared" / "data" / "adult.csv"
ADULT_ROWS = 3000
LEAK_FRACTION = 0.2
NEAR_NOISE = 0.01  # near replay: noise as a share of each numeric column's std
NEAR_FACTOR = 1 + 1e-6  # near holdout copies
SHRINK = 10.0
NAME = "bench"

CONDITIONS = ("clean", "replay", "near_replay", "const_column", "shrunk_column", "label_flip",
              "leak_mix", "leak_mix_near", "leak_fit", "leak_fit_near")
FAULTS = CONDITIONS[1:]
# The rules meant to catch each fault: (check, pattern matched against the rule text).
TARGETS: dict[str, list[tuple[str, str]]] = {
    "replay": [("synthetic/privacy", "")],
    "near_replay": [("synthetic/privacy", "")],
    "const_column": [("synthetic/diversity", "variance ratio, smallest"), ("synthetic/fidelity", "")],
    "shrunk_column": [("synthetic/diversity", "variance ratio, smallest"), ("synthetic/diversity", "lost tails"),
                      ("synthetic/fidelity", "")],
    "label_flip": [("synthetic/utility", "")],
    "leak_mix": [("training_mix/holdout_isolation", "")],
    "leak_mix_near": [("training_mix/holdout_isolation", "")],
    "leak_fit": [("training_mix/holdout_isolation", "")],
    "leak_fit_near": [("training_mix/holdout_isolation", "")],
}
# Checks whose failures only warn under the default policy (enforce_quality_on_augmented: false).
WARN_ONLY = ("augmented/privacy", "augmented/diversity")
POLICY_CHECKS = ("holdout_isolation", "synthetic_budget", "generation_budget", "recursion_depth", "unknown_budget")
QUALITY_CHECKS = ("fidelity", "privacy", "utility", "diversity")
HEAVY_CHECKS = ("fidelity", "utility")  # model fits
# The quality checks run on the synthetic stage per condition (--all-checks: every one everywhere).
# Fidelity and utility fit models and dominate the run time; they are skipped where the
# fault is not about them. The leak_mix conditions keep the clean synthetic stage: its
# verdicts are those of ``clean``.
SYNTHETIC_CHECKS: dict[str, tuple[str, ...]] = {
    "clean": QUALITY_CHECKS,
    "replay": ("privacy", "diversity"),
    "near_replay": ("privacy", "diversity"),
    "const_column": ("fidelity", "privacy", "diversity"),
    "shrunk_column": ("fidelity", "privacy", "diversity"),
    "label_flip": QUALITY_CHECKS,
    "leak_mix": (),
    "leak_mix_near": (),
    "leak_fit": ("privacy", "diversity"),
    "leak_fit_near": ("privacy", "diversity"),
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- tables

def _sk(name: str) -> Callable[[int], pd.DataFrame]:
    def load(seed: int) -> pd.DataFrame:
        import sklearn.datasets

        frame = getattr(sklearn.datasets, name)(as_frame=True).frame
        return frame.rename(columns=lambda c: str(c).replace(" ", "_"))
    return load


def binary_table(seed: int, rows: int = 3000) -> pd.DataFrame:
    """Four binary columns a-d; label = a with 20 % of the labels flipped (32 distinct rows)."""
    rng = np.random.default_rng(1000 + seed)
    frame = pd.DataFrame(rng.integers(0, 2, size=(rows, 4)), columns=list("abcd"))
    flip = rng.random(rows) < 0.2
    frame["label"] = np.where(flip, 1 - frame["a"], frame["a"])
    return frame


def adult(seed: int) -> pd.DataFrame:
    frame = pd.read_csv(ADULT, skipinitialspace=True)
    frame = frame.rename(columns=lambda c: str(c).strip().replace("-", "_"))
    return frame.sample(n=min(ADULT_ROWS, len(frame)), random_state=seed).reset_index(drop=True)


TABLES: dict[str, tuple[Callable[[int], pd.DataFrame], str]] = {
    "breast_cancer": (_sk("load_breast_cancer"), "target"),
    "wine": (_sk("load_wine"), "target"),
    "digits": (_sk("load_digits"), "target"),
    "iris": (_sk("load_iris"), "target"),
    "binary": (binary_table, "label"),
    "adult": (adult, "income"),
}
DEFAULT_TABLES = ("breast_cancer", "wine", "iris", "binary", "adult")


# --------------------------------------------------------------------------- stages

@dataclass
class Layout:
    """The stage frames of one condition: {stage value: {partition or None: frame}}."""

    frames: dict[str, dict[str | None, pd.DataFrame]] = field(default_factory=lambda: defaultdict(dict))
    generation: int = 1
    fitted_on: str | None = None  # the synthetic stage's ``fitted_on`` metadata


def _user(frame: pd.DataFrame) -> pd.DataFrame:
    from synth_pipeline.provenance import user_columns

    return frame[user_columns(frame)].reset_index(drop=True)


def _numeric(frame: pd.DataFrame, label: str) -> list[str]:
    return [c for c in frame.columns if c != label and pd.api.types.is_numeric_dtype(frame[c])
            and not pd.api.types.is_bool_dtype(frame[c])]


class Bench:
    """Makes the stage frames of every condition for one table and seed, and runs the checks."""

    def __init__(self, table: str, raw: pd.DataFrame, label: str, seed: int, workdir: Path):
        from synth_pipeline import AugmentationSpec, MixSpec, SourceSpec, SynthPipelineSpec, build_synth_pipeline
        from synth_pipeline.naming import Stage
        from synth_pipeline.provenance import ProvenanceKind, ingest
        from synth_pipeline.splitting import holdout_mask

        self.table, self.label, self.seed, self.workdir = table, label, seed, workdir
        self.rng = np.random.default_rng(seed)
        source = SourceSpec(path="unused.csv")
        base = dict(name=NAME, label_column=label, real_source=source, seed=seed, augmentation=AugmentationSpec())
        self.spec = SynthPipelineSpec(**base)
        self.pipeline = build_synth_pipeline(self.spec)
        self.leak_pipeline = build_synth_pipeline(SynthPipelineSpec(
            **base, unknown_source=SourceSpec(path="vendor.csv"), mix=MixSpec(include_unknown=True)))
        self.fit_pipeline = build_synth_pipeline(SynthPipelineSpec(
            **{**base, "synthesizer": {"fit_on": "previous_mix"}}, unknown_source=SourceSpec(path="vendor.csv"),
            mix=MixSpec(include_unknown=True, mode="replace", real_arrival_batches=2)))
        self.S = Stage
        self.source = ingest(raw, dataset=self._dataset(Stage.REAL_SOURCE), declared_kind=ProvenanceKind.REAL)
        mask = holdout_mask(self.source, label_column=label, fraction=self.spec.holdout_fraction, seed=seed)
        self.holdout = self.source[mask].reset_index(drop=True)
        self.train = self.source[~mask].reset_index(drop=True)
        self.arrivals = self._arrivals(self.train, 1, 1)
        self.clean = self._generate(self.arrivals, 1)
        self.augmented = self._augment(self.arrivals, 1)
        self.numeric = [c for c in _numeric(self.clean, label) if _user(self.arrivals)[c].nunique() > 1]

    # --- pieces made the way the pipeline makes them
    def _dataset(self, stage) -> str:
        return self.pipeline.key(stage).to_user_string()

    def _arrivals(self, train: pd.DataFrame, generation: int, batches: int) -> pd.DataFrame:
        try:
            from synth_pipeline.stages.real import arrival_batch
        except ImportError:  # older layout: every generation receives the whole split
            return train.copy()
        return arrival_batch(train, generation=generation, batches=batches, seed=self.seed)

    def _rows(self, arrivals: pd.DataFrame) -> int:
        return int(round(self.spec.synthesizer.rows_per_real_row * len(arrivals)))

    def _generate(self, fit_input: pd.DataFrame, generation: int) -> pd.DataFrame:
        from synth_pipeline.synthesizers import fit_and_sample

        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                return fit_and_sample(_user(fit_input), label_column=self.label, method="gaussian_copula", params={},
                                      num_rows=self._rows(self.arrivals), seed=self.seed + generation)
            finally:
                SECONDS["(GaussianCopula fit + sample)"] += time.perf_counter() - t0

    def _augment(self, arrivals: pd.DataFrame, generation: int) -> pd.DataFrame:
        from synth_pipeline.augmentation import smote_oversample
        from synth_pipeline.provenance import DEPTH_COLUMN, ProvenanceKind, tag_rows

        settings = self.spec.augmentation
        try:  # as the augmented stage does: within the default policy's class budgets
            from synth_pipeline.budgets import augmentation_allowance
            from synth_pipeline.policy import SynthPolicy

            allowance = augmentation_allowance(arrivals[self.label].value_counts().to_dict(), SynthPolicy(),
                                               synthetic_per_real_row=self.spec.synthesizer.rows_per_real_row)
        except ImportError:  # older layout: uncapped
            allowance = None
        made, sources = smote_oversample(_user(arrivals), label_column=self.label, target_ratio=settings.target_ratio,
                                         k_neighbors=settings.k_neighbors, seed=self.seed + generation,
                                         **({"max_added": allowance} if allowance is not None else {}))
        depths = arrivals[DEPTH_COLUMN].to_numpy()
        depth = depths[sources].max(axis=1) if len(made) else np.zeros(0, dtype="int32")
        return tag_rows(made, kind=ProvenanceKind.AUGMENTED, generation=generation,
                        dataset=self._dataset(self.S.AUGMENTED), depth=depth)

    def _synthetic(self, rows: pd.DataFrame, generation: int, depth: int = 1) -> pd.DataFrame:
        from synth_pipeline.provenance import ProvenanceKind, tag_rows

        return tag_rows(rows, kind=ProvenanceKind.SYNTHETIC, generation=generation,
                        dataset=self._dataset(self.S.SYNTHETIC), depth=depth)

    def _unknown(self, rows: pd.DataFrame) -> pd.DataFrame:
        from synth_pipeline.provenance import ingest

        return ingest(_user(rows), dataset=self._dataset(self.S.UNKNOWN))

    def _mix(self, parts: list[pd.DataFrame]) -> pd.DataFrame:
        from synth_pipeline.provenance import combine

        try:
            from synth_pipeline.spec import GenerationMode
            from synth_pipeline.stages.mix import assemble_mix

            return assemble_mix(combine(parts), None, GenerationMode.REPLACE)
        except ImportError:
            return combine(parts)

    def _leaked_holdout(self, near: bool) -> pd.DataFrame:
        n = max(10, int(round(LEAK_FRACTION * len(self.holdout))))
        rows = _user(self.holdout).sample(n=min(n, len(self.holdout)), random_state=self.seed)
        if near:
            for column in _numeric(rows, self.label):
                rows[column] = rows[column].astype(float) * NEAR_FACTOR
        return rows.reset_index(drop=True)

    # --- conditions
    def layout(self, condition: str) -> Layout:
        S = self.S
        out = Layout()
        real = {S.REAL_SOURCE: self.source, S.REAL_HOLDOUT: self.holdout, S.REAL_TRAIN: self.train}
        for stage, frame in real.items():
            out.frames[stage.value][None] = frame
        if condition.startswith("leak_fit"):
            return self._leak_fit(out, near=condition.endswith("near"))
        synthetic = _user(self.clean)
        fit = _user(self.arrivals)
        if condition in ("replay", "near_replay"):
            synthetic = fit.sample(n=self._rows(self.arrivals), random_state=self.seed).reset_index(drop=True)
            if condition == "near_replay":
                for column in _numeric(synthetic, self.label):
                    std = float(fit[column].std()) or 1.0
                    synthetic[column] = synthetic[column].astype(float) + self.rng.normal(
                        0, NEAR_NOISE * std, len(synthetic))
        elif condition in ("const_column", "shrunk_column") and self.numeric:
            column = self.numeric[int(self.rng.integers(len(self.numeric)))]
            values = synthetic[column]
            if condition == "const_column":
                synthetic[column] = np.full(len(values), values.median()).astype(values.dtype)
            else:
                shrunk = values.mean() + (values - values.mean()) / SHRINK
                synthetic[column] = shrunk.astype(float)
        elif condition == "label_flip":
            synthetic[self.label] = self.rng.permutation(synthetic[self.label].to_numpy())
        tagged = self._synthetic(synthetic, 1)
        parts = [self.arrivals, tagged, self.augmented]
        if condition.startswith("leak_mix"):
            unknown = self._unknown(self._leaked_holdout(near=condition.endswith("near")))
            out.frames[S.UNKNOWN.value][None] = unknown
            parts.append(unknown)
        out.frames[S.REAL_ARRIVALS.value]["1"] = self.arrivals
        out.frames[S.SYNTHETIC.value]["1"] = tagged
        out.frames[S.AUGMENTED.value]["1"] = self.augmented
        out.frames[S.TRAINING_MIX.value]["1"] = self._mix(parts)
        return out

    def _leak_fit(self, out: Layout, near: bool) -> Layout:
        """Generation 2 of a previous_mix / replace pipeline whose generation-1 mix held holdout rows."""
        from synth_pipeline.provenance import DEPTH_COLUMN

        S = self.S
        unknown = self._unknown(self._leaked_holdout(near=near))
        out.frames[S.UNKNOWN.value][None] = unknown
        arrivals1 = self._arrivals(self.train, 1, 2)
        synthetic1 = self._synthetic(self._generate(arrivals1, 1), 1)
        augmented1 = self._augment(arrivals1, 1)
        mix1 = self._mix([arrivals1, synthetic1, augmented1, unknown])
        arrivals2 = self._arrivals(self.train, 2, 2)
        synthetic2 = self._synthetic(self._generate(mix1, 2), 2, depth=int(mix1[DEPTH_COLUMN].max()) + 1)
        augmented2 = self._augment(arrivals2, 2)
        # The vendor drop is no longer supplied in generation 2: only the fit input held it.
        mix2 = self._mix([arrivals2, synthetic2, augmented2])
        for generation, frames in ((1, (arrivals1, synthetic1, augmented1, mix1)),
                                   (2, (arrivals2, synthetic2, augmented2, mix2))):
            for stage, frame in zip((S.REAL_ARRIVALS, S.SYNTHETIC, S.AUGMENTED, S.TRAINING_MIX), frames, strict=True):
                out.frames[stage.value][str(generation)] = frame
        out.generation = 2
        out.fitted_on = f"{self.fit_pipeline.key(S.TRAINING_MIX).to_user_string()}[1]"
        return out

    def pipeline_for(self, condition: str):
        if condition.startswith("leak_fit"):
            return self.fit_pipeline
        return self.leak_pipeline if condition.startswith("leak_mix") else self.pipeline

    # --- running the checks
    def run(self, condition: str) -> dict[str, list[Any]]:
        """{``stage/check``: [RuleOutcome, ...] or an exception} for one condition."""
        from synth_pipeline.checks import policy_checks, quality_checks
        from synth_pipeline.policy import SynthPolicy
        from synth_pipeline.storage import DatasetStore

        S = self.S
        layout = self.layout(condition)
        pipeline = self.pipeline_for(condition)
        directory = Path(tempfile.mkdtemp(prefix=f"{condition}_", dir=self.workdir))
        store = DatasetStore(base_dir=str(directory))
        for stage, partitions in layout.frames.items():
            if stage not in {s.value for s in pipeline.stages}:
                continue
            for partition, frame in partitions.items():
                store.write(frame.reset_index(drop=True), pipeline.key(S(stage)), partition)
        inputs = make_inputs(pipeline, store, SynthPolicy(), layout.generation, layout.fitted_on)
        wanted = {S.SYNTHETIC: QUALITY_CHECKS if ALL_CHECKS else SYNTHETIC_CHECKS[condition]}
        if condition == "clean":
            wanted[S.AUGMENTED] = QUALITY_CHECKS
        calls: list[tuple[str, Callable[[], Any]]] = []
        for stage, checks in wanted.items():
            for check in checks:
                function = getattr(quality_checks, f"_{check}", None)
                if function is not None:
                    calls.append((f"{stage.value}/{check}", _bind(function, inputs, stage)))
        diversity = getattr(quality_checks, "_diversity", None)
        if diversity is not None:
            calls.append(("training_mix/diversity", _bind(diversity, inputs, S.TRAINING_MIX)))
        for check in POLICY_CHECKS:
            function = getattr(policy_checks, f"_{check}", None)
            if function is not None:
                calls.append((f"training_mix/{check}", _bind(function, inputs, None)))
        if condition == "clean" and getattr(policy_checks, "_holdout_purity", None) is not None:
            calls.append(("real_holdout/holdout_purity", _bind(policy_checks._holdout_purity, inputs, None)))
        results: dict[str, list[Any]] = {}
        for name, call in calls:
            t0 = time.perf_counter()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    outcomes, _ = call()
                results[name] = list(outcomes)
            except Exception as error:  # another engineer's half-done edit, or a real bug: report it
                results[name] = [error]
                ERRORS[(name, f"{type(error).__name__}: {error}"[:200])].append(
                    (self.table, self.seed, condition, traceback.format_exc(limit=-3)))
            SECONDS[name.split("/")[1]] += time.perf_counter() - t0
        return results


ERRORS: dict[tuple[str, str], list[tuple]] = defaultdict(list)
SECONDS: dict[str, float] = defaultdict(float)  # time spent per check (and in the generator)
ALL_CHECKS = False


def _params(callable_: Any) -> set[str]:
    try:
        return set(inspect.signature(callable_).parameters)
    except (TypeError, ValueError):
        return set()


def _bind(function: Callable, inputs: Any, stage: Any) -> Callable[[], Any]:
    if stage is not None and "stage" in _params(function):
        return lambda: function(inputs, stage=stage)
    return lambda: function(inputs)


def make_inputs(pipeline, store, policy, generation: int, fitted_on: str | None):
    """The checks' ``CheckInputs``; with ``fitted_on``, the synthetic stage's metadata says so."""
    from synth_pipeline.checks.rule_checks import CheckInputs
    from synth_pipeline.naming import Stage

    if fitted_on is None:
        return CheckInputs(pipeline=pipeline, store=store, policy=policy, generation=generation)

    class FittedOnInputs(CheckInputs):
        def materialization_metadata(self, stage):  # what the synthetic asset records in a real run
            return {"fitted_on": fitted_on} if stage is Stage.SYNTHETIC else {}

    return FittedOnInputs(pipeline=pipeline, store=store, policy=policy, generation=generation)


# --------------------------------------------------------------------------- tallies

def rule_name(check: str, outcome: Any) -> str:
    """A rule's name without data values (column names, class labels, counts), so runs can be pooled.

    ``variance ratio, smallest (mean_radius)`` -> ``variance ratio, smallest``; ``non-real
    fraction (synthetic + augmented + unknown), class #2 (value >50K, minority)`` -> ``non-real
    fraction (synthetic + augmented + unknown), class * (minority)`` (and the older ``synthetic
    fraction, class >50K (minority)`` likewise); descriptive parentheses (``(lost tails)``,
    ``(95 % lower bound)``) are kept; ``utility ratio (generated / real, balanced_accuracy): TSTR 0.422 /
    TRTR 0.861`` -> ``utility ratio (generated / real, balanced_accuracy)``.
    """
    text = outcome if isinstance(outcome, str) else getattr(outcome, "rule", str(outcome))
    # the figures a rule names after its name (``utility ratio (...): TSTR 0.42 / TRTR 0.86``, ``..., on skill
    # above chance: (TSTR - chance) / (TRTR - chance) with TSTR 0.52, ...``) go: one row per rule, not per run
    text = re.sub(r":\s[^:]*\d[^:]*$", "", text)
    # a class named by number and value: the value goes, the minority tag stays
    text = re.sub(r"\bclass #\d+ \(value (?:[^()]|\([^()]*\))*?(, minority)?\)",
                  lambda m: "class *" + (" (minority)" if m.group(1) else ""), text)
    text = re.sub(r"\b(smallest|largest) \((?:[^()]|\([^()]*\))*\)", r"\1", text)
    text = re.sub(r"\s*\((?:[^()]|\([^()]*\))*\)",
                  lambda m: m.group(0) if re.fullmatch(r"\s*\(95 % [^()]*\)", m.group(0))
                  or not re.search(r"\d", m.group(0)) else "", text)
    text = re.sub(r"\bclass\s+(?:#\d+|\S+)", "class *", text)
    text = re.sub(r"\s+", " ", text).strip(" ,")
    return f"{check}: {text}"


_EVIDENCE = re.compile(r"^(?P<rule>.*?): (?:(?P<unjudged>not judged)|(?P<skipped>skipped)|observed .*? "
                       r"(?P<op><=|>=|<|>) limit)")


def from_evidence(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records re-split per rule from their evidence lines (for CSVs of earlier versions of this script)."""
    out: dict[tuple, dict[str, Any]] = {}
    for record in records:
        parts = str(record.get("evidence", "")).split(" | ")
        parsed = [_EVIDENCE.match(part) for part in parts]
        if record["verdict"] == "error" or not all(parsed):
            out[(record["table"], record["seed"], record["condition"], record["rule"])] = dict(record)
            continue
        check = record["rule"].split(":")[0]
        for part, match in zip(parts, parsed, strict=True):
            value = ("warn" if match["unjudged"] else "skipped" if match["skipped"]
                     else "fail" if match["op"] in ("<", ">") else "pass")
            name = rule_name(check, match["rule"])
            key = (record["table"], record["seed"], record["condition"], name)
            previous = out.get(key)
            verdicts = {value, previous["verdict"]} if previous else {value}
            out[key] = {**record, "rule": name, "verdict": pooled_verdicts(verdicts),
                        "evidence": part if previous is None else previous["evidence"] + " | " + part}
    return list(out.values())


def verdict(outcome: Any) -> str:
    if isinstance(outcome, Exception):
        return "error"
    value = getattr(outcome, "verdict", None)
    if value is None:
        return "pass" if getattr(outcome, "passed", True) else "fail"
    return str(getattr(value, "value", value))


def pooled(outcomes: list[Any]) -> str:
    """One verdict per rule and run: fail if any fails, else error, warn, pass, skipped."""
    return pooled_verdicts({verdict(o) for o in outcomes})


def pooled_verdicts(verdicts: set[str]) -> str:
    for wanted in ("fail", "error", "warn", "pass", "skipped"):
        if wanted in verdicts:
            return wanted
    return "skipped"


@dataclass
class Tally:
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, value: str) -> None:
        self.counts[value] += 1
        self.counts["runs"] += 1

    def cell(self) -> str:
        runs = self.counts["runs"]
        if not runs:
            return ""
        text = f"{self.counts['fail']}/{runs}"
        extras = [f"{self.counts[k]}{k[0]}" for k in ("warn", "skipped", "error") if self.counts[k]]
        return text + (f" ({','.join(extras)})" if extras else "")


def tabulate(records: list[dict[str, Any]], conditions: list[str]) -> str:
    rules = sorted({r["rule"] for r in records}, key=_rule_order)
    tallies: dict[tuple[str, str], Tally] = defaultdict(Tally)
    for r in records:
        tallies[(r["rule"], r["condition"])].add(r["verdict"])
    header = ["rule"] + conditions
    rows = [[rule] + [tallies[(rule, c)].cell() for c in conditions] for rule in rules]
    return _markdown(header, rows)


def _rule_order(rule: str) -> tuple[int, str]:
    order = ["synthetic/", "augmented/", "training_mix/diversity", "training_mix/", "real_holdout/"]
    return next((i for i, prefix in enumerate(order) if rule.startswith(prefix)), len(order)), rule


def _markdown(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows, strict=True)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"  # noqa: E731
    return "\n".join([line(header), "| " + " | ".join("-" * w for w in widths) + " |", *map(line, rows)])


def detection_table(records: list[dict[str, Any]], conditions: list[str]) -> str:
    """Per fault: runs where a target rule failed, and what else fired."""
    by_run: dict[tuple, dict[str, str]] = defaultdict(dict)
    for r in records:
        by_run[(r["table"], r["seed"], r["condition"])][r["rule"]] = r["verdict"]
    rows = []
    for condition in conditions:
        if condition == "clean":
            continue
        runs = [(key, rules) for key, rules in by_run.items() if key[2] == condition]
        if not runs:
            continue
        targets = TARGETS[condition]

        def is_target(rule: str, targets: list[tuple[str, str]] = targets) -> bool:
            return any(rule.startswith(check) and pattern in rule for check, pattern in targets)

        caught = sum(any(v == "fail" for rule, v in rules.items() if is_target(rule)) for _, rules in runs)
        warned = sum(not any(v == "fail" for rule, v in rules.items() if is_target(rule))
                     and any(v == "warn" for rule, v in rules.items() if is_target(rule)) for _, rules in runs)
        clean_runs = [rules for key, rules in by_run.items() if key[2] == "clean"]
        on_clean = sum(any(v == "fail" for rule, v in rules.items() if is_target(rule)) for rules in clean_runs)
        missed_on = sorted({key[0] for key, rules in runs
                            if not any(v == "fail" for rule, v in rules.items() if is_target(rule))})
        others: dict[str, int] = defaultdict(int)
        for _, rules in runs:
            for rule, v in rules.items():
                if v == "fail" and not is_target(rule):
                    others[rule.split(":")[0]] += 1
        rows.append([
            condition, ", ".join(dict.fromkeys(f"{c}{': ' + p if p else ''}" for c, p in targets)),
            f"{caught}/{len(runs)}",
            f"{caught / len(runs):.2f}", f"{on_clean}/{len(clean_runs)}" if clean_runs else "", str(warned),
            ", ".join(missed_on) or "-",
            ", ".join(f"{k} {v}" for k, v in sorted(others.items())) or "-",
        ])
    return _markdown(["fault", "meant to be caught by", "detected", "rate", "same checks fail on clean",
                      "warn only", "missed on",
                      "other checks failing (runs)"], rows)


def false_alarm_table(records: list[dict[str, Any]]) -> str:
    clean = [r for r in records if r["condition"] == "clean"]
    tallies: dict[str, Tally] = defaultdict(Tally)
    tables: dict[str, set[str]] = defaultdict(set)
    for r in clean:
        tallies[r["rule"]].add(r["verdict"])
        if r["verdict"] == "fail":
            tables[r["rule"]].add(r["table"])
    rows = []
    for rule in sorted(tallies, key=_rule_order):
        c = tallies[rule].counts
        judged = c["runs"]
        rows.append([rule, "no" if rule.startswith(WARN_ONLY) else "yes", str(judged), f"{c['fail']}",
                     f"{c['fail'] / judged:.2f}" if judged else "",
                     str(c["warn"]), str(c["pass"]), str(c["skipped"] + c["error"]),
                     ", ".join(sorted(tables[rule])) or "-"])
    header = ["rule", "blocks", "runs", "fail", "false-alarm rate", "warn", "pass", "skip/err", "failed on"]
    return _markdown(header, rows)


# --------------------------------------------------------------------------- main

def run_table_seed(table: str, seed: int, conditions: list[str], tmp: str, started: float,
                   all_checks: bool = False) -> dict[str, Any]:
    """Every condition of one table and seed (one worker task): verdict records, errors, seconds."""
    global ALL_CHECKS
    ALL_CHECKS = all_checks
    ERRORS.clear()
    SECONDS.clear()
    records: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    loader, label = TABLES[table]
    workdir = Path(tempfile.mkdtemp(prefix=f"{table}_{seed}_", dir=tmp))
    try:
        bench = Bench(table, loader(seed), label, seed, workdir)
    except Exception as error:
        log(f"[{time.perf_counter() - started:6.0f}s] {table} seed {seed}: setup failed: "
            f"{type(error).__name__}: {error}")
        ERRORS[("setup", f"{type(error).__name__}: {error}"[:200])].append(
            (table, seed, "setup", traceback.format_exc(limit=-3)))
        conditions = []
    for condition in conditions:
        try:
            results = bench.run(condition)
        except Exception as error:
            log(f"  {table} seed {seed} {condition}: layout failed: {type(error).__name__}: {error}")
            ERRORS[("layout", f"{type(error).__name__}: {error}"[:200])].append(
                (table, seed, condition, traceback.format_exc(limit=-3)))
            continue
        per_rule: dict[str, list[Any]] = defaultdict(list)
        for check, outcomes in results.items():
            for outcome in outcomes:
                name = f"{check}: (error)" if isinstance(outcome, Exception) else rule_name(check, outcome)
                per_rule[name].append(outcome)
        for rule, outcomes in per_rule.items():
            records.append({"table": table, "seed": seed, "condition": condition, "rule": rule,
                            "verdict": pooled(outcomes),
                            "evidence": " | ".join(_evidence(o) for o in outcomes)[:4000]})
        fails = sorted({r.split(":")[0] for r, o in per_rule.items() if pooled(o) == "fail"})
        log(f"  {table} seed {seed} {condition:<13} failed: {', '.join(fails) or '-'}")
    log(f"[{time.perf_counter() - started:6.0f}s] {table} seed {seed} done in {time.perf_counter() - t0:.0f}s")
    return {"records": records, "errors": dict(ERRORS), "seconds": dict(SECONDS)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5, help="seeds per table (default 5)")
    parser.add_argument("--quick", action="store_true", help="one seed: a smoke run")
    parser.add_argument("--tables", nargs="+", default=list(DEFAULT_TABLES), choices=sorted(TABLES))
    parser.add_argument("--conditions", nargs="+", default=list(CONDITIONS), choices=CONDITIONS)
    parser.add_argument("--all-checks", action="store_true",
                        help="run every quality check on the synthetic stage in every condition (slower)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--detail", action="store_true",
                        help="also print the rule x condition table per table, and error tracebacks")
    parser.add_argument("--csv", type=Path, help="write every rule verdict (with its evidence) to this CSV file")
    parser.add_argument("--report", type=Path, metavar="CSV",
                        help="print the tables from a CSV written by --csv (e.g. of an interrupted run; seeds below "
                        "--seeds only); run nothing")
    args = parser.parse_args(argv)
    seeds = 1 if args.quick else args.seeds
    started = time.perf_counter()
    if args.report:
        records = [r for r in from_evidence(pd.read_csv(args.report).to_dict("records")) if r["seed"] < seeds]
        tables = list(dict.fromkeys(r["table"] for r in records))
        runs = len({(r["table"], r["seed"]) for r in records})
        conditions = [c for c in CONDITIONS if any(r["condition"] == c for r in records)]
        print(f"\n# Trust benchmark (from {args.report}): {runs} table x seed runs, tables {', '.join(tables)}\n")
        print_tables(records, tables, conditions, args.detail)
        return 0
    tables = list(args.tables)
    if "adult" in tables and not ADULT.is_file():
        print(f"adult: skipped, {ADULT} not found")
        tables.remove("adult")
    slow_first = sorted(tables, key=lambda t: t not in ("adult", "breast_cancer"))
    tasks = [(table, seed) for seed in range(seeds) for table in slow_first]
    log(f"trust benchmark: {len(tasks)} table x seed runs, {len(args.conditions)} conditions, {args.jobs} jobs")
    results = []

    def keep(result: dict[str, Any]) -> None:  # progressively, so an interrupted run still has its verdicts
        results.append(result)
        if args.csv and result["records"]:
            frame = pd.DataFrame.from_records(result["records"])
            frame.to_csv(args.csv, mode="a", header=not args.csv.exists(), index=False)

    if args.csv and args.csv.exists():
        args.csv.unlink()
    with tempfile.TemporaryDirectory(prefix="sp_trust_") as tmp:
        if args.jobs <= 1:
            for t, s in tasks:
                keep(run_table_seed(t, s, args.conditions, tmp, started, args.all_checks))
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor, as_completed

            context = multiprocessing.get_context("spawn")  # no forked BLAS / thread state
            with ProcessPoolExecutor(max_workers=args.jobs, mp_context=context) as pool:
                futures = [pool.submit(run_table_seed, t, s, args.conditions, tmp, started, args.all_checks)
                           for t, s in tasks]
                for future in as_completed(futures):
                    keep(future.result())
    records = [r for result in results for r in result["records"]]
    errors: dict[tuple[str, str], list[tuple]] = defaultdict(list)
    seconds: dict[str, float] = defaultdict(float)
    for result in results:
        for key, cases in result["errors"].items():
            errors[key] += cases
        for key, value in result["seconds"].items():
            seconds[key] += value
    elapsed = time.perf_counter() - started
    conditions = list(args.conditions)
    print(f"\n# Trust benchmark: {len(tables)} tables ({', '.join(tables)}) x {seeds} seed(s), "
          f"default policy, GaussianCopula (SDV defaults)\n")
    print_tables(records, tables, conditions, args.detail)
    if errors:
        print("\n## Errors raised by the check code\n")
        for (where, message), cases in errors.items():
            table, seed, condition, trace = cases[0]
            print(f"- {where}: {message} ({len(cases)} runs, e.g. {table} seed {seed} {condition})")
            if args.detail:
                print("  " + trace.strip().replace("\n", "\n  "))
    if args.csv:
        print(f"\nverdicts written to {args.csv}")
    print("\ntime per check, summed over workers (s): "
          + ", ".join(f"{k} {v:.0f}" for k, v in sorted(seconds.items(), key=lambda kv: -kv[1])))
    import resource

    cpu = sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
              for f in ("ru_utime", "ru_stime"))
    load = " ".join(f"{x:.1f}" for x in __import__("os").getloadavg())
    print(f"\nelapsed: {elapsed:.0f} s ({elapsed / 60:.1f} min) wall, {cpu:.0f} s CPU ({cpu / 120:.1f} min on 2 "
          f"cores), {args.jobs} jobs, load average at the end {load}")
    return 0


def print_tables(records: list[dict[str, Any]], tables: list[str], conditions: list[str], detail: bool) -> None:
    print("## False alarms on clean generators (GaussianCopula on the real arrivals; SMOTE for augmented)\n")
    print(false_alarm_table(records))
    print("\n## Detection of planted faults\n")
    print(detection_table(records, conditions))
    print("\n## Every rule x condition: fails/runs (w = warn, s = skipped, e = error)\n")
    print(tabulate(records, conditions))
    if detail:
        for table in tables:
            print(f"\n### {table}\n")
            print(tabulate([r for r in records if r["table"] == table], conditions))


def _evidence(outcome: Any) -> str:
    if isinstance(outcome, Exception):
        return f"{type(outcome).__name__}: {outcome}"
    try:
        return outcome.evidence()
    except Exception:
        return str(outcome)


if __name__ == "__main__":
    sys.exit(main())

"""Verdicts: a rule's outcome with its evidence (observed, confidence bound, limit,
sample size) and its fix.

A blocking check is a statistical decision. A rule fails only when the evidence says
the data is bad: where the figure is an estimate, its one-sided 95 % confidence bound
(not the point estimate) is compared with the policy's limit. A rule that cannot be
judged (too few rows, a figure undefined on this data) is a warning that names the
cause and the fix, never a silent pass and never a block; a rule on no rows is skipped.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, Literal

_TOLERANCE = 1e-12


class Verdict(StrEnum):
    """What a rule concluded.

    ``pass`` and ``fail`` are judgements; ``warn`` means there was not enough evidence
    to judge (too few rows, or a figure that is undefined on this data) and never
    blocks; ``skipped`` means there was nothing to judge (no rows).
    """

    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class RuleOutcome:
    """One rule evaluated on one dataset, with its evidence and its fix.

    Attributes:
        rule: What was measured, e.g. ``non-real fraction (synthetic + augmented + unknown), class #2
            (value 1, minority)``.
        observed: The point estimate.
        threshold: The policy's limit.
        bound: ``max`` when the figure may not exceed the threshold, ``min`` when it may
            not fall below it.
        public_rule: The rule without data values (``class #2 (value 1)`` becomes ``class #2``:
            the same number, so both name one class), for lineage events and shared reports.
        confidence_bound: The one-sided 95 % confidence bound that is compared with the
            threshold (the lower bound for a ``max`` rule, the upper bound for a ``min``
            rule), so that a rule fails only when the evidence says so; None when the
            figure is exact (a count, a fraction of the whole dataset) and ``observed``
            itself is compared.
        sample_size: The rows the figure was measured on (None where it does not apply).
        fix: What to change when the rule fails or cannot be judged.
        unjudged: Why the rule was not judged (e.g. ``not enough rows to judge: 12 < 30``);
            such an outcome is a WARN, never a block. A NaN or infinite figure is never
            compared either: it is unjudged with this reason, or a generic one.
        skipped: Nothing to judge (no rows): reported as ``skipped`` with ``unjudged``
            as the reason.
        bound_name: What :attr:`confidence_bound` is, where it is not a one-sided 95 %
            confidence bound (e.g. ``bound from a holdout control``); None: ``95 % lower
            bound`` or ``95 % upper bound``.
        sample_unit: What :attr:`sample_size` counts, where the rule does not say it
            (e.g. ``holdout rows``); shown after the count.
        basis: Why this figure is the one judged, where another figure would seem the
            natural one (e.g. the skill ratio judged in place of the plain ratio); shown
            after the sample size.
    """

    rule: str
    observed: float
    threshold: float
    bound: Literal["max", "min"]
    public_rule: str | None = None
    confidence_bound: float | None = None
    sample_size: int | None = None
    fix: str | None = None
    unjudged: str | None = None
    skipped: bool = False
    bound_name: str | None = None
    sample_unit: str | None = None
    basis: str | None = None

    @property
    def compared(self) -> float:
        """The figure compared with the threshold: the confidence bound, else the observed value."""
        return float(self.observed if self.confidence_bound is None else self.confidence_bound)

    @property
    def verdict(self) -> Verdict:
        """Pass, fail, warn (not enough evidence) or skipped (no rows); see :class:`Verdict`."""
        if self.skipped:
            return Verdict.SKIPPED
        if self.unjudged is not None or not math.isfinite(self.compared):
            return Verdict.WARN
        if self.bound == "max":
            return Verdict.PASS if self.compared <= self.threshold + _TOLERANCE else Verdict.FAIL
        return Verdict.PASS if self.compared >= self.threshold - _TOLERANCE else Verdict.FAIL

    @property
    def passed(self) -> bool:
        """Whether the rule did not fail (a warning or a skip is not a failure)."""
        return self.verdict is not Verdict.FAIL

    @property
    def reason(self) -> str | None:
        """Why the rule was not judged, or None when it was."""
        if self.unjudged is not None:
            return self.unjudged
        if not self.skipped and not math.isfinite(self.compared):
            return f"the figure is undefined on this data ({self.compared})"
        return None

    @property
    def margin(self) -> float:
        """Distance to the threshold; negative when the rule fails, -inf when it is not judged."""
        if self.verdict in (Verdict.WARN, Verdict.SKIPPED):
            return -math.inf
        return self.threshold - self.compared if self.bound == "max" else self.compared - self.threshold

    def evidence(self) -> str:
        """The outcome in one line: figure, bound, limit, sample size, why this figure (where
        :attr:`basis` says), and the fix when it did not pass.

        Example: ``DCR share: observed 0.71 (95 % lower bound 0.66) > limit 0.55, n = 400;
        fix: ...``. The comparison shown is the one that decided: the bound (else the
        observed figure) against the limit.
        """
        if self.verdict in (Verdict.WARN, Verdict.SKIPPED):
            head = f"{self.rule}: {'skipped' if self.skipped else 'not judged'}: {self.reason}"
        else:
            failed = self.verdict is Verdict.FAIL
            comparison = (">" if self.bound == "max" else "<") if failed else ("<=" if self.bound == "max" else ">=")
            which = f"95 % {'lower' if self.bound == 'max' else 'upper'} bound"
            bound = ("" if self.confidence_bound is None
                     else f" ({which} {_figure(self.confidence_bound)})" if self.bound_name is None
                     else f" ({self.bound_name}: {_figure(self.confidence_bound)})")
            head = f"{self.rule}: observed {_figure(self.observed)}{bound} {comparison} limit {_figure(self.threshold)}"
        size = "" if self.sample_size is None else f", n = {self.sample_size}"
        if size and self.sample_unit:
            size += f" {self.sample_unit}"
        basis = f"; {self.basis}" if self.basis and not self.skipped else ""
        fix = f"; fix: {self.fix}" if self.fix and self.verdict in (Verdict.FAIL, Verdict.WARN) else ""
        return f"{head}{size}{basis}{fix}"

    def public_evidence(self) -> str:
        """:meth:`evidence` with :attr:`public_rule` as the rule name: no data values (class
        labels as ``class #i``), for files users share such as the HTML report."""
        from dataclasses import replace

        return replace(self, rule=self.public_rule or self.rule).evidence()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view, with ``passed`` and ``verdict``."""
        figures = asdict(self)
        for private in ("unjudged", "skipped", "bound_name", "sample_unit", "basis"):
            figures.pop(private)
        return {**figures, "reason": self.reason, "passed": self.passed, "verdict": self.verdict.value,
                "evidence": self.evidence()}


def _figure(value: float) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.4g}"


def deciding_outcome(outcomes: list[RuleOutcome]) -> RuleOutcome:
    """The outcome to headline: the worst failure, else the first warning, else the first judged rule."""
    failed = [outcome for outcome in outcomes if outcome.verdict is Verdict.FAIL]
    if failed:
        return min(failed, key=lambda outcome: outcome.margin)
    for wanted in (Verdict.WARN, Verdict.PASS):
        for outcome in outcomes:
            if outcome.verdict is wanted:
                return outcome
    return outcomes[0]


def verdict_of(outcomes: list[RuleOutcome]) -> Verdict:
    """The verdict of a set of rules: fail if any fails, else warn if any warns, else pass (skipped if all skip)."""
    verdicts = {outcome.verdict for outcome in outcomes}
    for verdict in (Verdict.FAIL, Verdict.WARN, Verdict.PASS):
        if verdict in verdicts:
            return verdict
    return Verdict.SKIPPED


SHOWN_VERDICTS = {"pass": "passed", "fail": "failed", "warn": "warning", "skipped": "skipped"}
"""A check's verdict (:class:`Verdict` value) as every view of check runs names it."""


def shown_verdict(verdict: Verdict | str, *, passed: bool, blocking: bool) -> str:
    """The verdict of a check evaluation as the views of check runs show it (the CLI summary, the report,
    ``synth-pipeline lineage checks``): ``passed``, ``failed`` (a blocking failure), ``warning`` (a failure
    that does not block, or not enough evidence to judge) or ``skipped`` (nothing to judge, e.g. no rows),
    which is never shown as passed.

    Args:
        verdict: The verdict of the check's rules (:func:`verdict_of`).
        passed: Whether the check's result passed (Dagster's ``passed``).
        blocking: Whether it has ERROR severity (a failure blocks).
    """
    value = Verdict(verdict).value
    if not passed and not blocking:
        return SHOWN_VERDICTS["warn"]
    return SHOWN_VERDICTS[value]

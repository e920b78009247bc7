"""What happened to a generation, in one sentence: passed, blocked by named checks, or broken.

A generation whose blocking check failed is *blocked*: the guard rail did its job, and the
stages downstream of the checked asset were not run. That is not the same as a *broken*
generation, where a step raised an error. The CLI, the HTML report and the Dagster run say it
the same way, from :class:`GenerationVerdict`, e.g.::

    generation 2 blocked by 2 checks: breast_cancer/synthetic fidelity (adversarial AUC: observed
    0.97 (95 % lower bound 0.96) > limit 0.95, n = 28), breast_cancer/synthetic diversity (...);
    not run: breast_cancer/training_mix, breast_cancer/model, breast_cancer/evaluation

Each check's evidence comes from its stored evaluation record (see
:meth:`~synth_pipeline.storage.DatasetStore.write_check_result`) or from the run's check
metadata; both hold one line per failed rule (:meth:`~synth_pipeline.verdicts.RuleOutcome.evidence`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import dagster as dg
import pandas as pd

from synth_pipeline.storage import DatasetStore

_FIX_SEPARATOR = "; fix: "


class GenerationStatus(StrEnum):
    """How a generation ended."""

    PASSED = "passed"
    BLOCKED = "blocked"
    """A blocking check failed; downstream stages were not run. Nothing is broken."""
    FAILED = "failed"
    """A step raised an error (a bug, bad input, a crash): the generation is broken."""


@dataclass(frozen=True)
class BlockingFailure:
    """A blocking check that failed, with its evidence.

    Attributes:
        asset: The checked asset's key, e.g. ``breast_cancer/synthetic``.
        check: The check's name, e.g. ``fidelity``.
        evidence: One line per failed rule: rule, observed figure, 95 % bound, limit, sample size,
            and the fix after ``; fix:``.
    """

    asset: str
    check: str
    evidence: tuple[str, ...] = ()

    def short(self) -> str:
        """``asset check (rule: observed ... > limit ..., n = ...)``, without the fixes."""
        figures = "; ".join(line.split(_FIX_SEPARATOR, 1)[0] for line in self.evidence)
        return f"{self.asset} {self.check}" + (f" ({figures})" if figures else "")


@dataclass(frozen=True)
class GenerationVerdict:
    """The verdict of one generation.

    Attributes:
        generation: The generation number (0: a check of an asset not made per generation).
        blocking: The blocking checks that failed, in asset then check order.
        not_run: Asset keys of the generation's stages that were not materialized.
        errors: The step keys of the steps that raised (not a failed check); their messages are
            reported beside the verdict.
    """

    generation: int
    blocking: tuple[BlockingFailure, ...] = ()
    not_run: tuple[str, ...] = ()
    errors: tuple[str, ...] = field(default=())

    @property
    def status(self) -> GenerationStatus:
        """FAILED when a step raised, else BLOCKED when a blocking check failed, else PASSED."""
        if self.errors:
            return GenerationStatus.FAILED
        return GenerationStatus.BLOCKED if self.blocking else GenerationStatus.PASSED

    def headline(self) -> str:
        """One sentence: what happened, which checks blocked it with observed vs limit, what did not run."""
        parts = [f"generation {self.generation} " if self.generation else "the run "]
        if self.status is GenerationStatus.PASSED:
            parts.append("passed every blocking check")
        else:
            if self.errors:
                parts.append(f"FAILED: an error in step{'s' if len(self.errors) > 1 else ''} {', '.join(self.errors)}")
            if self.blocking:
                count = len(self.blocking)
                parts.append(f"{'; also ' if self.errors else ''}blocked by {count} check{'s' if count > 1 else ''}: "
                             + ", ".join(failure.short() for failure in self.blocking))
        if self.not_run:
            parts.append(f"; not run: {', '.join(self.not_run)}")
        return "".join(parts)


def kept_check_records(
    store: DatasetStore, asset_keys: Iterable[dg.AssetKey], generation: int, *, run_id: str | None = None
) -> pd.DataFrame:
    """The check evaluation records kept for ``generation`` (and those of generation 0, made once) of
    ``asset_keys``, read once: an ``asset`` column (its user string) and the store's record columns
    (``check``, ``generation``, ``verdict``, ``blocking``, ``evidence``, ``run_id``), in the order of
    ``asset_keys`` and then by check name.

    Args:
        store: Where the checks keep their evaluation records.
        asset_keys: The assets whose checks to read.
        generation: The generation.
        run_id: Only the records the Dagster run ``run_id`` wrote (a rerun of a generation leaves the
            records of checks it did not run again from the earlier run); None: every record kept.
    """
    frames = []
    for key in asset_keys:
        records = store.check_results(key)
        if records.empty:
            continue
        kept = records[records["generation"].isin([0, generation])]
        if run_id is not None:
            kept = kept[kept["run_id"] == run_id] if "run_id" in kept.columns else kept.iloc[0:0]
        kept = kept.sort_values("check", kind="stable")
        frames.append(kept.assign(asset=key.to_user_string()))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["asset", "check", "generation", "verdict", "blocking", "evidence"])


def blocking_failures(records: pd.DataFrame) -> list[BlockingFailure]:
    """One :class:`BlockingFailure` per failed blocking check among ``records`` (:func:`kept_check_records`),
    in their order."""
    failed = records[records["verdict"] == "failed"]
    return [BlockingFailure(asset=str(row.asset), check=str(row.check),
                            evidence=tuple(line for line in str(row.evidence or "").splitlines() if line))
            for row in failed.itertuples()]


def stored_blocking_failures(
    store: DatasetStore, asset_keys: Iterable[dg.AssetKey], generation: int, *, run_id: str | None = None
) -> list[BlockingFailure]:
    """The blocking checks recorded as failed for ``generation`` (or once, on unpartitioned stages).

    Args:
        store: Where the checks keep their evaluation records.
        asset_keys: The assets whose checks to read.
        generation: The generation; records of generation 0 (made once) count too.
        run_id: Only the failures the Dagster run ``run_id`` recorded (None: every one kept).

    Returns:
        One :class:`BlockingFailure` per failed blocking check, in the order of ``asset_keys``.
    """
    return blocking_failures(kept_check_records(store, asset_keys, generation, run_id=run_id))


def not_materialized(store: DatasetStore, asset_keys: Iterable[dg.AssetKey], generation: int) -> list[str]:
    """The per-generation assets among ``asset_keys`` with nothing stored for ``generation``."""
    return [key.to_user_string() for key in asset_keys if not store.exists(key, str(generation))]


def verdict_from_records(
    generation: int,
    blocking: Sequence[BlockingFailure],
    not_run: Sequence[str] = (),
    errors: Sequence[str] = (),
) -> GenerationVerdict:
    """A :class:`GenerationVerdict` from its parts (blocking failures sorted by asset, then check)."""
    ordered = sorted(blocking, key=lambda failure: (failure.asset, failure.check))
    return GenerationVerdict(generation=generation, blocking=tuple(ordered), not_run=tuple(not_run),
                             errors=tuple(errors))


def evidence_lines(metadata: Mapping[str, Any]) -> tuple[str, ...]:
    """The failed rules' evidence lines in a check's Dagster metadata (``rules``), else its ``evidence``."""
    rules = metadata.get("rules")
    if isinstance(rules, list):
        lines = tuple(rule["evidence"] for rule in rules
                      if isinstance(rule, dict) and rule.get("verdict") == "fail" and rule.get("evidence"))
        if lines:
            return lines
    single = metadata.get("evidence")
    return (str(single),) if single else ()

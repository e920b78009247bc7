"""The policy: every limit the asset checks enforce, in one validated object.

``SynthPolicy`` is a Dagster resource, so the same object is set in Python, loaded from
YAML (:meth:`SynthPolicy.from_yaml`), or overridden per run in the launchpad under
``resources: <pipeline>_policy: config:``. Out-of-range values and unknown keys are
rejected with a message naming the field.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import ConfigDict, Field, ValidationError

from synth_pipeline.errors import SynthPipelineError
from synth_pipeline.provenance import ProvenanceKind
from synth_pipeline.spec import read_yaml_mapping, validation_problems

_FRACTION = {"ge": 0.0, "le": 1.0}


class SynthPolicy(dg.ConfigurableResource):
    """Limits that keep synthetic data from degrading a training pipeline.

    Attributes:
        max_synthetic_fraction: Largest share of budgeted rows (see below) in a training mix.
        max_class_synthetic_fraction: Largest share of budgeted rows within any class.
        max_minority_class_synthetic_fraction: Stricter limit for the minority class (the
            class with the fewest real rows); common guidance is 30-50 %.
        max_synthetic_fraction_growth: Largest increase of the overall budgeted fraction
            from one generation to the next (absolute, e.g. 0.1 = 10 points).
        min_fresh_real_rows: Real rows each generation must bring that no earlier
            generation's training mix held.
        max_depth: Largest generator depth of any training row (1 = only generators fitted
            on real data).
        max_unknown_fraction: Largest share of unknown-provenance rows in a training mix.
        unknown_counts_as_synthetic: Count unknown rows in the synthetic budgets.
        augmented_counts_as_synthetic: Count augmented rows in the synthetic budgets.
        min_holdout_rows: Smallest sealed real holdout that may be used for evaluation.
        min_tstr_trtr_ratio: Smallest ratio of the train-on-synthetic to the train-on-real
            score on the holdout (the primary metric, balanced accuracy).
        min_quality_score: Smallest SDMetrics quality score (column shapes and pair
            trends) of a generated dataset against its real fit input.
        max_adversarial_auc: Largest ROC AUC of a classifier telling generated rows from
            real ones (0.5: indistinguishable).
        max_exact_copy_fraction: Largest share of generated rows identical to a real
            training row.
        max_dcr_share: Largest size-adjusted share of generated rows closer to a training
            row than to any holdout row (0.5: no memorization).
        max_membership_auc: Largest ROC AUC of the distance-based membership attack
            (0.5: no leak).
        min_variance_ratio: Smallest variance of a numeric column relative to real data.
        min_category_coverage: Smallest share of a categorical column's real categories
            present, relative to a real sample of the same size.
        min_tail_coverage: Smallest mass beyond the real 1st/99th percentiles relative to
            the real mass there (mean over numeric columns).
        min_distinct_row_ratio: Smallest share of distinct rows relative to real data.
        enforce_quality_on_augmented: Make privacy and diversity failures of augmented
            data block like those of synthetic data. Off by default: SMOTE interpolates
            between real rows, so its rows sit close to them and spread less by design;
            the failures are then shown as warnings.
    """

    model_config = ConfigDict(extra="forbid")

    max_synthetic_fraction: float = Field(default=0.5, **_FRACTION)
    max_class_synthetic_fraction: float = Field(default=0.5, **_FRACTION)
    max_minority_class_synthetic_fraction: float = Field(default=0.4, **_FRACTION)
    max_synthetic_fraction_growth: float = Field(default=0.1, **_FRACTION)
    min_fresh_real_rows: int = Field(default=1, ge=0)
    max_depth: int = Field(default=3, ge=0)
    max_unknown_fraction: float = Field(default=0.0, **_FRACTION)
    unknown_counts_as_synthetic: bool = True
    augmented_counts_as_synthetic: bool = True
    min_holdout_rows: int = Field(default=100, ge=1)
    min_tstr_trtr_ratio: float = Field(default=0.7, ge=0.0)
    min_quality_score: float = Field(default=0.7, **_FRACTION)
    max_adversarial_auc: float = Field(default=0.95, ge=0.5, le=1.0)
    max_exact_copy_fraction: float = Field(default=0.0, **_FRACTION)
    max_dcr_share: float = Field(default=0.55, ge=0.5, le=1.0)
    max_membership_auc: float = Field(default=0.6, ge=0.5, le=1.0)
    min_variance_ratio: float = Field(default=0.5, ge=0.0)
    min_category_coverage: float = Field(default=0.8, **_FRACTION)
    min_tail_coverage: float = Field(default=0.25, ge=0.0)
    min_distinct_row_ratio: float = Field(default=0.9, **_FRACTION)
    enforce_quality_on_augmented: bool = False

    def budgeted_kinds(self) -> tuple[ProvenanceKind, ...]:
        """The kinds counted against the synthetic budgets."""
        kinds = [ProvenanceKind.SYNTHETIC]
        if self.augmented_counts_as_synthetic:
            kinds.append(ProvenanceKind.AUGMENTED)
        if self.unknown_counts_as_synthetic:
            kinds.append(ProvenanceKind.UNKNOWN)
        return tuple(kinds)

    @classmethod
    def from_yaml(cls, path: str | Path) -> SynthPolicy:
        """Load a policy from a YAML mapping of field names to values (missing fields keep defaults).

        Raises:
            SynthPipelineError: The file is missing, not valid YAML, not a mapping, or holds
                an unknown field or an out-of-range value; the message names the field.
        """
        return cls.from_mapping(read_yaml_mapping(path, what="policy file"), source=f"policy file {path}")

    @classmethod
    def from_mapping(cls, values: dict, *, source: str = "policy") -> SynthPolicy:
        """Build a policy from a mapping, with errors that name the offending field."""
        try:
            return cls(**{str(key): value for key, value in values.items()})
        except ValidationError as error:
            raise SynthPipelineError(
                f"invalid {source}: {validation_problems(error, cls.model_fields)}. Fix the field(s) named; "
                "every field with its default and meaning is listed in the SynthPolicy docstring and the README "
                "('Policy and checks')"
            ) from None

    def to_mapping(self) -> dict:
        """The policy's fields and values, e.g. for run config."""
        return {name: getattr(self, name) for name in type(self).model_fields}

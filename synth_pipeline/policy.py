"""The policy: every limit the asset checks enforce, in one validated object.

``SynthPolicy`` is a Dagster resource, so the same object is set in Python, loaded from
YAML (:meth:`SynthPolicy.from_yaml`), or overridden per run in the launchpad under
``resources: <pipeline>_policy: config:``. Out-of-range values, unknown keys and values
of the wrong type (strictly: a boolean is not a number, text is not a number or a
boolean) are rejected with a message naming the field, in a file also the line.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import ConfigDict, Field, model_validator

from synth_pipeline.config_bounds import (
    MAX_GENERATION_DEPTH,
    MAX_GENERATIONS,
    MAX_PRIVACY_EPSILON,
    MAX_RATIO,
    MAX_ROWS,
    MAX_SCORE_RATIO,
    MAX_SPREAD_RATIO,
)
from synth_pipeline.config_validation import python_values, validate_config
from synth_pipeline.config_yaml import YamlConfig, read_yaml_config
from synth_pipeline.launch_config import launched_resource_config
from synth_pipeline.provenance import ProvenanceKind
from synth_pipeline.quality.fidelity import ADVERSARIAL_MAX_ROWS, PAIR_ROW_BUDGET
from synth_pipeline.quality.near_copies import DEFAULT_MAX_CONTROL_ROWS
from synth_pipeline.quality.privacy import DEFAULT_DCR_ROWS, DEFAULT_MAX_CANDIDATES

_FRACTION = {"ge": 0.0, "le": 1.0}


class SynthPolicy(dg.ConfigurableResource):
    """Limits that keep synthetic data from degrading a training pipeline.

    Every numeric field has an upper bound (:mod:`synth_pipeline.config_bounds`): fractions,
    quantiles, scores and AUCs at most 1; ``max_depth`` at most 1,000; row counts
    (``min_*_rows``, ``max_holdout_near_copies``) at most 10^9; ``minority_imbalance_ratio``
    at most 1,000; ``min_tstr_trtr_ratio`` at most 10; ``min_variance_ratio`` and
    ``min_tail_coverage`` at most 1; ``max_variance_ratio`` and ``max_tail_coverage`` at most
    100; ``trend_min_generations`` at most 1,000,000. Infinity and NaN are refused.

    The ``*_sample_rows`` fields and ``fidelity_pair_row_budget`` bound the rows some quality
    measures use on large tables (:mod:`synth_pipeline.quality.sampling`): a seeded sample,
    judged through the same confidence bound, which counts the rows used, so a sampled
    verdict stays honest and is only less sensitive. Exact copies, holdout isolation, the
    policy rules and the diversity monitors use every row.

    Free-text columns (:mod:`synth_pipeline.text_columns`) are judged by the text rules of the
    same checks (:mod:`synth_pipeline.text`, the ``*text*``, ``*distinct_n*``, ``*near_*`` and
    ``*coverage_ratio`` fields): each generated figure is compared with the same figure of a
    real control of the same size, so a ratio limit of 1 means "as diverse as real text".

    Attributes:
        max_synthetic_fraction: Largest share of budgeted rows (see below) in a training mix.
        max_class_synthetic_fraction: Largest share of budgeted rows within any class.
        max_minority_class_synthetic_fraction: Stricter limit for minority classes (see
            ``minority_imbalance_ratio``); common guidance is 30-50 %.
        minority_imbalance_ratio: A class is a minority, and gets the stricter limit, when
            the largest class has at least this many times its real rows. Default 1.5, the
            imbalance ratio from which a data set counts as imbalanced in the KEEL
            imbalanced-data collection (Fernandez et al., 2008): balanced data (iris,
            50/50/50: ratio 1) has no minority, the reference data (357/212: 1.68) has one.
            Every class at or past the ratio is a minority, not only the smallest, so
            tied or nearly tied small classes are treated alike. 1 makes every class a
            minority.
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
        holdout_near_copy_quantile: The near-copy radius of holdout isolation: an
            unknown-provenance training row within this quantile of the distances from holdout rows to their
            nearest train-split row (how close different real records come by themselves)
            of a holdout row, and closer to it than to any train-split row, is a near-copy
            of that holdout row. Default 0.05; on tables with few distinct rows the radius
            is 0 and only exact copies count.
        max_holdout_near_copies: Largest number of holdout near-copies beyond chance (the
            rate at which train-split rows look like holdout near-copies) among unknown-provenance
            training rows; the one-sided 95 % lower bound of the excess is compared.
            Default 0: any significant excess blocks.
        min_tstr_trtr_ratio: Smallest ratio of the train-on-synthetic to the train-on-real
            score on the holdout (the primary metric, balanced accuracy). The ratio's
            one-sided 95 % upper bound (bootstrap over training and holdout rows, see
            synth_pipeline.quality.utility) is compared: a ratio fails only when even
            that bound is below the limit. When the real-trained model is not clearly
            above chance (its 95 % lower bound at most 1/k balanced accuracy for k
            classes, R² 0 for regression) the ratio is not informative and the rule
            warns instead of judging.
        min_utility_rows: Fewest rows to train either utility model on (the generated
            rows, and the real fit input); below it the utility rule is not judged (a
            warning naming the fix), never passed or blocked. Default 20: below it a model
            trained on the generator's own real input scores too erratically to be a
            baseline; above it the paired bootstrap bound carries the remaining noise
            (20 rather than the textbook 30 so that a generator sampling a quarter of a
            ~100-row arrival batch, as the reference pipeline does, is judged).
        min_quality_score: Smallest SDMetrics quality score (column shapes and pair
            trends) of a generated dataset against its real fit input. Compared is the
            score plus the shortfall a same-size sample of sealed-holdout rows shows
            against the same fit input (the control; see
            synth_pipeline.quality.fidelity), capped at 1.
        max_adversarial_auc: Largest ROC AUC of a classifier telling generated rows from
            real ones (0.5: indistinguishable); its one-sided 95 % lower bound (Hanley &
            McNeil) is compared.
        min_fidelity_rows: Fewest generated rows to judge fidelity on; below it the
            fidelity rules are not judged (a warning naming the fix). Default 20: real
            rows of sklearn's wine table score 0.45-0.50 on 2 rows and 0.69-0.79 on 10
            against a 107-row fit input, at or under the 0.7 limit by chance alone, but
            0.78-0.84 on 20 and 0.83-0.87 on 30 (breast cancer: 0.87-0.89 on 20); the
            holdout control corrects what chance still costs at 20, and the adversarial
            AUC's Hanley-McNeil bound widens with few rows. The privacy check's distance
            rules (DCR share, membership AUC) warn below it too: a handful of rows has no
            power to show privacy (5 SMOTE rows: DCR share 1.0, lower bound 0.52, under the
            0.55 limit), so their pass would claim what was not shown; exact copies stay judged.
        max_exact_copy_fraction: Largest share of generated rows that copy a row of the
            generator's fit input beyond what chance gives: copies of contents found only
            in the fit input minus copies of contents found only in the sealed holdout
            (equal-size samples of both), over the generated rows; its 95 % lower bound is
            compared. On low-cardinality data most generated rows equal some real row by
            chance, and those count on both sides alike. Default 0.05: clean Gaussian
            copulas on categorical adult-census samples stayed below 0.03 (bound) over 15
            seeds, while replaying 10 % of training rows gives 0.07-0.11 (README, "Exact
            copies"); the DCR limit 0.55 tolerates a 10 % excess likewise.
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
        max_variance_ratio: Largest variance of a numeric column relative to real data
            (over-dispersion); the chi-square 95 % lower bound of the largest ratio is
            compared. Default 3: healthy Gaussian copulas (beta or normal marginals) on
            sklearn's iris, wine and breast-cancer tables gave ratios up to 1.9 and lower
            bounds up to 1.6 from 35 to 600 rows.
        max_tail_coverage: Largest mass beyond the real 1st/99th percentiles relative to
            the real mass there (generated tails far wider than real ones); the
            Clopper-Pearson 95 % lower bound is compared. Default 6: the same healthy
            generators gave up to 5.4 (lower bound 4.6; normal marginals on skewed
            columns put mass below the real 1st percentile), the defect seen on real
            tables 8.8 and 10.7.
        trend_min_generations: Stored generations of the training mix before the collapse
            trend (the spread of its log variance ratios across generations, Cochran's Q;
            see synth_pipeline.quality.trend) is judged; before that it is reported as not
            yet judged in the diversity check's metadata. Default 5.
        trend_false_alarm_rate: Probability of any false collapse-trend alarm over the
            pipeline's whole life (spent over the looks as alpha * G0 / (G (G + 1)) and
            split over numeric columns). Default 0.01.
        trend_tolerance: Standard deviation of the change between generations that is
            never evidence of collapse, for the log variance ratio (0.05: about 5 % of the
            variance) and for the mean (in real standard deviations), so large mixes are not
            failed for irrelevant changes. Default 0.05.
        max_epsilon: Largest total differential-privacy epsilon the generators may spend on
            the real rows over all generations (sequential composition: the epsilons of every
            fit whose input held real rows add up; see synth_pipeline.privacy_budget). A fit
            without a DP guarantee on real rows counts as unbounded. Default None: not
            enforced (the ``privacy_budget`` check is skipped and shows the total); set,
            above 0 and at most 1,000. Common guidance: at most 1-10 in total.
        enforce_quality_on_augmented: Make privacy and diversity failures of augmented
            data block like those of synthetic data. Off by default: SMOTE interpolates
            between real rows, so its rows sit close to them and spread less by design;
            the failures are then shown as warnings.
        dcr_sample_rows: Generated rows whose nearest training and holdout rows are
            searched for the DCR share and the NNDR (each against every real row). Default
            20,000: at 1,000,000 real rows about 40 s, against 20-30 min for every row
            (benchmarks/nearest_neighbours.py). The Wilson bound on 20,000 rows fails a
            share 0.006 or more over the limit (1.645 x sqrt(0.25 / 20,000) = 0.0058).
            The NNDR is the 10th smallest ratio, so it is comparable only between runs
            with the same sample size.
        membership_sample_rows: Candidate records per side (training, holdout) of the
            membership-inference attack; every generated row is searched. Default 10,000.
        fidelity_pair_row_budget: Column pairs x rows of the SDMetrics quality report:
            each side is sampled to ``budget / pairs`` rows (at least 1,000), so its
            cost stays flat in rows and grows with columns only. Default 5,000,000.
        adversarial_sample_rows: Rows per side (real, generated) of the adversarial
            classifier. Default 20,000.
        utility_sample_rows: Most rows each utility model (TSTR and TRTR alike) is trained
            on: a seeded stratified sample (every class keeps its share and at least one
            row); every holdout row is scored. Where both training sets are larger, both
            models see the same number of rows. Default 200,000.
        near_copy_control_rows: Train-split rows sampled as the chance control of holdout
            near-copies (the unknown-provenance rows themselves are all searched).
            Default 5,000.
        min_distinct_n_ratio: Smallest distinct-n (distinct n-grams over all n-grams, n = 1, 2,
            3; Li et al. 2016) of generated text relative to a real control of as many tokens;
            the one-sided 95 % upper bound of each ratio is compared (collapse: repeated phrasing).
        min_vocabulary_coverage_ratio: Smallest share of the real vocabulary that generated
            text uses, relative to a real control of as many tokens (95 % upper bound compared).
        min_text_tail_coverage_ratio: Smallest share of the rare real word n-grams (unigrams and
            bigrams seen 2-5 times in the real text) that generated text still uses, relative to
            the real control (95 % upper bound compared): the tails model collapse loses first.
        max_near_duplicate_excess: Largest share of generated texts with a near-duplicate
            among the generated texts, beyond the same share among as many real texts; the
            95 % lower bound of the excess is compared.
        max_near_copy_fraction: Largest share of generated texts that near-copy a training
            text (MinHash estimate of the Jaccard similarity of word 3-shingles at least
            ``text_jaccard``; Broder 1997) beyond those that near-copy a sealed-holdout text
            (equal-size samples); the 95 % lower bound is compared. Exact copies of training
            texts are judged likewise against ``max_exact_copy_fraction``.
        text_jaccard: The Jaccard similarity of word 3-shingles from which two texts are
            near-duplicates or near-copies (0.7: most of their three-word phrases shared).
        text_sample_rows: Texts per side the text measures use (seeded samples; exact copies
            are counted on every row), and the most rows a utility model trains on when the data
            has free-text columns (each fit vectorises every text; the bootstrap bound counts
            the rows used). Default 10,000.
    """

    # Strict: a boolean is not a number, text is not a number or boolean (an int is a fine float).
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _python_values(cls, data: Any) -> Any:
        return python_values(data)

    max_synthetic_fraction: float = Field(default=0.5, **_FRACTION)
    max_class_synthetic_fraction: float = Field(default=0.5, **_FRACTION)
    max_minority_class_synthetic_fraction: float = Field(default=0.4, **_FRACTION)
    minority_imbalance_ratio: float = Field(default=1.5, ge=1.0, le=MAX_RATIO)
    max_synthetic_fraction_growth: float = Field(default=0.1, **_FRACTION)
    min_fresh_real_rows: int = Field(default=1, ge=0, le=MAX_ROWS)
    max_depth: int = Field(default=3, ge=0, le=MAX_GENERATION_DEPTH)
    max_unknown_fraction: float = Field(default=0.0, **_FRACTION)
    unknown_counts_as_synthetic: bool = True
    augmented_counts_as_synthetic: bool = True
    min_holdout_rows: int = Field(default=100, ge=1, le=MAX_ROWS)
    holdout_near_copy_quantile: float = Field(default=0.05, gt=0.0, lt=1.0)
    max_holdout_near_copies: float = Field(default=0.0, ge=0.0, le=MAX_ROWS)
    min_tstr_trtr_ratio: float = Field(default=0.7, ge=0.0, le=MAX_SCORE_RATIO)
    min_utility_rows: int = Field(default=20, ge=2, le=MAX_ROWS)
    min_quality_score: float = Field(default=0.7, **_FRACTION)
    max_adversarial_auc: float = Field(default=0.95, ge=0.5, le=1.0)
    min_fidelity_rows: int = Field(default=20, ge=2, le=MAX_ROWS)
    max_exact_copy_fraction: float = Field(default=0.05, **_FRACTION)
    max_dcr_share: float = Field(default=0.55, ge=0.5, le=1.0)
    max_membership_auc: float = Field(default=0.6, ge=0.5, le=1.0)
    min_variance_ratio: float = Field(default=0.5, ge=0.0, le=1.0)
    min_category_coverage: float = Field(default=0.8, **_FRACTION)
    min_tail_coverage: float = Field(default=0.25, ge=0.0, le=1.0)
    min_distinct_row_ratio: float = Field(default=0.9, **_FRACTION)
    max_variance_ratio: float = Field(default=3.0, ge=1.0, le=MAX_SPREAD_RATIO)
    max_tail_coverage: float = Field(default=6.0, ge=1.0, le=MAX_SPREAD_RATIO)
    trend_min_generations: int = Field(default=5, ge=2, le=MAX_GENERATIONS)
    trend_false_alarm_rate: float = Field(default=0.01, gt=0.0, le=0.5)
    trend_tolerance: float = Field(default=0.05, ge=0.0, le=1.0)
    max_epsilon: float | None = Field(default=None, gt=0.0, le=MAX_PRIVACY_EPSILON)
    enforce_quality_on_augmented: bool = False
    dcr_sample_rows: int = Field(default=DEFAULT_DCR_ROWS, ge=100, le=MAX_ROWS)
    membership_sample_rows: int = Field(default=DEFAULT_MAX_CANDIDATES, ge=100, le=MAX_ROWS)
    fidelity_pair_row_budget: int = Field(default=PAIR_ROW_BUDGET, ge=10_000, le=MAX_ROWS)
    adversarial_sample_rows: int = Field(default=ADVERSARIAL_MAX_ROWS, ge=100, le=MAX_ROWS)
    utility_sample_rows: int = Field(default=200_000, ge=100, le=MAX_ROWS)
    near_copy_control_rows: int = Field(default=DEFAULT_MAX_CONTROL_ROWS, ge=100, le=MAX_ROWS)
    min_distinct_n_ratio: float = Field(default=0.9, **_FRACTION)
    min_vocabulary_coverage_ratio: float = Field(default=0.9, **_FRACTION)
    min_text_tail_coverage_ratio: float = Field(default=0.5, **_FRACTION)
    max_near_duplicate_excess: float = Field(default=0.05, **_FRACTION)
    max_near_copy_fraction: float = Field(default=0.05, **_FRACTION)
    text_jaccard: float = Field(default=0.7, ge=0.3, le=1.0)
    text_sample_rows: int = Field(default=10_000, ge=100, le=MAX_ROWS)

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

        The file is read by :mod:`synth_pipeline.config_yaml` (no anchors or aliases, no
        duplicate keys, size and nesting capped) and validated strictly (see :meth:`from_mapping`).

        Args:
            path: The policy file.

        Returns:
            The policy.

        Raises:
            ConfigFileError: The file is missing, too large, not UTF-8, not valid YAML, or
                uses a refused YAML feature; the message gives the line.
            ConfigValueError: It holds an unknown field, a value of the wrong type or an
                out-of-range value; the message names the line, the field and the value.
        """
        document = read_yaml_config(path, what="policy file")
        return cls.from_mapping(document.values, source=f"policy file {path}", document=document)

    @classmethod
    def from_mapping(
        cls, values: Mapping[str, Any], *, source: str = "policy", document: YamlConfig | None = None
    ) -> SynthPolicy:
        """Build a policy from a mapping, with errors that name the offending field.

        Types are strict: a boolean is not a number, text is not a number or a boolean (an
        integer is a fine value for a fractional field), and every number has an upper bound.

        Args:
            values: Field names and values; missing fields keep their defaults.
            source: What the values are, for messages (e.g. ``policy file /x/policy.yaml``).
            document: The file the values were read from, for line numbers in messages.

        Returns:
            The policy.

        Raises:
            ConfigValueError: A field is unknown, of the wrong type or out of range; the
                message lists the first few problems and counts the rest.
        """
        return validate_config(
            lambda fields: cls(**fields), values, source=source, known_fields=cls.model_fields, document=document,
            fix="Fix the field(s) named; every field with its default, meaning and bounds is listed in the "
            "SynthPolicy docstring and the README ('Policy and checks', 'Input validation')",
        )

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Check the policy fields set in the run's config as strictly as a policy file.

        Dagster's own config check lets a boolean through where a number is expected and
        turns it into 1.0 (``max_synthetic_fraction: true`` in the launchpad), so the values
        as launched are validated again here, before any check uses the policy.

        Raises:
            ConfigValueError: A launched value is of the wrong type or out of range.
        """
        launched = launched_resource_config(context)
        if launched is not None:
            key, values = launched
            type(self).from_mapping(values, source=f"run config (resources: {key}: config)")

    def to_mapping(self) -> dict:
        """The policy's fields and values, e.g. for run config."""
        return {name: getattr(self, name) for name in type(self).model_fields}

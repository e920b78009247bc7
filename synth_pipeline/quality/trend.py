"""Collapse trend: is the training data's spread or centre drifting across generations?

The per-generation diversity monitor compares one generation with real data, so it
fires only once the variance has already fallen below the policy's floor (generation 77
in the replace-mode single-Gaussian replay at M = 100 rows). Collapse is visible much
earlier as a *movement* across generations, and this module tests for it.

Why a homogeneity test of log variance ratios
---------------------------------------------
When a generator is refitted on its own output (Shumailov et al., "AI models collapse
when trained on recursively generated data", Nature 2024), each refit multiplies the
fitted variance by about ``chi2(M-1)/M``: the log variance is a random walk with steps of
variance ``2/(M-1)`` (and a small downward drift, ``-2/M`` per generation), so after
``G`` generations it has wandered about ``sqrt(2G/M)``. Data that are independent
samples of a stable distribution only scatter around a fixed value: the log of a
sample variance of ``n`` rows has variance ``2/(n-1) + excess_kurtosis/n`` (the delta
method on the variance of ``s^2``; Cramér, *Mathematical Methods of Statistics*, 1946,
27.4). When real data accumulate alongside the synthetic rows (Gerstgrasser et al., "Is
model collapse inevitable?", 2024), each generation's mix holds the previous one, so its
variance moves by ``O(1/g)`` per generation and stays put.

The fitted *mean* does the same: each refit moves it by a draw of variance ``s^2/M``, so
the mean walks too (the location half of the same collapse), while independent samples
scatter around a fixed centre with variance ``s^2/n``.

So per numeric column, with ``y_g`` the stored log variance ratio of generation ``g``
(against the real train split, the same reference in every generation) and
``v_g = 2/(n_g-1) + k/n_g + tolerance^2``, the Cochran homogeneity statistic
``Q = sum_g (y_g - ybar)^2 / v_g`` (``ybar`` the ``1/v_g``-weighted mean; Cochran,
"The combination of estimates from different experiments", Biometrics 1954) follows
``chi2(G-1)`` when the generations are independent samples of one distribution. Under a
random walk ``Q`` grows like ``G^2/6`` instead of ``G``. The location test is the same
statistic on the mean shift ``m_g`` (generation mean minus real mean, in real standard
deviations) with ``v_g = r_g/n_g + tolerance^2`` (``r_g`` the variance ratio): the variance
of a mean, which by the central limit theorem needs no normality. Testing location as
well as scale takes the simulated single-Gaussian replace loop (M = 100) from about half
to about 70 % of runs flagged by generation 20 (``benchmarks/trend_power.py``). Details that keep the test from
failing on artefacts:

- *overlap*: an accumulating mix contains the previous mix; nested samples of a stable
  distribution scatter *less* than independent ones, so ``chi2(G-1)`` is conservative there;
- *heavy tails*: ``k`` is the excess kurtosis pooled over the stored generations (rows
  weighted, floored at 0, so it never narrows the allowance below the normal ``2/(n-1)``);
- *large mixes*: with tens of thousands of rows, ``2/(n-1)`` is tiny and any change of
  mix composition would be "significant"; ``tolerance`` (policy ``trend_tolerance``) is the
  change between generations that is never evidence of collapse (0.05: about 5 % of the
  variance, or a twentieth of a real standard deviation of the mean), so only relevant
  drifts are judged;
- *a constant bias* (a generator whose variance is steadily 0.9 of real) is not a
  trend: the test compares generations with each other, never with 1 (the level is the
  per-generation rule's job);
- *undefined figures* (a column that came out constant: log ratio ``-inf``) are left out
  here; the per-generation variance rule judges them.

Repeated looks
--------------
The test runs at every generation on the history so far, so its false-alarm rate must
hold over the whole life of a pipeline, not per look. The look at the ``G``-th stored
generation (``G >= min_generations = G0``) uses level ``alpha * G0 / (G (G + 1))``; these
sum to exactly ``alpha`` over an unbounded horizon (``sum_{G>=G0} 1/(G(G+1)) = 1/G0``),
so by Bonferroni's inequality the probability of *any* false alarm, ever, is at most
``alpha`` (policy ``trend_false_alarm_rate``, default 0.01): an alpha-spending rule in
the spirit of group-sequential designs (Lan and DeMets, Biometrika 1983) that needs no
fixed horizon. Across columns and the two measures, the level is split equally
(Bonferroni again, which holds whatever the correlation between a column's mean and variance).

Before ``min_generations`` generations are stored the trend is *not yet judged*: that
is the normal state of every young pipeline, not a lack of evidence about a particular
dataset, so it is reported in metadata only (a warning on every early generation would
be noise that teaches users to ignore warnings).

Measured (benchmarks/collapse_replay.py; see the README): replace M = 100 is flagged at
generation 15 in the plugin run (seed 0; the per-generation monitors: 22), by generation 20
in 21 of 30 plugin runs (seeds 0-29), and at a median generation of 14 over 30 simulated
runs (80 % by generation 20, 90 % by 31; the per-generation monitors: median 38);
accumulate never within 200 generations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synth_pipeline.verdicts import RuleOutcome

TREND_MONITOR = "variance_trend"
"""The stored monitor (per generation, one row per numeric column) the trend is judged on."""

TREND_FIX = (
    "the data's variance is drifting across generations, the signature of a generator refitted on its own "
    "output (model collapse): accumulate real data instead of replacing it (mix.mode: accumulate), add fresh "
    "real rows every generation (mix.real_arrival_batches, or --source with new rows), fit the generator on "
    "real rows (synthesizer.fit_on: real), or lower the synthetic fraction"
)


def trend_figures(data: pd.DataFrame, real: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """One generation's figures for the trend test, to be stored (aggregates only).

    Args:
        data: The generation's rows.
        real: The real reference rows (the same in every generation).
        columns: The numeric columns to follow.

    Returns:
        One row per column with a positive, finite real variance: ``column``, ``rows``
        (non-missing values in ``data``), ``variance_ratio`` (``data`` variance over
        ``real`` variance, both with ``ddof=1``), ``excess_kurtosis`` (the unbiased
        estimate on ``data``, ``scipy.stats.kurtosis(bias=False)``; NaN below 4 values)
        and ``mean_shift`` (``data`` mean minus ``real`` mean, in real standard deviations).
    """
    from scipy.stats import kurtosis

    records = []
    for column in columns:
        reference = real[column].to_numpy(dtype="float64", na_value=np.nan)
        reference = reference[np.isfinite(reference)]
        scale = float(np.abs(reference).max()) if len(reference) else 0.0
        scale = scale if scale > 0 and math.isfinite(scale) else 1.0  # squares of 1e308 overflow
        reference = reference / scale
        real_variance = float(np.var(reference, ddof=1)) if len(reference) > 1 else math.nan
        if not (real_variance > 0 and math.isfinite(real_variance)):
            continue
        values = data[column].to_numpy(dtype="float64", na_value=np.nan)
        values = values[np.isfinite(values)] / scale
        variance = float(np.var(values, ddof=1)) if len(values) > 1 else math.nan
        excess = float(kurtosis(values, bias=False)) if len(values) > 3 and variance > 0 else math.nan
        shift = (float(values.mean()) - float(reference.mean())) / math.sqrt(real_variance) if len(values) else math.nan
        records.append((str(column), len(values), variance / real_variance, excess, shift))
    return pd.DataFrame(records, columns=["column", "rows", "variance_ratio", "excess_kurtosis", "mean_shift"])


@dataclass(frozen=True)
class ColumnTrend:
    """The homogeneity test of one column's figure (scale or location) over the stored generations.

    Attributes:
        column: The column.
        measure: The figure tested: ``"log variance ratio"`` (scale) or ``"mean shift"``
            (location, in real standard deviations); see :data:`MEASURES`.
        generations: The generations with a defined figure, ascending.
        rows: Rows measured, summed over those generations.
        statistic: Cochran's ``Q`` (chi-square, ``generations - 1`` degrees of freedom).
        dispersion: ``Q / df``: how much more the figure moved between generations than
            sampling noise plus the tolerance allows (about 1 when stable).
        critical: The dispersion at which the column fails at its level.
        p_value: ``P(chi2(df) >= Q)``.
        level: The false-alarm level of this look for this column.
        figure_range: Largest minus smallest value of the figure seen.
    """

    column: str
    measure: str
    generations: tuple[int, ...]
    rows: int
    statistic: float
    dispersion: float
    critical: float
    p_value: float
    level: float
    figure_range: float

    @property
    def drifting(self) -> bool:
        """Whether the column's figure moved more than chance allows at this look's level."""
        return self.p_value < self.level


@dataclass(frozen=True)
class CollapseTrend:
    """The collapse-trend verdict for one generation of an asset.

    Attributes:
        generation: The generation judged (history after it is ignored).
        generations_stored: Generations with stored figures up to and including it.
        min_generations: Generations needed before the trend is judged.
        look_level: The false-alarm level spent at this look (before the column split);
            NaN before the first look.
        columns: Each followed column's tests, one per measure (empty when not judged).
        reason: Why the trend was not judged, or None when it was.
    """

    generation: int
    generations_stored: int
    min_generations: int
    look_level: float
    columns: tuple[ColumnTrend, ...]
    reason: str | None = None

    @property
    def judged(self) -> bool:
        """Whether there was enough history to judge."""
        return self.reason is None

    @property
    def worst(self) -> ColumnTrend | None:
        """The column with the strongest evidence of drift (smallest p-value)."""
        return min(self.columns, key=lambda trend: trend.p_value) if self.columns else None

    def outcome(self) -> RuleOutcome | None:
        """The rule, once it can be judged (None before: see the module docs).

        ``observed`` is the worst column's dispersion ``Q/df`` and ``threshold`` the
        chi-square critical value at this look's level divided by ``df``; ``Q`` is a test
        statistic whose sampling distribution is in the threshold already, so there is
        no separate confidence bound. ``sample_size`` is the number of generations.
        """
        worst = self.worst
        if worst is None:
            return None
        first, last = worst.generations[0], worst.generations[-1]
        rule = (f"collapse trend: spread of {worst.measure} across generations {first}-{last} ({worst.column}; "
                f"Cochran Q / df over {len(worst.generations)} generations, {worst.rows} rows, false-alarm level "
                f"{worst.level:.2g} at this look)")
        return RuleOutcome(rule, worst.dispersion, worst.critical, "max",
                           public_rule=rule.replace(f"({worst.column};", "(column;"),
                           sample_size=len(worst.generations), fix=TREND_FIX)

    def to_metadata(self) -> dict[str, object]:
        """JSON-ready summary for check metadata (shown whether judged or not)."""
        summary: dict[str, object] = {
            "judged": self.judged, "generation": self.generation, "generations_stored": self.generations_stored,
            "min_generations": self.min_generations,
            "look_level": self.look_level if math.isfinite(self.look_level) else None,
        }
        if self.reason is not None:
            summary["reason"] = self.reason
        summary["columns"] = [
            {"column": t.column, "measure": t.measure, "generations": len(t.generations), "rows": t.rows,
             "dispersion": round(t.dispersion, 4), "critical": round(t.critical, 4), "p_value": t.p_value,
             "level": t.level, "range": round(t.figure_range, 4), "drifting": t.drifting}
            for t in self.columns
        ]
        return summary


def look_level(false_alarm_rate: float, min_generations: int, generations: int) -> float:
    """The level spent at the look with ``generations`` stored generations (see module docs).

    ``alpha * G0 / (G (G + 1))`` for ``G >= G0``; the levels of all looks sum to ``alpha``.
    """
    return false_alarm_rate * min_generations / (generations * (generations + 1))


MEASURES = ("log variance ratio", "mean shift")
"""The figures followed per column: scale (log variance ratio) and location (mean shift)."""


def _column_trend(
    rows: pd.DataFrame, column: str, measure: str, *, level: float, tolerance: float
) -> ColumnTrend | None:
    from scipy.stats import chi2

    usable = (rows["rows"] >= 2) & np.isfinite(rows["variance_ratio"]) & (rows["variance_ratio"] > 0)
    if measure == "mean shift":
        if "mean_shift" not in rows:  # figures stored before the location test existed
            return None
        usable &= np.isfinite(rows["mean_shift"])
    rows = rows[usable]
    if len(rows) < 2:
        return None
    n = rows["rows"].to_numpy(dtype="float64")
    ratio = rows["variance_ratio"].to_numpy(dtype="float64")
    if measure == "mean shift":
        # The reference mean is the same in every generation, so only the generation's own
        # mean scatters: its variance is the generation's variance over n (real SDs squared).
        y = rows["mean_shift"].to_numpy(dtype="float64")
        noise = ratio / n
    else:
        y = np.log(ratio)
        kurtosis = rows["excess_kurtosis"].to_numpy(dtype="float64")
        known = np.isfinite(kurtosis)
        pooled = float(np.average(kurtosis[known], weights=n[known])) if known.any() else 0.0
        noise = 2.0 / (n - 1) + max(pooled, 0.0) / n
    weights = 1.0 / (noise + tolerance**2)
    centre = float(np.average(y, weights=weights))
    statistic = float(np.sum(weights * (y - centre) ** 2))
    df = len(y) - 1
    return ColumnTrend(
        column=column, measure=measure, generations=tuple(int(g) for g in rows["generation"]), rows=int(n.sum()),
        statistic=statistic, dispersion=statistic / df, critical=float(chi2.isf(level, df)) / df,
        p_value=float(chi2.sf(statistic, df)), level=level, figure_range=float(y.max() - y.min()),
    )


def collapse_trend(
    history: pd.DataFrame,
    generation: int,
    *,
    min_generations: int,
    false_alarm_rate: float,
    tolerance: float,
) -> CollapseTrend:
    """Judge the collapse trend of one asset at ``generation`` from its stored figures.

    Args:
        history: The stored :data:`TREND_MONITOR` rows of every generation (columns
            ``generation`` plus those of :func:`trend_figures`); rows of generations after
            ``generation`` are ignored (a re-run of an early generation is judged on its past).
        generation: The generation judged.
        min_generations: Stored generations needed before judging (the first look).
        false_alarm_rate: Probability of any false alarm over the pipeline's whole life.
        tolerance: Standard deviation of the change between generations (of the log variance
            ratio, and of the mean in real standard deviations) that is never evidence of collapse.

    Returns:
        The verdict; ``reason`` says why it was not judged (too few generations, no
        numeric column).
    """
    past = history[history["generation"] <= generation] if len(history) else history
    stored = int(past["generation"].nunique()) if len(past) else 0
    if stored < min_generations:
        return CollapseTrend(generation, stored, min_generations, float("nan"), (), reason=(
            f"not yet judged: {stored} of the {min_generations} generations needed are stored "
            "(policy trend_min_generations)"))
    level = look_level(false_alarm_rate, min_generations, stored)
    columns = sorted(past["column"].unique())
    tests = len(columns) * len(MEASURES)
    trends = [_column_trend(past[past["column"] == c].sort_values("generation"), c, measure,
                            level=level / tests, tolerance=tolerance) for c in columns for measure in MEASURES]
    judged = tuple(t for t in trends if t is not None)
    reason = None if judged else "not judged: no numeric column with a defined variance in two or more generations"
    return CollapseTrend(generation, stored, min_generations, level, judged, reason=reason)

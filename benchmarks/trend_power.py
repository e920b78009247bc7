"""How early can any trend test flag the replace-mode collapse without false alarms in accumulate?

A numpy study of the single-Gaussian loop (M rows per generation, maximum-likelihood normal
refits, as ``benchmarks/collapse_replay.py --simulate``) comparing, under the plugin's
look schedule (level ``alpha * G0 / (G (G + 1))`` at the look with ``G`` generations):

- ``Q``: Cochran's homogeneity statistic on the log variance ratios alone (scale; the
  plugin's test before the location test was added), with its chi-square null;
- ``Q2``: the plugin's test (:mod:`synth_pipeline.quality.trend`): ``Q`` on the log variance
  ratio and on the mean shift (location), each at half the level (Bonferroni);
- ``T``: an order-aware statistic on the log variance ratios, ``Q`` minus the weighted sum of squared successive
  differences: near 0 for independent generations, about ``G^2/6 - G`` for a random
  walk. Its null distribution is simulated (independent generations of ``2M`` rows).

It prints, per mode and statistic, the runs flagged, flagged by generation 20, and the
median first flag. Not used by the plugin: it measures whether a different statistic
would meet "replace flagged by generation 20" (see the README's collapse trend section).

    .venv/bin/python benchmarks/trend_power.py                 # alpha 0.01, 60 runs per mode (about 1 minute)
    .venv/bin/python benchmarks/trend_power.py --alpha 0.05
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.stats import chi2

ROWS = 100
MIN_GENERATIONS = 5
TOLERANCE = 0.05


def _series(mode: str, rng: np.random.Generator, generations: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log variance ratios, mean shifts (real SDs) and row counts of each generation's mix."""
    real = rng.normal(0, 1, ROWS)
    real_variance = real.var(ddof=1)
    mix = np.concatenate([real, rng.normal(real.mean(), real.std(), ROWS)])
    logs, shifts, sizes = [], [], []
    for generation in range(1, generations + 1):
        if generation > 1:
            new = rng.normal(mix.mean(), mix.std(), ROWS)
            mix = new if mode == "replace" else np.concatenate([mix, new])
        logs.append(np.log(mix.var(ddof=1) / real_variance))
        shifts.append((mix.mean() - real.mean()) / np.sqrt(real_variance))
        sizes.append(len(mix))
    return np.array(logs), np.array(shifts), np.array(sizes, dtype=float)


def _location_q(logs: np.ndarray, shifts: np.ndarray, sizes: np.ndarray) -> float:
    """The plugin's location statistic: noise ``variance ratio / n`` plus the tolerance."""
    weights = 1 / (np.exp(logs) / sizes + TOLERANCE**2)
    centre = np.average(shifts, weights=weights)
    return float(np.sum(weights * (shifts - centre) ** 2))


def _statistics(logs: np.ndarray, sizes: np.ndarray) -> tuple[float, float]:
    weights = 1 / (2 / (sizes - 1) + TOLERANCE**2)
    centre = np.average(logs, weights=weights)
    q = float(np.sum(weights * (logs - centre) ** 2))
    difference_weights = 1 / (1 / weights[1:] + 1 / weights[:-1])
    return q, q - float(np.sum(difference_weights * np.diff(logs) ** 2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alpha", type=float, default=0.01, help="lifetime false-alarm rate (default 0.01)")
    parser.add_argument("--runs", type=int, default=60, help="runs per mode (default 60)")
    parser.add_argument("--generations", type=int, default=60)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    null_t = {}
    for looks in range(MIN_GENERATIONS, args.generations + 1):
        draws = 20_000 if looks <= 30 else 4_000
        null_t[looks] = np.array([
            _statistics(np.log(rng.chisquare(ROWS - 1, looks) / (ROWS - 1)), np.full(looks, 2.0 * ROWS))[1]
            for _ in range(draws)])

    def first_flag(logs: np.ndarray, shifts: np.ndarray, sizes: np.ndarray, statistic: str) -> int | None:
        for looks in range(MIN_GENERATIONS, len(logs) + 1):
            level = args.alpha * MIN_GENERATIONS / (looks * (looks + 1))
            q, t = _statistics(logs[:looks], sizes[:looks])
            if statistic == "Q" and chi2.sf(q, looks - 1) < level:
                return looks
            if statistic == "Q2" and min(chi2.sf(q, looks - 1),
                                         chi2.sf(_location_q(logs[:looks], shifts[:looks], sizes[:looks]),
                                                 looks - 1)) < level / 2:
                return looks
            if statistic == "T" and t > np.quantile(null_t[looks], 1 - level):
                return looks
        return None

    print(f"M = {ROWS}, lifetime false-alarm rate {args.alpha}, {args.runs} runs per mode, "
          f"{args.generations} generations")
    for mode in ("replace", "accumulate"):
        firsts: dict[str, list[int | None]] = {"Q": [], "Q2": [], "T": []}
        for run in range(args.runs):
            series = _series(mode, np.random.default_rng(1000 + run), args.generations)
            for statistic, found in firsts.items():
                found.append(first_flag(*series, statistic))
        for statistic, found in firsts.items():
            flagged = [g for g in found if g is not None]
            by_20 = sum(g <= 20 for g in flagged)
            median = f"{np.median(flagged):.0f}" if flagged else "-"
            print(f"{mode:>10} {statistic:>2}: flagged {len(flagged)}/{len(found)}, "
                  f"by generation 20: {by_20}/{len(found)}, median first flag {median}")


if __name__ == "__main__":
    main()

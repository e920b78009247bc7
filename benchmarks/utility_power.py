"""Power of the utility rule against label-permuted data, by size of the generated sample.

For scikit-learn's wine, iris and breast cancer tables and a few seeds: a stratified 80/20
split (the holdout), the training rows as the fit input, and two "generated" samples of
``fraction`` x the fit input's rows drawn from it: one with its labels permuted (the
planted fault) and one as drawn (a clean control). Both go through
:func:`synth_pipeline.quality.utility.utility_scores`, the function the utility check
calls, with the default model; the table gives TSTR, TRTR, the ratio and its 95 % upper
bound, and whether the default limit (0.7) fails it. Where the generated rows are fewer than
the fit input's, TRTR is the size-matched control (real samples of as many rows, see the
utility module's "Same size"); ``--no-size-match`` compares with the model trained on every
real row instead (the rule before size matching), for a before/after comparison. TRTR on
every real row is shown either way.

Run from the repository root::

    .venv/bin/python benchmarks/utility_power.py                  # fractions 0.25 and 1
    .venv/bin/python benchmarks/utility_power.py --fractions 0.25 0.5 1 --seeds 5
    .venv/bin/python benchmarks/utility_power.py --fractions 0.25 --seeds 1 --no-size-match
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pandas as pd

LIMIT = 0.7
TABLES = ("wine", "iris", "breast_cancer")


def _table(name: str) -> pd.DataFrame:
    from sklearn import datasets

    return getattr(datasets, f"load_{name}")(as_frame=True).frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.25, 1.0],
                        help="generated rows per fit-input row (default 0.25, the spec default, and 1)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--no-size-match", action="store_true",
                        help="compare with the model trained on every real row (the rule before size matching)")
    args = parser.parse_args()
    from sklearn.model_selection import train_test_split

    from synth_pipeline.quality.utility import utility_scores

    warnings.simplefilter("ignore")
    factory = "synth_pipeline.modeling:default_classifier"
    rows = []
    for name in TABLES:
        frame = _table(name)
        for seed in range(args.seeds):
            train, holdout = train_test_split(frame, test_size=0.2, stratify=frame["target"], random_state=seed)
            rng = np.random.default_rng(seed)
            for fraction in args.fractions:
                n = max(2, int(round(fraction * len(train))))
                drawn = train.sample(n=n, random_state=seed, replace=n > len(train))
                permuted = drawn.assign(target=rng.permutation(drawn["target"].to_numpy()))
                for condition, generated in (("permuted labels", permuted), ("clean draw", drawn)):
                    score = utility_scores(generated, train, holdout, label_column="target", factory=factory,
                                           seed=seed, size_matched=not args.no_size_match)
                    rows.append({
                        "table": name, "seed": seed, "fraction": fraction, "generated rows": n, "condition": condition,
                        "TSTR": score.trained_on_generated, "TRTR": score.trained_on_real,
                        "TRTR all real rows": score.trained_on_real_all_rows, "ratio": score.ratio,
                        "upper bound": score.ratio_upper_bound, "holdout rows": score.holdout_rows,
                        "fails": bool(score.ratio_upper_bound < LIMIT),
                    })
                    print(f"{name} seed {seed} {n} rows {condition}: ratio {score.ratio:.3f}, "
                          f"upper bound {score.ratio_upper_bound:.3f}", flush=True)
    table = pd.DataFrame(rows)
    print()
    print(table.drop(columns="fraction").to_markdown(index=False, floatfmt=".3f"))
    print()
    print(f"failed at the default limit {LIMIT} (95 % upper bound of TSTR / TRTR below it):")
    for condition in ("permuted labels", "clean draw"):
        for fraction in args.fractions:
            chosen = table[(table["condition"] == condition) & (table["fraction"] == fraction)]
            print(f"  {condition:16s} {fraction:g} x the fit input's rows: {int(chosen['fails'].sum())}/{len(chosen)}")


if __name__ == "__main__":
    main()

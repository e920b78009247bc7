"""A differentially private generator: PrivBayes, from the DataSynthesizer library (extra ``dp``).

PrivBayes (Zhang, Cormode, Procopiuc, Srivastava & Xiao, ACM TODS 2017) learns a Bayesian
network of degree ``k`` over the columns with the exponential mechanism (epsilon / 2) and
its conditional distributions with Laplace noise (epsilon / 2), then samples from the
network. The fit is epsilon-differentially private (delta = 0) with respect to the rows of
the fit input, within the assumptions below; :meth:`PrivBayesGenerator.info` reports the
epsilon spent, which the ``privacy_budget`` check sums over generations
(:mod:`synth_pipeline.privacy_budget`).

Preprocessing is DataSynthesizer's own: numeric columns with more distinct values than
``category_threshold`` are binned into ``histogram_bins`` equal-width bins between their
bounds and sampled uniformly within a bin; other columns (and always text, boolean and
the label) are categorical. What is NOT covered by epsilon, as in DataSynthesizer: the
domain of each column is read from the fit input without noise (a numeric column's
minimum and maximum unless given in ``bounds``; the set of categories; which columns are
binary; the share of missing values). Give public ``bounds`` for numeric columns whose
range is itself sensitive; ``info().extra["domain_from_data"]`` lists the columns whose
domain came from the data.

Why DataSynthesizer and not smartnoise-synth (MST, AIM): smartnoise-synth 1.0.8 depends
on smartnoise-sql, which pins ``antlr4-python3-runtime==4.9.3``; Dagster 1.13's asset
selection parser was generated with ANTLR 4.13 and fails to load under the 4.9 runtime
(and smartnoise-sql's parser fails under 4.13), so the two cannot share an environment.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synth_pipeline.errors import GeneratorSpecError
from synth_pipeline.generators.extras import require_extra
from synth_pipeline.generators.protocol import GeneratorInfo, PrivacySpend

EXTRA = "dp"
MECHANISM = "privbayes"
MAX_EPSILON_PARAM = 1_000.0
"""Largest epsilon a fit may be asked for: far past any meaningful guarantee, refused as a typo."""

_PURPOSE = "the dp_privbayes generator (synthesizer.method)"
_PARAMS = ("epsilon", "degree", "histogram_bins", "category_threshold", "bounds")


class PrivBayesGenerator:
    """PrivBayes with DataSynthesizer's preprocessing (see the module docs).

    Args:
        epsilon: The privacy budget of one fit (> 0, at most 1,000); half learns the
            network, half its conditional distributions.
        degree: Largest number of parents of a column in the network (``k``; 1 to 10).
            Default 1 (a tree): PrivBayes's theta-usefulness rule (Zhang et al. 2017, Lemma 3:
            the largest k with n * epsilon / ((d - k) * 2^(k + 3)) >= 4) is met by no degree
            for a few hundred rows of 30 columns at epsilon 1 (0.95 at degree 1), so the
            smallest degree is its choice there; and the network search grows steeply with it
            (breast cancer, 456 rows x 31 columns: 27 s at degree 1, 276 s at degree 2).
        histogram_bins: Bins of a numeric column (2 to 1,000).
        category_threshold: A numeric column with at most this many distinct values is
            categorical (1 to 10,000).
        bounds: Public ``{column: [low, high]}`` ranges of numeric columns, used instead of
            the fit input's minimum and maximum.
        log: Where to report progress (a Dagster or stdlib logger).

    Raises:
        GeneratorSpecError: A parameter is out of range or of the wrong type.
    """

    def __init__(self, *, epsilon: float, degree: int = 1, histogram_bins: int = 20, category_threshold: int = 20,
                 bounds: dict[str, list[float]] | None = None, log: logging.Logger | Any | None = None) -> None:
        self.epsilon = _number("epsilon", epsilon, low=0.0, high=MAX_EPSILON_PARAM, open_low=True)
        self.degree = int(_number("degree", degree, low=1, high=10, integer=True))
        self.histogram_bins = int(_number("histogram_bins", histogram_bins, low=2, high=1_000, integer=True))
        self.category_threshold = int(_number("category_threshold", category_threshold, low=1, high=10_000,
                                              integer=True))
        self.bounds = _bounds(bounds)
        self.log = log
        self._description: Path | None = None
        self._workdir: tempfile.TemporaryDirectory[str] | None = None
        self._columns: list[str] = []
        self._spent: PrivacySpend | None = None
        self._extra: dict[str, Any] = {}

    def fit(self, frame: pd.DataFrame, *, label_column: str, seed: int) -> None:
        """Learn the noisy Bayesian network of ``frame`` (spends ``epsilon``).

        Raises:
            MissingExtraError: DataSynthesizer is not installed (extra ``dp``).
            GeneratorSpecError: ``bounds`` names a column that is not numeric in ``frame``,
                or the frame has fewer than 2 columns.
        """
        require_extra("DataSynthesizer", extra=EXTRA, purpose=_PURPOSE)
        from DataSynthesizer.DataDescriber import DataDescriber

        if frame.shape[1] < 2:
            raise GeneratorSpecError("dp_privbayes needs at least 2 columns (a network over them): use another "
                                     "synthesizer.method")
        not_numeric = [c for c in self.bounds if c not in frame.columns or not _is_numeric(frame[c])]
        if not_numeric:
            raise GeneratorSpecError(f"synthesizer.params.bounds names {not_numeric}, not numeric columns of the fit "
                                     f"input: fix synthesizer.params.bounds (numeric columns: "
                                     f"{[c for c in frame.columns if _is_numeric(frame[c])]})")
        self._columns = list(frame.columns)
        # DataSynthesizer groups by a helper column named "count" and reads the CSV with
        # skipinitialspace: user column names go in as c0, c1, ... and come back on sampling.
        safe = {column: f"c{i}" for i, column in enumerate(self._columns)}
        self._workdir = tempfile.TemporaryDirectory(prefix="sp_privbayes_")
        source = Path(self._workdir.name) / "fit.csv"
        frame.rename(columns=safe).to_csv(source, index=False)
        categorical = {safe[c]: c == label_column or not _is_numeric(frame[c]) for c in frame.columns}
        describer = DataDescriber(category_threshold=self.category_threshold, histogram_bins=self.histogram_bins)
        printed = io.StringIO()
        # DataSynthesizer keys its conditional tables by str() of tuples of numpy scalars and
        # eval()s them when sampling; numpy 2 prints np.int64(1), which that eval cannot read.
        with np.printoptions(legacy="1.25"), contextlib.redirect_stdout(printed), _threads_for_processes():
            describer.describe_dataset_in_correlated_attribute_mode(
                dataset_file=str(source), k=self.degree, epsilon=self.epsilon,
                attribute_to_is_categorical=categorical,
                attribute_to_is_candidate_key=dict.fromkeys(categorical, False),
                numerical_attribute_ranges={safe[c]: list(b) for c, b in self.bounds.items()},
                seed=seed % 2**32,
            )
        names = {code: column for column, code in safe.items()}
        network = [(names[child], [names[p] for p in parents]) for child, parents in describer.bayesian_network]
        in_network = {child for child, _ in network} | {p for _, parents in network for p in parents}
        if set(self._columns) - in_network:
            # Columns outside the network would be sampled from separately noised marginals,
            # a further spend this adapter does not account for.
            raise GeneratorSpecError(f"dp_privbayes left columns {sorted(set(self._columns) - in_network)} out of "
                                     "its network; drop them from the data or use another synthesizer.method")
        self._description = Path(self._workdir.name) / "description.json"
        describer.save_dataset_description_to_file(str(self._description))
        domain_from_data = [c for c in frame.columns if c not in self.bounds]
        self._spent = PrivacySpend(epsilon=self.epsilon, delta=0.0, mechanism=MECHANISM)
        self._extra = {"network": [[child, parents] for child, parents in network],
                       "domain_from_data": domain_from_data}
        if self.log:
            self.log.info(f"dp_privbayes: network of degree {self.degree} over {len(self._columns)} columns fitted on "
                          f"{len(frame)} rows, epsilon {self.epsilon:g} spent (delta 0); domains read from the data "
                          f"(not covered by epsilon): {len(domain_from_data)} column(s)")

    def sample(self, num_rows: int, *, seed: int) -> pd.DataFrame:
        """``num_rows`` rows sampled from the fitted network (no further privacy cost: post-processing).

        Raises:
            GeneratorSpecError: :meth:`fit` was not called first.
        """
        from DataSynthesizer.DataGenerator import DataGenerator

        if self._description is None:
            raise GeneratorSpecError("dp_privbayes: sample() called before fit()")
        generator = DataGenerator()
        with np.printoptions(legacy="1.25"), contextlib.redirect_stdout(io.StringIO()):
            generator.generate_dataset_in_correlated_attribute_mode(num_rows, str(self._description),
                                                                    seed=seed % 2**32)
        rows = generator.synthetic_dataset[[f"c{i}" for i in range(len(self._columns))]]
        rows.columns = self._columns
        return rows.reset_index(drop=True)

    def info(self) -> GeneratorInfo:
        """``datasynthesizer.privbayes``, its params, and the epsilon the last fit spent (None before a fit)."""
        params = {"epsilon": self.epsilon, "degree": self.degree, "histogram_bins": self.histogram_bins,
                  "category_threshold": self.category_threshold}
        if self.bounds:
            params["bounds"] = {c: list(b) for c, b in self.bounds.items()}
        return GeneratorInfo(name="datasynthesizer.privbayes", params=params, privacy=self._spent,
                             extra=dict(self._extra))


def make_privbayes_generator(method: str, params: dict[str, Any],
                             log: logging.Logger | Any | None) -> PrivBayesGenerator:
    """The registry's factory for ``dp_privbayes``.

    Raises:
        GeneratorSpecError: ``params`` lacks ``epsilon``, holds an unknown key, or a value is invalid.
    """
    unknown = sorted(set(params) - set(_PARAMS))
    if unknown:
        raise GeneratorSpecError(f"synthesizer.params {unknown} are not parameters of dp_privbayes; it takes "
                                 f"{list(_PARAMS)}: fix synthesizer.params in the spec")
    if "epsilon" not in params:
        raise GeneratorSpecError("dp_privbayes needs synthesizer.params.epsilon, the privacy budget of one fit "
                                 "(e.g. 1.0): set it in the spec")
    return PrivBayesGenerator(**params, log=log)


def _number(name: str, value: Any, *, low: float, high: float, open_low: bool = False,
            integer: bool = False) -> float:
    kinds = (int,) if integer else (int, float)
    valid = (isinstance(value, kinds) and not isinstance(value, bool) and math.isfinite(value)
             and (value > low if open_low else value >= low) and value <= high)
    if not valid:
        what = "an integer" if integer else "a number"
        above = f"above {low:g}" if open_low else f"at least {low:g}"
        raise GeneratorSpecError(f"synthesizer.params.{name} must be {what} {above} and at most {high:g} "
                                 f"(got {value!r}): fix it in the spec")
    return float(value)


def _bounds(bounds: Any) -> dict[str, tuple[float, float]]:
    if bounds is None:
        return {}
    if not isinstance(bounds, dict):
        raise GeneratorSpecError("synthesizer.params.bounds must map numeric columns to [low, high], e.g. "
                                 f"{{age: [0, 120]}} (got {type(bounds).__name__})")
    checked = {}
    for column, pair in bounds.items():
        ok = (isinstance(pair, (list, tuple)) and len(pair) == 2
              and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in pair)
              and pair[0] < pair[1])
        if not ok:
            raise GeneratorSpecError(f"synthesizer.params.bounds.{column} must be [low, high] with low < high "
                                     f"(got {pair!r}): fix it in the spec")
        checked[str(column)] = (float(pair[0]), float(pair[1]))
    return checked


@contextlib.contextmanager
def _threads_for_processes() -> Iterator[None]:
    """Run DataSynthesizer's network search in threads instead of a forked process pool.

    Its ``greedy_bayes`` opens ``multiprocessing.pool.Pool()``: forking a Dagster step
    process copies its signal handlers (the pool's shutdown then raises Dagster's
    interrupt in every worker) and its threads' locks. A thread pool computes the same
    mutual informations in the step's own process.
    """
    from multiprocessing.pool import ThreadPool

    from DataSynthesizer.lib import PrivBayes

    original = PrivBayes.Pool
    PrivBayes.Pool = ThreadPool
    try:
        yield
    finally:
        PrivBayes.Pool = original


def _is_numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)

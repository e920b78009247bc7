"""SDV's single-table synthesizers (Gaussian copula, CTGAN, TVAE) behind the generator protocol.

The fitting and the recovery of columns the synthesizer collapsed live in
:func:`synth_pipeline.synthesizers.synthesize`; SDV and torch are imported there, when a
generator is fitted. Because that recovery refits after looking at a sample, the SDV fit
runs in :meth:`SdvGenerator.sample`: :meth:`SdvGenerator.fit` records the fit input.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any

import pandas as pd

from synth_pipeline.errors import GeneratorSpecError
from synth_pipeline.generators.protocol import GeneratorInfo
from synth_pipeline.spec import SynthesizerMethod


class SdvGenerator:
    """An SDV synthesizer (``gaussian_copula``, ``ctgan`` or ``tvae``) with collapsed-column recovery.

    Args:
        method: The SDV synthesizer.
        params: Keyword arguments of the SDV synthesizer's constructor (checked against it
            when fitted).
        log: Where to report progress (a Dagster or stdlib logger).
        open_columns: Columns whose generated values may be new (``synthesizer.open_categories``,
            set by the registry): only these keep the PII sdtype SDV reads from a column's name
            (``email``, ``city`` ...) and get made-up values; every other column is modelled from
            its values (see :mod:`synth_pipeline.synthesizers`).
        categorical_columns: Numeric columns that hold categories (flags, codes; set by the registry from
            :mod:`synth_pipeline.categorical_columns`): modelled as categories, not as quantities.

    ``info().extra`` holds ``collapsed_columns`` (one record per column the synthesizer
    collapsed, recovered or not; see :mod:`synth_pipeline.degenerate_columns`),
    ``collapsed_columns_left``, ``marginal_overrides`` and ``sdtypes_replaced`` (column ->
    ``"<sdtype SDV read from the name> -> <sdtype used>"``).
    """

    def __init__(self, method: SynthesizerMethod | str, params: dict[str, Any],
                 log: logging.Logger | Any | None = None, open_columns: Collection[str] = (),
                 categorical_columns: Collection[str] = ()) -> None:
        self.method = SynthesizerMethod(method)
        self.params = dict(params)
        self.log = log
        self.label_is_class = True  # set by the registry: False for a regression label
        self.open_columns = tuple(open_columns)  # set by the registry: synthesizer.open_categories
        self.categorical_columns = tuple(categorical_columns)  # set by the registry: the resolved list
        self._fit: tuple[pd.DataFrame, str, int] | None = None
        self._synthesis: Any = None

    def fit(self, frame: pd.DataFrame, *, label_column: str, seed: int) -> None:
        """Record the fit input; SDV fits in :meth:`sample` (see the module docs)."""
        self._fit = (frame, label_column, seed)

    def sample(self, num_rows: int, *, seed: int) -> pd.DataFrame:
        """Fit SDV on the recorded input with the fit's seed, sample, and recover collapsed columns.

        ``seed`` is not used: SDV is seeded once, with the fit's seed, for the fit and the
        sample (so a generation's rows repeat exactly).

        Raises:
            GeneratorSpecError: :meth:`fit` was not called first.
            SynthPipelineError: ``params`` holds a keyword the SDV synthesizer does not take.
            GeneratedDataError: The synthesizer failed on a column's scale.
        """
        from synth_pipeline.synthesizers import synthesize

        if self._fit is None:
            raise GeneratorSpecError(f"sdv.{self.method.value}: sample() called before fit()")
        frame, label_column, fit_seed = self._fit
        self._synthesis = synthesize(frame, label_column=label_column, method=self.method, params=self.params,
                                     num_rows=num_rows, seed=fit_seed, log=self.log,
                                     label_is_class=self.label_is_class, open_columns=self.open_columns,
                                     categorical_columns=self.categorical_columns)
        return self._synthesis.rows

    def info(self) -> GeneratorInfo:
        """``sdv.<method>``, its params, and the collapsed-column record of the last sample."""
        recoveries = self._synthesis.recoveries if self._synthesis is not None else []
        overrides = self._synthesis.marginal_overrides if self._synthesis is not None else {}
        replaced = self._synthesis.sdtypes_replaced if self._synthesis is not None else {}
        return GeneratorInfo(
            name=f"sdv.{self.method.value}", params=self.params,
            extra={
                "collapsed_columns": [r.as_metadata() for r in recoveries],
                "collapsed_columns_left": [r.column for r in recoveries if not r.recovered],
                "marginal_overrides": dict(overrides),
                "sdtypes_replaced": dict(replaced),
            },
        )


def make_sdv_generator(method: str, params: dict[str, Any], log: logging.Logger | Any | None) -> SdvGenerator:
    """The registry's factory for ``gaussian_copula``, ``ctgan`` and ``tvae``."""
    return SdvGenerator(method, params, log)

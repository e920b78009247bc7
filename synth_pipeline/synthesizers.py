"""Fitting SDV synthesizers and sampling from them. SDV (and torch) load lazily here."""

from __future__ import annotations

import logging
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

from synth_pipeline.spec import SynthesizerMethod

_TABLE = "table"
_CLASSES = {
    SynthesizerMethod.GAUSSIAN_COPULA: "GaussianCopulaSynthesizer",
    SynthesizerMethod.CTGAN: "CTGANSynthesizer",
    SynthesizerMethod.TVAE: "TVAESynthesizer",
}


def fit_and_sample(
    training: pd.DataFrame,
    *,
    label_column: str,
    method: SynthesizerMethod | str,
    params: dict[str, Any],
    num_rows: int,
    seed: int,
    log: logging.Logger | Any | None = None,
) -> pd.DataFrame:
    """Fit an SDV single-table synthesizer on ``training`` and sample ``num_rows`` rows.

    Args:
        training: The fit input: user columns only.
        label_column: Declared categorical in the SDV metadata, whatever its dtype.
        method: Which synthesizer to use.
        params: Extra keyword arguments for the synthesizer.
        num_rows: Rows to sample.
        seed: Seeds numpy and torch, so a fit and sample can be repeated.
        log: Where to report progress (a Dagster or stdlib logger).

    Returns:
        The sampled rows, with the columns (and column order) of ``training``.
    """
    from sdv import single_table
    from sdv.metadata import Metadata

    method = SynthesizerMethod(method)
    metadata = Metadata.detect_from_dataframes({_TABLE: training}, infer_keys=None)
    metadata.update_column(column_name=label_column, sdtype="categorical", table_name=_TABLE)
    synthesizer_class = getattr(single_table, _CLASSES[method])
    np.random.seed(seed % 2**32)
    if method is not SynthesizerMethod.GAUSSIAN_COPULA:
        import torch

        torch.manual_seed(seed)
    started = time.perf_counter()
    if log:
        log.info(
            f"fitting {method.value} on {len(training)} rows x {training.shape[1]} columns "
            f"(params {params or 'default'})"
        )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*save_to_json.*")
        synthesizer = synthesizer_class(metadata, **params)
        synthesizer.fit({_TABLE: training})
        # SDV samples from a fixed seed unless told otherwise, so refits on the same data
        # would return the very same rows; SDV exposes seeding only through this method.
        synthesizer._set_random_state(seed)
        sampled = synthesizer.sample(num_rows)[_TABLE]
    if log:
        log.info(f"fitted and sampled {num_rows} rows in {time.perf_counter() - started:.1f}s")
    return sampled[list(training.columns)]

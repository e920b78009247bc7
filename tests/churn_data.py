"""A small customer-churn table with numbers that are categories (shared by test_categorical_columns and
test_evidence_lines): a 0/1 label, a 0/1 flag, 5-digit postal codes, and quantities beside them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from synth_pipeline import (
    AugmentationSpec,
    SourceSpec,
    SynthesizerSpec,
    SynthPipeline,
    SynthPipelineSpec,
    build_synth_pipeline,
)

FAST = SynthesizerSpec(params={"default_distribution": "norm"})
"""The Gaussian copula with normal marginals: fits in well under a second on this table."""


def churn_table(rows: int = 600, seed: int = 0) -> pd.DataFrame:
    """``tenure`` (months) and ``charges`` are quantities; ``zip_code`` (120 codes of 5 digits), ``senior``
    (0/1) and the label ``churned`` (0/1) are categories written with digits; ``contract`` is text."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 73, rows)
    charges = rng.normal(70, 20, rows).round(2)
    codes = rng.choice(np.arange(10_001, 99_950), 120, replace=False)
    zip_code = codes[rng.integers(0, len(codes), rows)]
    contract = rng.choice(["month", "year", "two years"], rows)
    senior = rng.integers(0, 2, rows)
    signal = charges / 20 - tenure / 20 + (contract == "month") * 1.0 + rng.normal(size=rows)
    churned = (signal > np.median(signal)).astype(int)  # balanced: SMOTE has nothing to top up
    return pd.DataFrame({"tenure": tenure, "charges": charges, "zip_code": zip_code, "contract": contract,
                         "senior": senior, "churned": churned})


def churn_pipeline(directory: Path, name: str = "churn", **overrides) -> SynthPipeline:
    """A pipeline on :func:`churn_table` with augmentation (which adds no rows to balanced classes: its
    checks are skipped, no rows) and no unknown source; keyword arguments override spec fields."""
    directory.mkdir(parents=True, exist_ok=True)
    source = directory / f"{name}.csv"
    churn_table().to_csv(source, index=False)
    fields = {"name": name, "label_column": "churned", "real_source": SourceSpec(path=str(source)),
              "unknown_source": None, "augmentation": AugmentationSpec(), "synthesizer": FAST}
    return build_synth_pipeline(SynthPipelineSpec(**{**fields, **overrides}))

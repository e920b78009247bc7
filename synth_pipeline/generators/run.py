"""Fitting and sampling any generator, holding it to the protocol's contract."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from synth_pipeline.errors import GeneratedDataError, GeneratorSpecError
from synth_pipeline.generators.protocol import Generator, GeneratorInfo


@dataclass(frozen=True)
class Generated:
    """Rows a generator made, and what it recorded about itself.

    Attributes:
        rows: The sampled rows (the generator's output, not yet validated).
        info: :meth:`Generator.info` after the fit; its ``privacy`` is None when nothing
            was fitted (no rows asked for: no budget spent).
        fitted: Whether the generator was fitted (False when no rows were asked for).
    """

    rows: pd.DataFrame
    info: GeneratorInfo
    fitted: bool


def generate(
    generator: Generator, frame: pd.DataFrame, *, method: str, label_column: str, num_rows: int, seed: int
) -> Generated:
    """Fit ``generator`` on ``frame`` and sample ``num_rows`` rows; with 0 rows, fit nothing.

    Args:
        generator: A generator (:func:`~synth_pipeline.generators.registry.resolve_generator`).
        frame: The fit input (rows x user columns, no identifiers).
        method: ``synthesizer.method``, for messages.
        label_column: The target column.
        num_rows: Rows to sample.
        seed: Seed for the fit and the sample.

    Returns:
        The rows, and the generator's info.

    Raises:
        GeneratedDataError: ``sample`` did not return a pandas DataFrame.
        GeneratorSpecError: ``info`` did not return a :class:`GeneratorInfo`.
    """
    if num_rows:
        generator.fit(frame, label_column=label_column, seed=seed)
        rows = generator.sample(num_rows, seed=seed)
        if not isinstance(rows, pd.DataFrame):
            raise GeneratedDataError(
                f"generator {method} (synthesizer.method) returned a {type(rows).__name__} from sample(), not a "
                "pandas DataFrame: make sample() return a DataFrame with the fitted frame's columns"
            )
    else:
        rows = frame.iloc[0:0]
    info = generator.info()
    if not isinstance(info, GeneratorInfo):
        raise GeneratorSpecError(
            f"generator {method} (synthesizer.method) returned a {type(info).__name__} from info(), not a "
            "synth_pipeline.generators.GeneratorInfo: make info() return GeneratorInfo(name, params, ...)"
        )
    return Generated(rows, info, bool(num_rows))

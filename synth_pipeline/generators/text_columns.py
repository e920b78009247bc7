"""Which columns of a fit input hold free text, for the text generators.

The pipeline names the text columns (a text generator's ``text_columns`` attribute, set by
:func:`synth_pipeline.generators.registry.resolve_generator`); when it names none, a column
of strings whose median word count is above :data:`MIN_MEDIAN_WORDS` is text (a category
such as ``"New York"`` has a few words, a sentence has more).
"""

from __future__ import annotations

from collections.abc import Collection

import pandas as pd

from synth_pipeline.errors import GeneratorSpecError
from synth_pipeline.identifiers import MAX_KEY_WORDS
from synth_pipeline.text_columns import is_text_values, word_counts

MIN_MEDIAN_WORDS = MAX_KEY_WORDS
"""A string column whose median value has more whitespace-separated words than this is text (the
bound of :mod:`synth_pipeline.text_columns`, which the pipeline's own detection uses)."""


def is_string_column(values: pd.Series) -> bool:
    """Whether ``values`` holds strings (object or ``string`` dtype, present values ``str``)."""
    return bool(values.notna().any()) and is_text_values(values)


def median_words(values: pd.Series) -> float:
    """The median number of whitespace-separated words of the present values of a string column."""
    present = values.dropna()
    return float(word_counts(present).median()) if len(present) else 0.0


def text_columns_of(
    frame: pd.DataFrame, *, label_column: str, declared: Collection[str] | None, generator: str
) -> list[str]:
    """The text columns of ``frame``: the declared ones (checked), else the detected ones.

    Args:
        frame: The fit input.
        label_column: The target column (never text).
        declared: The text columns the pipeline named (its resolved list, so the generator writes text
            exactly where the pipeline's checks expect it; ``[]``: none); None outside a pipeline: detect.
        generator: The generator's ``synthesizer.method`` name, for messages.

    Returns:
        The text columns, in the frame's column order (possibly empty: the caller decides).

    Raises:
        GeneratorSpecError: A declared column is not in ``frame``, is the label, or does not hold strings.
    """
    if declared is None:
        return [column for column in frame.columns if column != label_column and is_string_column(frame[column])
                and median_words(frame[column]) > MIN_MEDIAN_WORDS]
    if not declared:
        return []
    missing = [column for column in declared if column not in frame.columns]
    if missing:
        raise GeneratorSpecError(f"{generator}: the text columns {missing} named for it are not columns of the fit "
                                 f"input {list(map(str, frame.columns))}: fix the names of the text columns")
    if label_column in declared:
        raise GeneratorSpecError(f"{generator}: the label column {label_column!r} is named as a text column; a label "
                                 "is a class or a number: drop it from the text columns")
    not_text = [column for column in declared if not is_string_column(frame[column])]
    if not_text:
        raise GeneratorSpecError(f"{generator}: the text columns {not_text} do not hold strings in the fit input "
                                 f"(dtypes {[str(frame[c].dtype) for c in not_text]}): drop them from the text columns")
    return [column for column in frame.columns if column in declared]

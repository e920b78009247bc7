"""The pipeline spec: everything needed to build a synth-pipeline for a dataset.

A spec is plain, validated data, so it can be written in Python or loaded from YAML
(:func:`load_spec`). :func:`synth_pipeline.build_synth_pipeline` turns it into Dagster
assets.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from synth_pipeline.errors import SynthPipelineError


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceSpec(_Spec):
    """Where a stage reads external data from: a file or a Python loader.

    Exactly one of ``path`` and ``loader`` is set.

    Attributes:
        path: A CSV or Parquet file. Relative paths are resolved from the working
            directory of the process that runs the step.
        format: ``csv`` or ``parquet``; inferred from the file suffix when omitted.
        loader: ``"package.module:function"`` returning a ``pandas.DataFrame``; used for
            data that ships inside an installed package.
    """

    path: str | None = None
    format: Literal["csv", "parquet"] | None = None
    loader: str | None = None

    @model_validator(mode="after")
    def _one_origin(self) -> SourceSpec:
        if (self.path is None) == (self.loader is None):
            raise ValueError("set exactly one of 'path' (CSV/Parquet file) or 'loader' ('module:function')")
        if self.loader is not None and not re.fullmatch(r"[\w.]+:[\w.]+", self.loader):
            raise ValueError(f"loader must look like 'package.module:function', got {self.loader!r}")
        return self


class SynthesizerMethod(StrEnum):
    """The SDV single-table synthesizers a synthetic stage can use."""

    GAUSSIAN_COPULA = "gaussian_copula"
    CTGAN = "ctgan"
    TVAE = "tvae"


class FitOn(StrEnum):
    """What a generation's synthesizer is fitted on."""

    REAL = "real"
    """The real rows arriving in this generation (depth of the output: 1)."""
    PREVIOUS_MIX = "previous_mix"
    """Generation g-1's training mix: the recursive loop; depth grows by one each time."""


class SynthesizerSpec(_Spec):
    """How the synthetic stage makes rows.

    Attributes:
        method: Which SDV synthesizer to fit.
        params: Keyword arguments for the synthesizer (e.g. ``{"epochs": 50}`` for CTGAN,
            ``{"default_distribution": "norm"}`` for the Gaussian copula).
        rows_per_real_row: Synthetic rows to sample per real row arriving in the
            generation.
        num_rows: Synthetic rows to sample each generation, whatever arrives
            (overrides ``rows_per_real_row``; needed once real arrivals stop).
        fit_on: ``real`` (safe default) or ``previous_mix`` (recursive loop).
    """

    method: SynthesizerMethod = SynthesizerMethod.GAUSSIAN_COPULA
    params: dict[str, Any] = Field(default_factory=dict)
    rows_per_real_row: float = Field(default=0.25, ge=0)
    num_rows: int | None = Field(default=None, ge=0)
    fit_on: FitOn = FitOn.REAL


class AugmentationSpec(_Spec):
    """Minority-class oversampling of real rows (SMOTE; see :mod:`synth_pipeline.augmentation`).

    Attributes:
        target_ratio: Each class smaller than ``target_ratio`` x the largest class is
            topped up to that size with interpolated rows.
        k_neighbors: Neighbours considered for interpolation.
    """

    target_ratio: float = Field(default=0.7, gt=0, le=1)
    k_neighbors: int = Field(default=5, ge=1)


class GenerationMode(StrEnum):
    """How a generation's training mix relates to the previous one."""

    REPLACE = "replace"
    """Only this generation's rows; earlier data is dropped."""
    ACCUMULATE = "accumulate"
    """The previous mix plus this generation's new rows."""


class MixSpec(_Spec):
    """How the training mix of each generation is assembled.

    Attributes:
        mode: ``accumulate`` (default) or ``replace``.
        include_unknown: Put the unknown-provenance rows in the mix. Off by default:
            unknown data stays quarantined in its own asset.
        real_arrival_batches: The real train split arrives in this many equal batches,
            batch ``(g - 1) mod n`` in generation g. With 1, every generation receives
            the whole split (no fresh rows after the first generation).
        real_arrival_generations: Real rows arrive only in generations 1 to this number;
            later generations receive none (a closed loop, as in model-collapse studies).
            None: every generation receives a batch.
    """

    mode: GenerationMode = GenerationMode.ACCUMULATE
    include_unknown: bool = False
    real_arrival_batches: int = Field(default=1, ge=1)
    real_arrival_generations: int | None = Field(default=None, ge=1)


class ModelSpec(_Spec):
    """The downstream model trained on each generation's mix.

    Attributes:
        factory: ``"package.module:function"`` returning an unfitted scikit-learn
            classifier, called as ``factory(categorical_columns, numeric_columns, seed)``.
            Default: one-hot encoding plus a histogram gradient-boosting classifier.
    """

    factory: str = "synth_pipeline.modeling:default_classifier"


_NAME_PATTERN = r"[A-Za-z_][A-Za-z0-9_]*"


class SynthPipelineSpec(_Spec):
    """Everything :func:`~synth_pipeline.build_synth_pipeline` needs.

    Attributes:
        name: Identifier of the pipeline; prefix of every asset key and the asset group.
        label_column: The class label (used to stratify the holdout, to balance
            classes, and by the downstream model).
        real_source: The real data.
        unknown_source: Data of unknown provenance to ingest, or None for no such stage.
        holdout_fraction: Share of each class sealed away for evaluation.
        seed: Seed for the split, the generators, augmentation and the model.
        synthesizer: The synthetic stage.
        augmentation: The augmented stage, or None for no such stage.
        mix: How each generation's training mix is assembled.
        model: The downstream model.
        identifier_columns: Record keys (e.g. ``customer_id``): kept out of every generator,
            the model and the quality measures; generated rows get fresh keys. None (the
            default) detects them at ingestion (:mod:`synth_pipeline.identifiers`); a list
            declares them, ``[]`` declares that there are none.

    Example:
        .. code-block:: python

            spec = SynthPipelineSpec(
                name="churn",
                label_column="churned",
                real_source=SourceSpec(path="data/customers.parquet"),
            )
    """

    name: str = Field(pattern=f"^{_NAME_PATTERN}$")
    label_column: str
    real_source: SourceSpec
    unknown_source: SourceSpec | None = None
    holdout_fraction: float = Field(default=0.2, gt=0, lt=1)
    seed: int = Field(default=0, ge=0, lt=2**32)
    synthesizer: SynthesizerSpec = SynthesizerSpec()
    augmentation: AugmentationSpec | None = AugmentationSpec()
    mix: MixSpec = MixSpec()
    model: ModelSpec = ModelSpec()
    identifier_columns: list[str] | None = None


_Choice = TypeVar("_Choice", bound=StrEnum)


def parse_choice(choices: type[_Choice], value: str | None, default: _Choice, *, field: str) -> _Choice:
    """``value`` as a member of ``choices`` (``default`` when None), or a clear error.

    Used for run-time config, where Dagster takes plain strings.
    """
    if value is None:
        return default
    try:
        return choices(value)
    except ValueError:
        raise SynthPipelineError(
            f"config {field}={value!r} is not one of {[c.value for c in choices]}"
        ) from None


def read_yaml_mapping(path: str | Path, *, what: str) -> dict[str, Any]:
    """The mapping a YAML file holds (empty for an empty file), with errors naming the file and the fix.

    Args:
        path: The file.
        what: What the file is, for messages (e.g. ``policy file``).

    Raises:
        SynthPipelineError: The file is missing, is not valid YAML, or does not hold a
            mapping of field names to values.
    """
    import yaml

    path = Path(path)
    if path.is_dir():
        raise SynthPipelineError(f"{what} {path} is a directory; point at the YAML file itself")
    if not path.is_file():
        raise SynthPipelineError(f"{what} {path} not found (working directory {Path.cwd()}); check the path")
    try:
        values = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise SynthPipelineError(
            f"{what} {path} is not valid YAML ({problem}{where}); fix the syntax: one 'field: value' per line, "
            "nested fields indented under their parent, lists in [...] or as '- item' lines"
        ) from None
    except UnicodeDecodeError:
        raise SynthPipelineError(f"{what} {path} is not UTF-8 text; save it as a UTF-8 YAML file") from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise SynthPipelineError(
            f"{what} {path} must hold a mapping of field: value (one per line), not a {type(values).__name__}"
        )
    return {str(key): value for key, value in values.items()}


def validation_problems(error: ValidationError, known_fields: Iterable[str]) -> str:
    """One ``field: problem (got value)`` per pydantic error, unknown fields with a likely correction."""
    import difflib

    known = sorted(set(known_fields))
    problems = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "(top level)"
        if item["type"] == "extra_forbidden":
            close = difflib.get_close_matches(str(item["loc"][-1]), known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"{field}: unknown field{hint}")
            continue
        message = item["msg"].removeprefix("Value error, ")
        got = "" if item["type"] == "missing" else f" (got {item['input']!r})"
        problems.append(f"{field}: {message}{got}")
    return "; ".join(problems)


def _spec_fields() -> set[str]:
    models = (SynthPipelineSpec, SourceSpec, SynthesizerSpec, AugmentationSpec, MixSpec, ModelSpec)
    return {name for model in models for name in model.model_fields}


def load_spec(path: str | Path) -> SynthPipelineSpec:
    """Load a :class:`SynthPipelineSpec` from a YAML file.

    Raises:
        SynthPipelineError: The file is missing, is not valid YAML, or its content is not
            a valid spec; the message names the offending field.
    """
    values = read_yaml_mapping(path, what="pipeline spec")
    try:
        return SynthPipelineSpec.model_validate(values)
    except ValidationError as error:
        raise SynthPipelineError(
            f"invalid pipeline spec {path}: {validation_problems(error, _spec_fields())}. Fix the field(s) named "
            "(the fields and their defaults are documented on SynthPipelineSpec and its parts)"
        ) from None

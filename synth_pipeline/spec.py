"""The pipeline spec: everything needed to build a synth-pipeline for a dataset.

A spec is plain, validated data, so it can be written in Python or loaded from YAML
(:func:`load_spec`). :func:`synth_pipeline.build_synth_pipeline` turns it into Dagster
assets. Validation is strict: a boolean is not a number, text is not a number or a
boolean (an integer is a fine value for a fractional field; enum fields take their values
as text), and every number has an upper bound (:mod:`synth_pipeline.config_bounds`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from synth_pipeline.config_bounds import MAX_GENERATIONS, MAX_NEIGHBORS, MAX_RATIO, MAX_ROWS
from synth_pipeline.config_text import show_value
from synth_pipeline.config_validation import python_values, validate_config
from synth_pipeline.config_yaml import YamlConfig, read_yaml_config
from synth_pipeline.errors import SynthPipelineError
from synth_pipeline.spec_choices import FitOn, GenerationMode, SynthesizerMethod

DEFAULT_MAX_FIT_ROWS = 200_000
MIN_FIT_ROWS = 100
SUFFIX_FORMATS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet",
                  ".jsonl": "jsonl", ".ndjson": "jsonl"}
"""The format a file suffix implies when a source does not set ``format``."""


class _Spec(BaseModel):
    # Strict: a boolean is not a number, text is not a number or boolean (an int is a fine
    # float). Enum fields opt out below, so that their values can be written as text.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _python_values(cls, data: Any) -> Any:
        return python_values(data)


class SourceSpec(_Spec):
    """Where a stage reads external data from: a file or a Python loader.

    Exactly one of ``path`` and ``loader`` is set.

    Attributes:
        path: A delimited text (CSV), Parquet or JSON Lines file. Relative paths are
            resolved from the working directory of the process that runs the step.
        format: ``csv`` (delimited text, UTF-8, with a header line), ``parquet``, or
            ``jsonl`` (JSON Lines: one JSON object per line, e.g. records
            ``{"prompt": ..., "response": ..., "label": ...}``; each key a column, nested
            values refused). When omitted it follows the suffix: ``.csv``, ``.tsv`` and
            ``.txt`` are ``csv``; ``.parquet`` and ``.pq`` are ``parquet``; ``.jsonl`` and
            ``.ndjson`` are ``jsonl``. Set it for other suffixes.
        delimiter: The field separator of a ``csv`` file. ``auto`` (default): detected
            from the first lines among ``,`` ``;`` tab ``|`` (the one that splits the
            header and every sampled line into the same two or more fields; a file that
            none splits is one column), and recorded in the stage's ``csv_format``
            metadata. Or one character, e.g. ``";"`` or ``"\\t"``. Numbers with a decimal
            comma (``1,5``) are recognised in files not separated by commas.
        loader: ``"package.module:function"`` returning a ``pandas.DataFrame``; used for
            data that ships inside an installed package.
    """

    path: str | None = None
    format: Literal["csv", "parquet", "jsonl"] | None = None
    delimiter: str = "auto"
    loader: str | None = None

    @model_validator(mode="after")
    def _one_origin(self) -> SourceSpec:
        if (self.path is None) == (self.loader is None):
            raise ValueError("set exactly one of 'path' (CSV/Parquet file) or 'loader' ('module:function')")
        if self.loader is not None and not re.fullmatch(r"[\w.]+:[\w.]+", self.loader):
            raise ValueError(f"loader must look like 'package.module:function', got {show_value(self.loader)}")
        if self.delimiter != "auto":
            if len(self.delimiter) != 1 or self.delimiter in "\"\r\n":
                raise ValueError(
                    f"delimiter must be 'auto' or one character other than a quote or line break, e.g. ';' or a tab "
                    f"(\"\\t\" in YAML), got {show_value(self.delimiter)}"
                )
            if self.loader is not None or self.file_format in ("parquet", "jsonl"):
                raise ValueError("delimiter applies to CSV files only; remove it from this source")
        return self

    @property
    def file_format(self) -> str | None:
        """``format``, or the format the file suffix implies; None for a loader or an unknown suffix."""
        if self.path is None:
            return None
        return self.format or SUFFIX_FORMATS.get(Path(self.path).suffix.lower())


class SynthesizerSpec(_Spec):
    """How the synthetic stage makes rows.

    Attributes:
        method: The generator (:mod:`synth_pipeline.generators.registry`): an SDV
            synthesizer (``gaussian_copula``, ``ctgan``, ``tvae``), the differentially
            private ``dp_privbayes`` (extra ``dp``), ``file`` (rows made elsewhere, read
            from a file), or ``package.module:factory`` naming a factory of your own that
            returns a :class:`~synth_pipeline.generators.Generator`.
        params: Keyword arguments for the generator (e.g. ``{"epochs": 50}`` for CTGAN,
            ``{"default_distribution": "norm"}`` for the Gaussian copula, ``{"epsilon": 1.0}``
            for ``dp_privbayes``, ``{"path": ..., "generator": ...}`` for ``file``; a user
            factory is called with them).
        rows_per_real_row: Synthetic rows to sample per real row arriving in the
            generation (0 to 1,000).
        num_rows: Synthetic rows to sample each generation, whatever arrives
            (overrides ``rows_per_real_row``; needed once real arrivals stop; at most 10^9).
        fit_on: ``real`` (safe default) or ``previous_mix`` (recursive loop).
        max_fit_rows: Largest number of rows the generator is fitted on (100 to 10^9): a
            larger fit input is sampled (seeded simple random sample, the same each time
            for the same rows and generation), and the quality checks judge the output
            against the rows actually fitted (metadata ``fit_rows`` of
            ``fit_sampled_from_rows``). None: every row. The default, 200,000 rows,
            estimates a Gaussian copula's marginals and correlations to within about
            0.005 (the standard error of a share or correlation at 200,000 rows is at
            most 1/sqrt(200,000) = 0.0022) at a quarter of the fit time on 800,000 rows.
        open_categories: Text, categorical or boolean columns whose generated values may
            be ones the fit input does not hold (e-mail addresses or names SDV makes up,
            free text; record keys belong in ``identifier_columns``). Every other such
            column, and always the label, may only hold the fitted-on values (see
            :mod:`synth_pipeline.output_validation`). For the SDV synthesizers this is also
            what lets SDV make values up: a column it reads by name as personal data
            (``city``, ``email``, ``first_name`` ...) gets Faker values only when declared
            here; otherwise it is modelled from its values (:mod:`synth_pipeline.synthesizers`).
    """

    method: str = Field(default=SynthesizerMethod.GAUSSIAN_COPULA.value)
    params: dict[str, Any] = Field(default_factory=dict)
    rows_per_real_row: float = Field(default=0.25, ge=0, le=MAX_RATIO)
    num_rows: int | None = Field(default=None, ge=0, le=MAX_ROWS)
    fit_on: FitOn = Field(default=FitOn.REAL, strict=False)
    max_fit_rows: int | None = Field(default=DEFAULT_MAX_FIT_ROWS, ge=MIN_FIT_ROWS, le=MAX_ROWS)
    open_categories: list[str] = Field(default_factory=list)

    @field_validator("method", mode="before")
    @classmethod
    def _known_method(cls, value: Any) -> Any:
        from synth_pipeline.generators.registry import method_problem

        if isinstance(value, StrEnum):
            value = value.value
        if isinstance(value, str) and (problem := method_problem(value)) is not None:
            raise ValueError(problem)
        return value


class AugmentationSpec(_Spec):
    """Minority-class oversampling of real rows (SMOTE; see :mod:`synth_pipeline.augmentation`).

    Attributes:
        target_ratio: Each class smaller than ``target_ratio`` x the largest class is
            topped up to that size with interpolated rows.
        k_neighbors: Neighbours considered for interpolation (1 to 1,000).
    """

    target_ratio: float = Field(default=0.7, gt=0, le=1)
    k_neighbors: int = Field(default=5, ge=1, le=MAX_NEIGHBORS)


class MixSpec(_Spec):
    """How the training mix of each generation is assembled.

    Attributes:
        mode: ``accumulate`` (default) or ``replace``.
        include_unknown: Put the unknown-provenance rows in the mix. Off by default:
            unknown data stays quarantined in its own asset.
        real_arrival_batches: The real train split arrives in this many equal batches,
            batch ``(g - 1) mod n`` in generation g. With 1, every generation receives
            the whole split (no fresh rows after the first generation). At most 1,000,000.
        real_arrival_generations: Real rows arrive only in generations 1 to this number;
            later generations receive none (a closed loop, as in model-collapse studies).
            None: every generation receives a batch. At most 1,000,000.
    """

    mode: GenerationMode = Field(default=GenerationMode.ACCUMULATE, strict=False)
    include_unknown: bool = False
    real_arrival_batches: int = Field(default=1, ge=1, le=MAX_GENERATIONS)
    real_arrival_generations: int | None = Field(default=None, ge=1, le=MAX_GENERATIONS)


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
        label_column: The label the downstream model predicts: a class, or a number for
            regression (see ``task``). Used to stratify the holdout, to balance classes,
            and by the downstream model.
        real_source: The real data.
        unknown_source: Data of unknown provenance to ingest, or None for no such stage.
        holdout_fraction: Share of each class (quantile bin of the label for regression)
            sealed away for evaluation.
        seed: Seed for the split, the generators, augmentation and the model.
        synthesizer: The synthetic stage.
        augmentation: The augmented stage, or None for no such stage.
        mix: How each generation's training mix is assembled.
        model: The downstream model.
        identifier_columns: Record keys (e.g. ``customer_id``): kept out of every generator,
            the model and the quality measures; generated rows get fresh keys. None (the
            default) detects them at ingestion (:mod:`synth_pipeline.identifiers`); a list
            declares them, ``[]`` declares that there are none.
        text_columns: Free-text columns (reviews, messages, prompts, responses): measured
            as text (distinct-n, vocabulary and rare n-gram coverage, near-duplicates,
            near-copies of real records, n-gram adversarial AUC; :mod:`synth_pipeline.text`),
            open to new values in generated rows, and fed to the model as hashed word
            n-grams. None (the default) detects them at ingestion
            (:mod:`synth_pipeline.text_columns`: text with more than 3 words at the median,
            at least 20 % of its values distinct); a list declares them, ``[]`` declares
            that there are none.
        categorical_columns: Numeric columns that hold categories, not quantities: flags
            (0/1), coded levels, postal and other codes. They are modelled by the generator and
            measured by the quality checks as categories (category coverage, not variance; no
            Kolmogorov-Smirnov distance between codes). None (the default) detects them at
            ingestion (:mod:`synth_pipeline.categorical_columns`: whole numbers with at most 2
            values, or as few as SDV models as levels, or fixed-width codes that recur and are
            scattered over their span); a list declares them, ``[]`` declares that every numeric
            column is a quantity. The class label is categorical in any case.
        task: What the downstream model predicts. ``auto`` (default) resolves it from the
            real source's label at ingestion (:mod:`synth_pipeline.task`): a numeric label
            with non-integer values or more than max(20, 5 % of rows) distinct values is
            ``regression``, a label with few values ``classification``, and text with more
            distinct values than half the rows is refused (an identifier or free text).
            ``regression`` stratifies the holdout on quantile bins of the label, budgets per
            bin, scores with R² and skips augmentation (SMOTE balances classes).

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
    text_columns: list[str] | None = None
    categorical_columns: list[str] | None = None
    task: Literal["auto", "classification", "regression"] = "auto"

    @model_validator(mode="after")
    def _label_is_closed(self) -> SynthPipelineSpec:
        if self.label_column in (self.text_columns or ()):
            raise ValueError(
                f"text_columns may not name the label column {self.label_column!r}: the label is what the model "
                "predicts (a class or a number)")
        if self.label_column in self.synthesizer.open_categories:
            raise ValueError(
                f"synthesizer.open_categories may not name the label column {self.label_column!r}: generated rows "
                "may only carry the classes the generator was fitted on"
            )
        return self


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


def _spec_fields() -> set[str]:
    models = (SynthPipelineSpec, SourceSpec, SynthesizerSpec, AugmentationSpec, MixSpec, ModelSpec)
    return {name for model in models for name in model.model_fields}


def load_spec(path: str | Path) -> SynthPipelineSpec:
    """Load a :class:`SynthPipelineSpec` from a YAML file, strictly.

    The file is read by :mod:`synth_pipeline.config_yaml` (no anchors or aliases, no
    duplicate keys, size and nesting capped) and validated in strict mode (a boolean is not
    a number, text is not a number or boolean, every number has an upper bound).

    Args:
        path: The spec file.

    Returns:
        The spec.

    Raises:
        ConfigFileError: The file is missing, too large, not UTF-8, not valid YAML, or uses
            a refused YAML feature; the message gives the line.
        ConfigValueError: Its content is not a valid spec; the message names the line, the
            field, the value given and the fix for each problem.
    """
    document = read_yaml_config(path, what="pipeline spec")
    return spec_from_mapping(document.values, source=f"pipeline spec {path}", document=document)


def spec_from_mapping(
    values: Mapping[str, Any], *, source: str, document: YamlConfig | None = None
) -> SynthPipelineSpec:
    """A :class:`SynthPipelineSpec` from a mapping of field values, validated as strictly as a spec file.

    Args:
        values: The spec's fields (nested mappings for its parts).
        source: What the values are, for messages (e.g. ``spec of component /x/defs.yaml``).
        document: The file they were read from, for line numbers in messages.

    Returns:
        The spec.

    Raises:
        ConfigValueError: The values are not a valid spec; the message names the field, the
            value given and the fix for each problem.
    """
    return validate_config(
        SynthPipelineSpec.model_validate, values, source=source, known_fields=_spec_fields(), document=document,
        fix="Fix the field(s) named (the fields and their defaults are documented on SynthPipelineSpec and its parts)",
    )

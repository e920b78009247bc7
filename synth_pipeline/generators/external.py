"""Rows made elsewhere: synthetic rows from an outside generator (an LLM, a simulator, a vendor), read from a file.

The ``file`` generator does not learn anything: it "samples" by reading a CSV, Parquet or
JSON Lines file (validated like a source, :func:`synth_pipeline.sources.read_source`; e.g.
the records an LLM data tool such as NeMo Data Designer or distilabel exported), and records the
provenance the user declares for those rows, so the pipeline tracks them like rows of its
own generators:

- ``generator``: the outside generator's name (recorded as ``external.<generator>``);
- ``fitted_on``: what it was given (e.g. ``bc/real_arrivals[1]``), recorded as declared;
- ``fitted_on_depth``: the largest depth of the rows it was given (0: real rows only;
  default 0). The rows get depth ``max(this, the stage's fit input's depth) + 1``, so a
  declaration can only deepen, never hide, what the pipeline knows;
- ``kind``: ``synthetic`` (the only kind the synthetic stage holds; rows of unknown origin
  belong in the spec's ``unknown_source``, which keeps provenance columns they arrive with);
- ``epsilon`` / ``delta``: the differential-privacy budget the outside generator spent on
  the real rows, if it has such a guarantee; without it the ``privacy_budget`` check
  counts the fit as unbounded when it saw real rows.

Which rows: ``take: all`` (default) returns every row of the file, whatever number of
rows the stage asks for; ``take: sample`` returns the number asked for, drawn without
replacement with the stage's seed (an error when the file holds fewer).

Example spec (YAML)::

    synthesizer:
      method: file
      fit_on: real
      params: {path: vendor_rows.parquet, generator: acme-llm-v2, fitted_on: bc/real_arrivals[1]}
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from synth_pipeline.errors import GeneratedDataError, GeneratorSpecError
from synth_pipeline.generators.protocol import GeneratorInfo, PrivacySpend

_PARAMS = ("path", "generator", "fitted_on", "fitted_on_depth", "kind", "take", "format", "delimiter",
           "epsilon", "delta")


class ExternalRowsGenerator:
    """Rows from a file, with declared provenance (see the module docs).

    Args:
        path: The CSV, Parquet or JSON Lines file (relative paths from the working directory).
        generator: The outside generator's name, e.g. ``acme-llm-v2``.
        fitted_on: What the outside generator was fitted on, as the user declares it.
        fitted_on_depth: Largest depth of the rows it was fitted on (0 = real).
        take: ``all`` or ``sample`` (see the module docs).
        file_format: ``csv``, ``parquet`` or ``jsonl``; default from the suffix.
        delimiter: A CSV file's separator, ``auto`` by default.
        privacy: The DP budget the outside generator spent, if declared.
    """

    def __init__(self, *, path: str, generator: str, fitted_on: str | None = None, fitted_on_depth: int = 0,
                 take: Literal["all", "sample"] = "all", file_format: str | None = None, delimiter: str = "auto",
                 privacy: PrivacySpend | None = None) -> None:
        self.path = path
        self.generator = generator
        self.fitted_on = fitted_on
        self.fitted_on_depth = fitted_on_depth
        self.take = take
        self.file_format = file_format
        self.delimiter = delimiter
        self.privacy = privacy
        self._columns: list[str] | None = None
        self._label: str | None = None
        self._file_rows: int | None = None

    def fit(self, frame: pd.DataFrame, *, label_column: str, seed: int) -> None:
        """Record the columns the rows must have; nothing is learned from ``frame``."""
        self._columns = list(frame.columns)
        self._label = label_column

    def sample(self, num_rows: int, *, seed: int) -> pd.DataFrame:
        """The file's rows: all of them, or ``num_rows`` drawn with ``seed`` (``take: sample``).

        Raises:
            DataSourceError: The file is missing or not a table the pipeline can read.
            GeneratedDataError: The file lacks a fitted column or holds other columns, or
                (``take: sample``) holds fewer than ``num_rows`` rows.
        """
        from synth_pipeline.sources import read_source
        from synth_pipeline.spec import SourceSpec

        if self._columns is None:
            raise GeneratorSpecError("file generator: sample() called before fit()")
        source = SourceSpec(path=self.path, format=self.file_format, delimiter=self.delimiter)
        rows = read_source(source, label_column=self._label).frame
        missing = [c for c in self._columns if c not in rows.columns]
        other = [str(c) for c in rows.columns if c not in self._columns]
        if missing or other:
            raise GeneratedDataError(
                f"rows made elsewhere ({self.path}, generator {self.generator}) do not have the fitted columns: "
                f"missing {missing}, not in the fit input {other}; fix the file so that it holds exactly the "
                f"columns {self._columns} (identifier columns get fresh keys: leave them out)"
            )
        self._file_rows = len(rows)
        rows = rows[self._columns]
        if self.take == "all":
            return rows.reset_index(drop=True)
        if len(rows) < num_rows:
            raise GeneratedDataError(
                f"rows made elsewhere ({self.path}) hold {len(rows)} rows, fewer than the {num_rows} asked for: "
                "lower synthesizer.num_rows / rows_per_real_row, or set synthesizer.params.take: all"
            )
        return rows.sample(n=num_rows, random_state=seed % 2**32).reset_index(drop=True)

    def info(self) -> GeneratorInfo:
        """``external.<generator>``, the declared provenance, and the declared DP budget if any."""
        params: dict[str, Any] = {"path": self.path, "generator": self.generator, "take": self.take,
                                  "fitted_on_depth": self.fitted_on_depth}
        if self.fitted_on is not None:
            params["fitted_on"] = self.fitted_on
        extra: dict[str, Any] = {"declared_generator": self.generator, "declared_fitted_on": self.fitted_on}
        if self._file_rows is not None:
            extra["file_rows"] = self._file_rows
        return GeneratorInfo(name=f"external.{self.generator}", params=params, privacy=self.privacy, extra=extra,
                             fitted_on_depth=self.fitted_on_depth)


def make_file_generator(method: str, params: dict[str, Any], log: logging.Logger | Any | None) -> ExternalRowsGenerator:
    """The registry's factory for ``file``.

    Raises:
        GeneratorSpecError: ``path`` or ``generator`` is missing, a key is unknown, or a value is invalid.
    """
    unknown = sorted(set(params) - set(_PARAMS))
    if unknown:
        raise GeneratorSpecError(f"synthesizer.params {unknown} are not parameters of the file generator; it takes "
                                 f"{list(_PARAMS)}: fix synthesizer.params in the spec")
    for name in ("path", "generator"):
        if not isinstance(params.get(name), str) or not params[name].strip():
            raise GeneratorSpecError(
                f"the file generator needs synthesizer.params.{name} (text): path = the CSV, Parquet or JSON Lines "
                "file of rows made elsewhere, generator = the outside generator's name; set it in the spec")
    kind = params.get("kind", "synthetic")
    if kind != "synthetic":
        where = ("declare them in the spec's unknown_source (it keeps provenance columns rows arrive with)"
                 if kind == "unknown" else "the synthetic stage holds synthetic rows only")
        raise GeneratorSpecError(f"synthesizer.params.kind {kind!r}: the synthetic stage tags its rows synthetic; "
                                 f"{where}. Fix synthesizer.params.kind (synthetic)")
    take = params.get("take", "all")
    if take not in ("all", "sample"):
        raise GeneratorSpecError(
            f"synthesizer.params.take must be 'all' or 'sample' (got {take!r}): fix it in the spec")
    depth = params.get("fitted_on_depth", 0)
    if not isinstance(depth, int) or isinstance(depth, bool) or not 0 <= depth <= 1_000:
        raise GeneratorSpecError(f"synthesizer.params.fitted_on_depth must be an integer from 0 (real rows) to "
                                 f"1,000 (got {depth!r}): fix it in the spec")
    fitted_on = params.get("fitted_on")
    if fitted_on is not None and not isinstance(fitted_on, str):
        raise GeneratorSpecError(f"synthesizer.params.fitted_on must be text, e.g. 'bc/real_arrivals[1]' "
                                 f"(got {fitted_on!r}): fix it in the spec")
    return ExternalRowsGenerator(
        path=str(Path(params["path"])), generator=params["generator"].strip(), fitted_on=fitted_on,
        fitted_on_depth=depth, take=take, file_format=params.get("format"),
        delimiter=params.get("delimiter", "auto"), privacy=_declared_privacy(params),
    )


def _declared_privacy(params: dict[str, Any]) -> PrivacySpend | None:
    if "epsilon" not in params:
        if "delta" in params:
            raise GeneratorSpecError("synthesizer.params.delta given without epsilon: declare both, or neither")
        return None
    epsilon, delta = params["epsilon"], params.get("delta", 0.0)
    checks = (("epsilon", epsilon, lambda v: v > 0, "> 0"), ("delta", delta, lambda v: 0 <= v < 1, "in [0, 1)"))
    for name, value, ok, allowed in checks:
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or not ok(value):
            raise GeneratorSpecError(f"synthesizer.params.{name} must be a finite number {allowed} "
                                     f"(got {value!r}): fix it in the spec")
    return PrivacySpend(epsilon=float(epsilon), delta=float(delta), mechanism="declared")

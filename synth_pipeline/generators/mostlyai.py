"""MOSTLY AI's open-source TabularARGN engine as a :class:`~synth_pipeline.generators.protocol.Generator`.

TabularARGN (``mostlyai-engine``, Apache 2.0) is an autoregressive neural network for
tables that trains on CPU. It is an optional extra::

    pip install 'synth-pipeline[mostlyai]'

The engine (and torch, transformers) is imported when a generator is fitted, never when
this module or a code location is loaded. Each fit works in its own temporary workspace
(the engine's ``split -> analyze -> encode -> train`` steps write Parquet files and the
model there); sampling runs ``generate`` in it. The workspace is deleted by
:meth:`MostlyAIGenerator.close`, by the next fit, or when the generator is garbage collected.

Seeding: the engine seeds Python's ``random``, NumPy's and torch's global generators
(``mostlyai.engine.set_random_state``); the adapter restores their previous states after
each fit and sample, so the rest of the process is not re-seeded. Whether a repeated
fit and sample gives identical rows depends on torch's CPU kernels (multi-threaded
reductions are not guaranteed bit-identical).

Value protection (the engine's default, kept here) leaves out rare categories and clips
extreme numeric values, so that a single record's rare values are not replayed; rare
categories are then replaced by a sampled non-rare category (``rare_category_replacement_method
= "sample"``) rather than the engine's ``_RARE_`` token, which no fitted column holds.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from synth_pipeline.errors import GeneratedDataError, SynthPipelineError
from synth_pipeline.generators.dtypes import empty_like, restore_dtypes
from synth_pipeline.generators.extras import import_extra
from synth_pipeline.generators.protocol import GeneratorInfo

NAME = "mostlyai.tabular_argn"
EXTRA = "mostlyai"
ENGINE_MODULE = "mostlyai.engine"
MODELS = ("MOSTLY_AI/Small", "MOSTLY_AI/Medium", "MOSTLY_AI/Large")
RARE_CATEGORY_METHODS = ("sample", "constant")
_SEED_ENV = "MOSTLYAI_ENGINE_SEED"
IMPORT_HINTS = {  # known import failures of the extra -> their fix (see extras.import_extra)
    "torchvision": (
        "the installed torchvision is built for another torch (e.g. a CUDA torchvision beside a CPU torch); "
        "install the torchvision build that matches your torch (for CPU torch, from PyTorch's CPU wheel index) "
        "or uninstall torchvision: the tabular engine does not use it, only transformers imports it when present"
    ),
}


@dataclass(frozen=True)
class MostlyAIParams:
    """The parameters of :class:`MostlyAIGenerator` (the keyword arguments it takes).

    Attributes:
        model: Model size: ``MOSTLY_AI/Small``, ``MOSTLY_AI/Medium`` or ``MOSTLY_AI/Large``.
        max_training_time: Training budget in minutes (> 0); training stops at the end
            of the step that exceeds it. The engine's own default is 10 days; 10 minutes
            suits a CPU and tables of tens of thousands of rows.
        max_epochs: Most passes over the training rows (> 0); early stopping on the
            engine's validation split may stop sooner.
        batch_size: Training batch size, or None for the engine's choice.
        enable_flexible_generation: Train for any column order (needed for conditional
            generation and imputation, which this adapter does not use), or the fixed order.
        value_protection: Leave out rare categories and clip extreme values (see module docs).
        rare_category_replacement_method: ``sample`` (a non-rare category) or ``constant``
            (the engine's ``_RARE_`` token) in place of a protected rare category.
        sampling_temperature: Sampling temperature (> 0; 1 samples the learned distribution).
        device: Torch device for training and sampling (``cpu`` or ``cuda``).
    """

    model: str = "MOSTLY_AI/Medium"
    max_training_time: float = 10.0
    max_epochs: float = 100.0
    batch_size: int | None = None
    enable_flexible_generation: bool = False
    value_protection: bool = True
    rare_category_replacement_method: str = "sample"
    sampling_temperature: float = 1.0
    device: str = "cpu"

    def __post_init__(self) -> None:
        problems = []
        if self.model not in MODELS:
            problems.append(f"model {self.model!r} is not one of {', '.join(MODELS)}")
        for name in ("max_training_time", "max_epochs", "sampling_temperature"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                problems.append(f"{name} must be a number > 0, got {value!r}")
        if self.batch_size is not None and (
                isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1):
            problems.append(f"batch_size must be an integer >= 1 or None, got {self.batch_size!r}")
        if self.rare_category_replacement_method not in RARE_CATEGORY_METHODS:
            problems.append(f"rare_category_replacement_method must be one of {', '.join(RARE_CATEGORY_METHODS)}, "
                            f"got {self.rare_category_replacement_method!r}")
        if problems:
            raise SynthPipelineError(f"invalid {NAME} parameters: {'; '.join(problems)}; fix them in the generator "
                                     "params")


def load_engine() -> ModuleType:
    """Import ``mostlyai.engine``.

    Raises:
        MissingExtraError: It is not installed (the message names
            ``pip install 'synth-pipeline[mostlyai]'``) or fails to import.
    """
    return import_extra(ENGINE_MODULE, extra=EXTRA, purpose=f"the {NAME} generator", hints=IMPORT_HINTS)


def training_figures(workspace: Path) -> dict[str, float]:
    """How far training got, from the engine's ``ModelStore/model-data/progress-messages.csv``.

    Returns:
        ``epochs_trained`` (fractional epochs, the last progress row) and ``best_val_loss``
        (the smallest validation loss the engine logged, the checkpoint it keeps); empty
        when the file is absent (another engine version).
    """
    path = workspace / "ModelStore" / "model-data" / "progress-messages.csv"
    if not path.is_file():
        return {}
    progress = pd.read_csv(path)
    figures: dict[str, float] = {}
    if "epoch" in progress and len(progress):
        figures["epochs_trained"] = float(progress["epoch"].iloc[-1])
    if "val_loss" in progress and progress["val_loss"].notna().any():
        figures["best_val_loss"] = round(float(progress["val_loss"].min()), 6)
    return figures


@contextmanager
def _engine_seed(engine: ModuleType, seed: int) -> Iterator[None]:
    """Seed the engine (it seeds the global generators), then restore their previous states."""
    import torch

    saved = random.getstate(), np.random.get_state(), torch.get_rng_state(), os.environ.get(_SEED_ENV)
    try:
        engine.set_random_state(int(seed))
        yield
    finally:
        random.setstate(saved[0])
        np.random.set_state(saved[1])
        torch.set_rng_state(saved[2])
        if saved[3] is None:
            os.environ.pop(_SEED_ENV, None)
        else:
            os.environ[_SEED_ENV] = saved[3]


class MostlyAIGenerator:
    """TabularARGN fitted on a frame, sampling rows like it (see the module docs).

    Args:
        **params: :class:`MostlyAIParams` fields.

    Raises:
        SynthPipelineError: An unknown parameter or a value out of range (names the
            parameters it takes).
    """

    def __init__(self, **params: Any) -> None:
        known = MostlyAIParams.__dataclass_fields__
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise SynthPipelineError(
                f"{NAME} takes no parameter {', '.join(map(repr, unknown))}; it takes {', '.join(known)}")
        self.params = MostlyAIParams(**params)
        self._workspace: tempfile.TemporaryDirectory[str] | None = None
        self._dtypes: pd.Series | None = None
        self._fit_figures: dict[str, Any] = {}

    @property
    def workspace(self) -> Path | None:
        """The fitted model's temporary workspace directory, or None before a fit and after :meth:`close`."""
        return None if self._workspace is None else Path(self._workspace.name)

    def fit(self, frame: pd.DataFrame, *, label_column: str, seed: int) -> None:
        """Train TabularARGN on ``frame`` (rows x user columns) in a fresh temporary workspace.

        The label column is encoded as categorical, as the SDV synthesizers declare it.
        ``frame`` is not modified.

        Raises:
            MissingExtraError: The ``mostlyai`` extra is not installed.
            SynthPipelineError: ``frame`` has no rows, or no column ``label_column``.
        """
        if label_column not in frame.columns:
            raise SynthPipelineError(f"{NAME}: the label column {label_column!r} is not a column of the fit input "
                                     f"({', '.join(map(str, frame.columns))}); fit on a frame that holds it")
        if frame.empty:
            raise SynthPipelineError(f"{NAME}: the fit input has no rows; fit on at least one row")
        engine = load_engine()
        self.close()
        self._workspace = tempfile.TemporaryDirectory(prefix="synth_pipeline_mostlyai_")
        workspace = self._workspace.name
        p = self.params
        started = time.perf_counter()
        with _engine_seed(engine, seed):
            engine.split(tgt_data=frame.copy(), model_type="TABULAR", workspace_dir=workspace,
                         tgt_encoding_types={label_column: "TABULAR_CATEGORICAL"})
            engine.analyze(value_protection=p.value_protection, workspace_dir=workspace)
            engine.encode(workspace_dir=workspace)
            engine.train(model=p.model, max_training_time=p.max_training_time, max_epochs=p.max_epochs,
                         batch_size=p.batch_size, enable_flexible_generation=p.enable_flexible_generation,
                         device=p.device, workspace_dir=workspace)
        self._dtypes = frame.dtypes.copy()
        self._fit_figures = {"fit_rows": len(frame), "fit_seconds": round(time.perf_counter() - started, 3),
                             "label_column": label_column, "fit_seed": int(seed),
                             "engine_version": getattr(engine, "__version__", "unknown"),
                             **training_figures(Path(workspace))}

    def sample(self, num_rows: int, *, seed: int) -> pd.DataFrame:
        """``num_rows`` new rows with the fitted frame's columns (in order) and dtypes.

        Raises:
            SynthPipelineError: Called before :meth:`fit`, or ``num_rows`` < 0.
            GeneratedDataError: The engine returned rows that do not fit the fitted dtypes.
        """
        if self._workspace is None or self._dtypes is None:
            raise SynthPipelineError(f"{NAME}: sample() was called before fit(); fit the generator first")
        if isinstance(num_rows, bool) or not isinstance(num_rows, int | np.integer) or num_rows < 0:
            raise SynthPipelineError(f"{NAME}: num_rows must be an integer >= 0, got {num_rows!r}")
        if num_rows == 0:
            return empty_like(self._dtypes)
        engine = load_engine()
        workspace = Path(self._workspace.name)
        p = self.params
        with _engine_seed(engine, seed):
            engine.generate(sample_size=int(num_rows), sampling_temperature=p.sampling_temperature, device=p.device,
                            rare_category_replacement_method=p.rare_category_replacement_method,
                            workspace_dir=workspace)
        files = sorted((workspace / "SyntheticData").glob("*.parquet"))
        rows = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True) if files else pd.DataFrame()
        if len(rows) != num_rows:
            raise GeneratedDataError(f"{NAME} returned {len(rows)} rows where {num_rows} were asked for; "
                                     "report this as a generator bug")
        return restore_dtypes(rows, self._dtypes, generator=NAME)

    def info(self) -> GeneratorInfo:
        """Name, parameters and the last fit's figures (rows, seconds, seed, engine version); no DP budget."""
        return GeneratorInfo(name=NAME, params=asdict(self.params), privacy=None, extra=dict(self._fit_figures))

    def close(self) -> None:
        """Delete the workspace (model and data files); the generator must be fitted again to sample."""
        if self._workspace is not None:
            self._workspace.cleanup()
            self._workspace = None
            self._dtypes = None


def make_mostlyai_generator(method: str, params: dict[str, Any], log: Any | None) -> MostlyAIGenerator:
    """The registry's factory for ``mostlyai`` (``synthesizer.params`` are :class:`MostlyAIParams`)."""
    return MostlyAIGenerator(**params)

"""Fitted models kept by the content they were fitted on, so one generation fits its real-only
baseline once for every measure that needs it.

The utility checks of the synthetic and the augmented rows and the evaluation each score a
model trained on real rows only (TRTR; "real_only"). Where they train on the same rows
(generation 1: the real fit input is the mix's real part) with the same model and seed, the
fit is the same fit: :class:`ModelCache` returns it from the first one's pickle instead of
fitting again. The key is a digest of what the fit sees: the model factory, seed, label,
feature names, dtypes and values in order (pandas ``hash_pandas_object``), so a different
row, order, column or seed is a different model, never a stale one.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from synth_pipeline.storage import DatasetStore

CACHE_DIR = "_cache"
"""Below the data directory: what can be rebuilt from the stored data (safe to delete)."""
MAX_ENTRIES = 64
"""Models kept per cache directory; the oldest are removed beyond it (a generation adds a few)."""


def fit_key(features: pd.DataFrame, labels: pd.Series, *, factory: str, seed: int) -> str:
    """The digest of a fit: factory, seed, column names and dtypes, and every value in order.

    Args:
        features: The model input (rows x feature columns), as passed to ``fit``.
        labels: The target, aligned with ``features``.
        factory: The model factory (``module:function``).
        seed: The model's seed.

    Returns:
        A 32-character hexadecimal digest.
    """
    digest = hashlib.blake2b(digest_size=16)
    digest.update(repr((factory, seed, list(features.columns), [str(t) for t in features.dtypes],
                        str(labels.name), str(labels.dtype), len(features))).encode())
    for frame in (features, labels.to_frame()):
        digest.update(np.ascontiguousarray(pd.util.hash_pandas_object(frame, index=False).to_numpy()).tobytes())
    return digest.hexdigest()


def model_cache(store: DatasetStore) -> ModelCache:
    """The model cache of a data directory: ``<data dir>/_cache/models``."""
    return ModelCache(store.root / CACHE_DIR / "models")


class ModelCache:
    """Fitted models under ``directory``, by :func:`fit_key` (pickles written atomically).

    Args:
        directory: Where the pickles live (created on first write), e.g. ``<data dir>/_cache/models``.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def fitted(self, key: str, fit: Callable[[], Any]) -> Any:
        """The model stored under ``key``, else ``fit()``'s, stored for the next caller.

        An unreadable entry (e.g. written by another scikit-learn version) is fitted again
        and replaced.
        """
        path = self.directory / f"{key}.pkl"
        if path.is_file():
            try:
                with open(path, "rb") as handle:
                    return pickle.load(handle)
            except Exception:  # a stale or foreign pickle is a cache miss, never a failure
                path.unlink(missing_ok=True)
        model = fit()
        from synth_pipeline.atomic_files import atomic_write

        atomic_write(path, lambda handle: pickle.dump(model, handle, protocol=pickle.HIGHEST_PROTOCOL))
        self._prune()
        return model

    def _prune(self) -> None:
        entries = []
        for path in self.directory.glob("*.pkl"):
            try:
                entries.append((path.stat().st_mtime, path))
            except FileNotFoundError:  # removed meanwhile by another step's prune
                continue
        for _, stale in sorted(entries)[:-MAX_ENTRIES]:
            stale.unlink(missing_ok=True)

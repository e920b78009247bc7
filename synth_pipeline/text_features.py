"""Hashed word n-gram features of free text for the model, kept for inputs seen again.

Imported only by :func:`synth_pipeline.modeling.default_classifier` (and the regressor) when
the data has free-text columns, so that loading definitions does not import scikit-learn.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import HashingVectorizer

KEPT_INPUTS = 4
"""Distinct inputs whose features are kept (each about 25 MB for 10,000 texts of 100 words)."""

_FEATURES: OrderedDict[bytes, Any] = OrderedDict()


class CachingHashingVectorizer(HashingVectorizer):
    """scikit-learn's ``HashingVectorizer``, reusing its output for an input it transformed lately.

    The vectorizer is stateless, so the same texts always give the same features. The
    utility checks fit 2 x 3 models and score each on the same holdout texts; without the
    cache the holdout was vectorised six times (6 of the 18 s of a utility check on 10,000
    texts of 100 words). Keys are a BLAKE2 digest of the texts' pandas hashes and the
    vectorizer's parameters; the last :data:`KEPT_INPUTS` inputs are kept, per process.
    """

    def transform(self, raw_documents: Any) -> Any:
        """The hashed n-gram counts of ``raw_documents`` (``(n, n_features)`` sparse), computed once per input."""
        values = np.asarray(raw_documents, dtype=object)
        key = hashlib.blake2b(pd.util.hash_array(values, categorize=False).tobytes()
                              + repr(sorted(self.get_params().items())).encode(), digest_size=16).digest()
        if key in _FEATURES:
            _FEATURES.move_to_end(key)
            return _FEATURES[key]
        features = super().transform(values)
        _FEATURES[key] = features
        while len(_FEATURES) > KEPT_INPUTS:
            _FEATURES.popitem(last=False)
        return features

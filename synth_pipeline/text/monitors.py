"""Collapse monitors of one free-text column: generated texts against real texts.

Model collapse in text shows as lost words and phrases, a lost tail of rare expressions,
and repeated texts (Shumailov et al., Nature 2024). Every monitor here compares the
generated texts with a **control**: real texts of the same size, drawn (seeded) from the
real column, so that a figure that depends on sample size (all of these do) is never
compared across sizes. The real texts are split at random into disjoint parts:

- the **control** ``C``: up to ``max_docs`` real texts (at most half of them);
- the **reference** ``R``: up to ``max_docs`` other real texts, whose vocabulary and rare
  n-grams are what coverage is measured against;

and up to ``max_docs`` generated texts ``G`` are drawn. ``G`` and ``C`` are then cut to the
same number of tokens ``T`` (the first ``T`` tokens of each in random document order, the
last document cut), and each into the same number ``K`` of consecutive **blocks** of
``T / K`` tokens (default 20 blocks; fewer when a side has fewer texts). Every share below
is measured in each block (n-grams do not cross texts or blocks), so both sides are always
compared at the same size, and averaged over the blocks. Monitors (word tokens from
:mod:`synth_pipeline.text.tokens`):

- **distinct-n**, n = 1, 2, 3 (Li et al. 2016, "A Diversity-Promoting Objective Function
  for Neural Conversation Models"): distinct n-grams over n-gram occurrences.
- **vocabulary coverage**: the share of ``R``'s word types present in a block.
- **tail coverage**: the share of ``R``'s *rare* unigrams and bigrams present in a block.
  Rare means seen 2 to 5 times in ``R``: hapaxes (seen once) are about half of any
  sample's types and are dominated by one-off tokens (numbers, names, typos) that neither
  a faithful generator nor a fresh real sample reproduces, so both shares would be near 0
  and their ratio noise; n-grams seen 2-5 times are confirmed to recur yet are the bottom
  frequency band, the low-probability events collapse loses first (Shumailov et al. 2024).
  Unigrams and bigrams are pooled into one share.
- **length distribution** (reported, not bounded): mean and median words per text of all
  sampled generated and real texts, the ratio of standard deviations, and the two-sample
  Kolmogorov-Smirnov statistic and p-value (``scipy.stats.ks_2samp``).
- **near-duplicate rate**: the share of ``G``'s texts with a near-duplicate in ``G``
  (estimated Jaccard similarity of word 3-shingles at least ``jaccard``, Broder 1997; see
  :mod:`synth_pipeline.text.shingles`), against the same share among as many control texts,
  and the excess with its one-sided 95 % lower bound.

**Bounds.** Each of the first three monitors is reported as the generated mean, the control
mean and their ratio (1.0: as diverse as real texts), with a one-sided 95 % upper bound of
the ratio (a blocking rule fails when it is below a limit): ``ratio + t(0.95, K - 1) * SE``,
``SE`` from the delta method on the two block means, each with its between-block variance
(the method of batch means). Texts are independent draws, so blocks of different texts are
independent samples and the bound is honest whatever the statistic; given ``R``, a
generator as diverse as real texts makes ``G`` and ``C`` exchangeable, so the ratio is 1 in
expectation and its bound falls below 1 about 5 % of the time (measured in the patch notes).
Two alternatives were tried and dropped: a bootstrap over texts repeats texts, which lowers
distinct-n and coverage by itself; the delete-half jackknife (Shao & Wu 1989, repeated
half-sampling) of the whole-sample ratio misjudged the variance of distinct counts (it fired
9 % of the time on distinct-2 and never on distinct-1 on a perfect generator), since a
count of distinct types is not a smooth statistic of the texts.

The near-duplicate excess bound is Newcombe's (1998, method 10) interval
(:func:`synth_pipeline.quality.near_copies.excess_lower_bound`) with each side's texts
counted as their cluster-robust effective number (near-duplicate flags come in groups: a
pair of copies flags two texts at once), as the privacy checks count clustered rows.

**Cost and sampling.** ``max_docs`` (default :data:`DEFAULT_MAX_DOCS`) caps each of ``G``,
``C`` and ``R``. At 10,000 texts of ~100 words (``T`` about 1 M tokens, blocks of 50,000)
the standard error of the ratios is about 0.001-0.005 (measured on Markov-chain text, see
``benchmarks/text_checks.py``), so a loss of a few percent of diversity is detected; the
near-duplicate shares' standard error is at most ``sqrt(0.25 / 10,000) = 0.005``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synth_pipeline.quality.near_copies import excess_lower_bound
from synth_pipeline.text.tokens import TokenizedTexts

DEFAULT_MAX_DOCS = 10_000
DEFAULT_JACCARD = 0.7
DEFAULT_BLOCKS = 10
MIN_BLOCK_TOKENS = 20
MIN_TOKENS = 2
RARE_BAND = (2, 5)
"""Counts in the reference texts that make an n-gram rare (inclusive)."""
DISTINCT_NS = (1, 2, 3)
MONITOR_NAMES = ("distinct_1", "distinct_2", "distinct_3", "vocabulary_coverage", "tail_coverage")
_Z_95_ONE_SIDED = 1.6449
_NAN = float("nan")


@dataclass(frozen=True)
class TextDiversity:
    """The collapse monitors of one generated text column (see the module docs).

    Shares are in [0, 1]; ratios are generated over control (1.0: as diverse as real
    texts); lengths are in words. A figure that cannot be computed is NaN and
    :attr:`unmeasured` says why.

    Attributes:
        documents: Generated texts given.
        real_documents: Real texts given.
        sampled_documents: Generated texts drawn (``G``, at most ``max_docs``).
        control_documents: Real control texts drawn (``C``).
        reference_documents: Real reference texts (``R``).
        tokens_compared: ``T``: tokens of ``G`` and of ``C`` that distinct-n and coverage use.
        blocks: Blocks ``K`` each side's ``T`` tokens were cut into (the bounds' sample size).
        block_tokens: Tokens of a block, ``T // K``: the size every share below is measured at.
        distinct_1 .. distinct_3: distinct-n of ``G``, mean over its blocks.
        distinct_1_control .. distinct_3_control: distinct-n of ``C``, mean over its blocks.
        distinct_1_ratio .. distinct_3_ratio: Generated over control.
        distinct_1_upper_bound .. distinct_3_upper_bound: One-sided 95 % upper bounds of the ratios.
        reference_vocabulary: Word types of ``R``.
        vocabulary_coverage / vocabulary_coverage_control: Share of them present in a block of ``G`` / ``C``
            (mean over blocks).
        vocabulary_coverage_ratio / vocabulary_coverage_upper_bound: Their ratio and its bound.
        rare_ngrams: Unigrams and bigrams seen 2-5 times in ``R``.
        tail_coverage / tail_coverage_control: Share of them present in a block of ``G`` / ``C`` (mean).
        tail_coverage_ratio / tail_coverage_upper_bound: Their ratio and its bound.
        mean_words / mean_words_real, median_words / median_words_real: Words per text.
        words_std_ratio: Standard deviation of words per text, generated over real.
        length_ks_statistic / length_ks_pvalue: Two-sample Kolmogorov-Smirnov test of the lengths.
        near_duplicate_documents: Texts of each side searched for near-duplicates.
        near_duplicate_rate / near_duplicate_rate_control: Share of texts with a near-duplicate.
        near_duplicate_excess: Generated rate minus control rate.
        near_duplicate_excess_lower_bound: Its one-sided 95 % lower bound.
        jaccard: The near-duplicate threshold (estimated Jaccard similarity of word 3-shingles).
        unmeasured: Monitor (``distinct``, ``vocabulary``, ``tail``, ``length``,
            ``near_duplicates``) -> why it is NaN.
    """

    documents: int
    real_documents: int
    sampled_documents: int = 0
    control_documents: int = 0
    reference_documents: int = 0
    tokens_compared: int = 0
    blocks: int = 0
    block_tokens: int = 0
    distinct_1: float = _NAN
    distinct_1_control: float = _NAN
    distinct_1_ratio: float = _NAN
    distinct_1_upper_bound: float = _NAN
    distinct_2: float = _NAN
    distinct_2_control: float = _NAN
    distinct_2_ratio: float = _NAN
    distinct_2_upper_bound: float = _NAN
    distinct_3: float = _NAN
    distinct_3_control: float = _NAN
    distinct_3_ratio: float = _NAN
    distinct_3_upper_bound: float = _NAN
    reference_vocabulary: int = 0
    vocabulary_coverage: float = _NAN
    vocabulary_coverage_control: float = _NAN
    vocabulary_coverage_ratio: float = _NAN
    vocabulary_coverage_upper_bound: float = _NAN
    rare_ngrams: int = 0
    tail_coverage: float = _NAN
    tail_coverage_control: float = _NAN
    tail_coverage_ratio: float = _NAN
    tail_coverage_upper_bound: float = _NAN
    mean_words: float = _NAN
    mean_words_real: float = _NAN
    median_words: float = _NAN
    median_words_real: float = _NAN
    words_std_ratio: float = _NAN
    length_ks_statistic: float = _NAN
    length_ks_pvalue: float = _NAN
    near_duplicate_documents: int = 0
    near_duplicate_rate: float = _NAN
    near_duplicate_rate_control: float = _NAN
    near_duplicate_excess: float = _NAN
    near_duplicate_excess_lower_bound: float = _NAN
    jaccard: float = _NAN
    unmeasured: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The scalar figures (for check metadata), without :attr:`unmeasured`."""
        figures = asdict(self)
        figures.pop("unmeasured")
        return figures


def _rare_ngrams(reference: TokenizedTexts) -> dict[int, np.ndarray]:
    """Unigram and bigram ids seen :data:`RARE_BAND` times in the reference texts."""
    rare = {}
    for n in (1, 2):
        codes, ids = pd.factorize(reference.ngram_ids(n))
        counts = np.bincount(codes, minlength=len(ids))
        rare[n] = np.asarray(ids)[(counts >= RARE_BAND[0]) & (counts <= RARE_BAND[1])]
    return rare


def _block_shares(tokens: TokenizedTexts, blocks: int, reference_types: np.ndarray, rare: dict[int, np.ndarray],
                  ) -> dict[str, np.ndarray]:
    """Each monitor's share in each of ``blocks`` consecutive equal blocks of ``tokens`` (random document order).

    An n-gram counts in a block when it lies inside one document and one block; tokens after the
    last whole block are not used. Shares of an empty denominator are NaN.

    Returns:
        Monitor -> ``(blocks,)`` float64 shares.
    """
    size = len(tokens.ids) // blocks
    rare_present = np.zeros(blocks)
    shares: dict[str, np.ndarray] = {}
    for n in DISTINCT_NS:
        positions = tokens.ngram_positions(n)
        block = positions // size
        keep = (block == (positions + n - 1) // size) & (block < blocks)
        positions, block = positions[keep], block[keep]
        codes, uniques = pd.factorize(tokens.ngram_ids(n, positions))
        present = np.zeros((blocks, len(uniques)), dtype=bool)  # (block, n-gram) pairs seen
        present[block, codes] = True
        total = np.bincount(block, minlength=blocks)
        shares[f"distinct_{n}"] = np.divide(present.sum(axis=1), total, out=np.full(blocks, _NAN), where=total > 0)
        if n == 1:
            covered = present[:, np.isin(uniques, reference_types)].sum(axis=1)
            shares["vocabulary_coverage"] = covered / len(reference_types) if len(reference_types) \
                else np.full(blocks, _NAN)
        if n in rare:
            rare_present += present[:, np.isin(uniques, rare[n])].sum(axis=1)
    rare_count = sum(len(ids) for ids in rare.values())
    shares["tail_coverage"] = rare_present / rare_count if rare_count else np.full(blocks, _NAN)
    return shares


def _ratio_and_bound(generated: np.ndarray, control: np.ndarray) -> dict[str, float]:
    """Block means of both sides, their ratio and its one-sided 95 % upper bound (delta method, Student t)."""
    from scipy.stats import t as student

    generated, control = generated[np.isfinite(generated)], control[np.isfinite(control)]
    if not len(generated) or not len(control):
        return {"value": _NAN, "control": _NAN, "ratio": _NAN, "upper_bound": _NAN}
    mean_g, mean_c = float(generated.mean()), float(control.mean())
    ratio = mean_g / mean_c if mean_c > 0 else _NAN
    upper = _NAN
    if np.isfinite(ratio) and min(len(generated), len(control)) >= 2:
        variance = (np.var(generated, ddof=1) / len(generated) / mean_c**2
                    + mean_g**2 * np.var(control, ddof=1) / len(control) / mean_c**4)
        upper = ratio + float(student.ppf(0.95, min(len(generated), len(control)) - 1)) * float(np.sqrt(variance))
    return {"value": mean_g, "control": mean_c, "ratio": ratio, "upper_bound": upper}


def _length_figures(generated: np.ndarray, real: np.ndarray) -> dict[str, float]:
    from scipy.stats import ks_2samp

    if len(generated) == 0 or len(real) == 0:
        return {}
    real_std = float(np.std(real, ddof=1)) if len(real) > 1 else _NAN
    generated_std = float(np.std(generated, ddof=1)) if len(generated) > 1 else _NAN
    test = ks_2samp(generated, real)
    return {
        "mean_words": float(np.mean(generated)), "mean_words_real": float(np.mean(real)),
        "median_words": float(np.median(generated)), "median_words_real": float(np.median(real)),
        "words_std_ratio": generated_std / real_std if real_std > 0 else _NAN,
        "length_ks_statistic": float(test.statistic), "length_ks_pvalue": float(test.pvalue),
    }


def clustered_share(groups: np.ndarray) -> tuple[float, float]:
    """Share of texts in a near-duplicate group of 2 or more, and the texts it is worth as independent draws.

    The effective count is ``share (1 - share) / V`` with ``V`` the cluster-robust variance of
    the share (texts of one group are flagged together), at most the number of texts.

    Args:
        groups: ``(d,)`` group label per text.

    Returns:
        ``(share, effective_texts)``; ``(nan, 0)`` without texts.
    """
    rows = len(groups)
    if rows == 0:
        return _NAN, 0.0
    _, inverse, sizes = np.unique(groups, return_inverse=True, return_counts=True)
    flags = (sizes[inverse] > 1).astype("float64")
    share = float(flags.mean())
    if share * (1 - share) == 0:
        return share, float(rows)
    sums = np.bincount(inverse.ravel(), weights=flags - share)
    variance = float((sums**2).sum()) / rows**2
    return share, float(min(rows, share * (1 - share) / variance)) if variance > 0 else float(rows)


def _near_duplicate_figures(generated: TokenizedTexts, control: TokenizedTexts, jaccard: float) -> dict[str, float]:
    from synth_pipeline.text.shingles import near_duplicate_clusters, signatures

    rate, rows = clustered_share(near_duplicate_clusters(signatures(generated), jaccard))
    chance, control_rows = clustered_share(near_duplicate_clusters(signatures(control), jaccard))
    # Effective counts are not whole numbers; Newcombe's bound is defined for them as well.
    lower = excess_lower_bound(rate * rows, rows, chance * control_rows, control_rows)  # type: ignore[arg-type]
    return {"near_duplicate_documents": generated.documents, "near_duplicate_rate": rate,
            "near_duplicate_rate_control": chance, "near_duplicate_excess": rate - chance,
            "near_duplicate_excess_lower_bound": lower}


def measure_text_diversity(
    generated: pd.Series, real: pd.Series, *, seed: int = 0, max_docs: int | None = DEFAULT_MAX_DOCS,
    jaccard: float = DEFAULT_JACCARD, blocks: int = DEFAULT_BLOCKS,
) -> TextDiversity:
    """The collapse monitors of a generated text column against the real one (see the module docs).

    Args:
        generated: ``(g,)`` generated texts; missing values are empty texts.
        real: ``(r,)`` real texts of the same column (e.g. the fit input).
        seed: Seed of every sample (and so of the blocks' random document order).
        max_docs: Largest number of texts drawn for each of the generated sample, the real
            control and the real reference; None: no cap (the control is then half the real texts).
        jaccard: Near-duplicate threshold on the estimated Jaccard similarity of word 3-shingles, in (0, 1].
        blocks: Blocks each side's ``T`` tokens are cut into for the upper bounds (>= 2; fewer are
            used when a side has fewer texts or fewer than ``20 * blocks`` words).

    Returns:
        The monitors; undefined ones are NaN with a reason in ``unmeasured``.

    Raises:
        ValueError: ``jaccard`` outside (0, 1] or ``blocks`` < 2.
    """
    if not 0 < jaccard <= 1:
        raise ValueError(f"jaccard must be in (0, 1], got {jaccard}")
    if blocks < 2:
        raise ValueError(f"blocks must be at least 2, got {blocks}")
    rng = np.random.default_rng(seed)
    cap = len(generated) + len(real) if max_docs is None else max(int(max_docs), 1)
    generated_order = rng.permutation(len(generated))[:cap]
    real_order = rng.permutation(len(real))
    control_size = min(cap, len(real) // 2)
    control_order = real_order[:control_size]
    reference_order = real_order[control_size:control_size + cap]
    texts = pd.concat([generated.iloc[generated_order], real.iloc[control_order], real.iloc[reference_order]],
                      ignore_index=True)
    everything = TokenizedTexts.from_texts(texts.tolist())
    bounds = np.cumsum([0, len(generated_order), len(control_order), len(reference_order)])
    g_all, c_all, r_all = (everything.subset(np.arange(bounds[k], bounds[k + 1])) for k in range(3))
    figures: dict[str, Any] = {
        "documents": len(generated), "real_documents": len(real), "sampled_documents": g_all.documents,
        "control_documents": c_all.documents, "reference_documents": r_all.documents, "jaccard": float(jaccard),
    }
    unmeasured: dict[str, str] = {}
    figures.update(_length_figures(g_all.lengths, np.concatenate([c_all.lengths, r_all.lengths])))
    if len(generated) == 0 or len(real) == 0:
        reason = "no generated texts" if len(generated) == 0 else "no real texts"
        unmeasured.update(dict.fromkeys(("distinct", "vocabulary", "tail", "length", "near_duplicates"), reason))
        return TextDiversity(**figures, unmeasured=unmeasured)
    if not control_size:
        reason = f"fewer than 2 real texts ({len(real)}): no real control apart from the reference"
        unmeasured.update(dict.fromkeys(("distinct", "vocabulary", "tail", "near_duplicates"), reason))
        return TextDiversity(**figures, unmeasured=unmeasured)

    budget = int(min(len(g_all.ids), len(c_all.ids)))
    reference_types = np.unique(r_all.ids)
    rare = _rare_ngrams(r_all)
    vocabulary, rare_count = len(reference_types), len(rare[1]) + len(rare[2])
    figures.update(tokens_compared=budget, reference_vocabulary=vocabulary, rare_ngrams=rare_count)
    g_cut, c_cut = g_all.prefix(budget), c_all.prefix(budget)
    # Blocks must hold several texts (texts, not blocks, are the independent draws) and some words.
    count = min(blocks, g_cut.documents, c_cut.documents, budget // MIN_BLOCK_TOKENS)
    if budget < MIN_TOKENS:
        reason = f"{budget} words in the generated or the control texts: nothing to count"
        unmeasured.update(dict.fromkeys(("distinct", "vocabulary", "tail"), reason))
    else:
        count = max(count, 1)
        figures.update(blocks=count, block_tokens=budget // count)
        g_shares = _block_shares(g_cut, count, reference_types, rare)
        c_shares = _block_shares(c_cut, count, reference_types, rare)
        for name in MONITOR_NAMES:
            judged = _ratio_and_bound(g_shares[name], c_shares[name])
            figures.update({name: judged["value"], f"{name}_control": judged["control"],
                            f"{name}_ratio": judged["ratio"], f"{name}_upper_bound": judged["upper_bound"]})
        for n in DISTINCT_NS:
            if not np.isfinite(figures[f"distinct_{n}_ratio"]):
                unmeasured[f"distinct_{n}"] = f"no text of {n}+ words in the generated or the control sample"
        if not vocabulary:
            unmeasured["vocabulary"] = "the real reference texts hold no words"
        if not rare_count:
            unmeasured["tail"] = (f"no real unigram or bigram is seen {RARE_BAND[0]}-{RARE_BAND[1]} times in the "
                                  f"{r_all.documents} reference texts")
        elif not np.isfinite(figures["tail_coverage_ratio"]):
            unmeasured["tail"] = "the real control covers none of the rare reference n-grams"
        if count < 2:
            for name in MONITOR_NAMES:
                if np.isfinite(figures[f"{name}_ratio"]):
                    unmeasured[f"{name}_bound"] = (
                        f"too few texts or words for 2 blocks ({g_cut.documents} generated and {c_cut.documents} "
                        f"control texts, {budget} words a side): no bound")
    rows = min(g_all.documents, c_all.documents)
    if rows < 2:
        unmeasured["near_duplicates"] = f"{rows} text(s) a side: no pair to compare"
    else:
        figures.update(_near_duplicate_figures(g_all.subset(np.arange(rows)), c_all.subset(np.arange(rows)), jaccard))
    return TextDiversity(**figures, unmeasured=unmeasured)

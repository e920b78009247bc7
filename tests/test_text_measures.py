"""The text measurement library (issue 17) on real human-written text: Python's own help topics.

``pydoc_data.topics`` ships with Python: about 80 help topics, split here into their
~3,800 sentences of 4+ words. Sentences of one topic share words, and the documentation
repeats itself ("Changed in version 3.x: ..."), so chance near-duplicates and chance copies
are frequent: a good test of the controls. No mocks: every figure is computed.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synth_pipeline.text.copies import near_copies_of, text_copies
from synth_pipeline.text.fidelity import text_adversarial_auc
from synth_pipeline.text.monitors import clustered_share, measure_text_diversity
from synth_pipeline.text.shingles import near_duplicate_clusters, shingle_hashes, signatures
from synth_pipeline.text.tokens import TokenizedTexts, normalised, words

REPO = Path(__file__).resolve().parents[1]
MONITORS = ("distinct_1", "distinct_2", "distinct_3", "vocabulary_coverage", "tail_coverage")


@pytest.fixture(scope="module")
def sentences() -> pd.Series:
    """Sentences of 4+ words of every help topic, in topic order."""
    from pydoc_data.topics import topics

    found = []
    for paragraph in re.split(r"\n\s*\n", "\n\n".join(topics[name] for name in sorted(topics))):
        found += [s for s in re.split(r"(?<=[.!?])\s+", " ".join(paragraph.split())) if len(s.split()) >= 4]
    return pd.Series(found)


def _halves(texts: pd.Series, seed: int) -> tuple[pd.Series, pd.Series]:
    order = np.random.default_rng(seed).permutation(len(texts))
    half = len(texts) // 2
    return texts.iloc[order[:half]].reset_index(drop=True), texts.iloc[order[half:]].reset_index(drop=True)


def _markov_collapse(texts: pd.Series, rounds: int, seed: int) -> pd.Series:
    """A word-bigram Markov chain fitted on ``texts``, then refitted on its own output ``rounds`` times."""
    rng = np.random.default_rng(seed)
    current = [t.split() for t in texts]
    for _ in range(rounds):
        successors: dict[str, list[str]] = {}
        for sentence in current:
            for first, second in zip(sentence, sentence[1:], strict=False):
                successors.setdefault(first, []).append(second)
        starts = [s[0] for s in current if s]
        made = []
        for sentence in current:
            word, out = starts[rng.integers(len(starts))], []
            for _ in range(len(sentence)):
                out.append(word)
                following = successors.get(word)
                if not following:
                    break
                word = following[rng.integers(len(following))]
            made.append(out)
        current = made
    return pd.Series([" ".join(s) for s in current])


# ---------------------------------------------------------------- tokens and shingles


def test_words_are_casefolded_unicode_words_with_inner_apostrophes():
    assert words("Don't STOP: l'homme, o’clock — naïve Straße 3.14 'quoted'") == [
        "don't", "stop", "l'homme", "o’clock", "naïve", "strasse", "3", "14", "quoted"]
    assert words(None) == words(float("nan")) == words(pd.NA) == words("") == []
    assert words("日本語 テキスト") == ["日本語", "テキスト"]
    assert normalised("  Hello \n  WORLD ") == "hello world"


def test_ngram_ids_never_cross_texts_and_subsets_keep_words():
    tokens = TokenizedTexts.from_texts(["a b c d", None, "b c", "x", "a b c"])
    assert tokens.documents == 5 and list(tokens.lengths) == [4, 0, 2, 1, 3]
    vocabulary = tokens.vocabulary

    def grams(n: int) -> list[tuple[str, ...]]:
        positions = tokens.ngram_positions(n)
        return [tuple(vocabulary[tokens.ids[p:p + n]]) for p in positions]

    assert grams(2) == [("a", "b"), ("b", "c"), ("c", "d"), ("b", "c"), ("a", "b"), ("b", "c")]
    assert grams(3) == [("a", "b", "c"), ("b", "c", "d"), ("a", "b", "c")]
    bigrams = tokens.ngram_ids(2)
    assert len(set(bigrams.tolist())) == 3 and bigrams[0] == bigrams[4] and bigrams[1] == bigrams[3] == bigrams[5]
    trigrams = tokens.ngram_ids(3)
    assert trigrams[0] == trigrams[2] != trigrams[1]
    picked = tokens.subset(np.array([4, 0, 4]))
    assert list(vocabulary[picked.ids]) == ["a", "b", "c", "a", "b", "c", "d", "a", "b", "c"]
    cut = tokens.prefix(5)
    assert list(cut.lengths) == [4, 0, 1] and list(vocabulary[cut.ids]) == ["a", "b", "c", "d", "b"]
    with pytest.raises(ValueError):
        tokens.ngram_positions(0)


def test_ngram_hashes_depend_on_words_only():
    one = TokenizedTexts.from_texts(["the cat sat on the mat"])
    two = TokenizedTexts.from_texts(["zebra", "the cat sat on the mat"]).subset(np.array([1]))
    assert np.array_equal(one.ngram_hashes(3), two.ngram_hashes(3))
    assert not np.array_equal(one.ids, two.ids)


def test_signatures_are_datasketch_minhashes(sentences):
    from datasketch import MinHash

    tokens = TokenizedTexts.from_texts(sentences.iloc[:50])
    sigs = signatures(tokens)
    hashes, documents = shingle_hashes(tokens)
    for document in (0, 17, 49):
        expected = MinHash(num_perm=128, seed=1, hashfunc=int, scheme="affine32")
        expected.update_batch(hashes[documents == document].tolist())
        assert np.array_equal(expected.hashvalues, sigs.values[document])
    assert np.bincount(documents, minlength=50).min() >= 1  # every text has a shingle


def test_near_duplicate_clusters_group_copies_and_short_texts():
    texts = ["the quick brown fox jumps over the lazy dog today",
             "The quick brown fox jumps over the lazy dog today!",  # same words
             "the quick brown fox jumps over the lazy dog tonight",  # one word changed
             "an entirely different sentence about other things", "", None, "ok", "ok"]
    groups = near_duplicate_clusters(signatures(TokenizedTexts.from_texts(texts)), 0.7)
    assert groups[0] == groups[1] == groups[2]
    assert groups[3] not in (groups[0], groups[4], groups[6])
    assert groups[4] == groups[5] and groups[6] == groups[7] and groups[4] != groups[6]
    share, effective = clustered_share(groups)
    assert share == pytest.approx(7 / 8) and 1 <= effective <= 8


# ---------------------------------------------------------------- (a) real vs real: nothing fires


def test_disjoint_halves_of_real_text_do_not_fire(sentences):
    bounds, ratios, excess_bounds = [], [], []
    for seed in range(4):
        generated, real = _halves(sentences, seed)
        result = measure_text_diversity(generated, real, seed=seed, blocks=10)
        assert result.unmeasured == {}
        ratios += [result.to_dict()[f"{m}_ratio"] for m in MONITORS]
        bounds += [result.to_dict()[f"{m}_upper_bound"] for m in MONITORS]
        excess_bounds.append(result.near_duplicate_excess_lower_bound)
        assert result.tokens_compared > 10_000 and result.near_duplicate_rate_control > 0.05
    assert all(0.93 < r < 1.07 for r in ratios), ratios
    # A 95 % bound: about 1 in 20 falls below 1 by chance (here 2 of 20; rates over 200 splits in the patch notes).
    assert sum(b < 1 for b in bounds) <= 3 and min(bounds) > 0.99, bounds
    assert all(b <= 0 for b in excess_bounds), excess_bounds


# ---------------------------------------------------------------- (b) collapse fires


def test_resampling_a_few_real_texts_is_collapse(sentences):
    generated, real = _halves(sentences, 0)
    collapsed = generated.iloc[:40].sample(len(generated), replace=True, random_state=0).reset_index(drop=True)
    result = measure_text_diversity(collapsed, real, seed=0, blocks=10)
    for monitor in MONITORS:
        assert result.to_dict()[f"{monitor}_upper_bound"] < 0.65, monitor
    assert result.near_duplicate_rate == 1.0 and result.near_duplicate_excess_lower_bound > 0.5
    assert result.length_ks_pvalue < 0.01


def test_markov_chain_refitted_on_its_output_loses_the_tail(sentences):
    generated, real = _halves(sentences, 1)
    healthy = measure_text_diversity(_markov_collapse(generated, 1, seed=0), real, seed=0, blocks=10)
    collapsed = measure_text_diversity(_markov_collapse(generated, 6, seed=0), real, seed=0, blocks=10)
    for monitor in MONITORS:
        assert collapsed.to_dict()[f"{monitor}_ratio"] < healthy.to_dict()[f"{monitor}_ratio"] - 0.05, monitor
        assert collapsed.to_dict()[f"{monitor}_upper_bound"] < 0.95, monitor
    assert collapsed.tail_coverage_upper_bound < 0.75  # the tail goes first


def test_truncated_texts_change_lengths_not_the_near_duplicate_verdict(sentences):
    generated, real = _halves(sentences, 2)
    truncated = generated.map(lambda t: " ".join(t.split()[:5]))
    result = measure_text_diversity(truncated, real, seed=0, blocks=10)
    assert result.mean_words <= 5 < result.mean_words_real
    assert result.length_ks_statistic > 0.5 and result.length_ks_pvalue < 1e-6
    assert result.words_std_ratio < 0.3


# ---------------------------------------------------------------- (c) copies


@pytest.fixture(scope="module")
def copy_split(sentences):
    order = np.random.default_rng(7).permutation(len(sentences))
    # Training and holdout of equal size: every training text is then in the comparison (with a larger
    # training set a sample of the holdout's size is compared, and copies of the other texts are not counted).
    training = sentences.iloc[order[:1000]].reset_index(drop=True)
    holdout = sentences.iloc[order[1000:2000]].reset_index(drop=True)
    other = sentences.iloc[order[2000:]].reset_index(drop=True)
    return training, holdout, other


def test_copies_of_training_texts_are_found(copy_split):
    training, holdout, other = copy_split
    rng = np.random.default_rng(3)
    long = training[training.str.split().str.len() >= 20]

    def edit(text: str) -> str:
        tokens = text.split()
        tokens[rng.integers(len(tokens))] = "zyzzyva"
        return " ".join(tokens)

    generated = pd.concat([other.iloc[:1000], long.iloc[:50].str.upper() + "  ", long.iloc[50:100].map(edit)],
                          ignore_index=True)
    result = text_copies(generated, training, holdout, jaccard=0.7, seed=0)
    assert result.undefined is None
    assert result.exact_copies >= 50 and result.exact_excess_lower_bound > 0
    assert result.near_copies >= result.holdout_near_copies + 80
    assert result.excess_share > 0.05 and result.excess_lower_bound > 0
    assert set(result.to_dict()) >= {"exact_copies", "excess_share", "excess_lower_bound", "holdout_near_copy_share"}


def test_holdout_like_texts_are_not_copies(copy_split):
    training, holdout, other = copy_split
    result = text_copies(other, training, holdout, jaccard=0.7, seed=0)
    # The documentation repeats itself: many chance copies, on both sides alike.
    assert result.exact_copies > 50 and result.holdout_near_copies > 50
    assert result.exact_excess_lower_bound <= 0 and result.excess_lower_bound <= 0


def test_near_copies_of_finds_holdout_texts_in_a_training_input(copy_split):
    _, holdout, other = copy_split
    target = holdout[holdout.str.split().str.len() >= 15].index[:3]
    queries = pd.Series([holdout[target[0]], holdout[target[1]].lower() + " indeed",
                         "nothing like any of them at all here", None, "", other.iloc[0]])
    found = near_copies_of(holdout, queries, jaccard=0.6)
    assert list(found[:2]) == [target[0], target[1]] or holdout[found[0]] == holdout[target[0]]
    assert found[1] >= 0 and normalised(holdout[found[1]]) == normalised(holdout[target[1]])
    assert list(found[2:5]) == [-1, -1, -1]


# ---------------------------------------------------------------- (d) adversarial AUC


def test_adversarial_auc_of_real_halves_is_chance(sentences):
    generated, real = _halves(sentences, 3)
    score = text_adversarial_auc(real, generated, seed=0)
    assert score.undefined is None and score.real_rows == score.synthetic_rows == len(generated)
    assert abs(score.auc - 0.5) < 0.05 and score.auc_lower_bound < 0.6


def test_adversarial_auc_sees_shuffled_words(sentences):
    generated, real = _halves(sentences, 4)
    rng = np.random.default_rng(0)
    shuffled = generated.map(lambda t: " ".join(rng.permutation(t.split())))
    score = text_adversarial_auc(real, shuffled, seed=0)
    assert score.auc > 0.75 and score.auc_lower_bound > 0.7
    # Two text columns: the shuffled one still gives it away.
    frame = pd.DataFrame({"title": real.str.split().str[:3].str.join(" "), "body": real})
    fake = pd.DataFrame({"title": generated.str.split().str[:3].str.join(" "), "body": shuffled})
    assert text_adversarial_auc(frame, fake, seed=0, max_rows=1000).auc > 0.7
    with pytest.raises(ValueError):
        text_adversarial_auc(frame, fake.rename(columns=str.upper), seed=0)


# ---------------------------------------------------------------- (e) edge cases


def _nan_with_reason(result, monitors) -> None:
    for monitor in monitors:
        assert monitor in result.unmeasured or any(k.startswith(monitor) for k in result.unmeasured), monitor


def test_empty_and_missing_texts_give_nan_with_reasons(sentences):
    empty = pd.Series(["", None, float("nan"), "   "])
    result = measure_text_diversity(empty, empty, seed=0)
    assert math.isnan(result.distinct_1_ratio) and math.isnan(result.vocabulary_coverage_ratio)
    _nan_with_reason(result, ("distinct", "vocabulary", "tail"))
    assert result.mean_words == 0
    nothing = measure_text_diversity(pd.Series([], dtype=object), sentences.iloc[:100], seed=0)
    assert math.isnan(nothing.distinct_2_ratio) and "no generated texts" in nothing.unmeasured["distinct"]
    copies = text_copies(empty, empty, empty, seed=0)
    assert copies.exact_copies == 0 and copies.near_copies == 0 and copies.excess_lower_bound <= 0
    assert list(near_copies_of(empty, empty)) == [-1] * 4
    none = text_copies(pd.Series([], dtype=object), sentences, sentences, seed=0)
    assert none.undefined == "no generated texts" and math.isnan(none.excess_lower_bound)
    assert math.isnan(text_copies(sentences.iloc[:5], sentences.iloc[:5], pd.Series([], dtype=object)).exact_excess)
    auc = text_adversarial_auc(empty, empty, seed=0)
    assert auc.auc == pytest.approx(0.5)


def test_a_single_text_gives_nan_with_reasons(sentences):
    one = sentences.iloc[:1]
    result = measure_text_diversity(one, one, seed=0)
    assert math.isnan(result.distinct_1_ratio) and math.isnan(result.near_duplicate_rate)
    _nan_with_reason(result, ("distinct", "vocabulary", "tail", "near_duplicates"))
    assert "fewer than 2 real texts" in result.unmeasured["distinct"]
    versus_many = measure_text_diversity(one, sentences.iloc[:200], seed=0)
    assert "near_duplicates" in versus_many.unmeasured and np.isfinite(versus_many.distinct_1_ratio)
    score = text_adversarial_auc(one, one, seed=0)
    assert math.isnan(score.auc) and score.undefined is not None
    assert text_copies(one, one, one, seed=0).exact_copies == 1


def test_identical_and_non_ascii_texts(sentences):
    same = pd.Series(["Die Straße ist naß, l'été est chaud — 日本語のテキスト."] * 300)
    result = measure_text_diversity(same, sentences.iloc[:600], seed=0, blocks=10)
    assert result.near_duplicate_rate == 1.0 and result.distinct_3_ratio < 0.1
    assert result.vocabulary_coverage == 0.0 and result.vocabulary_coverage_upper_bound < 0.1
    alone = measure_text_diversity(same, same, seed=0, blocks=10)
    assert alone.distinct_1_ratio == pytest.approx(1.0) and alone.near_duplicate_excess == 0
    assert "tail" in alone.unmeasured  # every n-gram is seen 150 times: no rare band
    copies = text_copies(same, same, same.iloc[:10], seed=0)
    assert copies.exact_copies == 300 and copies.exact_excess == 0 and copies.excess_lower_bound <= 0
    assert text_adversarial_auc(same, same, seed=0).auc == pytest.approx(0.5)


def test_bad_arguments_raise():
    texts = pd.Series(["a b c"] * 4)
    with pytest.raises(ValueError):
        measure_text_diversity(texts, texts, jaccard=0)
    with pytest.raises(ValueError):
        measure_text_diversity(texts, texts, blocks=1)
    with pytest.raises(ValueError):
        text_copies(texts, texts, texts, jaccard=1.5)


def test_importing_the_text_modules_loads_no_heavy_library():
    code = ("import sys, synth_pipeline.text, synth_pipeline.text.monitors, synth_pipeline.text.copies, "
            "synth_pipeline.text.fidelity, synth_pipeline.text.shingles\n"
            "print([m for m in ('sklearn', 'datasketch', 'scipy', 'dagster') if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(REPO), "PATH": ""})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"

"""MinHash signatures of word 3-shingles and near-duplicate search with MinHash LSH.

Two texts are near-duplicates when the Jaccard similarity of their sets of word
3-shingles (consecutive word triples, Broder 1997, "On the resemblance and containment
of documents") is at least a threshold. The similarity is estimated from MinHash
signatures (Broder 1997; datasketch's ``MinHash``, 128 permutations, seed 1, scheme
``affine32``: the estimate's standard error is ``sqrt(J (1 - J) / 128)``, at most 0.044),
and candidate pairs are found with datasketch's ``MinHashLSH`` (banding, Indyk & Motwani
1998; Leskovec, Rajaraman & Ullman, *Mining of Massive Datasets*, ch. 3) at the same
threshold, then kept only when their estimated similarity reaches it.

A text of fewer than 3 words has one shingle, its whole word sequence (the empty text
too), so that short texts are near-duplicates only of the same words. Exact duplicates
(the same words) have equal signatures and are always near-duplicates.

datasketch is imported inside the functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from synth_pipeline.text.tokens import TokenizedTexts, mix64

SHINGLE_WORDS = 3
NUM_PERM = 128
MINHASH_SEED = 1
_SCHEME = "affine32"
_SHORT_TEXT_TAG = np.uint64(0x5E0C1A1)


def shingle_hashes(tokens: TokenizedTexts) -> tuple[np.ndarray, np.ndarray]:
    """32-bit hashes of every document's word 3-shingles (whole word sequence for shorter texts).

    The hashes depend only on the words (:meth:`TokenizedTexts.ngram_hashes`), so signatures of
    separately tokenised texts can be compared.

    Args:
        tokens: The tokenised texts.

    Returns:
        ``(hashes, documents)``: ``(m,)`` uint32 shingle hashes and ``(m,)`` int64 document
        index of each, sorted by document; every document has at least one shingle.
    """
    positions = tokens.ngram_positions(SHINGLE_WORDS)
    hashes = tokens.ngram_hashes(SHINGLE_WORDS, positions)
    documents = tokens.doc_of_token[positions]
    lengths = tokens.lengths
    short = np.flatnonzero(lengths < SHINGLE_WORDS)
    if len(short):
        # The whole word sequence: its length, then each of its (at most 2) words, mixed in.
        word_hashes = tokens.word_hashes()
        whole = mix64(lengths[short].astype(np.uint64) ^ _SHORT_TEXT_TAG)
        for k in range(SHINGLE_WORDS - 1):
            has = lengths[short] > k
            if len(tokens.ids):
                word = word_hashes[tokens.ids[np.where(has, tokens.offsets[short] + k, 0)]]
                whole = np.where(has, mix64(whole ^ mix64(word + np.uint64(k + 1))), whole)
        hashes = np.concatenate([hashes, whole])
        documents = np.concatenate([documents, short])
        order = np.argsort(documents, kind="stable")
        hashes, documents = hashes[order], documents[order]
    return (hashes >> np.uint64(32)).astype(np.uint32), documents.astype(np.int64)


@dataclass(frozen=True)
class Signatures:
    """MinHash signatures of many texts.

    Attributes:
        values: ``(documents, NUM_PERM)`` uint32 MinHash values (datasketch ``affine32`` scheme).
        minhashes: One ``datasketch.MinHash`` per document (for ``MinHashLSH``).
    """

    values: np.ndarray
    minhashes: list[Any]

    def similarity(self, document: int, others: np.ndarray, other: Signatures | None = None) -> np.ndarray:
        """Estimated Jaccard similarities of ``document`` with ``others`` (of ``other``, default self)."""
        reference = self if other is None else other
        return (reference.values[others] == self.values[document]).mean(axis=1)


def signatures(tokens: TokenizedTexts) -> Signatures:
    """MinHash signatures of each document's 3-shingle set (datasketch ``MinHash.generator``).

    Args:
        tokens: The tokenised texts (``d`` documents).

    Returns:
        ``d`` signatures. Cost: about 40 µs per 100-word text.
    """
    from datasketch import MinHash

    hashes, documents = shingle_hashes(tokens)
    bounds = np.searchsorted(documents, np.arange(tokens.documents + 1))
    groups = (hashes[bounds[d]:bounds[d + 1]].tolist() for d in range(tokens.documents))
    minhashes = list(MinHash.generator(groups, num_perm=NUM_PERM, seed=MINHASH_SEED, hashfunc=int, scheme=_SCHEME))
    values = (np.vstack([m.hashvalues for m in minhashes]) if minhashes
              else np.zeros((0, NUM_PERM), dtype=np.uint32))
    return Signatures(values, minhashes)


def _distinct_signatures(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First document of each distinct signature, and each document's group (index into the first)."""
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    rows = np.ascontiguousarray(values).view(np.dtype((np.void, values.dtype.itemsize * values.shape[1]))).ravel()
    _, first, group = np.unique(rows, return_index=True, return_inverse=True)
    return first.astype(np.int64), group.astype(np.int64).ravel()


def _lsh(threshold: float) -> Any:
    from datasketch import MinHashLSH

    return MinHashLSH(threshold=min(max(threshold, 0.01), 0.99), num_perm=NUM_PERM)


def near_duplicate_clusters(sigs: Signatures, threshold: float) -> np.ndarray:
    """Cluster texts into near-duplicate groups (greedy leader clustering over MinHash LSH).

    Texts with equal signatures (exact duplicates, among others) form one group first. The
    distinct signatures are then visited in order; each joins the group of the most similar
    earlier leader whose estimated Jaccard similarity is at least ``threshold``, or becomes a
    leader. A text near-duplicating only a non-leader member of a group (a chain) may be
    missed; the rule is the same for every set measured, so comparisons stay fair. Cost is
    about linear in the texts (each is compared with leaders only), also when most are copies.

    Args:
        sigs: Signatures of ``d`` texts.
        threshold: Jaccard similarity in (0, 1].

    Returns:
        ``(d,)`` int64 group label per text; a text is a near-duplicate when its group has 2+ texts.
    """
    first, group = _distinct_signatures(sigs.values)
    leader_of = np.arange(len(first), dtype=np.int64)
    if len(first) > 1:
        lsh = _lsh(threshold)
        leaders: list[int] = []
        for rank, document in enumerate(first.tolist()):
            candidates = lsh.query(sigs.minhashes[document])
            if candidates:
                keys = np.asarray(candidates, dtype=np.int64)
                similar = sigs.similarity(document, first[keys])
                best = int(np.argmax(similar))
                if similar[best] >= threshold:
                    leader_of[rank] = keys[best]
                    continue
            lsh.insert(rank, sigs.minhashes[document])
            leaders.append(rank)
    return leader_of[group]


def near_copies(queries: Signatures, reference: Signatures, threshold: float) -> np.ndarray:
    """For each query text, a reference text it near-copies (most similar; first on ties), or -1.

    Args:
        queries: Signatures of ``q`` texts.
        reference: Signatures of ``r`` texts.
        threshold: Jaccard similarity in (0, 1].

    Returns:
        ``(q,)`` int64 reference index or -1.
    """
    found = np.full(len(queries.values), -1, dtype=np.int64)
    if len(reference.values) == 0 or len(queries.values) == 0:
        return found
    first, _ = _distinct_signatures(reference.values)
    lsh = _lsh(threshold)
    with lsh.insertion_session() as session:
        for rank, document in enumerate(first.tolist()):
            session.insert(rank, reference.minhashes[document])
    query_first, query_group = _distinct_signatures(queries.values)
    answers = np.full(len(query_first), -1, dtype=np.int64)
    for rank, document in enumerate(query_first.tolist()):
        candidates = lsh.query(queries.minhashes[document])
        if candidates:
            keys = np.sort(np.asarray(candidates, dtype=np.int64))
            similar = queries.similarity(document, first[keys], reference)
            best = int(np.argmax(similar))
            if similar[best] >= threshold:
                answers[rank] = first[keys[best]]
    return answers[query_group]

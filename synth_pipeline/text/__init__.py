"""Measurements of free-text columns (issue 17): collapse monitors, privacy copies and fidelity.

A pure measurement library, with no Dagster, spec or policy in it; the checks wire it in.
Its modules, one concern each (nothing is imported here, so importing the package loads
neither scikit-learn nor datasketch):

- :mod:`synth_pipeline.text.tokens`: word tokens and a vectorised token-id representation
  of many texts (:class:`~synth_pipeline.text.tokens.TokenizedTexts`) with n-gram ids.
- :mod:`synth_pipeline.text.shingles`: MinHash signatures of word 3-shingles (Broder 1997)
  and near-duplicate search with datasketch's MinHash LSH.
- :mod:`synth_pipeline.text.monitors`: collapse monitors of one generated text column
  against real texts (distinct-n, vocabulary and tail coverage, lengths, near-duplicates),
  each compared with a size-matched real control.
- :mod:`synth_pipeline.text.copies`: exact and near copies of training texts in generated
  texts, judged against the sealed holdout as the chance control; near-copies of holdout
  texts in any training input.
- :mod:`synth_pipeline.text.fidelity`: adversarial AUC of a real-vs-generated classifier on
  hashed word 1-2-gram features.

Missing values (None, NaN) are empty texts everywhere. Figures that cannot be computed are
NaN and come with a reason string; nothing raises on empty or degenerate data.
"""

"""Upper bounds shared by the policy, the spec and the run-time stage config.

Every numeric setting has a documented upper bound, so a typo (``max_depth: 1.0e+32``) or
a hostile value is refused when the file or run config is read, instead of silently
switching a guard rail off or letting one run work for days. The bounds are far above any
sensible setting (README, "Input validation", lists them per field).
"""

from typing import Final

MAX_ROWS: Final = 1_000_000_000
"""Largest row count a setting may name (row minimums, rows to sample): a billion rows."""

MAX_GENERATION_DEPTH: Final = 1_000
"""Largest generator depth limit: a thousand generations of synthetic data fitted on synthetic data."""

MAX_GENERATIONS: Final = 1_000_000
"""Largest number of generations or arrival batches a setting may name."""

MAX_RATIO: Final = 1_000.0
"""Largest imbalance ratio or rows-per-real-row setting."""

MAX_SCORE_RATIO: Final = 10.0
"""Largest train-on-synthetic / train-on-real score ratio a policy may demand."""

MAX_SPREAD_RATIO: Final = 100.0
"""Largest variance or tail-coverage ratio (generated over real) a policy may allow."""

MAX_NEIGHBORS: Final = 1_000
"""Largest number of neighbours SMOTE may consider."""

MAX_EPOCHS: Final = 100_000
"""Largest number of training epochs a run may ask a CTGAN or TVAE synthesizer for."""

MAX_PRIVACY_EPSILON: Final = 1_000.0
"""Largest differential-privacy epsilon a policy may allow in total (far past any meaningful guarantee)."""

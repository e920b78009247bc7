"""Stand-in for a team's data warehouse: customer tables made by code (no download).

Each call returns the same rows for the same period, like a query against a table that
does not change. Period 0 is the history the team starts from; periods 1, 2, ... are
the customers who signed up since (the real rows arriving in each generation).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CONTRACTS = ("month_to_month", "one_year", "two_year")


def customers(period: int, rows: int) -> pd.DataFrame:
    """``rows`` customers of signup ``period``: four features and whether they churned (0/1)."""
    rng = np.random.default_rng(1_000 + period)
    contract = rng.choice(CONTRACTS, size=rows, p=(0.5, 0.3, 0.2))
    tenure = rng.gamma(shape=2.0, scale=12.0, size=rows).round(1)
    charges = rng.normal(70.0, 20.0, size=rows).clip(18.0, 130.0).round(2)
    calls = rng.poisson(1.5, size=rows).astype(float)
    score = -1.0 + 1.2 * (contract == "month_to_month") - 0.04 * tenure + 0.015 * (charges - 70) + 0.4 * calls
    churned = (rng.random(rows) < 1 / (1 + np.exp(-score))).astype(int)
    return pd.DataFrame({
        "customer_id": [f"C{period:02d}-{i:05d}" for i in range(rows)],
        "contract": contract, "tenure_months": tenure, "monthly_charges": charges,
        "support_calls": calls, "churned": churned,
    })

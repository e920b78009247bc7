"""Questions users ask of the lineage store, as functions returning DataFrames.

Every value a user supplies is bound as a query parameter, never pasted into SQL. The
SQL constants here are the plain SQL behind each function; the README shows how to run
them in the ``duckdb`` shell. Ancestry and descendants use
:class:`~synth_pipeline.lineage.graph.LineageGraph` (same answer as
:data:`ANCESTORS_SQL` / :data:`DESCENDANTS_SQL`, but linear in the edges reached at any
depth).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from synth_pipeline.errors import SynthPipelineError
from synth_pipeline.lineage.graph import LineageGraph


class LineageQueryError(SynthPipelineError):
    """A lineage query names something the store does not hold."""


_WALK_SQL = """
WITH RECURSIVE walk(node_id, hops) USING KEY (node_id) AS (
    SELECT node_id, 0 FROM dataset_versions WHERE name = $name AND version = $version
    UNION
    SELECT e.{to}, any_value(w.hops) + 1
    FROM walk AS w JOIN edges AS e ON e.{frm} = w.node_id
    WHERE e.{to} NOT IN (SELECT node_id FROM recurring.walk)
    GROUP BY e.{to}
)
SELECT w.hops, d.name, d.version, d.generation, d.stage, d.kind, d."rows", d.synthetic_fraction, d.max_depth,
       d.pipeline, d.produced_at, d.content_digest
FROM walk AS w JOIN dataset_versions AS d USING (node_id)
ORDER BY w.hops, d.name, d.generation, d.version
"""

ANCESTORS_SQL = _WALK_SQL.format(to="parent_id", frm="child_id")
"""Every ancestor of one dataset version, with the fewest hops to it (0 = the version itself)."""

DESCENDANTS_SQL = _WALK_SQL.format(to="child_id", frm="parent_id")
"""Every descendant of one dataset version, with the fewest hops to it (0 = the version itself)."""

COMPOSITION_SQL = """
SELECT pipeline, generation, dataset, "rows", rows_real, rows_synthetic, rows_augmented, rows_unknown,
       synthetic_fraction, non_real_fraction, max_depth, version, produced_at
FROM generations
WHERE $pipeline IS NULL OR pipeline = $pipeline
QUALIFY row_number() OVER (PARTITION BY pipeline, generation ORDER BY produced_at DESC) = 1
ORDER BY pipeline, generation
"""
"""The training mix of each generation (its latest version): rows per kind, fractions, depth."""

CHECKS_SQL = """
SELECT pipeline, generation, dataset, check_name, state, passed, rule, observed, threshold,
       coalesce(description, error_message) AS detail, evaluated_at, dagster_run_id
FROM check_results
WHERE ($pipeline IS NULL OR pipeline = $pipeline)
  AND ($generation IS NULL OR generation = $generation)
  AND ($check IS NULL OR check_name = $check)
  AND (NOT $failed_only OR passed IS DISTINCT FROM true)
ORDER BY pipeline, generation, evaluated_at, check_name
"""
"""Every check evaluation, oldest first within each generation."""

HOLDOUT_AUDIT_SQL = """
WITH holdout AS (
    SELECT DISTINCT d.pipeline, h.row_hash
    FROM dataset_versions AS d JOIN row_hashes AS h ON h.content_digest = d.content_digest
    WHERE d.sealed
), fit AS (
    SELECT g.pipeline, g.generation, g.generator, out.name AS output, f.name AS fitted_on,
           f.generation AS fitted_on_generation, f.content_digest AS fit_digest, g.fitted_on_id
    FROM generators AS g
    JOIN dataset_versions AS out ON out.node_id = g.node_id
    LEFT JOIN dataset_versions AS f ON f.node_id = g.fitted_on_id
)
SELECT fit.pipeline, fit.generation, fit.generator, fit.output, fit.fitted_on, fit.fitted_on_generation,
       (SELECT count(*) FROM row_hashes AS r WHERE r.content_digest = fit.fit_digest) AS fit_rows_hashed,
       (SELECT count(DISTINCT r.row_hash) FROM row_hashes AS r
        JOIN holdout AS h ON h.row_hash = r.row_hash AND h.pipeline = fit.pipeline
        WHERE r.content_digest = fit.fit_digest) AS holdout_rows_in_fit,
       fit.fitted_on_id
FROM fit
WHERE $pipeline IS NULL OR fit.pipeline = $pipeline
ORDER BY fit.pipeline, fit.generation, fit.output
"""
"""Per generator: how many rows of its training data are rows of a sealed holdout (by content hash)."""


def resolve(graph: LineageGraph, name: str, *, version: str | None = None, generation: int | None = None) -> list[int]:
    """Node ids of a dataset's version: the given version, the latest of a generation, or the latest.

    Raises:
        LineageQueryError: No such dataset or version in the store.
    """
    node = graph.find(name, version=version, generation=generation)
    if node is None:
        where = ((f" version {version}" if version is not None else "")
                 + (f" generation {generation}" if generation is not None else ""))
        raise LineageQueryError(
            f"no dataset {name!r}{where} in the lineage store; datasets it holds: {graph.names()[:30]} "
            "(run `synth-pipeline lineage sync` if the runs are recent)"
        )
    return [node]


def generator_outputs(
    connection: duckdb.DuckDBPyConnection, generator: str, *, pipeline: str | None = None,
    generation: int | None = None,
) -> list[int]:
    """Node ids of the datasets made by a generator (e.g. ``sdv.gaussian_copula`` or ``smote``).

    Raises:
        LineageQueryError: No generator of that name made anything recorded.
    """
    rows = connection.execute(
        """
        SELECT node_id FROM generators
        WHERE generator = $generator AND ($pipeline IS NULL OR pipeline = $pipeline)
          AND ($generation IS NULL OR generation = $generation)
        """,
        {"generator": generator, "pipeline": pipeline, "generation": generation},
    ).fetchall()
    if not rows:
        known = [row[0] for row in connection.execute("SELECT DISTINCT generator FROM generators").fetchall()]
        raise LineageQueryError(f"no dataset made by generator {generator!r} in the lineage store; generators: {known}")
    return [int(row[0]) for row in rows]


def reachable(graph: LineageGraph, starts: list[int], *, upstream: bool, max_hops: int | None = None) -> pd.DataFrame:
    """Every dataset version reachable from ``starts`` with its fewest hops (starts at 0).

    Same rows, in the same order, as :data:`ANCESTORS_SQL` / :data:`DESCENDANTS_SQL`.
    """
    nodes, hops = graph.reach(np.asarray(starts), upstream=upstream)
    if max_hops is not None:
        within = hops <= max_hops
        nodes, hops = nodes[within], hops[within]
    return graph.frame(nodes, hops)


def composition(connection: duckdb.DuckDBPyConnection, pipeline: str | None = None) -> pd.DataFrame:
    """Per generation, what its training mix was made of."""
    return connection.execute(COMPOSITION_SQL, {"pipeline": pipeline}).df()


def checks(
    connection: duckdb.DuckDBPyConnection, *, pipeline: str | None = None, generation: int | None = None,
    check: str | None = None, failed_only: bool = False,
) -> pd.DataFrame:
    """Check history, per generation."""
    return connection.execute(
        CHECKS_SQL, {"pipeline": pipeline, "generation": generation, "check": check, "failed_only": failed_only}
    ).df()


def holdout_audit(
    connection: duckdb.DuckDBPyConnection, graph: LineageGraph, *, pipeline: str | None = None
) -> pd.DataFrame:
    """Whether any sealed-holdout row ever reached a generator, by row hash and by lineage path.

    One row per generator run: the rows of its training data that are holdout rows
    (``holdout_rows_in_fit``, by content hash), and whether a sealed holdout is among the
    ancestors of that training data (``holdout_upstream``).
    """
    audit = connection.execute(HOLDOUT_AUDIT_SQL, {"pipeline": pipeline}).df()
    holdouts = [row[0] for row in connection.execute("SELECT node_id FROM dataset_versions WHERE sealed").fetchall()]
    downstream, _ = graph.reach(np.asarray(holdouts, dtype=np.int32), upstream=False)
    audit["holdout_upstream"] = audit["fitted_on_id"].isin(downstream)
    audit["leak"] = (audit["holdout_rows_in_fit"] > 0) | audit["holdout_upstream"]
    return audit.drop(columns=["fitted_on_id"])

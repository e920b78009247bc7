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

from synth_pipeline.errors import UnknownNameError
from synth_pipeline.lineage.graph import LineageGraph
from synth_pipeline.user_input import quoted, unknown_name

STORE = "in the lineage store"
"""Where names are looked up, in messages (the store's path is added where known)."""


class LineageQueryError(UnknownNameError):
    """A lineage query names something the store does not hold; the message lists what it does hold."""


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
SELECT pipeline, generation, dataset, check_name, verdict, state, passed, rule, observed, threshold,
       coalesce(description, error_message) AS detail, evaluated_at, dagster_run_id
FROM check_results
WHERE ($pipeline IS NULL OR pipeline = $pipeline)
  AND ($generation IS NULL OR generation = $generation)
  AND ($check IS NULL OR check_name = $check)
  AND (NOT $failed_only OR passed IS DISTINCT FROM true)
ORDER BY pipeline, generation, evaluated_at, check_name
"""
"""Every check evaluation, oldest first within each generation. ``verdict`` is what was concluded (``passed``,
``failed``, ``warning``, ``skipped``: nothing to judge, e.g. no rows); ``state`` is the OpenLineage run's
end state (COMPLETE for anything that did not block, skipped checks included)."""

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


def resolve(
    graph: LineageGraph, name: str, *, version: str | None = None, generation: int | None = None, where: str = STORE
) -> list[int]:
    """Node ids of a dataset's version: the given version, the latest of a generation, or the latest.

    Args:
        graph: The lineage graph.
        name: The dataset name (asset key), e.g. ``breast_cancer/model``.
        version: An exact version.
        generation: The generation whose latest version is meant.
        where: Where the store is, for messages.

    Raises:
        LineageQueryError: No such dataset, version or generation in the store; the message
            lists those it holds, with the closest match.
    """
    node = graph.find(name, version=version, generation=generation)
    if node is not None:
        return [node]
    versions = graph.versions_of(name)
    if not versions:
        raise LineageQueryError(unknown_name("dataset", name, graph.names(), where=where))
    of = f"of dataset {quoted(name)} {where}"
    if version is not None and version not in versions:
        raise LineageQueryError(unknown_name("version", version, versions, where=of))
    if version is not None:
        of = f"of version {quoted(version)} of dataset {quoted(name)} {where}"
    raise LineageQueryError(unknown_name("generation", generation, graph.generations_of(name, version=version),
                                         where=of))


def generator_outputs(
    connection: duckdb.DuckDBPyConnection, generator: str, *, pipeline: str | None = None,
    generation: int | None = None, where: str = STORE,
) -> list[int]:
    """Node ids of the datasets made by a generator (e.g. ``sdv.gaussian_copula`` or ``smote``).

    Raises:
        LineageQueryError: No such pipeline, no generator of that name in it, or none in
            that generation; the message lists those the store holds.
    """
    require_recorded(connection, "pipeline", pipeline, where=where)
    rows = connection.execute(
        """
        SELECT node_id FROM generators
        WHERE generator = $generator AND ($pipeline IS NULL OR pipeline = $pipeline)
          AND ($generation IS NULL OR generation = $generation)
        """,
        {"generator": generator, "pipeline": pipeline, "generation": generation},
    ).fetchall()
    if not rows:
        scope = f"of pipeline {quoted(pipeline)} {where}" if pipeline is not None else where
        require_recorded(connection, "generator", generator, pipeline=pipeline, where=scope)
        require_recorded(connection, "generation", generation, pipeline=pipeline, generator=generator,
                         where=f"of generator {quoted(generator)} {scope}")
    return [int(row[0]) for row in rows]


# What the store holds, for messages about a name it does not hold. Table and column
# names here are fixed; user input is only ever a bound parameter.
_RECORDED_SQL = {
    "pipeline": """
        SELECT DISTINCT pipeline FROM (
            SELECT pipeline FROM dataset_versions UNION ALL SELECT pipeline FROM check_results
            UNION ALL SELECT pipeline FROM generators)
        WHERE pipeline IS NOT NULL ORDER BY pipeline
    """,
    "generator": """
        SELECT DISTINCT generator FROM generators
        WHERE ($pipeline IS NULL OR pipeline = $pipeline) ORDER BY generator
    """,
    "generation": """
        SELECT DISTINCT generation FROM generators
        WHERE ($pipeline IS NULL OR pipeline = $pipeline) AND generator = $generator AND generation IS NOT NULL
        ORDER BY generation
    """,
    "check": """
        SELECT DISTINCT check_name FROM check_results
        WHERE ($pipeline IS NULL OR pipeline = $pipeline) AND check_name IS NOT NULL ORDER BY check_name
    """,
    "check generation": """
        SELECT DISTINCT generation FROM check_results
        WHERE ($pipeline IS NULL OR pipeline = $pipeline) AND generation IS NOT NULL ORDER BY generation
    """,
}


def recorded(
    connection: duckdb.DuckDBPyConnection, what: str, *, pipeline: str | None = None, generator: str | None = None
) -> list:
    """The names of one kind the store holds, sorted.

    Args:
        connection: A connection to the store.
        what: ``pipeline``, ``generator``, ``generation`` (of ``generator``), ``check`` (check
            names) or ``check generation`` (generations with check results).
        pipeline: Only those of this pipeline (not for ``pipeline``).
        generator: For ``generation``: the generator.
    """
    parameters: dict[str, object] = {} if what == "pipeline" else {"pipeline": pipeline}
    if what == "generation":
        parameters["generator"] = generator
    return [row[0] for row in connection.execute(_RECORDED_SQL[what], parameters).fetchall()]


def require_recorded(
    connection: duckdb.DuckDBPyConnection, what: str, value: object, *, pipeline: str | None = None,
    generator: str | None = None, where: str = STORE,
) -> None:
    """Nothing if ``value`` is None or a name of kind ``what`` the store holds (see :func:`recorded`).

    Raises:
        LineageQueryError: The store does not hold it; the message lists what it holds.
    """
    if value is None:
        return
    known = recorded(connection, what, pipeline=pipeline, generator=generator)
    if value not in known:
        noun = "generation" if what == "check generation" else what
        raise LineageQueryError(unknown_name(noun, value, known, where=where))


def has_events(connection: duckdb.DuckDBPyConnection) -> bool:
    """Whether the store holds any event (False: nothing recorded yet)."""
    return connection.execute("SELECT EXISTS (SELECT 1 FROM events)").fetchall()[0][0]


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

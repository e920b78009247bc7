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
SELECT g.pipeline, g.generation, g.dataset, g."rows", g.rows_real, g.rows_synthetic, g.rows_augmented,
       g.rows_unknown, g.synthetic_fraction, g.non_real_fraction, g.max_depth, g.version, g.produced_at,
       (SELECT any_value(e.dagster_run_id) FROM events AS e WHERE e.run_id = g.produced_by_run) AS dagster_run_id,
       row_number() OVER (PARTITION BY g.pipeline, g.generation ORDER BY g.produced_at DESC) = 1 AS latest
FROM generations AS g
WHERE $pipeline IS NULL OR g.pipeline = $pipeline
QUALIFY $all_runs OR latest
ORDER BY g.pipeline, g.generation, g.produced_at
"""
"""The training mix of each generation: rows per kind, fractions, depth, and the Dagster run that made it.
Only its latest version (the last run of that generation) unless ``$all_runs``; ``latest`` marks it."""

CHECKS_SQL = """
SELECT pipeline, generation, dataset, check_name, verdict, state, passed, rule, observed, threshold,
       coalesce(description, error_message) AS detail, evaluated_at, dagster_run_id, latest, evaluations
FROM (
    SELECT *, count(*) OVER per_check AS evaluations,
           row_number() OVER (per_check ORDER BY evaluated_at DESC, run_id DESC) = 1 AS latest
    FROM check_results
    WHERE ($pipeline IS NULL OR pipeline = $pipeline)
      AND ($generation IS NULL OR generation = $generation)
      AND ($check IS NULL OR check_name = $check)
    WINDOW per_check AS (PARTITION BY pipeline, dataset, check_name, generation)
)
WHERE ($all_runs OR latest) AND (NOT $failed_only OR passed IS DISTINCT FROM true)
ORDER BY pipeline, generation, evaluated_at, check_name
"""
"""Check evaluations per generation, oldest first within each generation: by default only the latest
evaluation of each check of each asset in each generation (by the time of its event: a rerun of a
generation supersedes the runs before it), every evaluation with ``$all_runs``. ``latest`` marks the
latest, ``evaluations`` counts those of that check, asset and generation, ``dagster_run_id`` names the
run. ``verdict`` is what was concluded (``passed``, ``failed``, ``warning``, ``skipped``: nothing to
judge, e.g. no rows); ``state`` is the OpenLineage run's end state (COMPLETE for anything that did not
block, skipped checks included). ``$failed_only`` keeps those not passed, after picking the latest."""

_HOLDOUT_COPIES = """holdout AS (
    SELECT d.pipeline, h.row_hash, max(h.copies) AS copies
    FROM dataset_versions AS d JOIN row_hashes AS h ON h.content_digest = d.content_digest
    WHERE d.sealed
    GROUP BY ALL
)"""
"""Each pipeline's sealed holdout contents (row hashes) with their copies (the most any sealed version holds)."""

_TRAIN_SPLIT = """train_split AS (
    SELECT pipeline, content_digest
    FROM dataset_versions
    WHERE stage = 'real_train' AND content_digest IN (SELECT content_digest FROM row_hashes WHERE copies IS NOT NULL)
    QUALIFY row_number() OVER (PARTITION BY pipeline ORDER BY produced_at DESC) = 1
)"""
"""Each pipeline's latest recorded train split that has copies recorded (its content digest)."""

HOLDOUT_AUDIT_SQL = """
WITH """ + _HOLDOUT_COPIES + """, holdout_counted AS (
    SELECT d.pipeline, bool_and(h.copies IS NOT NULL) AS counted
    FROM dataset_versions AS d JOIN row_hashes AS h ON h.content_digest = d.content_digest
    WHERE d.sealed
    GROUP BY ALL
), """ + _TRAIN_SPLIT + """, train AS (
    SELECT t.pipeline, h.row_hash, h.real_copies AS copies
    FROM train_split AS t JOIN row_hashes AS h USING (content_digest)
), fit AS (
    SELECT g.pipeline, g.generation, g.generator, out.name AS output, f.name AS fitted_on,
           f.generation AS fitted_on_generation, f.content_digest AS fit_digest, g.fitted_on_id, g.run_id,
           out.produced_at
    FROM generators AS g
    JOIN dataset_versions AS out ON out.node_id = g.node_id
    LEFT JOIN dataset_versions AS f ON f.node_id = g.fitted_on_id
), per_content AS (
    -- Each holdout content in a fit input: its real and unknown-provenance copies there, the
    -- train split's copies, and the holdout's (NULL where a manifest predates kept copies).
    SELECT fit.pipeline, fit.fit_digest, r.row_hash, r.real_copies + r.unknown_copies AS outside_copies,
           coalesce(t.copies, 0) AS train_copies, h.copies AS holdout_copies, t.copies IS NOT NULL AS in_train
    FROM (SELECT DISTINCT pipeline, fit_digest FROM fit) AS fit
    JOIN row_hashes AS r ON r.content_digest = fit.fit_digest
    JOIN holdout AS h ON h.row_hash = r.row_hash AND h.pipeline = fit.pipeline
    LEFT JOIN train AS t ON t.row_hash = r.row_hash AND t.pipeline = fit.pipeline
), per_fit AS (
    SELECT pipeline, fit_digest, count(*) AS holdout_contents_in_fit,
           sum(least(greatest(outside_copies - train_copies, 0), holdout_copies)) AS holdout_records_in_fit,
           count(*) FILTER (WHERE in_train AND outside_copies <= train_copies) AS shared_with_train_split
    FROM per_content
    GROUP BY ALL
)
SELECT fit.pipeline, fit.generation, fit.generator, fit.output, fit.fitted_on, fit.fitted_on_generation,
       (SELECT count(*) FROM row_hashes AS r WHERE r.content_digest = fit.fit_digest) AS fit_rows_hashed,
       coalesce(p.holdout_contents_in_fit, 0) AS holdout_rows_in_fit,
       CASE WHEN counted.rule_applied THEN coalesce(p.holdout_records_in_fit, 0) END AS holdout_records_in_fit,
       CASE WHEN counted.rule_applied THEN coalesce(p.shared_with_train_split, 0) END AS shared_with_train_split,
       counted.rule_applied,
       (SELECT any_value(e.dagster_run_id) FROM events AS e WHERE e.run_id = fit.run_id) AS dagster_run_id,
       fit.fitted_on_id
FROM fit
LEFT JOIN per_fit AS p ON p.pipeline = fit.pipeline AND p.fit_digest = fit.fit_digest
CROSS JOIN LATERAL (
    SELECT coalesce((SELECT bool_and(r.copies IS NOT NULL) FROM row_hashes AS r
                     WHERE r.content_digest = fit.fit_digest), false)
           AND coalesce((SELECT c.counted FROM holdout_counted AS c WHERE c.pipeline = fit.pipeline), false)
           AND EXISTS (SELECT 1 FROM train_split AS t WHERE t.pipeline = fit.pipeline) AS rule_applied
) AS counted
WHERE $pipeline IS NULL OR fit.pipeline = $pipeline
ORDER BY fit.pipeline, fit.generation, fit.output, fit.produced_at, fit.run_id
"""
"""Per generator run (every run, superseded ones included: the audit asks whether a holdout record
*ever* reached a generator; ``dagster_run_id`` names the run): the sealed holdout's contents in its
training data, and its holdout records there.

A content hash names a row's values, not a record, and the holdout split places each copy of a
duplicated row on its own, so a content can be in the sealed holdout and in the train split at
once. As in the ``holdout_isolation`` check (:func:`synth_pipeline.isolation.leaked_records`),
a fit input's rows from outside any generator (real and unknown-provenance) are holdout records
only beyond the train split's copies of their content, at most as many as the holdout holds
(``holdout_records_in_fit``); holdout contents whose copies there do not exceed the train
split's are ``shared_with_train_split``, never a leak. ``holdout_rows_in_fit`` counts every
holdout content in the fit input (generated rows included, which a generator may make without
having seen the row). ``rule_applied`` is false where the copies were not recorded (manifests
written before they were, or no train split recorded): the holdout records are then unknown
(NULL) and every holdout content in the fit input counts as a leak."""


HOLDOUT_OVERLAP_SQL = """
WITH """ + _HOLDOUT_COPIES + ", " + _TRAIN_SPLIT + """
SELECT h.pipeline, count(*) AS holdout_contents, count(t.row_hash) AS shared_contents,
       sum(h.copies) FILTER (WHERE t.row_hash IS NOT NULL) AS shared_holdout_copies,
       sum(t.real_copies) AS shared_train_copies
FROM holdout AS h
LEFT JOIN (SELECT s.pipeline, r.row_hash, r.real_copies FROM train_split AS s
           JOIN row_hashes AS r USING (content_digest)) AS t USING (pipeline, row_hash)
WHERE $pipeline IS NULL OR h.pipeline = $pipeline
GROUP BY h.pipeline
ORDER BY h.pipeline
"""
"""Per pipeline: the sealed holdout's contents, and those the latest recorded train split also holds
(duplicate rows, whose copies the split places one by one), with their copies on each side."""


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


def composition(
    connection: duckdb.DuckDBPyConnection, pipeline: str | None = None, *, all_runs: bool = False
) -> pd.DataFrame:
    """Per generation, what its training mix was made of (its latest version; every version with ``all_runs``)."""
    return connection.execute(COMPOSITION_SQL, {"pipeline": pipeline, "all_runs": all_runs}).df()


def checks(
    connection: duckdb.DuckDBPyConnection, *, pipeline: str | None = None, generation: int | None = None,
    check: str | None = None, failed_only: bool = False, all_runs: bool = False,
) -> pd.DataFrame:
    """Check results per generation: the latest evaluation of each check (every one with ``all_runs``)."""
    return connection.execute(
        CHECKS_SQL, {"pipeline": pipeline, "generation": generation, "check": check, "failed_only": failed_only,
                     "all_runs": all_runs},
    ).df()


def holdout_overlap(connection: duckdb.DuckDBPyConnection, pipeline: str | None = None) -> pd.DataFrame:
    """Per pipeline, the holdout contents the train split also holds (:data:`HOLDOUT_OVERLAP_SQL`)."""
    return connection.execute(HOLDOUT_OVERLAP_SQL, {"pipeline": pipeline}).df()


def holdout_audit(
    connection: duckdb.DuckDBPyConnection, graph: LineageGraph, *, pipeline: str | None = None
) -> pd.DataFrame:
    """Whether any sealed-holdout record ever reached a generator, by row-hash copies and by lineage path.

    One row per generator run (columns of :data:`HOLDOUT_AUDIT_SQL`), and whether a sealed
    holdout is among the ancestors of its training data (``holdout_upstream``). ``leak``: a
    holdout record in the training data (with ``rule_applied`` false, any holdout content),
    or a holdout upstream of it.
    """
    audit = connection.execute(HOLDOUT_AUDIT_SQL, {"pipeline": pipeline}).df()
    holdouts = [row[0] for row in connection.execute("SELECT node_id FROM dataset_versions WHERE sealed").fetchall()]
    downstream, _ = graph.reach(np.asarray(holdouts, dtype=np.int32), upstream=False)
    audit["holdout_upstream"] = audit["fitted_on_id"].isin(downstream)
    for column in ("holdout_rows_in_fit", "holdout_records_in_fit", "shared_with_train_split"):
        audit[column] = audit[column].astype("Int64")  # NULL where the copies were not recorded
    audit["rule_applied"] = audit["rule_applied"].astype(bool)
    records = audit["holdout_records_in_fit"].where(audit["rule_applied"], audit["holdout_rows_in_fit"])
    audit["leak"] = (records.fillna(0) > 0) | audit["holdout_upstream"]
    return audit.drop(columns=["fitted_on_id"])

"""The DuckDB lineage store's tables, and how journal events are read into them.

Tables (documented in the README, "Lineage store"):

- ``events``: one row per OpenLineage event ingested;
- ``runs`` (view): one row per OpenLineage run, with its final state;
- ``dataset_versions``: one row per dataset version, i.e. per materialization (``node_id`` is
  the graph node; ``content_digest`` identifies its content, shared by identical writes);
- ``edges``: parent version -> child version, with the relation and the parent's role;
- ``generators``: the generator behind each synthetic or augmented version;
- ``generations`` (view): composition of each generation's training mix;
- ``check_results`` and ``check_assertions``: every asset check outcome and its rules;
- ``row_hashes``: row hashes of sealed holdouts, train splits and generator training data, per content
  digest, with their copies (NULL in manifests written before copies were kept);
- ``ingested_files``: each journal file and the byte offset it has been read up to;
- ``journal_dirs``: each journal run directory and its change stamp when last read.
"""

SCHEMA_VERSION = 5

# Inputs and outputs are read with types of their own: an input never carries the
# provenance facet, an output never the input facets, and every field the reader need not
# look for in every dataset of every event is parsing time saved.
_SYMLINKS = "symlinks STRUCT(identifiers STRUCT(namespace VARCHAR, name VARCHAR)[])"
_INPUT = (
    f"STRUCT(namespace VARCHAR, name VARCHAR, facets STRUCT(version STRUCT(datasetVersion VARCHAR), {_SYMLINKS}), "
    'inputFacets STRUCT("synthPipeline_input" STRUCT(role VARCHAR, rowHashManifest VARCHAR, contentDigest VARCHAR), '
    "dataQualityAssertions STRUCT(assertions STRUCT(assertion VARCHAR, success BOOLEAN, expected VARCHAR, "
    "actual VARCHAR)[])))"
)
_OUTPUT = (
    f"STRUCT(namespace VARCHAR, name VARCHAR, facets STRUCT(version STRUCT(datasetVersion VARCHAR), {_SYMLINKS}, "
    '"synthPipeline_provenance" STRUCT(pipeline VARCHAR, stage VARCHAR, relation VARCHAR, kind VARCHAR, '
    'generation INTEGER, "rows" BIGINT, rowsByKind MAP(VARCHAR, BIGINT), syntheticFraction DOUBLE, '
    "nonRealFraction DOUBLE, maxDepth INTEGER, sealed BOOLEAN, rowHashManifest VARCHAR, contentDigest VARCHAR, "
    "generator STRUCT(name VARCHAR, params JSON, fittedOn VARCHAR))))"
)

EVENT_COLUMNS = {
    "eventType": "VARCHAR",
    "eventTime": "TIMESTAMPTZ",
    "run": (
        'STRUCT(runId VARCHAR, facets STRUCT("synthPipeline_dagster" STRUCT(dagsterRunId VARCHAR, '
        "dagsterJob VARCHAR, stepKey VARCHAR, assetKey VARCHAR, partitionKey VARCHAR, checkName VARCHAR), "
        '"synthPipeline_check" STRUCT(passed BOOLEAN, severity VARCHAR, generation INTEGER, '
        "rule VARCHAR, observed DOUBLE, threshold DOUBLE, description VARCHAR, pipeline VARCHAR, verdict VARCHAR), "
        "errorMessage STRUCT(message VARCHAR)))"
    ),
    "job": "STRUCT(namespace VARCHAR, name VARCHAR, facets STRUCT(jobType STRUCT(jobType VARCHAR)))",
    "inputs": f"{_INPUT}[]",
    "outputs": f"{_OUTPUT}[]",
}
"""The parts of an OpenLineage RunEvent the store reads (other fields are ignored)."""

DDL = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS ingested_files (path VARCHAR PRIMARY KEY, size BIGINT, ingested_at TIMESTAMPTZ);
CREATE TABLE IF NOT EXISTS journal_dirs (path VARCHAR PRIMARY KEY, stamp BIGINT);
CREATE TABLE IF NOT EXISTS events (
    run_id VARCHAR, event_type VARCHAR, event_time TIMESTAMPTZ, job_namespace VARCHAR, job_name VARCHAR,
    job_type VARCHAR, dagster_run_id VARCHAR, dagster_job VARCHAR, step_key VARCHAR, partition_key VARCHAR,
    error_message VARCHAR
);
CREATE TABLE IF NOT EXISTS dataset_versions (
    node_id INTEGER, namespace VARCHAR, name VARCHAR, version VARCHAR, pipeline VARCHAR, stage VARCHAR,
    kind VARCHAR, generation INTEGER, "rows" BIGINT, rows_real BIGINT, rows_synthetic BIGINT,
    rows_augmented BIGINT, rows_unknown BIGINT, synthetic_fraction DOUBLE, non_real_fraction DOUBLE,
    max_depth INTEGER, sealed BOOLEAN, produced_by_run VARCHAR, produced_at TIMESTAMPTZ, content_digest VARCHAR
);
CREATE TABLE IF NOT EXISTS edges (
    parent_id INTEGER, child_id INTEGER, relation VARCHAR, role VARCHAR, run_id VARCHAR
);
CREATE TABLE IF NOT EXISTS generators (
    node_id INTEGER, generator VARCHAR, params VARCHAR, fitted_on_id INTEGER, pipeline VARCHAR,
    generation INTEGER, run_id VARCHAR
);
CREATE TABLE IF NOT EXISTS check_results (
    run_id VARCHAR, dagster_run_id VARCHAR, pipeline VARCHAR, dataset VARCHAR, node_id INTEGER,
    generation INTEGER, check_name VARCHAR, state VARCHAR, passed BOOLEAN, severity VARCHAR, rule VARCHAR,
    observed DOUBLE, threshold DOUBLE, description VARCHAR, error_message VARCHAR, evaluated_at TIMESTAMPTZ,
    verdict VARCHAR
);
CREATE TABLE IF NOT EXISTS check_assertions (
    run_id VARCHAR, assertion VARCHAR, success BOOLEAN, expected VARCHAR, actual VARCHAR
);
CREATE TABLE IF NOT EXISTS row_hashes (
    content_digest VARCHAR, row_hash UBIGINT, copies BIGINT, real_copies BIGINT, unknown_copies BIGINT
);
CREATE OR REPLACE VIEW runs AS
SELECT run_id, any_value(job_name) AS job_name, any_value(job_type) AS job_type,
       any_value(dagster_run_id) AS dagster_run_id, any_value(step_key) AS step_key,
       any_value(partition_key) AS partition_key, min(event_time) AS started_at,
       max(event_time) FILTER (WHERE event_type <> 'START') AS ended_at,
       arg_max(event_type, event_time) AS state, max(error_message) AS error_message
FROM events GROUP BY run_id;
CREATE OR REPLACE VIEW generations AS
SELECT pipeline, generation, name AS dataset, version, "rows", rows_real, rows_synthetic, rows_augmented,
       rows_unknown, synthetic_fraction, non_real_fraction, max_depth, produced_at, produced_by_run, content_digest
FROM dataset_versions WHERE stage = 'training_mix';
"""

# How a batch of journal lines becomes rows (:meth:`LineageStore._ingest`, one transaction).
# The events are parsed once, into the temporary table ``staged``; every later statement
# reads flat, narrow temporary tables made from it: ``ins`` and ``outs`` (one row per
# input and output dataset of an event, ``ev`` the event's row), ``batch_nodes`` (each
# dataset version the batch mentions, with its node id) and ``produced``. Joins between
# an event's inputs and outputs are on ``ev``; the store's big tables are read only to
# find the versions and events it already holds.

STAGE_EVENTS = """
CREATE OR REPLACE TEMP TABLE staged AS
SELECT r.run.runId AS run_id, r.eventType AS event_type, r.eventTime AS event_time,
       r.job.namespace AS job_namespace, r.job.name AS job_name, r.job.facets.jobType.jobType AS job_type,
       r.run.facets.synthPipeline_dagster AS dagster, r.run.facets.synthPipeline_check AS "check",
       r.run.facets.errorMessage.message AS error_message, r.inputs, r.outputs
FROM read_json($file, format = 'newline_delimited', columns = $columns, compression = 'none',
               ignore_errors = true) AS r
WHERE r.run.runId IS NOT NULL
"""

# Removing duplicates from the staged rows by their key is much cheaper than a DISTINCT
# over the whole (wide, nested) events while they are read.
DROP_DUPLICATE_EVENTS = """
DELETE FROM staged WHERE rowid IN (
    SELECT rowid FROM (
        SELECT rowid, row_number() OVER (PARTITION BY run_id, event_type, event_time ORDER BY rowid) AS copy
        FROM staged
    ) WHERE copy > 1
    UNION ALL
    SELECT s.rowid FROM staged AS s
    SEMI JOIN events AS e ON e.run_id = s.run_id AND e.event_type = s.event_type AND e.event_time = s.event_time
)
"""
"""Drop events repeated in the batch, or already in the store (a journal line read twice)."""

_ROWS_BY_KIND = ", ".join(f"coalesce(p.p.rowsByKind['{kind}'], 0)" for kind in ("real", "synthetic", "augmented",
                                                                                  "unknown"))

# A dataset is stored under its logical name, ``pipeline/stage``: the first identifier of its
# ``symlinks`` facet when it has one (a stage file, named in events by its path as the
# OpenLineage naming spec says), else its own name (external sources; journals written
# before datasets were named by their files).
_LOGICAL = ("coalesce({d}.facets.symlinks.identifiers[1].namespace, {d}.namespace) AS namespace, "
            "coalesce({d}.facets.symlinks.identifiers[1].name, {d}.name) AS name")

# The verdict of a check evaluation as shown everywhere (passed, failed, warning, skipped): its facet's, or,
# for events journaled before the facet had one, read off the result (a skipped check passed, and its
# description says "skipped: <reason>"); "error" for a check that raised (a FAIL event without a result).
_CHECK_VERDICT = """coalesce(s."check".verdict, CASE
               WHEN s."check".passed IS NULL THEN CASE WHEN s.event_type = 'FAIL' THEN 'error' END
               WHEN s."check".description LIKE 'skipped: %' THEN 'skipped'
               WHEN s."check".passed THEN 'passed'
               WHEN s."check".severity = 'ERROR' THEN 'failed'
               ELSE 'warning' END)"""

# Statements run in this order; ``$base`` is the first free node id.
INGEST = [
    """
    INSERT INTO events
    SELECT run_id, event_type, event_time, job_namespace, job_name, job_type, dagster.dagsterRunId,
           dagster.dagsterJob, dagster.stepKey, dagster.partitionKey, error_message
    FROM staged
    """,
    """
    CREATE OR REPLACE TEMP TABLE ins AS
    SELECT s.rowid AS ev, s.event_type, """ + _LOGICAL.format(d="i.d") + """,
           coalesce(i.d.facets.version.datasetVersion, '') AS version,
           i.d.inputFacets.synthPipeline_input.role AS role,
           i.d.inputFacets.synthPipeline_input.rowHashManifest AS manifest,
           coalesce(i.d.inputFacets.synthPipeline_input.contentDigest, i.d.facets.version.datasetVersion) AS digest
    FROM staged AS s, unnest(s.inputs) AS i(d)
    """,
    """
    CREATE OR REPLACE TEMP TABLE outs AS
    SELECT s.rowid AS ev, s.run_id, s.event_type, s.event_time, """ + _LOGICAL.format(d="o.d") + """,
           coalesce(o.d.facets.version.datasetVersion, '') AS version, o.d.facets.synthPipeline_provenance AS p,
           coalesce(o.d.facets.synthPipeline_provenance.contentDigest, o.d.facets.version.datasetVersion) AS digest
    FROM staged AS s, unnest(s.outputs) AS o(d)
    """,
    # What each output a run completed says about the version it wrote; the first event wins.
    """
    CREATE OR REPLACE TEMP TABLE produced AS
    SELECT namespace, name, version, first.p, first.run_id, first.event_time
    FROM (SELECT namespace, name, version, arg_min({'p': p, 'run_id': run_id, 'event_time': event_time}, event_time)
                 AS first
          FROM outs WHERE event_type = 'COMPLETE' AND p IS NOT NULL GROUP BY ALL)
    """,
    # Every version the batch mentions, with the node id the store has for it or, for a
    # new one (any input, or an output with a version), the next free id. Events written
    # before versions were per materialization carry no content digest: their version
    # was the digest.
    """
    CREATE OR REPLACE TEMP TABLE batch_nodes AS
    WITH mentioned AS (
        SELECT namespace, name, version, max(digest) FILTER (WHERE creates) AS digest, bool_or(creates) AS creates
        FROM (SELECT namespace, name, version, digest, true AS creates FROM ins
              UNION ALL
              SELECT namespace, name, version, digest, version <> '' FROM outs)
        GROUP BY ALL
    ), known AS (
        SELECT m.*, d.node_id AS old_id, d.node_id IS NOT NULL AND d.stage IS NULL AS unproduced
        FROM mentioned AS m LEFT JOIN dataset_versions AS d USING (namespace, name, version)
    )
    SELECT namespace, name, version, digest, old_id, unproduced,
           CASE WHEN old_id IS NOT NULL THEN old_id
                WHEN creates THEN $base - 1 + row_number() OVER (
                    PARTITION BY old_id IS NULL AND creates ORDER BY namespace, name, version)
           END AS node_id
    FROM known
    """,
    """
    INSERT INTO dataset_versions
    SELECT b.node_id, b.namespace, b.name, b.version, p.p.pipeline, p.p.stage, p.p.kind, p.p.generation, p.p."rows",
           """ + _ROWS_BY_KIND + """, p.p.syntheticFraction, p.p.nonRealFraction, p.p.maxDepth, p.p.sealed,
           p.run_id, p.event_time, coalesce(p.p.contentDigest, b.digest)
    FROM batch_nodes AS b LEFT JOIN produced AS p USING (namespace, name, version)
    WHERE b.old_id IS NULL AND b.node_id IS NOT NULL
    """,
    # A version first seen as an input gets its provenance from the batch that holds its producer.
    """
    UPDATE dataset_versions AS d
    SET pipeline = p.p.pipeline, stage = p.p.stage, kind = p.p.kind, generation = p.p.generation,
        "rows" = p.p."rows", rows_real = coalesce(p.p.rowsByKind['real'], 0),
        rows_synthetic = coalesce(p.p.rowsByKind['synthetic'], 0),
        rows_augmented = coalesce(p.p.rowsByKind['augmented'], 0),
        rows_unknown = coalesce(p.p.rowsByKind['unknown'], 0), synthetic_fraction = p.p.syntheticFraction,
        non_real_fraction = p.p.nonRealFraction, max_depth = p.p.maxDepth, sealed = p.p.sealed,
        produced_by_run = p.run_id, produced_at = p.event_time,
        content_digest = coalesce(p.p.contentDigest, d.content_digest)
    FROM (SELECT b.old_id, p.* FROM produced AS p JOIN batch_nodes AS b USING (namespace, name, version)
          WHERE b.unproduced) AS p
    WHERE d.node_id = p.old_id AND d.stage IS NULL
    """,
    # Each completed output is made from every input of the same event.
    """
    CREATE OR REPLACE TEMP TABLE new_edges AS
    SELECT parent.node_id AS parent_id, child.node_id AS child_id, o.p.relation AS relation,
           coalesce(i.role, 'data') AS role, min(o.run_id) AS run_id
    FROM outs AS o
    JOIN ins AS i ON i.ev = o.ev
    JOIN batch_nodes AS child ON child.namespace = o.namespace AND child.name = o.name AND child.version = o.version
    JOIN batch_nodes AS parent ON parent.namespace = i.namespace AND parent.name = i.name
                               AND parent.version = i.version
    WHERE o.event_type = 'COMPLETE' AND o.p IS NOT NULL AND child.node_id IS NOT NULL AND parent.node_id IS NOT NULL
    GROUP BY ALL
    """,
    # Only a child the store already held (id below $base) can already have some of these
    # edges: the store's edges are read for those children only.
    """
    DELETE FROM new_edges WHERE rowid IN (
        SELECT n.rowid FROM new_edges AS n
        SEMI JOIN (SELECT e.* FROM edges AS e
                   SEMI JOIN (SELECT child_id FROM new_edges WHERE child_id < $base) AS old USING (child_id)) AS e
               ON e.parent_id = n.parent_id AND e.child_id = n.child_id AND e.relation = n.relation
              AND e.role = n.role
    )
    """,
    "INSERT INTO edges SELECT * FROM new_edges",
    """
    INSERT INTO generators
    SELECT DISTINCT ON (child.node_id) child.node_id, o.p.generator.name, CAST(o.p.generator.params AS VARCHAR),
           fit.node_id, o.p.pipeline, o.p.generation, o.run_id
    FROM outs AS o
    JOIN batch_nodes AS child ON child.namespace = o.namespace AND child.name = o.name AND child.version = o.version
    LEFT JOIN ins AS i ON i.ev = o.ev AND i.role = 'fit'
    LEFT JOIN batch_nodes AS fit ON fit.namespace = i.namespace AND fit.name = i.name AND fit.version = i.version
    WHERE o.event_type = 'COMPLETE' AND o.p.generator IS NOT NULL AND child.node_id IS NOT NULL
      AND child.node_id NOT IN (SELECT g.node_id FROM generators AS g
                                SEMI JOIN batch_nodes AS b ON b.old_id = g.node_id)
    ORDER BY child.node_id, o.event_time
    """,
    """
    INSERT INTO check_results
    SELECT s.run_id, s.dagster.dagsterRunId, coalesce(s."check".pipeline, split_part(s.dagster.assetKey, '/', 1)),
           s.dagster.assetKey, checked.node_id,
           coalesce(s."check".generation, TRY_CAST(s.dagster.partitionKey AS INTEGER), 0),
           s.dagster.checkName, s.event_type, s."check".passed, s."check".severity, s."check".rule,
           s."check".observed, s."check".threshold, s."check".description, s.error_message, s.event_time,
           """ + _CHECK_VERDICT + """
    FROM (SELECT rowid AS ev, run_id, dagster, "check", event_type, error_message, event_time, inputs[1] AS target
          FROM staged WHERE job_type = 'ASSET_CHECK' AND event_type IN ('COMPLETE', 'FAIL')) AS s
    LEFT JOIN batch_nodes AS checked
           ON checked.namespace = coalesce(s.target.facets.symlinks.identifiers[1].namespace, s.target.namespace)
          AND checked.name = coalesce(s.target.facets.symlinks.identifiers[1].name, s.target.name)
          AND checked.version = coalesce(s.target.facets.version.datasetVersion, '')
    """,
    """
    INSERT INTO check_assertions
    SELECT s.run_id, a.assertion, a.success, a.expected, a.actual
    FROM (SELECT run_id, inputs[1].inputFacets.dataQualityAssertions.assertions AS assertions
          FROM staged WHERE job_type = 'ASSET_CHECK' AND event_type IN ('COMPLETE', 'FAIL')) AS s,
         unnest(s.assertions) AS t(a)
    """,
]

MANIFESTS_TO_LOAD = """
SELECT DISTINCT ON (digest) digest, manifest FROM (
    SELECT digest, manifest FROM ins WHERE manifest IS NOT NULL
    UNION ALL
    SELECT digest, p.rowHashManifest FROM outs WHERE p.rowHashManifest IS NOT NULL
)
WHERE digest <> '' AND digest NOT IN (SELECT DISTINCT content_digest FROM row_hashes)
"""

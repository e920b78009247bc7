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
- ``row_hashes``: row hashes of sealed holdouts and generator training data, per content digest;
- ``ingested_files``: each journal file and the byte offset it has been read up to;
- ``journal_dirs``: each journal run directory and its change stamp when last read.
"""

SCHEMA_VERSION = 3

_DATASET = (
    "STRUCT(namespace VARCHAR, name VARCHAR, facets STRUCT(version STRUCT(datasetVersion VARCHAR), "
    '"synthPipeline_provenance" STRUCT(pipeline VARCHAR, stage VARCHAR, relation VARCHAR, kind VARCHAR, '
    'generation INTEGER, "rows" BIGINT, rowsByKind MAP(VARCHAR, BIGINT), syntheticFraction DOUBLE, '
    "nonRealFraction DOUBLE, maxDepth INTEGER, sealed BOOLEAN, rowHashManifest VARCHAR, contentDigest VARCHAR, "
    "generator STRUCT(name VARCHAR, params JSON, fittedOn VARCHAR))), "
    'inputFacets STRUCT("synthPipeline_input" STRUCT(role VARCHAR, rowHashManifest VARCHAR, contentDigest VARCHAR), '
    "dataQualityAssertions STRUCT(assertions STRUCT(assertion VARCHAR, success BOOLEAN, expected VARCHAR, "
    "actual VARCHAR, name VARCHAR, severity VARCHAR)[])))"
)

EVENT_COLUMNS = {
    "eventType": "VARCHAR",
    "eventTime": "TIMESTAMPTZ",
    "run": (
        'STRUCT(runId VARCHAR, facets STRUCT("synthPipeline_dagster" STRUCT(dagsterRunId VARCHAR, '
        "dagsterJob VARCHAR, stepKey VARCHAR, assetKey VARCHAR, partitionKey VARCHAR, checkName VARCHAR), "
        '"synthPipeline_check" STRUCT(checkName VARCHAR, passed BOOLEAN, severity VARCHAR, generation INTEGER, '
        "rule VARCHAR, observed DOUBLE, threshold DOUBLE, description VARCHAR, pipeline VARCHAR), "
        "errorMessage STRUCT(message VARCHAR)))"
    ),
    "job": "STRUCT(namespace VARCHAR, name VARCHAR, facets STRUCT(jobType STRUCT(jobType VARCHAR)))",
    "inputs": f"{_DATASET}[]",
    "outputs": f"{_DATASET}[]",
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
    observed DOUBLE, threshold DOUBLE, description VARCHAR, error_message VARCHAR, evaluated_at TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS check_assertions (
    run_id VARCHAR, assertion VARCHAR, success BOOLEAN, expected VARCHAR, actual VARCHAR
);
CREATE TABLE IF NOT EXISTS row_hashes (content_digest VARCHAR, row_hash UBIGINT);
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

_ROWS_BY_KIND = ", ".join(f"coalesce(p.p.rowsByKind['{kind}'], 0)" for kind in ("real", "synthetic", "augmented",
                                                                                  "unknown"))

# Each statement reads the temporary table ``staged`` (this batch's events, duplicates of
# already-ingested events removed) and runs in one transaction.
INGEST = [
    """
    INSERT INTO events
    SELECT run.runId, eventType, eventTime, job.namespace, job.name, job.facets.jobType.jobType,
           run.facets.synthPipeline_dagster.dagsterRunId, run.facets.synthPipeline_dagster.dagsterJob,
           run.facets.synthPipeline_dagster.stepKey, run.facets.synthPipeline_dagster.partitionKey,
           run.facets.errorMessage.message
    FROM staged
    """,
    """
    CREATE OR REPLACE TEMP TABLE refs AS
    SELECT s.run.runId AS run_id, s.eventType AS event_type, s.eventTime AS event_time,
           s.job.facets.jobType.jobType AS job_type, 'input' AS direction, d.namespace, d.name,
           coalesce(d.facets.version.datasetVersion, '') AS version,
           d.inputFacets.synthPipeline_input.role AS role,
           d.inputFacets.synthPipeline_input.rowHashManifest AS manifest, NULL AS provenance,
           coalesce(d.inputFacets.synthPipeline_input.contentDigest, d.facets.version.datasetVersion) AS digest
    FROM staged s, unnest(s.inputs) AS i(d)
    UNION ALL
    SELECT s.run.runId, s.eventType, s.eventTime, s.job.facets.jobType.jobType, 'output', d.namespace, d.name,
           coalesce(d.facets.version.datasetVersion, ''), NULL,
           d.facets.synthPipeline_provenance.rowHashManifest, d.facets.synthPipeline_provenance,
           coalesce(d.facets.synthPipeline_provenance.contentDigest, d.facets.version.datasetVersion)
    FROM staged s, unnest(s.outputs) AS o(d)
    """,
    """
    CREATE OR REPLACE TEMP TABLE produced AS
    SELECT DISTINCT ON (namespace, name, version) namespace, name, version, provenance AS p, run_id, event_time
    FROM refs
    WHERE direction = 'output' AND event_type = 'COMPLETE' AND provenance IS NOT NULL
    ORDER BY namespace, name, version, event_time
    """,
    # New versions are inserted with their provenance when this batch produced them; a
    # version first seen as an input gets it from the batch that holds its producer. Events
    # written before versions were per materialization carry no content digest: their
    # version was the digest.
    """
    INSERT INTO dataset_versions
    SELECT (SELECT coalesce(max(node_id), -1) FROM dataset_versions)
               + row_number() OVER (ORDER BY r.namespace, r.name, r.version),
           r.namespace, r.name, r.version, p.p.pipeline, p.p.stage, p.p.kind, p.p.generation, p.p."rows",
           """ + _ROWS_BY_KIND + """, p.p.syntheticFraction, p.p.nonRealFraction, p.p.maxDepth, p.p.sealed,
           p.run_id, p.event_time, coalesce(p.p.contentDigest, r.digest)
    FROM (SELECT namespace, name, version, max(digest) AS digest FROM refs
          WHERE direction = 'input' OR version <> '' GROUP BY ALL) AS r
    LEFT JOIN produced AS p USING (namespace, name, version)
    WHERE NOT EXISTS (
        SELECT 1 FROM dataset_versions d
        WHERE d.namespace = r.namespace AND d.name = r.name AND d.version = r.version
    )
    """,
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
    FROM produced AS p
    WHERE d.namespace = p.namespace AND d.name = p.name AND d.version = p.version AND d.stage IS NULL
    """,
    # The node ids of every version this batch mentions, so later joins need not scan
    # every version in the store.
    """
    CREATE OR REPLACE TEMP TABLE batch_nodes AS
    SELECT d.namespace, d.name, d.version, d.node_id
    FROM (SELECT DISTINCT namespace, name, version FROM refs) AS r
    JOIN dataset_versions AS d USING (namespace, name, version)
    """,
    """
    CREATE OR REPLACE TEMP TABLE new_edges AS
    SELECT parent.node_id AS parent_id, child.node_id AS child_id, o.provenance.relation AS relation,
           coalesce(i.role, 'data') AS role, min(o.run_id) AS run_id
    FROM refs AS o
    JOIN refs AS i ON i.run_id = o.run_id AND i.event_type = o.event_type AND i.direction = 'input'
    JOIN batch_nodes AS child ON child.namespace = o.namespace AND child.name = o.name
                              AND child.version = o.version
    JOIN batch_nodes AS parent ON parent.namespace = i.namespace AND parent.name = i.name
                               AND parent.version = i.version
    WHERE o.direction = 'output' AND o.event_type = 'COMPLETE' AND o.provenance IS NOT NULL
    GROUP BY ALL
    """,
    """
    INSERT INTO edges
    SELECT n.* FROM new_edges AS n
    WHERE NOT EXISTS (
        SELECT 1 FROM edges AS e
        WHERE e.parent_id = n.parent_id AND e.child_id = n.child_id AND e.relation = n.relation
          AND e.role = n.role
    )
    """,
    """
    INSERT INTO generators
    SELECT DISTINCT ON (child.node_id) child.node_id, o.provenance.generator.name,
           CAST(o.provenance.generator.params AS VARCHAR), fit.node_id, o.provenance.pipeline,
           o.provenance.generation, o.run_id
    FROM refs AS o
    JOIN batch_nodes AS child ON child.namespace = o.namespace AND child.name = o.name
                              AND child.version = o.version
    LEFT JOIN refs AS i ON i.run_id = o.run_id AND i.event_type = o.event_type AND i.direction = 'input'
                        AND i.role = 'fit'
    LEFT JOIN batch_nodes AS fit ON fit.namespace = i.namespace AND fit.name = i.name
                                 AND fit.version = i.version
    WHERE o.direction = 'output' AND o.event_type = 'COMPLETE' AND o.provenance.generator IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM generators AS g WHERE g.node_id = child.node_id)
    ORDER BY child.node_id, o.event_time
    """,
    """
    INSERT INTO check_results
    SELECT s.run.runId, s.run.facets.synthPipeline_dagster.dagsterRunId,
           coalesce(s.run.facets.synthPipeline_check.pipeline,
                    split_part(s.run.facets.synthPipeline_dagster.assetKey, '/', 1)),
           s.run.facets.synthPipeline_dagster.assetKey, checked.node_id,
           coalesce(s.run.facets.synthPipeline_check.generation,
                    TRY_CAST(s.run.facets.synthPipeline_dagster.partitionKey AS INTEGER), 0),
           s.run.facets.synthPipeline_dagster.checkName, s.eventType,
           s.run.facets.synthPipeline_check.passed, s.run.facets.synthPipeline_check.severity,
           s.run.facets.synthPipeline_check.rule, s.run.facets.synthPipeline_check.observed,
           s.run.facets.synthPipeline_check.threshold, s.run.facets.synthPipeline_check.description,
           s.run.facets.errorMessage.message, s.eventTime
    FROM staged AS s
    LEFT JOIN batch_nodes AS checked
           ON checked.namespace = s.inputs[1].namespace AND checked.name = s.inputs[1].name
          AND checked.version = coalesce(s.inputs[1].facets.version.datasetVersion, '')
    WHERE s.job.facets.jobType.jobType = 'ASSET_CHECK' AND s.eventType IN ('COMPLETE', 'FAIL')
    """,
    """
    INSERT INTO check_assertions
    SELECT s.run.runId, a.assertion, a.success, a.expected, a.actual
    FROM staged AS s, unnest(s.inputs[1].inputFacets.dataQualityAssertions.assertions) AS t(a)
    WHERE s.job.facets.jobType.jobType = 'ASSET_CHECK' AND s.eventType IN ('COMPLETE', 'FAIL')
    """,
]

STAGE_EVENTS = """
CREATE OR REPLACE TEMP TABLE staged AS
SELECT r.*
FROM read_json($file, format = 'newline_delimited', columns = $columns, ignore_errors = true) AS r
WHERE r.run.runId IS NOT NULL
"""

# Removing duplicates from the staged rows by their key is much cheaper than a DISTINCT
# over the whole (wide, nested) events while they are read.
DROP_DUPLICATE_EVENTS = """
DELETE FROM staged WHERE rowid IN (
    SELECT rowid FROM (
        SELECT rowid, row_number() OVER (PARTITION BY run.runId, eventType, eventTime ORDER BY rowid) AS copy
        FROM staged
    ) WHERE copy > 1
    UNION ALL
    SELECT s.rowid FROM staged AS s
    SEMI JOIN events AS e ON e.run_id = s.run.runId AND e.event_type = s.eventType AND e.event_time = s.eventTime
)
"""
"""Drop events repeated in the batch, or already in the store (a journal line read twice)."""

MANIFESTS_TO_LOAD = """
SELECT DISTINCT ON (digest) digest, manifest FROM refs
WHERE manifest IS NOT NULL AND digest <> '' AND digest NOT IN (SELECT DISTINCT content_digest FROM row_hashes)
"""

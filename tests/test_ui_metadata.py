"""Provenance at a glance in the Dagster UI (issue 18, point 3): provenance kinds on the graph
nodes, described ``_sp_`` columns, code references, the report reachable, figures rounded."""

from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from conftest import fast_spec, why
from synth_pipeline import Stage, build_synth_pipeline, provenance_asset
from synth_pipeline.column_schema import COLUMN_SCHEMA
from synth_pipeline.display import rounded
from synth_pipeline.naming import MAX_SHOWN_KINDS, STAGE_PROVENANCE, SynthPipelineTranslator
from synth_pipeline.provenance import PROVENANCE_COLUMNS

DATA_STAGES = {Stage.REAL_SOURCE, Stage.REAL_HOLDOUT, Stage.REAL_TRAIN, Stage.REAL_ARRIVALS, Stage.SYNTHETIC,
               Stage.AUGMENTED, Stage.UNKNOWN, Stage.TRAINING_MIX}
THIS_FILE = str(Path(__file__).resolve())


def _graph(pipeline):
    return pipeline.to_definitions().resolve_asset_graph()


def _described(schema: dg.TableSchema) -> dict[str, str | None]:
    return {column.name: column.description for column in schema.columns}


def _significant_digits(value: float) -> int:
    return len(f"{value:.15g}".lstrip("-0.").replace(".", "").rstrip("0"))


def test_graph_nodes_show_their_provenance_as_a_kind():
    pipeline = build_synth_pipeline(fast_spec(name="glance"))
    graph = _graph(pipeline)
    for stage in pipeline.stages:
        node = graph.get(pipeline.key(stage))
        assert STAGE_PROVENANCE[stage] in node.kinds and len(node.kinds) <= MAX_SHOWN_KINDS, (stage, node.kinds)
        assert node.tags["synth_pipeline/provenance"] == STAGE_PROVENANCE[stage]  # the tag stays
    assert graph.get(pipeline.key(Stage.REAL_HOLDOUT)).kinds == {"real", "sealed", "parquet"}
    assert graph.get(pipeline.key(Stage.SYNTHETIC)).kinds == {"synthetic", "sdv", "parquet"}


def test_a_translator_can_still_choose_the_kinds():
    class Plain(SynthPipelineTranslator):
        def get_kinds(self, spec, stage):
            return {"polars"}

    pipeline = build_synth_pipeline(fast_spec(name="plain"), Plain())
    assert _graph(pipeline).get(pipeline.key(Stage.SYNTHETIC)).kinds == {"polars"}


def test_definitions_declare_the_described_provenance_columns_and_link_to_code():
    pipeline = build_synth_pipeline(fast_spec(name="glance"))  # this line is the pipeline's first code reference
    graph = _graph(pipeline)
    for stage in pipeline.stages:
        metadata = graph.get(pipeline.key(stage)).metadata
        if stage in DATA_STAGES:
            described = _described(metadata[COLUMN_SCHEMA].schema)
            assert list(described) == list(PROVENANCE_COLUMNS)
            assert all(described.values()), described
        else:  # a model and its scores carry no provenance columns
            assert COLUMN_SCHEMA not in metadata
        built_here, stage_code = metadata["dagster/code_references"].code_references
        assert (built_here.file_path, built_here.label) == (THIS_FILE, "pipeline glance built here")
        assert Path(stage_code.file_path).parent.name == "stages" and stage_code.line_number > 0


def test_declared_assets_get_kinds_columns_and_a_reference_to_their_function():
    own = dg.TableSchema(columns=[dg.TableColumn("amount", "float64", description="loan amount, EUR")])

    @provenance_asset(pipeline="team", role="real_source", label_column="target", metadata={COLUMN_SCHEMA: own})
    def loans() -> pd.DataFrame:
        return pd.DataFrame({"amount": [1.0], "target": [0]})

    @provenance_asset(pipeline="team", role="model", kinds={"xgboost"})
    def model(loans: pd.DataFrame):
        return None

    spec = next(iter(loans.specs))
    assert spec.kinds == {"real", "pandas"} and model.specs and next(iter(model.specs)).kinds == {
        "derived", "python", "xgboost"}
    described = _described(spec.metadata[COLUMN_SCHEMA].schema)
    assert list(described) == ["amount", *PROVENANCE_COLUMNS] and described["amount"] == "loan amount, EUR"
    [reference] = spec.metadata["dagster/code_references"].code_references
    assert reference.file_path == THIS_FILE
    assert 'role="real_source"' in Path(THIS_FILE).read_text().splitlines()[reference.line_number - 1]


def test_rounded_keeps_four_significant_digits_and_whole_numbers():
    assert [rounded(v) for v in (1 / 3, 2 / 3000, 12345.678, 113.0, 0.05)] == [0.3333, 0.0006667, 12346.0, 113.0, 0.05]


@pytest.fixture(scope="module")
def generation_one(tmp_path_factory):
    from conftest import Runner

    runner = Runner(tmp_path_factory.mktemp("glance") / "data")
    pipeline = build_synth_pipeline(fast_spec(name="glance_run", unknown_source=None))
    [run] = runner.run(pipeline, [1])
    assert run.success, why(run)
    return runner, pipeline, run


def test_materializations_describe_the_provenance_columns_and_round_fractions(generation_one):
    runner, pipeline, run = generation_one
    mix = next(s for s in run.stages if s.stage == Stage.TRAINING_MIX.value).metadata
    described = _described(mix[COLUMN_SCHEMA])
    assert all(described[name] for name in PROVENANCE_COLUMNS)
    assert described["target"] is None  # user columns: dtype only
    frame = runner.read(pipeline, Stage.TRAINING_MIX, 1)
    exact = float((frame["_sp_kind"] == "synthetic").mean())
    assert mix["synthetic_fraction"] == rounded(exact) and _significant_digits(mix["synthetic_fraction"]) <= 4
    assert all(_significant_digits(v) <= 4 for v in mix["synthetic_fraction_by_class"].values())


def test_check_figures_are_rounded_and_their_rules_exact(generation_one):
    runner, pipeline, run = generation_one
    check = run.check("synthetic_budget")
    overall = next(r for r in check.metadata["rules"] if r["rule"].endswith("overall"))
    assert check.metadata["observed"] == rounded(overall["observed"])
    assert _significant_digits(check.metadata["observed"]) <= 4
    frame = runner.read(pipeline, Stage.TRAINING_MIX, 1)
    assert overall["observed"] == pytest.approx(frame["_sp_kind"].isin(["synthetic", "augmented"]).mean(), rel=1e-12)


def test_evaluation_links_the_report_and_shows_its_key_figures(generation_one):
    _, _, run = generation_one
    evaluation = next(s for s in run.stages if s.stage == Stage.EVALUATION.value).metadata
    assert Path(evaluation["report"]).is_file()
    table = evaluation["report_table"].splitlines()
    assert table[0].startswith("| generation | mix rows | synthetic fraction |") and table[2].startswith("| 1 |")
    assert evaluation["report_plot"].startswith("![")
    assert _significant_digits(evaluation["tstr_trtr_ratio"]) <= 4

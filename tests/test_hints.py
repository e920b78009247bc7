"""Hints: every failed rule names its fix, and the messages that tell the user what to do are
right in the situation they are shown in (a blocked generation, a missing one, a step that failed)."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from synth_pipeline import DatasetStore, SynthPolicy
from synth_pipeline.budgets import generation_budget, holdout_purity, recursion_depth, synthetic_budget, unknown_budget
from synth_pipeline.composition import Composition
from synth_pipeline.errors import GenerationError
from synth_pipeline.stages.previous import read_previous_mix

PROJECT = Path(__file__).resolve().parents[1]

# A user's code location, as `synth-pipeline run -m MODULE` loads it: iris (150 rows, three
# balanced classes), the default spec (mix.real_arrival_batches 1) unless the test says otherwise.
MODULE = '''
from pathlib import Path

from sklearn.datasets import load_iris

from synth_pipeline import SourceSpec, SynthesizerSpec, SynthPipelineSpec, SynthPolicy, build_synth_pipeline
from synth_pipeline.quality.expectations import write_suites

HERE = Path(__file__).parent
SOURCE = HERE / "iris.csv"
if not SOURCE.exists():
    load_iris(as_frame=True).frame.to_csv(SOURCE, index=False)
pipeline = build_synth_pipeline(SynthPipelineSpec(
    name="iris", label_column="target", real_source=SourceSpec(path=str(SOURCE)), seed=3,
    synthesizer=SynthesizerSpec(params={"default_distribution": "norm"}), {extra}
))
SUITES = HERE / "suites"
if not SUITES.exists():
    import pandas as pd
    write_suites(pd.read_csv(SOURCE), stages={suites}, directory=SUITES, pipeline_name="iris",
                 label_column="target")
{edit}
defs = pipeline.to_definitions(policy=SynthPolicy(min_holdout_rows=20, {policy}), expectation_suites=SUITES,
                               include_quality_checks=False, asset_checks={checks})
'''

# The synthetic stage's suite, hand-edited (as `expectations init` invites): generated rows may be
# at most one generator hop from real data. With --fit-on previous_mix, generation 2's are two.
DEPTH_AT_MOST_ONE = '''
import json
suite = json.loads((SUITES / "synthetic.json").read_text())
for expectation in suite["expectations"]:
    if expectation["kwargs"].get("column") == "_sp_depth" and "max_value" in expectation["kwargs"]:
        expectation["kwargs"]["max_value"] = 1
(SUITES / "synthetic.json").write_text(json.dumps(suite))
'''


def user_module(
    directory: Path, *, extra: str = "", edit: str = "", policy: str = "", suites: str = '["synthetic"]',
    checks: str = "[]",
) -> Path:
    """A code location in ``directory``: spec fields ``extra``, code ``edit`` run after the suites are
    written, policy fields ``policy``, GX suites for ``suites``, further ``checks`` (the quality checks
    are left out unless named there: they are not what these tests are about, and cost time)."""
    directory.mkdir(parents=True, exist_ok=True)
    text = MODULE
    for name, value in (("extra", extra), ("edit", edit), ("policy", policy), ("suites", suites),
                        ("checks", checks)):
        text = text.replace("{" + name + "}", value)
    (directory / "iris_defs.py").write_text(text)
    return directory


def cli(args: list[str], tmp_path: Path, module_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home"), "SYNTH_PIPELINE_DATA_DIR": str(tmp_path / "data"),
           "PYTHONPATH": str(module_dir), "SYNTH_PIPELINE_INPUT_DIRS": str(module_dir)}
    return subprocess.run([sys.executable, "-m", "synth_pipeline.cli", *args, "-m", "iris_defs"], cwd=PROJECT,
                          env=env, capture_output=True, text=True, timeout=900)


def test_blocked_generation_names_the_check_its_evidence_and_how_to_go_on(tmp_path):
    module = user_module(tmp_path / "code", edit=DEPTH_AT_MOST_ONE)
    result = cli(["run", "--generations", "3", "--keep-going", "--fit-on", "previous_mix"], tmp_path, module)
    assert result.returncode == 1
    err = result.stderr
    # generation 2: the hand-edited expectation blocks the synthetic rows (depth 2) before the mix
    assert "check expectations FAILED on iris/synthetic, generation 2" in err, err
    assert not (tmp_path / "data" / "iris" / "training_mix" / "2.parquet").exists()
    # generation 3 says which check stopped generation 2, on which asset, with its evidence, and how to go on
    [line] = [line for line in err.splitlines() if line.startswith("step iris__synthetic FAILED")]
    assert "generation 2 of iris/training_mix was not built" in line, line
    assert ("check expectations on iris/synthetic, generation 2: 1 rule(s) failed: "
            "expect_column_values_to_be_between(_sp_depth)") in line
    # the command that runs this module's pipeline, not the reference module's default
    assert "run generation 2 again (synth-pipeline run -m iris_defs --pipeline iris --start 2)" in line
    assert "--generations 3" not in line  # what was run: the old, wrong hint


def test_fresh_real_rows_failure_names_its_fixes(tmp_path):
    module = user_module(tmp_path / "code")
    result = cli(["run", "--generations", "2"], tmp_path, module)
    assert result.returncode == 1
    headline, line = [line for line in result.stderr.splitlines() if "fresh real rows" in line]
    assert headline.startswith("generation 2 blocked by 1 check: iris/training_mix generation_budget ("), headline
    assert "fresh real rows: observed 0 < limit 1, n = " in headline
    assert line.startswith("check generation_budget FAILED on iris/training_mix, generation 2: fresh real rows: "
                           "observed 0 < limit 1, n = "), line
    assert "; fix: " in line
    for fix in ("mix.real_arrival_batches", "synth-pipeline run --source FILE", "build_arrival_sensor",
                "min_fresh_real_rows"):
        assert fix in line, fix


def _stored_mix(store: DatasetStore, key: dg.AssetKey, generation: int) -> None:
    from synth_pipeline.provenance import ProvenanceKind, tag_rows

    frame = tag_rows(pd.DataFrame({"x": [1.0, 2.0], "target": [0, 1]}), kind=ProvenanceKind.REAL,
                     generation=generation, dataset=key.to_user_string(), depth=0)
    store.write(frame, key, str(generation))


def test_a_missing_mix_names_the_first_generation_never_run(tmp_path):
    store = DatasetStore(base_dir=str(tmp_path / "data"))
    mix = dg.AssetKey(["p", "training_mix"])
    for generation in (1, 2, 4):
        _stored_mix(store, mix, generation)
    with pytest.raises(GenerationError) as missing:
        read_previous_mix(store, mix, 5, allow_failed=False, log=dg.get_dagster_logger())
    assert "from generation 3 (synth-pipeline run --start 3 --generations 4, to generation 6)" in str(missing.value)


def test_previous_mix_messages_fit_each_situation(tmp_path):
    store = DatasetStore(base_dir=str(tmp_path / "data"))
    mix = dg.AssetKey(["p", "training_mix"])
    log = dg.get_dagster_logger()

    # never run: run it first
    with pytest.raises(GenerationError) as never:
        read_previous_mix(store, mix, 2, allow_failed=False, log=log)
    assert "generation 2 has not been run" in str(never.value)
    # from the first generation never run (a trial was told --start 8 with 1-4 stored, which fails alike)
    assert "from generation 1 (synth-pipeline run --start 1 --generations 3, to generation 3)" in str(never.value)

    # its run stopped on a failed step: some of its assets are stored, no check failed
    _stored_mix(store, dg.AssetKey(["p", "real_arrivals"]), 2)
    with pytest.raises(GenerationError) as stopped:
        read_previous_mix(store, mix, 2, allow_failed=False, log=log)
    assert "stopped before its training mix, and no synth-pipeline check recorded a failure" in str(stopped.value)
    assert "has not been run" not in str(stopped.value)

    # a blocking check on an upstream asset stopped it: named, with its evidence
    store.quarantine(dg.AssetKey(["p", "synthetic"]), "2", "privacy",
                     "1 rule(s) failed: DCR share: observed 0.9 > limit 0.55")
    with pytest.raises(GenerationError) as blocked:
        read_previous_mix(store, mix, 2, allow_failed=False, log=log)
    assert ("check privacy on p/synthetic, generation 2: 1 rule(s) failed: DCR share: observed 0.9 > limit 0.55"
            in str(blocked.value))

    # the mix itself is stored but failed a check: fix and rerun, or build on it knowingly
    _stored_mix(store, mix, 2)
    store.quarantine(mix, "2", "synthetic_budget", "synthetic fraction, overall: observed 0.6 > limit 0.5")
    with pytest.raises(GenerationError) as failed:
        read_previous_mix(store, mix, 2, allow_failed=False, log=log)
    message = str(failed.value)
    assert "synthetic_budget (synthetic fraction, overall: observed 0.6 > limit 0.5)" in message
    assert "synth-pipeline run --start 2" in message and "allow_failed_previous" in message
    assert len(read_previous_mix(store, mix, 2, allow_failed=True, log=log)) == 2


def _composition(real: int, synthetic: int, unknown: int = 0, depth: int = 1) -> Composition:
    counts = {"real": real, "synthetic": synthetic, "augmented": 0, "unknown": unknown}
    return Composition(rows=real + synthetic + unknown, rows_by_kind=counts, provenance="mixed", max_depth=depth,
                       rows_by_class={"0": {**counts}})


def test_every_budget_rule_names_its_fix_and_sample_size():
    policy = SynthPolicy(max_depth=0)
    bad = _composition(real=10, synthetic=30, unknown=5, depth=2)
    outcomes = [
        *synthetic_budget(bad, policy),
        *generation_budget(bad, _composition(real=10, synthetic=0), 0, policy),
        *recursion_depth(bad, policy),
        *unknown_budget(bad, policy),
        *holdout_purity(bad, policy),
    ]
    fields = {
        "non-real fraction (synthetic + augmented + unknown), overall": "max_synthetic_fraction",
        "non-real fraction (synthetic + augmented + unknown), class #1 (value 0)": "max_class_synthetic_fraction",
        "non-real fraction (synthetic + augmented + unknown) growth since previous generation":
            "max_synthetic_fraction_growth",
        "fresh real rows": "mix.real_arrival_batches",
        "max depth": "fit_on: real",
        "unknown fraction": "mix.include_unknown",
        "holdout rows": "holdout_fraction",
        "real fraction": "real_holdout",
    }
    assert {o.rule for o in outcomes} == set(fields)
    for outcome in outcomes:
        assert not outcome.passed, outcome.rule
        assert fields[outcome.rule] in outcome.fix, outcome.rule
        assert outcome.sample_size is not None and "; fix: " in outcome.evidence()
    assert "rows_per_real_row" in outcomes[0].fix

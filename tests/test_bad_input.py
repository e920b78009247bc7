"""Bad input: every case fails where a user meets it, with a message naming the problem and the fix, and
leaves no half-written data or lineage behind.

One table, three kinds of case:

- ``DataCase``: bad data read by a real Dagster run (the spec's real source, the file given at launch for
  generation 2 after a good generation 1, or the unknown source). The reading stage fails with one
  ``SynthPipelineError``; nothing is materialized, no stored file is added or changed, no temporary file
  is left, the lineage store holds the stage's FAIL event (with the message) and no dataset version
  produced by the run. Messages hold names and counts, never row values.
- ``CheckCase``: data that is readable but breaks the policy: a blocking check fails and what it protects
  is not materialized.
- ``ConfigCase``: a bad policy or spec file, through ``SynthPolicy.from_yaml``, ``load_spec`` or the
  ``synth-pipeline`` command (exit code 2); nothing is created under the data directory.
"""

from __future__ import annotations

import pickle
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import FAST_SYNTHESIZER, why
from lineage_helpers import failures_and_versions
from synth_pipeline import SourceSpec, SynthPipelineSpec, SynthPolicy, build_synth_pipeline, load_spec
from synth_pipeline.cli import main
from synth_pipeline.config_paths import INPUT_DIRS_ENV
from synth_pipeline.errors import DataSourceError, ProvenanceError, ReservedColumnError, SynthPipelineError
from synth_pipeline.naming import Stage
from synth_pipeline.provenance import tag_rows
from synth_pipeline.reporting import check_failures
from synth_pipeline.run_lock import INFO_NAME, LOCK_NAME
from synth_pipeline.runner import pipeline_stages, run_generations
from synth_pipeline.storage import DATA_DIR_ENV

PROJECT = Path(__file__).resolve().parents[1]
ROWS = 40
SENTINEL = "QZX"
"""Every text value of the test data starts with this; no error message may contain it."""
# Quick runs: nothing here measures quality, and the generations that succeed are tiny.
POLICY = SynthPolicy(min_tstr_trtr_ratio=0.0)


def good_frame(rows: int = ROWS, seed: int = 0) -> pd.DataFrame:
    """Two balanced, learnable classes; numeric, integer and text features."""
    rng = np.random.default_rng(seed)
    label = np.array(["no", "yes"] * (rows // 2))
    return pd.DataFrame({
        "a": (rng.normal(size=rows) + 2.0 * (label == "yes")).round(4),
        "b": rng.integers(0, 5, rows),
        "c": rng.choice([f"{SENTINEL}-red", f"{SENTINEL}-green", f"{SENTINEL}-blue"], rows),
        "label": [f"{SENTINEL}-{value}" for value in label],
    })


# -- builders of bad input: each takes the input directory and returns the source to read ---------------

Writer = Callable[[Path], SourceSpec]


def csv(frame: pd.DataFrame | Callable[[], pd.DataFrame], name: str = "real.csv") -> Writer:
    def write(directory: Path) -> SourceSpec:
        path = directory / name
        (frame() if callable(frame) else frame).to_csv(path, index=False)
        return SourceSpec(path=str(path))

    return write


def parquet(
    frame: Callable[[], pd.DataFrame], name: str = "real.parquet", *, keep_bytes: int | None = None,
    damage: tuple[int, int] | None = None,
) -> Writer:
    """A Parquet file, cut after ``keep_bytes`` or with ``damage = (start, length)`` bytes zeroed."""

    def write(directory: Path) -> SourceSpec:
        path = directory / name
        frame().to_parquet(path, index=False)
        data = path.read_bytes()
        if keep_bytes is not None:
            data = data[:keep_bytes]
        if damage is not None:
            start, length = damage
            data = data[:start] + bytes(length) + data[start + length:]
        path.write_bytes(data)
        return SourceSpec(path=str(path))

    return write


def raw(name: str, content: bytes | None) -> Writer:
    """A file holding ``content`` as is (a directory when None)."""

    def write(directory: Path) -> SourceSpec:
        path = directory / name
        if content is None:
            path.mkdir()
        else:
            path.write_bytes(content)
        return SourceSpec(path=str(path))

    return write


def nowhere(directory: Path) -> SourceSpec:
    return SourceSpec(path=str(directory / "missing.csv"))


def loader(value: Callable[[], object]) -> Writer:
    """A Python loader (``module:function``) returning ``value()``; the input directory is on sys.path."""

    def write(directory: Path) -> SourceSpec:
        module = f"bad_input_loader_{uuid.uuid4().hex}"
        (directory / "value.pkl").write_bytes(pickle.dumps(value()))
        stored = str(directory / "value.pkl")
        (directory / f"{module}.py").write_text(
            f"import pickle\n\ndef load():\n    return pickle.loads(open({stored!r}, 'rb').read())\n"
        )
        return SourceSpec(loader=f"{module}:load")

    return write


def with_column(**columns) -> Callable[[], pd.DataFrame]:
    return lambda: good_frame().assign(**columns)


def tagged(kind: str = "real", edit: Callable[[pd.DataFrame], None] | None = None) -> Callable[[], pd.DataFrame]:
    """Good rows carrying all five provenance columns, then edited."""

    def make() -> pd.DataFrame:
        frame = tag_rows(good_frame(), kind=kind, generation=0, dataset="elsewhere/source",
                         depth=1 if kind == "synthetic" else 0)
        if edit is not None:
            edit(frame)
        return frame

    return make


def _set(column: str, rows: slice, value) -> Callable[[pd.DataFrame], None]:
    def edit(frame: pd.DataFrame) -> None:
        if isinstance(value, str):
            frame[column] = frame[column].astype(object)
        frame.loc[rows, column] = value

    return edit


def _mixed_types() -> pd.DataFrame:
    frame = good_frame()
    frame["c"] = pd.Series([1, f"{SENTINEL}-x", 2.5, f"{SENTINEL}-y"] * (ROWS // 4), dtype=object)
    return frame


def _nested() -> pd.DataFrame:
    frame = good_frame()
    frame["c"] = [[1, 2]] * ROWS
    return frame


def _duplicate_columns() -> bytes:
    lines = ["a,b,b,label"] + [f"{i},{i % 3},{i % 5},{SENTINEL}-{'yes' if i % 2 else 'no'}" for i in range(ROWS)]
    return ("\n".join(lines) + "\n").encode()


def _ragged_csv() -> bytes:
    text = good_frame().to_csv(index=False).splitlines()
    text[7] += ",1"
    return ("\n".join(text) + "\n").encode()


# -- the cases -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataCase:
    """Bad data read by a run.

    Attributes:
        write: Builds the bad input in a directory and returns its source.
        expect: Fragments the message holds: the problem, where, and the fix.
        error: The error class raised.
        via: ``spec`` (the spec's real source, generation 1), ``launch`` (the real_source ``path`` given at
            launch for generation 2, after generation 1 on good data; how the new-data sensor feeds files) or
            ``unknown`` (the spec's unknown source).
    """

    write: Writer
    expect: tuple[str, ...]
    error: type[SynthPipelineError] = DataSourceError
    via: str = "spec"


@dataclass(frozen=True)
class CheckCase:
    """Readable data that breaks the policy: a blocking check fails."""

    write: Writer
    check: str
    stage: Stage
    line: str
    not_materialized: tuple[Stage, ...]


@dataclass(frozen=True)
class ConfigCase:
    """A bad configuration file read by ``entry`` (``policy``, ``spec`` or ``cli``); None: no file."""

    text: str | None
    entry: str
    expect: tuple[str, ...]


GOOD_SPEC = "name: churn\nlabel_column: churned\nreal_source: {path: customers.csv}\n"

CASES = [
    # files
    pytest.param(DataCase(nowhere, ("data file", "missing.csv not found", "check the path")), id="missing-file"),
    pytest.param(DataCase(raw("real.csv", None), ("real.csv is a directory, not a data file",
                                                  "point the source at one CSV, Parquet or JSON Lines file")),
                 id="directory"),
    pytest.param(DataCase(raw("real.csv", b""), ("real.csv is empty (0 bytes", "write the data again")),
                 id="empty-file"),
    pytest.param(DataCase(raw("real.csv", b"a,b,c,label\n"), ("holds no rows (only the columns ['a', 'b', 'c', "
                                                             "'label'])", "add the data rows")), id="header-only"),
    pytest.param(DataCase(raw("real.csv", _ragged_csv()), ("cannot parse", "line 8",
                                                           "quote fields that contain commas")), id="ragged-csv"),
    pytest.param(DataCase(raw("real.csv", b"\xff\xfe\x00PAR1" * 50), ("is not UTF-8 text", "save it as UTF-8 CSV")),
                 id="binary-as-csv"),
    pytest.param(DataCase(raw("real.parquet", np.random.default_rng(0).bytes(600)),
                          ("cannot read", "as Parquet", "corrupt, truncated or not Parquet", "write it again")),
                 id="corrupt-parquet"),
    pytest.param(DataCase(parquet(good_frame, keep_bytes=400), ("as Parquet", "corrupt, truncated or not Parquet")),
                 id="truncated-parquet"),
    pytest.param(DataCase(parquet(good_frame, damage=(100, 200)), ("as Parquet (",
                                                                  "corrupt, truncated or not Parquet")),
                 id="damaged-parquet"),
    pytest.param(DataCase(raw("real.xlsx", b"PK\x03\x04"), ("cannot tell the format", "use .csv, .parquet or .jsonl")),
                 id="unsupported-suffix"),
    pytest.param(DataCase(raw("real.jsonl", b'{"text": "a b c d", "label": "x"}\n{"text": 5, "label": "y"}\n'),
                          ("cannot read", "as JSON Lines", "changed from string to number", "same type for a key")),
                 id="jsonl-type-changes"),
    pytest.param(DataCase(raw("real.jsonl", b'{"text": "a b c d", "label": "x"}\n{"text": "e f\n'),
                          ("cannot read", "as JSON Lines", "every line must be one JSON object")),
                 id="jsonl-broken-line"),
    pytest.param(DataCase(raw("real.jsonl", b'{"text": {"a": 1}, "label": "x"}\n'),
                          ("column 'text' holds nested values", "spread the values over one column each")),
                 id="jsonl-nested"),
    pytest.param(DataCase(loader(lambda: [1, 2, 3]), ("returned list, expected a pandas DataFrame",
                                                      "make the function return one")), id="loader-not-a-frame"),
    # columns and values
    pytest.param(DataCase(raw("real.csv", _duplicate_columns()), ("duplicate column names ['b']",
                                                                  "give every column a unique name")),
                 id="duplicate-columns"),
    pytest.param(DataCase(csv(lambda: good_frame().drop(columns="label")),
                          ("label column 'label' not in", "set label_column")), id="label-column-missing"),
    pytest.param(DataCase(csv(lambda: good_frame().assign(label=lambda f: f.label.mask(f.index < 3))),
                          ("3 of 40 rows", "have no 'label' label", "drop or fill them")), id="labels-missing"),
    pytest.param(DataCase(csv(with_column(label=np.nan)), ("'label'", "is empty in all 40 rows", "set label_column")),
                 id="labels-all-missing"),
    pytest.param(DataCase(csv(with_column(label=f"{SENTINEL}-yes")), ("has a single class in all 40 rows",
                                                                     "add rows of the other classes")),
                 id="single-class"),
    pytest.param(DataCase(csv(lambda: pd.concat([good_frame(), good_frame(2, seed=1).assign(label="~rare")])),
                          ("class(es) #3 (2 rows) of 3", "too small to split",
                           "needs at least 3 rows per class", "Add rows of those classes")),
                 id="class-too-small-for-holdout"),
    # A continuous number is a regression target now (tests/test_regression.py); text with a value per row is
    # neither classes nor a number.
    pytest.param(DataCase(csv(lambda: good_frame().assign(label=[f"{SENTINEL}-{i}" for i in range(ROWS)])),
                          ("label column 'label'", "looks like an identifier or free text",
                           "40 distinct values in 40 rows", "set label_column")),
                 id="identifier-like-text-label"),
    pytest.param(DataCase(csv(lambda: good_frame().assign(a=lambda f: f.a.mask(f.index % 13 == 0, np.inf))),
                          ("column 'a' has 4 infinite value(s)", "replace them with finite numbers")),
                 id="infinite-values"),
    pytest.param(DataCase(loader(lambda: good_frame().assign(a=lambda f: f.a.astype(object).mask(f.index % 13 == 0,
                                                                                               np.inf))),
                          ("column 'a' has 4 infinite value(s)", "replace them with finite numbers")),
                 id="infinite-values-in-object-column"),
    pytest.param(DataCase(csv(with_column(d=np.nan)), ("column 'd' has no value in any of its 40 rows", "drop it")),
                 id="empty-column"),
    pytest.param(DataCase(loader(_mixed_types), ("column 'c' mixes value types (float, int, str)",
                                                 "convert it to one type")), id="mixed-types"),
    pytest.param(DataCase(parquet(_nested), ("column 'c' holds nested values (ndarray)",
                                             "spread the values over one column each")), id="nested-values"),
    # provenance columns
    pytest.param(DataCase(csv(with_column(_sp_score=1.0)), ("['_sp_score']", "reserves", "Rename"),
                          ReservedColumnError), id="reserved-prefix"),
    pytest.param(DataCase(csv(with_column(_sp_kind="real")), ("only part of the provenance columns",
                                                             "supply all of"), ProvenanceError),
                 id="partial-provenance"),
    pytest.param(DataCase(parquet(tagged(edit=_set("_sp_kind", slice(0, 3), "fake"))),
                          ("_sp_kind: 4 rows with an unrecognised kind", "allowed: ['real'",
                           "Fix those values, or drop all five _sp_ columns"), ProvenanceError),
                 id="unknown-provenance-kind"),
    pytest.param(DataCase(parquet(tagged(edit=_set("_sp_depth", slice(0, 2), -1))),
                          ("_sp_depth: 3 negative and 0 null values", "Fix those values"), ProvenanceError),
                 id="negative-depth"),
    pytest.param(DataCase(parquet(tagged(edit=_set("a", slice(0, 4), 99.0))),
                          ("5 rows whose _sp_row_hash does not match their values", "tag them again"),
                          ProvenanceError), id="rows-edited-after-tagging"),
    pytest.param(DataCase(parquet(tagged("synthetic")), ("declared 'real' but the rows' provenance columns say "
                                                         "['synthetic']", "do not belong in this stage"),
                          ProvenanceError), id="synthetic-rows-as-real-source"),
    pytest.param(DataCase(parquet(tagged("unknown", _set("_sp_kind", slice(0, 1), "vendor")), name="vendor.parquet"),
                          ("bad/unknown_ingest", "_sp_kind: 2 rows with an unrecognised kind", "Fix those values"),
                          ProvenanceError, via="unknown"), id="unknown-source-bad-kind"),
    pytest.param(DataCase(csv(with_column(a=np.inf), name="vendor.csv"), ("column 'a' has 40 infinite value(s)",),
                          via="unknown"), id="unknown-source-infinite"),
    # schema drift: the file arriving for generation 2 does not match generation 1's real source
    pytest.param(DataCase(csv(lambda: good_frame(seed=1).assign(d=1.5), "new.csv"),
                          ("schema drift", "new.csv does not have the columns of the real source stored by an earlier "
                           "run", "new column(s) ['d']", "fix the file"), via="launch"), id="drift-column-added"),
    pytest.param(DataCase(csv(lambda: good_frame(seed=1).drop(columns="b"), "new.csv"),
                          ("schema drift", "missing column(s) ['b']", "add the missing ones"), via="launch"),
                 id="drift-column-removed"),
    pytest.param(DataCase(csv(lambda: good_frame(seed=1).rename(columns={"b": "bb"}), "new.csv"),
                          ("new column(s) ['bb']; missing column(s) ['b'] (renamed?)", "restore the columns' names"),
                          via="launch"), id="drift-column-renamed"),
    pytest.param(DataCase(csv(lambda: good_frame(seed=1).assign(b=lambda f: "n" + f.b.astype(str)), "new.csv"),
                          ("changed type: 'b' was number, is now text", "convert the types"), via="launch"),
                 id="drift-number-as-text"),
    # the policy
    pytest.param(CheckCase(csv(good_frame), "holdout_purity", Stage.REAL_HOLDOUT,
                           "check holdout_purity FAILED on bad/real_holdout, generation 0: holdout rows: observed 8 "
                           "< limit 100, n = 8; fix: seal a larger holdout (spec holdout_fraction) or bring more real "
                           "rows (a larger real source), or lower the policy's min_holdout_rows if the scores may rest "
                           "on fewer rows", (Stage.EVALUATION,)), id="holdout-below-policy-minimum"),
    # configuration files
    pytest.param(ConfigCase("max_depth: 2\nmax_synthetic_fraction: [0.3\n", "policy",
                            ("policy.yaml is not valid YAML", "at line 3, column 1", "fix the syntax")),
                 id="policy-yaml-syntax"),
    pytest.param(ConfigCase("max_dept: 2\n", "policy", ("max_dept: unknown field (did you mean 'max_depth'?)",
                                                        "Fix the field(s) named")), id="policy-unknown-field"),
    pytest.param(ConfigCase("max_synthetic_fraction: 1.5\n", "policy",
                            ("max_synthetic_fraction: Input should be less than or equal to 1 (got 1.5)",)),
                 id="policy-fraction-above-1"),
    pytest.param(ConfigCase("min_fresh_real_rows: -1\n", "policy",
                            ("min_fresh_real_rows: Input should be greater than or equal to 0 (got -1)",)),
                 id="policy-negative"),
    pytest.param(ConfigCase("max_depth: three\n", "policy", ("max_depth: Input should be a valid integer",
                                                             "(got 'three')")), id="policy-wrong-type"),
    pytest.param(ConfigCase("- max_depth: 2\n", "policy", ("must hold a mapping of field: value", "not a list")),
                 id="policy-not-a-mapping"),
    pytest.param(ConfigCase(None, "policy", ("policy file", "policy.yaml not found", "check the path")),
                 id="policy-missing"),
    pytest.param(ConfigCase("max_dept: 2\n", "cli", ("synth-pipeline: error: invalid policy file",
                                                     "max_dept: unknown field")), id="cli-bad-policy"),
    pytest.param(ConfigCase(GOOD_SPEC + "synthesizer: {method: gan}\n", "spec",
                            ("synthesizer.method: Input should be 'gaussian_copula', 'ctgan', 'tvae', 'dp_privbayes', "
                             "'mostlyai', 'file', 'word_markov' or 'openai_chat', or 'package.module:factory' naming a "
                             "generator factory of your own "
                             "(got 'gan')",
                             "Fix the field(s) named")), id="spec-unknown-synthesizer"),
    pytest.param(ConfigCase(GOOD_SPEC + "holdout_fractoin: 0.3\n", "spec",
                            ("holdout_fractoin: unknown field (did you mean 'holdout_fraction'?)",)),
                 id="spec-unknown-field"),
    pytest.param(ConfigCase("name: churn\nreal_source: {path: customers.csv}\n", "spec",
                            ("label_column: Field required",)), id="spec-missing-field"),
    pytest.param(ConfigCase(GOOD_SPEC.replace("{path: customers.csv}", "{}"), "spec",
                            ("real_source: set exactly one of 'path' (CSV/Parquet file) or 'loader'",)),
                 id="spec-source-without-path"),
    pytest.param(ConfigCase("name: churn\n  label_column: churned\n", "spec",
                            ("pipeline.yaml is not valid YAML", "line 2", "fix the syntax")), id="spec-yaml-syntax"),
]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_fails_clearly_and_leaves_nothing_behind(case, runner, tmp_path, monkeypatch, capsys):
    if isinstance(case, ConfigCase):
        _config_case(case, tmp_path, monkeypatch, capsys)
    elif isinstance(case, CheckCase):
        _check_case(case, runner, tmp_path)
    else:
        _data_case(case, runner, tmp_path, monkeypatch)


def test_missing_feature_values_are_handled_not_rejected(runner, tmp_path):
    """NaN / empty cells in feature columns are data, not errors: every stage handles them."""
    frame = good_frame()
    frame["a"] = frame["a"].mask(frame.index % 5 == 0)
    frame["c"] = frame["c"].mask(frame.index % 7 == 0)
    pipeline = _pipeline(csv(frame)(_inputs(tmp_path)))
    run = _run(runner, pipeline, 1, policy=SynthPolicy(min_holdout_rows=1, min_tstr_trtr_ratio=0.0))
    assert run.success, why(run)
    stored = runner.read(pipeline, Stage.REAL_SOURCE)
    assert (int(stored["a"].isna().sum()), int(stored["c"].isna().sum())) == (8, 6)


def test_the_same_file_again_is_not_schema_drift(runner, tmp_path, monkeypatch):
    """A CSV column of booleans with empty cells reads as text and is stored as bool: still the same schema."""
    frame = good_frame()
    frame["flag"] = pd.Series([True, False, None] * (len(frame) // 3) + [True] * (len(frame) % 3), dtype=object)
    inputs = _inputs(tmp_path)
    source = csv(frame)(inputs)
    pipeline = _pipeline(source)
    assert _run(runner, pipeline, 1, stages=[Stage.REAL_SOURCE]).success
    monkeypatch.setenv(INPUT_DIRS_ENV, str(inputs))
    run = _run(runner, pipeline, 2, stages=[Stage.REAL_SOURCE], stage_config={Stage.REAL_SOURCE: {"path": source.path}})
    assert run.success, why(run)


# -- how each kind of case is run and checked ------------------------------------------------------------


def _inputs(tmp_path: Path) -> Path:
    directory = tmp_path / "input"
    directory.mkdir(exist_ok=True)
    return directory


def _pipeline(real: SourceSpec, unknown: SourceSpec | None = None):
    return build_synth_pipeline(SynthPipelineSpec(
        name="bad", label_column="label", real_source=real, unknown_source=unknown, synthesizer=FAST_SYNTHESIZER,
    ))


def _run(runner, pipeline, generation: int, *, stages=None, stage_config=None, policy=POLICY):
    defs = pipeline.to_definitions(data_dir=str(runner.data_dir), policy=policy, include_quality_checks=False)
    [run] = run_generations(defs, pipeline=pipeline.name, generations=[generation], instance=runner.instance,
                            stages=stages, stage_config=stage_config)
    return run


def _files(directory: Path) -> dict[str, tuple[int, int]]:
    """Every stored file (not the lineage journal, not the run lock) with its size and modification time."""
    if not directory.exists():
        return {}
    return {str(p.relative_to(directory)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in directory.rglob("*") if p.is_file() and "lineage" not in p.relative_to(directory).parts
            and p.name not in (LOCK_NAME, INFO_NAME)}


def _data_case(case: DataCase, runner, tmp_path: Path, monkeypatch) -> None:
    inputs = _inputs(tmp_path)
    monkeypatch.syspath_prepend(str(inputs))  # for the loader cases
    bad = case.write(inputs)
    good = csv(good_frame, "good.csv")(inputs)
    stage_config, stages, generation = None, None, 1
    if case.via == "spec":
        pipeline, failing = _pipeline(bad), Stage.REAL_SOURCE
    elif case.via == "unknown":
        pipeline, failing, stages = _pipeline(good, unknown=bad), Stage.UNKNOWN, [Stage.UNKNOWN]
    else:  # generation 1 on good data, then a bad file given at launch for generation 2
        pipeline, failing, generation = _pipeline(good), Stage.REAL_SOURCE, 2
        assert _run(runner, pipeline, 1, stages=[Stage.REAL_SOURCE]).success
        stage_config = {Stage.REAL_SOURCE: {"path": bad.path}}
        monkeypatch.setenv(INPUT_DIRS_ENV, str(inputs))  # launch config may read from the input directory
    stored_before = _files(runner.data_dir)

    run = _run(runner, pipeline, generation, stages=stages, stage_config=stage_config)

    assert not run.success
    defs_stages = pipeline_stages(pipeline.to_definitions(data_dir=str(runner.data_dir)), pipeline.name)
    [(step, message)] = run.failures  # one step failed: the one reading the input, first in the run
    assert step == defs_stages[failing][1], message
    assert message.startswith(f"{case.error.__module__}.{case.error.__name__}: "), message
    for fragment in case.expect:
        assert fragment in message, f"{fragment!r} not in: {message}"
    assert SENTINEL not in message, f"a row value leaked into the message: {message}"
    # nothing half-written: no stage materialized, no stored file added or changed, no temporary file
    assert run.stages == [] and run.checks == []
    assert _files(runner.data_dir) == stored_before
    assert list(runner.data_dir.rglob(".*.tmp")) == []
    # the failure is in the lineage store, and nothing the run did not finish
    failed, produced = failures_and_versions(runner.data_dir, run.run_id)
    assert [job for job, _ in failed] == [pipeline.key(failing).to_user_string()]
    assert case.expect[0] in failed[0][1]
    assert produced == []


def _check_case(case: CheckCase, runner, tmp_path: Path) -> None:
    pipeline = _pipeline(case.write(_inputs(tmp_path)))
    run = _run(runner, pipeline, 1, policy=SynthPolicy(min_tstr_trtr_ratio=0.0))  # default min_holdout_rows: 100
    assert not run.success
    assert check_failures(run) == [case.line], why(run)
    assert run.failures == []  # no step errors: the check says why
    materialized = {record.stage for record in run.stages}
    assert case.stage in materialized and not materialized & set(case.not_materialized), materialized
    for stage in case.not_materialized:
        assert not runner.store.exists(pipeline.key(stage), "1")
    assert case.check in runner.store.quarantine_reasons(pipeline.key(case.stage))
    assert list(runner.data_dir.rglob(".*.tmp")) == []
    failed, produced = failures_and_versions(runner.data_dir, run.run_id)
    assert [job for job, _ in failed] == [f"{pipeline.key(case.stage).to_user_string()}:{case.check}"]
    assert not {pipeline.key(stage).to_user_string() for stage in case.not_materialized} & set(produced)


def _config_case(case: ConfigCase, tmp_path: Path, monkeypatch, capsys) -> None:
    data_dir = tmp_path / "data"
    path = tmp_path / ("pipeline.yaml" if case.entry == "spec" else "policy.yaml")
    if case.text is not None:
        path.write_text(case.text)
    if case.entry == "cli":
        monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
        monkeypatch.setenv(DATA_DIR_ENV, str(data_dir))
        monkeypatch.chdir(PROJECT)
        assert main(["run", "--policy", str(path), "--data-dir", str(data_dir)]) == 2
        message = capsys.readouterr().err
    else:
        load = SynthPolicy.from_yaml if case.entry == "policy" else load_spec
        with pytest.raises(SynthPipelineError) as raised:
            load(path)
        message = str(raised.value)
    for fragment in case.expect:
        assert fragment in message, f"{fragment!r} not in: {message}"
    assert not data_dir.exists()

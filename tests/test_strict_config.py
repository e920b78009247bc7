"""Policy, spec and suite files are hostile input: strict YAML/JSON, strict types, bounded work and messages.

Each case goes through the entry point a user hits: ``SynthPolicy.from_yaml``, ``load_spec``,
``synth-pipeline run --policy FILE`` (exit 2 before any run starts), a Dagster run's config,
or ``load_suite``. Every message must name the problem and the fix and stay short, however
large the input (the YAML alias bomb once produced a 312 MB message after 36 s).
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
from pydantic import ValidationError

from conftest import fast_spec
from synth_pipeline import (
    SourceSpec,
    SynthPipelineError,
    SynthPipelineSpec,
    SynthPolicy,
    build_synth_pipeline,
    load_spec,
)
from synth_pipeline.cli import main
from synth_pipeline.config_text import cut, show_value
from synth_pipeline.errors import ConfigFileError, ConfigValueError
from synth_pipeline.naming import Stage
from synth_pipeline.quality.expectations import load_suite

PROJECT = Path(__file__).resolve().parents[1]
MAX_MESSAGE = 2_000
SPEC = "name: churn\nlabel_column: churned\nreal_source: {path: customers.csv}\n"

# Nine levels of nine aliases: 9**9 (387 million) "lol"s once expanded.
BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]\n"
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True)
) + "max_depth: *i\n"


@dataclass(frozen=True)
class Case:
    """A bad file, the entry point that reads it, and what its message must say."""

    text: str | bytes
    entry: str  # "policy", "spec" or "cli"
    expect: tuple[str, ...]
    error: type[SynthPipelineError] = ConfigFileError


def _unknown_keys(count: int) -> str:
    return "".join(f"unknown_key_{index:06d}: 1\n" for index in range(count))


CASES = [
    # 5: YAML features that let a small file cost gigabytes, and their siblings
    pytest.param(Case(BOMB, "policy", ("policy.yaml, line 1, column 4", "anchors and aliases (&a) are not allowed",
                                       "write each value out in full")), id="alias-bomb-policy"),
    pytest.param(Case(SPEC + BOMB.replace("max_depth", "seed"), "spec", ("pipeline.yaml, line 4",
                                                                         "anchors and aliases")), id="alias-bomb-spec"),
    pytest.param(Case(BOMB, "cli", ("synth-pipeline: error: policy file", "anchors and aliases")),
                 id="alias-bomb-cli"),
    pytest.param(Case("depth: &d 3\nmax_depth: *d\n", "policy", ("line 1, column 8", "(&d) are not allowed")),
                 id="single-anchor"),
    pytest.param(Case("<<: {max_depth: 100}\nmax_depth: 3\n", "policy", ("line 1", "merge keys (<<) are not allowed",
                                                                         "write the fields out")), id="merge-key"),
    pytest.param(Case("label_column: " + "x" * 60_000 + "\n", "policy",
                      ("line 1, column 15", "a value or key of 60,000 characters is over the limit of 4,096",
                       "shorten it")), id="very-long-value"),
    pytest.param(Case("x" * 5_000 + ": 1\n", "policy", ("a value or key of 5,000 characters",)), id="very-long-key"),
    pytest.param(Case("max_depth: " + "[" * 5_000 + "]" * 5_000 + "\n", "policy",
                      ("line 1", "nested more than 20 levels deep", "flatten")), id="deep-nesting"),
    pytest.param(Case("max_depth: 2\n---\nmax_depth: 100\n", "policy",
                      ("line 2, column 1", "a second YAML document", "remove the '---' line")), id="two-documents"),
    pytest.param(Case("- max_depth: 2\n", "policy", ("must hold a mapping of field: value", "not a list"),),
                 id="top-level-list"),
    pytest.param(Case("just some text\n", "spec", ("must hold a mapping of field: value", "not a str")),
                 id="top-level-scalar"),
    pytest.param(Case(_unknown_keys(200_000), "policy", ("is 4,400,000 bytes, over the limit of 65,536 bytes",
                                                         "shorten it")), id="huge-file"),
    pytest.param(Case(_unknown_keys(200_000), "cli", ("4,400,000 bytes",)), id="huge-file-cli"),
    pytest.param(Case(b"max_depth: 3\nlabel: caf\xe9\n", "policy", ("line 2: byte 0xe9 is not UTF-8",
                                                                   "save the file as UTF-8")), id="latin-1"),
    pytest.param(Case("max_depth: 3\n".encode("utf-16"), "spec", ("is not UTF-8",)), id="utf-16"),
    pytest.param(Case("max_depth: 3\x00\n", "policy", ("character U+0000 at line 1 is not allowed",)),
                 id="control-character"),
    pytest.param(Case("label_column: !!binary aGVsbG8=\n", "policy", ("the YAML tag !!binary is not allowed",)),
                 id="exotic-tag"),
    pytest.param(Case("max_depth: !!python/object:os.system ls\n", "policy",
                      ("the YAML tag !!python/object:os.system is not allowed",)), id="python-tag"),
    pytest.param(Case("max_depth: !!int abc\n", "policy", ("the YAML tag !!int is not allowed",)),
                 id="explicit-int-tag"),
    pytest.param(Case("max_depth: " + "9" * 40 + "\n", "policy", ("an integer of 40 digits",)), id="huge-integer"),
    pytest.param(Case("max_depth: 010\n", "policy", ("leading zero, which YAML 1.1 reads as octal (010 would be 8)",
                                                     "write 10")), id="octal-leading-zero"),
    pytest.param(Case("max_depth: 2\nmax_synthetic_fraction: [0.3\n", "cli",
                      ("is not valid YAML", "at line 3, column 1", "fix the syntax")), id="syntax-error-cli"),
    # 6: duplicate keys, at any level, naming both lines
    pytest.param(Case("max_depth: 3\nmax_synthetic_fraction: 0.3\nmax_depth: 100\n", "policy",
                      ("line 3, column 1", "the key 'max_depth' is given twice, at lines 1 and 3", "keep one")),
                 id="duplicate-key"),
    pytest.param(Case("max_depth: 3\nmax_depth: 100\n", "cli", ("given twice, at lines 1 and 2",)),
                 id="duplicate-key-cli"),
    pytest.param(Case('max_depth: 3\n"max_depth": 100\n', "policy", ("given twice, at lines 1 and 2",)),
                 id="duplicate-key-quoted"),
    pytest.param(Case(SPEC + "synthesizer:\n  method: ctgan\n  params: {epochs: 5}\n  method: tvae\n", "spec",
                      ("line 7", "the key 'synthesizer.method' is given twice, at lines 5 and 7",)),
                 id="duplicate-nested-key"),
    pytest.param(Case(SPEC + "synthesizer: {params: {epochs: 5, epochs: 500}}\n", "spec",
                      ("'synthesizer.params.epochs' is given twice, on line 4 (columns 24 and 35)",)),
                 id="duplicate-key-in-params"),
    pytest.param(Case("yes: 1\n", "policy", ("the key yes is not a field name (YAML reads it as a boolean)",
                                             "quote the key")), id="boolean-key"),
    pytest.param(Case("3: 1\n", "policy", ("the key 3 is not a field name (YAML reads it as a number)",)),
                 id="number-key"),
    # 6: strict types; YAML 1.1 booleans where a number or text is expected
    pytest.param(Case("max_depth: true\n", "policy",
                      ("line 1: max_depth: Input should be a valid integer (got True)", "a boolean",
                       "write a whole number"), ConfigValueError), id="bool-for-int"),
    pytest.param(Case("max_depth: true\n", "cli", ("synth-pipeline: error: invalid policy file",
                                                   "max_depth: Input should be a valid integer")),
                 id="bool-for-int-cli"),
    pytest.param(Case("max_synthetic_fraction: yes\n", "policy",
                      ("max_synthetic_fraction: Input should be a valid number (got yes)",
                       "YAML reads unquoted true/false/yes/no/on/off as booleans"), ConfigValueError),
                 id="yes-for-float"),
    pytest.param(Case(SPEC.replace("churned", "no"), "spec",
                      ("line 2: label_column: Input should be a valid string (got no)", "quote it ('no')"),
                      ConfigValueError), id="no-for-text"),
    pytest.param(Case(SPEC + "seed: on\n", "spec", ("line 4: seed: Input should be a valid integer (got on)",),
                      ConfigValueError), id="on-for-int"),
    pytest.param(Case(SPEC + "synthesizer: {method: off}\n", "spec",
                      ("synthesizer.method: Input should be a valid string (got off), a boolean (YAML reads unquoted "
                       "true/false/yes/no/on/off as booleans), not text: quote it ('off')",),
                      ConfigValueError), id="off-for-choice"),
    pytest.param(Case('max_synthetic_fraction: "0.3"\n', "policy",
                      ("max_synthetic_fraction: Input should be a valid number (got '0.3')",
                       "write the number without quotes"), ConfigValueError), id="quoted-number"),
    pytest.param(Case('unknown_counts_as_synthetic: "no"\n', "policy",
                      ("unknown_counts_as_synthetic: Input should be a valid boolean (got 'no')", "true or false"),
                      ConfigValueError), id="quoted-no-for-bool"),
    pytest.param(Case("augmented_counts_as_synthetic: 1\n", "policy",
                      ("Input should be a valid boolean (got 1)",), ConfigValueError), id="number-for-bool"),
    pytest.param(Case("max_depth: 3.0\n", "policy", ("Input should be a valid integer (got 3.0)",
                                                     "write a whole number"), ConfigValueError), id="float-for-int"),
    pytest.param(Case(SPEC.replace("churned", "123"), "spec", ("label_column: Input should be a valid string (got 123)",
                                                               "quote the value"), ConfigValueError),
                 id="number-for-text"),
    pytest.param(Case("max_depth: 1:30\n", "policy", ("max_depth: Input should be a valid integer (got '1:30')",),
                      ConfigValueError), id="sexagesimal-stays-text"),
    pytest.param(Case(SPEC + "identifier_columns: [customer_id, no]\n", "spec",
                      ("line 4: identifier_columns.1: Input should be a valid string (got no)", "quote it ('no')"),
                      ConfigValueError), id="no-in-list-of-text"),
    pytest.param(Case(SPEC.replace("customers.csv", "[a.csv]"), "spec",
                      ("real_source.path: Input should be a valid string (got ['a.csv'])",), ConfigValueError),
                 id="list-for-text"),
    # 6: upper bounds
    pytest.param(Case("max_depth: 1.0e+32\n", "policy", ("max_depth: Input should be a valid integer (got 1e+32)",),
                      ConfigValueError), id="huge-float-for-int"),
    pytest.param(Case("max_depth: 1001\n", "policy", ("max_depth: Input should be less than or equal to 1000 "
                                                      "(got 1001)",), ConfigValueError), id="max-depth-bound"),
    pytest.param(Case("minority_imbalance_ratio: 1e32\n", "policy",
                      ("minority_imbalance_ratio: Input should be less than or equal to 1000 (got 1e+32)",),
                      ConfigValueError), id="ratio-bound"),
    pytest.param(Case("min_holdout_rows: 10_000_000_000\n", "policy",
                      ("min_holdout_rows: Input should be less than or equal to 1000000000",), ConfigValueError),
                 id="rows-bound"),
    pytest.param(Case("min_variance_ratio: 2\nmax_tail_coverage: 1000\n", "policy",
                      ("line 1: min_variance_ratio: Input should be less than or equal to 1 (got 2)",
                       "line 2: max_tail_coverage: Input should be less than or equal to 100"), ConfigValueError),
                 id="spread-bounds"),
    pytest.param(Case("min_tstr_trtr_ratio: 11\n", "policy", ("less than or equal to 10",), ConfigValueError),
                 id="score-ratio-bound"),
    pytest.param(Case("minority_imbalance_ratio: .inf\nmax_synthetic_fraction: .nan\n", "policy",
                      ("minority_imbalance_ratio: Input should be a finite number (got inf)",
                       "max_synthetic_fraction: Input should be a finite number (got nan)"), ConfigValueError),
                 id="infinity-and-nan"),
    pytest.param(Case(SPEC + "synthesizer: {rows_per_real_row: 1e9, num_rows: 1_000_000_000_000}\n"
                      "augmentation: {k_neighbors: 5000}\nmix: {real_arrival_batches: 10_000_000}\n", "spec",
                      ("synthesizer.rows_per_real_row: Input should be less than or equal to 1000",
                       "synthesizer.num_rows: Input should be less than or equal to 1000000000",
                       "augmentation.k_neighbors: Input should be less than or equal to 1000",
                       "mix.real_arrival_batches: Input should be less than or equal to 1000000"), ConfigValueError),
                 id="spec-bounds"),
    # 7: unknown keys: bounded work, bounded message
    pytest.param(Case(_unknown_keys(2_000), "policy",
                      ("line 1: unknown_key_000000: unknown field", "line 5: unknown_key_000004: unknown field",
                       "and 1,995 more unknown fields"), ConfigValueError), id="many-unknown-keys"),
    pytest.param(Case(_unknown_keys(2_000), "cli", ("and 1,995 more unknown fields",)), id="many-unknown-keys-cli"),
    pytest.param(Case("max_dept: 1\nmax_synthetic_fractoin: 0.2\n", "policy",
                      ("line 1: max_dept: unknown field (did you mean 'max_depth'?)",
                       "line 2: max_synthetic_fractoin: unknown field (did you mean 'max_synthetic_fraction'?)"),
                      ConfigValueError), id="typos-suggest"),
    pytest.param(Case("k" * 1_000 + ": 1\n", "policy", ("... (1,000 characters): unknown field",), ConfigValueError),
                 id="long-unknown-key"),
    pytest.param(Case("name: " + "x-" * 2_000 + "\nlabel_column: y\nreal_source: {loader: " + "a;" * 2_000 + "}\n",
                      "spec", ("name: String should match pattern", "... (4,000 characters)",
                               "loader must look like 'package.module:function'"), ConfigValueError),
                 id="long-invalid-values"),
    pytest.param(Case("".join(f"{field}: true\n" for field in ("max_depth", "min_holdout_rows", "max_dcr_share",
                                                                "min_quality_score", "trend_tolerance", "seed",
                                                                "max_membership_auc")), "policy",
                      ("line 5: trend_tolerance", "and 1 more unknown field", "and 1 more problem"),
                      ConfigValueError), id="many-problems"),
]


def _write(tmp_path: Path, case: Case) -> Path:
    path = tmp_path / ("pipeline.yaml" if case.entry == "spec" else "policy.yaml")
    if isinstance(case.text, bytes):
        path.write_bytes(case.text)
    else:
        path.write_text(case.text)
    return path


def _cli_message(path: Path, tmp_path: Path, monkeypatch, capsys) -> str:
    data_dir = tmp_path / "data"
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(PROJECT)
    assert main(["run", "--policy", str(path), "--data-dir", str(data_dir)]) == 2
    assert not data_dir.exists() and not (tmp_path / "home").exists()  # nothing ran
    return capsys.readouterr().err


@pytest.mark.parametrize("case", CASES)
def test_bad_config_file_is_refused_clearly_and_briefly(case, tmp_path, monkeypatch, capsys):
    path = _write(tmp_path, case)
    if case.entry == "cli":
        message = _cli_message(path, tmp_path, monkeypatch, capsys)
    else:
        load = SynthPolicy.from_yaml if case.entry == "policy" else load_spec
        with pytest.raises(case.error) as raised:
            load(path)
        message = str(raised.value)
    for fragment in case.expect:
        assert fragment in message, f"{fragment!r} not in: {message}"
    assert str(path) in message
    assert len(message) < MAX_MESSAGE, f"{len(message)} characters: {message[:300]}"


def test_paths_that_are_not_readable_files_are_refused(tmp_path):
    """A directory, a named pipe (reading would block forever), a missing or unreadable file."""
    fifo = tmp_path / "policy.fifo"
    os.mkfifo(fifo)
    unreadable = tmp_path / "secret.yaml"
    unreadable.write_text("max_depth: 2\n")
    unreadable.chmod(0)
    cases = [(tmp_path, "is a directory"), (fifo, "is not a regular file"), (tmp_path / "nope.yaml", "not found")]
    if os.geteuid() != 0:  # root reads files whatever their mode
        cases.append((unreadable, "cannot be read (Permission denied)"))
    for path, expect in cases:
        for load in (SynthPolicy.from_yaml, load_spec):
            with pytest.raises(ConfigFileError, match=re.escape(expect)):
                load(path)


def test_alias_bomb_through_the_console_script_exits_2(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text(BOMB)
    result = subprocess.run(
        [sys.executable, "-m", "synth_pipeline.cli", "run", "--policy", str(path), "--data-dir",
         str(tmp_path / "data")],
        capture_output=True, text=True, cwd=PROJECT, env={**os.environ, "DAGSTER_HOME": str(tmp_path / "home")},
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "anchors and aliases (&a) are not allowed" in result.stderr
    assert len(result.stderr) < MAX_MESSAGE
    assert not (tmp_path / "data").exists()


def test_200000_unknown_keys_in_python_are_counted_not_listed():
    with pytest.raises(ConfigValueError) as raised:
        SynthPolicy.from_mapping({f"unknown_key_{index:06d}": 1 for index in range(200_000)})
    message = str(raised.value)
    assert "unknown_key_000000: unknown field" in message and "unknown_key_000004: unknown field" in message
    assert "unknown_key_000005" not in message
    assert "and 199,995 more unknown fields" in message
    assert len(message) < MAX_MESSAGE


def test_strict_types_hold_in_python_too():
    with pytest.raises(ConfigValueError, match=r"max_depth: Input should be a valid integer \(got True\)"):
        SynthPolicy.from_mapping({"max_depth": True})
    with pytest.raises(ValidationError, match="valid number"):
        SynthPolicy(max_synthetic_fraction=True)
    with pytest.raises(ValidationError, match="valid integer"):
        SynthPipelineSpec(name="x", label_column="y", real_source=SourceSpec(path="a.csv"), seed=True)
    with pytest.raises(ValidationError, match="valid string"):
        SourceSpec(path=3)
    # an int is a fine float, and enum fields still take their values as text
    assert SynthPolicy(max_synthetic_fraction=1, max_holdout_near_copies=0).max_synthetic_fraction == 1.0
    spec = fast_spec(name="x", synthesizer={"method": "ctgan", "fit_on": "previous_mix"}, mix={"mode": "replace"})
    assert spec.synthesizer.method == "ctgan" and spec.mix.mode == "replace"


def test_what_users_write_still_loads(tmp_path):
    """YAML 1.2 numbers (1e-3), digit separators, yes/no for true/false, empty files, the reference policy."""
    path = tmp_path / "policy.yaml"
    path.write_text("# comment only\n")
    assert SynthPolicy.from_yaml(path).to_mapping() == SynthPolicy().to_mapping()
    path.write_text("trend_false_alarm_rate: 1e-3\nmin_holdout_rows: 1_000\nenforce_quality_on_augmented: yes\n"
                    "max_holdout_near_copies: 0\nmax_synthetic_fraction: 1\nmax_depth: 0x10\n")
    policy = SynthPolicy.from_yaml(path)
    assert policy.trend_false_alarm_rate == 0.001 and policy.min_holdout_rows == 1000
    assert policy.enforce_quality_on_augmented is True and policy.max_depth == 16
    path.write_bytes(b"\xef\xbb\xbfmax_depth: 2\n")  # a UTF-8 byte-order mark
    assert SynthPolicy.from_yaml(path).max_depth == 2
    assert SynthPolicy.from_yaml(PROJECT / "checks" / "policy.yaml").to_mapping() == SynthPolicy().to_mapping()
    spec_path = tmp_path / "pipeline.yaml"
    spec_path.write_text(
        "name: churn  # asset key prefix\nlabel_column: churned\nreal_source: {path: data/customers.parquet}\n"
        "unknown_source:\n  path: data/vendor_drop.csv\n  format: csv\nholdout_fraction: 0.25\nseed: 7\n"
        "synthesizer:\n  method: ctgan\n  params: {epochs: 100, verbose: no}\n  rows_per_real_row: 1\n"
        "augmentation: null\nmix: {mode: replace, real_arrival_batches: 4, include_unknown: off}\n"
        "model: {factory: !!str 'synth_pipeline.modeling:default_classifier'}\n"
    )
    spec = load_spec(spec_path)
    assert spec.synthesizer.params == {"epochs": 100, "verbose": False} and spec.augmentation is None
    assert spec.mix.real_arrival_batches == 4 and spec.synthesizer.rows_per_real_row == 1.0
    for suite in (PROJECT / "checks" / "expectations").glob("*.json"):
        assert load_suite(suite)["expectations"]


@dg.asset
def _uses_policy(strict_policy: SynthPolicy) -> float:
    return strict_policy.max_synthetic_fraction


def _launch(config: dict) -> tuple[bool, str]:
    result = dg.materialize([_uses_policy], resources={"strict_policy": SynthPolicy()}, raise_on_error=False,
                            run_config={"resources": {"strict_policy": {"config": config}}})
    messages = []
    for event in result.all_events:
        error = getattr(event.event_specific_data, "error", None)
        while error is not None:
            messages.append(error.message)
            error = error.cause
    return result.success, "\n".join(messages)


def test_policy_run_config_is_as_strict_as_a_file():
    """Dagster's Float takes `true` and makes it 1.0; the policy resource refuses it, as a file would."""
    success, message = _launch({"max_synthetic_fraction": True})
    assert not success
    assert ("invalid run config (resources: strict_policy: config): max_synthetic_fraction: Input should be a "
            "valid number (got True)") in message
    success, message = _launch({"max_depth": 5_000})
    assert not success and "less than or equal to 1000" in message
    success, _ = _launch({"max_synthetic_fraction": 1, "max_depth": 2})  # an int is a fine float
    assert success


def test_synthetic_stage_run_config_is_strict(runner):
    pipeline = build_synth_pipeline(fast_spec(name="strict_cfg", unknown_source=None, augmentation=None))
    [run] = runner.run(pipeline, [1], stage_config={Stage.SYNTHETIC: {"rows_per_real_row": True}})
    assert not run.success
    [(step, message)] = run.failures
    assert "synthetic" in step
    assert "rows_per_real_row: Input should be a valid number (got True)" in message, message


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        pytest.param('{"name": "s",\n "expectations": [\n  {"type": "e", "kwargs": {"column": "a", "column": "b"}}]}',
                     "the key 'column' is given twice in the object starting at line 3", id="duplicate-key"),
        pytest.param('{"name": "s", "expectations": [{"type": "e", "kwargs": {"max_value": NaN}}]}',
                     "the constant NaN is not allowed", id="nan"),
        pytest.param('{"name": "s", "expectations": [], "meta": {"n": ' + "9" * 5_000 + "}}",
                     "a number of 5,000 characters is over the limit of 100", id="huge-number"),
        pytest.param('{"name": "s", "expectations": ' + "[" * 100_000 + "]" * 100_000 + "}",
                     "nests lists and objects too deeply", id="deep-nesting"),
        pytest.param('{"name": "s", "expectations": [{"type": "x' + "x" * 3_000_000 + '", "kwargs": []}]}',
                     "has 'kwargs' that is not an object", id="long-value"),
        pytest.param('{"name": "s", "expectations": [' + '{"type": "e"}, ' * 300_000 + "]}",
                     "over the limit of 4,194,304 bytes", id="huge-file"),
        pytest.param(b'{"name": "caf\xe9", "expectations": []}', "line 1: byte 0xe9 is not UTF-8", id="latin-1"),
    ],
)
def test_bad_expectation_suite_is_refused_clearly_and_briefly(tmp_path, text, expect):
    path = tmp_path / "synthetic.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(SynthPipelineError) as raised:
        load_suite(path)
    message = str(raised.value)
    assert expect in message and str(path) in message, message[:500]
    assert len(message) < MAX_MESSAGE


_FUZZ_TOKENS = [
    "max_depth", "seed", "name", "label_column", "real_source", "path", "synthesizer", "params", ":", ": ", "\n",
    "  ", "- ", "[", "]", "{", "}", ",", "&a", "*a", "!!str", "!!int", "!!bool", "!!binary", "? ", "<<", "---",
    "'", '"', "#", "|", "yes", "no", "~", ".inf", ".nan", "1e5", "0x1F", "010", "1:30", "1_000", "3.5", "\t",
    "%YAML 1.1\n", "!x", "2024-01-01", "\x00", "\ufeff", "\u2028", "9" * 50,
]


def test_random_yaml_only_ever_raises_our_errors(tmp_path):
    """300 deterministic token soups: every outcome is a policy/spec or a short SynthPipelineError, never a crash."""
    rng = random.Random(0)
    path = tmp_path / "soup.yaml"
    for _ in range(300):
        path.write_text("".join(rng.choice(_FUZZ_TOKENS) for _ in range(rng.randint(1, 25))))
        for load in (SynthPolicy.from_yaml, load_spec):
            try:
                load(path)
            except SynthPipelineError as error:
                assert len(str(error)) < MAX_MESSAGE


def test_messages_cut_long_values_and_say_how_long_they_were():
    assert cut("abc" * 100, 10) == "abcabcabca... (300 characters)"
    assert show_value("y" * 70_000).endswith("... (70,000 characters)")
    assert show_value(list(range(9_000))) == "[0, 1, 2, 3, ...] (9,000 items)"
    assert len(show_value({str(i): [i] * 1000 for i in range(1000)})) < 200
    assert show_value(True) == "True"


def test_python_callers_may_pass_paths_and_numpy_scalars_but_not_numpy_booleans_for_numbers():
    """Strictness is against YAML's coercions; a Path or numpy.int64 from Python means what it says."""
    import numpy as np

    assert SourceSpec(path=Path("data/x.csv")).path == "data/x.csv"
    assert SynthPolicy(min_holdout_rows=np.int64(5)).min_holdout_rows == 5
    assert SynthPolicy(max_synthetic_fraction=np.float64(0.3)).max_synthetic_fraction == 0.3
    with pytest.raises(ValidationError):
        SynthPolicy(max_depth=np.bool_(True))

"""Security basics: no raw row values in logs, events or reports unless the user asks for them."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from dagster._serdes import serialize_value

from conftest import FAST_SYNTHESIZER, free_port
from synth_pipeline import SourceSpec, SynthPipelineSpec, build_synth_pipeline
from synth_pipeline.checks.provenance_checks import DATA_STAGES
from synth_pipeline.config_paths import INPUT_DIRS_ENV
from synth_pipeline.datasets import breast_cancer
from synth_pipeline.lineage.store import LineageStore
from synth_pipeline.naming import Stage
from synth_pipeline.quality.expectations import write_suites
from synth_pipeline.reporting import check_failures, generation_summary, markdown_summary
from synth_pipeline.runner import run_generations

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SENTINEL = "QZX"
"""Every text value of the test data starts with this; no log, event or report may contain it."""


def _data() -> pd.DataFrame:
    frame = breast_cancer()
    frame["site"] = [f"{SENTINEL}-site-{i % 5}" for i in range(len(frame))]  # categorical values
    frame["note"] = [f"{SENTINEL}-note-{i}" for i in range(len(frame))]  # one free-text value per row
    return frame


def _spec(name: str, source: Path) -> SynthPipelineSpec:
    return SynthPipelineSpec(name=name, label_column="target", real_source=SourceSpec(path=str(source)),
                             synthesizer=FAST_SYNTHESIZER)


def _recorded_text(instance: dg.DagsterInstance, run_ids: list[str], data_dir: Path) -> dict[str, str]:
    """Everything the runs logged, emitted or reported, as text per place."""
    places = {f"Dagster event log of run {run_id}": "\n".join(serialize_value(event)
                                                             for event in instance.all_logs(run_id))
              for run_id in run_ids}
    journal = data_dir / "lineage" / "events"
    places["OpenLineage journal"] = "\n".join(path.read_text() for path in sorted(journal.rglob("*")) if path.is_file())
    with LineageStore(data_dir).connect() as connection:
        tables = [row[0] for row in connection.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        places["lineage store"] = "\n".join(connection.sql(f'FROM "{table}"').df().to_csv() for table in tables)
    # the plots' base64 PNG data can hold any three letters by chance: searched are the pages' texts
    places["reports"] = "\n".join(re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", path.read_text())
                                  for path in sorted(data_dir.rglob("*.html")))
    monitors = sorted((data_dir / "_monitors").rglob("*.parquet"))
    places["quality monitors"] = "\n".join(pd.read_parquet(path).to_csv() for path in monitors)
    return places


def test_no_row_values_in_logs_events_or_reports(tmp_path):
    source = tmp_path / "patients.parquet"
    _data().to_parquet(source)
    data_dir = tmp_path / "data"
    pipeline = build_synth_pipeline(_spec("sec", source))
    suites = tmp_path / "suites"
    write_suites(_data(), stages=[s for s in DATA_STAGES if s in pipeline.stages], directory=suites,
                 pipeline_name=pipeline.name, label_column="target")
    defs = pipeline.to_definitions(data_dir=str(data_dir), expectation_suites=suites)
    instance = dg.DagsterInstance.ephemeral()

    [run] = run_generations(defs, pipeline=pipeline.name, generations=[1], instance=instance)

    assert run.success, check_failures(run) + [message for _, message in run.failures]
    assert {record.stage for record in run.stages} >= {Stage.SYNTHETIC, Stage.EVALUATION}
    synthetic = pd.read_parquet(data_dir / "sec" / "synthetic" / "1.parquet")
    assert synthetic["site"].str.startswith(SENTINEL).all()  # the values are in the data itself
    places = _recorded_text(instance, [run.run_id], data_dir)
    places["CLI summary"] = generation_summary(run) + markdown_summary(pipeline.name, run)
    assert all(places.values()), [place for place, text in places.items() if not text]
    leaks = {place: text[max(0, text.index(SENTINEL) - 80):text.index(SENTINEL) + 40]
             for place, text in places.items() if SENTINEL in text}
    assert not leaks, f"row values leaked: {json.dumps(leaks, indent=1)}"


@pytest.mark.parametrize("samples", [0, 3])
def test_failed_expectations_show_row_values_only_when_configured(tmp_path, samples):
    data = _data()
    source = tmp_path / "patients.parquet"
    data.assign(site=data["site"].where(data.index % 50 != 0, f"{SENTINEL}-intruder")).to_parquet(source)
    data_dir = tmp_path / "data"
    pipeline = build_synth_pipeline(_spec("sec_gx", source))
    suites = tmp_path / "suites"
    write_suites(data, stages=[Stage.REAL_SOURCE], directory=suites, pipeline_name=pipeline.name,
                 label_column="target")
    defs = pipeline.to_definitions(data_dir=str(data_dir), expectation_suites=suites, include_quality_checks=False,
                                   unexpected_value_samples=samples)
    instance = dg.DagsterInstance.ephemeral()

    [run] = run_generations(defs, pipeline=pipeline.name, generations=[1], instance=instance,
                            stages=[Stage.REAL_SOURCE])

    failure = run.check("expectations")
    assert not failure.passed
    [in_set] = [f for f in failure.metadata["failures"] if f["expectation"] == "expect_column_values_to_be_in_set"]
    assert in_set["column"] == "site" and in_set["unexpected_count"] == 12
    places = _recorded_text(instance, [run.run_id], data_dir)
    if samples:  # what the user configured, and only in Dagster's record of the check
        assert in_set["partial_unexpected_list"] == [f"{SENTINEL}-intruder"] * samples
        assert [place for place, text in places.items() if SENTINEL in text] == [
            f"Dagster event log of run {run.run_id}"
        ]
    else:
        assert in_set["partial_unexpected_list"] == []
        assert not [place for place, text in places.items() if SENTINEL in text]


def _listening_addresses(port: int) -> set[str]:
    """Local addresses with a TCP socket listening on ``port`` (from /proc/net/tcp and tcp6)."""
    addresses = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, local_port = local.split(":")
            if state == "0A" and int(local_port, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(address)
                words = [raw[i:i + 4][::-1] for i in range(0, len(raw), 4)]  # little-endian 32-bit words
                addresses.add(str(ipaddress.ip_address(b"".join(words))))
    return addresses


@pytest.mark.slow
def test_make_ui_serves_on_loopback_only(tmp_path):
    port = free_port()
    env = {**os.environ, "SYNTH_PIPELINE_DATA_DIR": str(tmp_path / "data")}
    venv = Path(sys.prefix)
    # The running interpreter's environment; -o: do not reinstall it even if pyproject.toml is newer.
    command = ["make", "-o", str(venv / ".installed"), "ui", f"VENV={venv}", f"UI_PORT={port}",
               f"DAGSTER_HOME_DIR={tmp_path / 'home'}"]
    log = tmp_path / "ui.log"
    with open(log, "wb") as output:  # a file, not a pipe: an unread pipe would fill up and stall the server
        server = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not _listening_addresses(port):
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"nothing listens on port {port} after 120 s: {log.read_text()}"
            time.sleep(0.5)
        assert _listening_addresses(port) == {"127.0.0.1"}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _escapes(data_dir: Path, outside: Path) -> dict[str, str]:
    """Config paths that lead out of the data directory, each a different way."""
    (data_dir / "incoming").mkdir(parents=True)
    (data_dir / "incoming" / "link.csv").symlink_to(outside)
    return {
        "absolute path": str(outside),
        "parent steps": f"../{outside.name}",
        "parent steps after a subdirectory": f"incoming/../../{outside.name}",
        "symbolic link": "incoming/link.csv",
    }


def test_config_paths_cannot_escape_the_data_directory(tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    outside = tmp_path / "outside.csv"
    breast_cancer().to_csv(outside, index=False)
    pipeline = build_synth_pipeline(SynthPipelineSpec(
        name="confined", label_column="target", real_source=SourceSpec(loader="synth_pipeline.datasets:breast_cancer"),
        synthesizer=FAST_SYNTHESIZER))
    defs = pipeline.to_definitions(data_dir=str(data_dir), include_quality_checks=False)
    instance = dg.DagsterInstance.ephemeral()

    def launch(path: str):
        [run] = run_generations(defs, pipeline=pipeline.name, generations=[1], instance=instance,
                                stages=[Stage.REAL_SOURCE], stage_config={Stage.REAL_SOURCE: {"path": path}})
        return run

    for how, path in _escapes(data_dir, outside).items():
        run = launch(path)
        assert not run.success, how
        [(_, message)] = run.failures
        assert "ConfigPathError" in message and "outside the data directory" in message, (how, message)
        assert "SYNTH_PIPELINE_INPUT_DIRS" in message, message  # the fix
        assert not (data_dir / "confined" / "real_source.parquet").exists(), how

    (data_dir / "incoming" / "inside.csv").write_bytes(outside.read_bytes())
    assert launch("incoming/inside.csv").success  # relative to the data directory
    monkeypatch.setenv(INPUT_DIRS_ENV, str(tmp_path))
    assert launch(str(outside)).success  # a directory the user allowed

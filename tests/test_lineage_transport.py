"""The standard OpenLineage configuration sends events over HTTP too; the journal is always written."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import Runner, fast_spec, why
from lineage_helpers import event_problems, journal_events
from synth_pipeline import build_synth_pipeline
from synth_pipeline.lineage import emitter


class LineageServer(ThreadingHTTPServer):
    """A lineage endpoint on 127.0.0.1 that validates every event it receives."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[dict] = []
        self.problems: list[str] = []
        self.paths: set[str] = set()


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        body = self.rfile.read(int(self.headers["Content-Length"]))
        event = json.loads(body)
        self.server.paths.add(self.path)
        self.server.problems += event_problems(event)
        self.server.received.append(event)
        self.send_response(200 if not event_problems(event) else 400)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def lineage_server(monkeypatch):
    server = LineageServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "http")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__URL", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__ENDPOINT", "api/v1/lineage")
    emitter.configured_client.cache_clear()
    yield server
    server.shutdown()
    emitter.configured_client.cache_clear()


def test_http_transport_receives_every_event_and_each_is_schema_valid(runner: Runner, lineage_server):
    assert emitter.openlineage_configured()
    [run] = runner.run(build_synth_pipeline(fast_spec("http")), [1])
    assert run.success, why(run)
    journal = journal_events(runner.data_dir)
    assert len(lineage_server.received) == len(journal) > 40
    # The client may add facets of its own (tags, environment); the events are the same runs and states.
    assert sorted((e["run"]["runId"], e["eventType"]) for e in lineage_server.received) == sorted(
        (e["run"]["runId"], e["eventType"]) for e in journal
    )
    assert lineage_server.problems == []
    assert lineage_server.paths == {"/api/v1/lineage"}


def test_without_configuration_the_journal_is_the_only_destination(monkeypatch, tmp_path):
    for name in ("OPENLINEAGE_URL", "OPENLINEAGE_CONFIG", "OPENLINEAGE__TRANSPORT__TYPE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no openlineage.yml here
    monkeypatch.setenv("HOME", str(tmp_path))
    emitter.configured_client.cache_clear()
    assert not emitter.openlineage_configured()
    (tmp_path / "openlineage.yml").write_text("transport:\n  type: console\n")
    assert emitter.openlineage_configured()
    emitter.configured_client.cache_clear()

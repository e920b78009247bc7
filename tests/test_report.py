"""Generation reports: one self-contained HTML page per generation, its key plot in the UI metadata."""

from __future__ import annotations

import base64
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
from PIL import Image

from conftest import fast_spec, why
from synth_pipeline import MixSpec, Stage, build_synth_pipeline
from synth_pipeline.cli import main
from synth_pipeline.provenance import KIND_COLUMN
from synth_pipeline.report import report_path
from synth_pipeline.storage import DATA_DIR_ENV

PNG_URI = re.compile(r"^data:image/png;base64,([A-Za-z0-9+/=]+)$")
MARKDOWN_IMAGE = re.compile(r"^!\[[^\]]+\]\((data:image/png;base64,[A-Za-z0-9+/=]+)\)$")


class _Page(HTMLParser):
    """The images, links and tables (by id: rows of cell texts) of a report page."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.images: list[dict[str, str]] = []
        self.references: list[str] = []
        self.tags: set[str] = set()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: list[list[str]] | None = None
        self._cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.add(tag)
        self.references += [value for name, value in attrs if name in ("src", "href") and value]
        if tag == "img":
            self.images.append(attributes)
        elif tag == "table":
            self._table = self.tables.setdefault(attributes["id"], [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self._table[-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def column(self, table: str, header: str) -> list[str]:
        rows = self.tables[table]
        index = rows[0].index(header)
        return [row[index] for row in rows[1:]]


def _png(uri: str) -> Image.Image:
    match = PNG_URI.match(uri)
    assert match, uri[:80]
    image = Image.open(io.BytesIO(base64.b64decode(match[1])))
    image.load()
    assert image.format == "PNG" and image.width >= 400 and image.height >= 200
    return image


def _assert_self_contained(page: _Page, text: str) -> None:
    assert all(reference.startswith("data:image/png;base64,") for reference in page.references), page.references
    assert not page.tags & {"script", "link", "iframe", "object", "embed"}
    assert not re.search(r"https?://", text)
    assert "url(" not in text and "@import" not in text


def test_each_generation_writes_a_self_contained_report_with_the_figures_of_every_generation_so_far(runner):
    pipeline = build_synth_pipeline(fast_spec("rp", unknown_source=None, mix=MixSpec(real_arrival_batches=2)))
    runs = runner.run(pipeline, [1, 2], quality_checks=True)
    mixes = {g: runner.read(pipeline, Stage.TRAINING_MIX, g) for g in (1, 2)}
    evaluations = {g: runner.read(pipeline, Stage.EVALUATION, g).set_index("trained_on") for g in (1, 2)}
    for run in runs:
        g = run.generation
        assert run.success, why(run)
        path = report_path(runner.data_dir, "rp", g)
        assert path == runner.data_dir / "_reports" / "rp" / f"generation-{g}.html" and path.is_file()
        # the evaluation's materialization names the report and shows its key plot inline in the UI
        [evaluation] = [s for s in run.stages if s.stage == Stage.EVALUATION]
        assert Path(evaluation.metadata["report"]) == path
        markdown = MARKDOWN_IMAGE.match(evaluation.metadata["report_plot"])
        assert markdown, evaluation.metadata["report_plot"][:120]
        assert len(markdown[1]) < 40_000  # small enough for the event log

        text = path.read_text()
        page = _Page(text)
        _assert_self_contained(page, text)
        # one image per plot, each a decodable PNG; the key plot is the metadata's
        assert [image["data-plot"] for image in page.images] == ["key", "composition", "scores", "diversity",
                                                                 "privacy"]
        for image in page.images:
            _png(image["src"])
        assert page.images[0]["src"] == markdown[1]

        # the figures of generations 1..g, matching the stored files counted independently
        shown = range(1, g + 1)
        assert page.column("composition", "generation") == [str(h) for h in shown]
        assert page.column("composition", "rows") == [str(len(mixes[h])) for h in shown]
        assert page.column("composition", "synthetic fraction") == [
            f"{(mixes[h][KIND_COLUMN] == 'synthetic').mean():.3f}" for h in shown
        ]
        assert page.column("scores", "TSTR (train on synthetic)") == [
            f"{evaluations[h].at['synthetic_only', 'balanced_accuracy']:.3f}" for h in shown
        ]
        assert page.column("scores", "TRTR (train on real)") == [
            f"{evaluations[h].at['real_only', 'balanced_accuracy']:.3f}" for h in shown
        ]
        assert page.column("classes", "label value") == ["0", "1"]
        assert page.column("classes", "class #") == ["#1", "#2"]  # as the budget rules number them
        diversity = list(zip(page.column("diversity", "stage"), page.column("diversity", "generation"), strict=True))
        assert [("training_mix", str(h)) for h in shown] == [row for row in diversity if row[0] == "training_mix"]
        privacy = list(zip(page.column("privacy", "stage"), page.column("privacy", "generation"), strict=True))
        assert [("synthetic", str(h)) for h in shown] == [row for row in privacy if row[0] == "synthetic"]
        copies = [c for c in run.checks if c.name == "privacy" and c.asset_key == "rp/synthetic"][0]
        assert page.column("privacy", "DCR share")[privacy.index(("synthetic", str(g)))] == (
            f"{copies.metadata['dcr_share']:.3f}")


def test_without_quality_checks_the_report_says_so_and_can_be_rebuilt_from_the_stored_files(runner, monkeypatch):
    from multiprocess_job import pipelines  # replace mode, no augmentation, no quality checks

    pipeline = pipelines[0]
    runs = runner.run(pipeline, [1, 2])
    assert all(run.success for run in runs), why(runs[-1])
    written = report_path(runner.data_dir, pipeline.name, 2)
    page = _Page(written.read_text())
    assert [image["data-plot"] for image in page.images] == ["key", "composition", "scores"]
    assert "No diversity figures are stored" in written.read_text()
    assert "No privacy figures are stored" in written.read_text()

    # `synth-pipeline report` rebuilds it from the stored files alone, with the same figures
    monkeypatch.setenv(DATA_DIR_ENV, str(runner.data_dir))
    out = runner.data_dir / "rebuilt.html"
    assert main(["report", "-m", "multiprocess_job", "--pipeline", pipeline.name, "--out", str(out)]) == 0
    rebuilt = _Page(out.read_text())
    for table in ("composition", "classes", "scores"):
        assert rebuilt.tables[table] == page.tables[table], table
    assert [image["data-plot"] for image in rebuilt.images] == ["key", "composition", "scores"]
    assert main(["report", "-m", "multiprocess_job", "--pipeline", pipeline.name, "--generation", "1"]) == 0
    first = _Page(report_path(runner.data_dir, pipeline.name, 1).read_text())
    assert first.column("composition", "generation") == ["1"]
    # replace mode: each generation's mix holds only its own rows
    stored = pd.read_parquet(runner.data_dir / pipeline.name / "training_mix" / "2.parquet")
    assert rebuilt.column("composition", "rows")[-1] == str(len(stored))


def test_a_generation_stopped_by_a_blocking_check_gets_a_report_of_what_was_stored(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "data"))
    policy = tmp_path / "strict.yaml"
    policy.write_text("max_synthetic_fraction: 0.05\n")

    code = main(["run", "-m", "multiprocess_job", "--pipeline", "par_b", "--policy", str(policy)])

    out = capsys.readouterr().out
    assert code == 1 and "generation 1 BLOCKED" in out
    written = report_path(tmp_path / "data", "par_b", 1)
    assert f"report (stored figures; generation 1 was not evaluated): {written}" in out
    text = written.read_text()
    # first on the page: what blocked it, observed vs limit, and what did not run, as the CLI says it
    banner = re.search(r'<p class="verdict failed" id="verdict">(.*?)</p>', text)
    assert banner and re.fullmatch(
        r"generation 1 blocked by 1 check: par_b/training_mix synthetic_budget \(non-real fraction \(synthetic \+ "
        r"augmented \+ unknown\), overall: observed 0\.\d+ &gt; limit 0\.05, n = \d+\); "
        r"not run: par_b/model, par_b/evaluation", banner.group(1)
    ), banner
    assert '<dt>synthetic_budget checks</dt><dd>training_mix <span class="failed">failed</span>' in text
    page = _Page(text)
    _assert_self_contained(page, text)
    assert page.column("composition", "generation") == ["1"]  # the mix was stored, then failed its check
    assert "<dt>scores</dt><dd>not evaluated</dd>" in text
    assert "no stored evaluation for generation(s) 1" in text


def test_a_blocked_generation_report_lists_every_failed_check_with_its_evidence(runner, monkeypatch):
    """The report of a generation stopped by its checks names each blocking failure with its
    evidence line (observed, bound or limit, n, fix), as the CLI and the check metadata do."""
    from multiprocess_job import pipelines

    from synth_pipeline import SynthPolicy
    from synth_pipeline.reporting import check_failures

    pipeline = pipelines[0]
    strict = SynthPolicy(max_synthetic_fraction=0.05, max_class_synthetic_fraction=0.05,
                         max_minority_class_synthetic_fraction=0.05, max_depth=0)
    [run] = runner.run(pipeline, [1], policy=strict)
    assert not run.success
    failures = check_failures(run)
    assert len(failures) >= 2, failures  # synthetic_budget and recursion_depth
    monkeypatch.setenv(DATA_DIR_ENV, str(runner.data_dir))
    out = runner.data_dir / "blocked.html"
    assert main(["report", "-m", "multiprocess_job", "--pipeline", pipeline.name, "--generation", "1",
                 "--out", str(out)]) == 0
    text = out.read_text()
    section = text.split('<ul id="checks">')[1].split("</ul></li></ul>")[0]
    for name in ("synthetic_budget", "recursion_depth"):
        item = next(part for part in section.split("<li><b>")[1:] if part.startswith(name))
        assert "on training_mix" in item and "(blocking)" in item, item
        assert re.search(r"observed [\d.]+ &gt; limit [\d.]+, n = \d+; fix: ", item), item
    assert re.search(r"checks that failed</dt><dd><span class=\"failed\">\d+ blocking</span>", text)
    # class rules name the class by number, never by its label value (0 and 1 here)
    assert "non-real fraction (synthetic + augmented + unknown), class #1" in text
    assert not re.search(r"class [01]\b|\(value [01]", text)


def test_every_blocking_failure_of_a_generation_is_named_first_in_its_report(tmp_path):
    """A generation blocked by synthetic's fidelity and diversity checks (and an expectations suite): the
    report's first line names each with observed vs limit and what did not run, and the summary has a row
    for every check kind, fidelity and expectations included (the report used to list diversity, privacy
    and utility only, so a fidelity failure was missing from its summary)."""
    from synth_pipeline.report import build_generation_report
    from synth_pipeline.storage import DatasetStore

    store = DatasetStore(base_dir=str(tmp_path / "data"))
    pipeline = build_synth_pipeline(fast_spec("vp"))
    keys = {stage: pipeline.key(stage) for stage in pipeline.stages}
    frame = pd.DataFrame({"x": [1.0, 2.0], KIND_COLUMN: ["real", "real"]})
    store.write(frame, keys[Stage.REAL_ARRIVALS], "2")
    store.write(frame.assign(**{KIND_COLUMN: "synthetic"}), keys[Stage.SYNTHETIC], "2")
    failed = {
        "fidelity": "adversarial AUC: observed 0.99 (95 % lower bound 0.97) > limit 0.95, n = 40; fix: another "
                    "generator",
        "diversity": "variance ratio: observed 0.2 (95 % upper bound 0.31) < limit 0.5, n = 40; fix: more epochs",
    }
    for check, evidence in failed.items():
        store.write_check_result(keys[Stage.SYNTHETIC], check, 2, {"verdict": "failed", "blocking": True,
                                                                    "evidence": evidence})
    store.write_check_result(keys[Stage.SYNTHETIC], "privacy", 2, {"verdict": "passed", "blocking": True,
                                                                   "evidence": ""})
    store.write_check_result(keys[Stage.REAL_ARRIVALS], "expectations", 2, {
        "verdict": "failed", "blocking": True, "evidence": "suite real_arrivals: observed 3 failed expectations "
        "> limit 0, n = 2; fix: see the suite"})

    text = build_generation_report(store, keys, pipeline="vp", generation=2).path.read_text()

    banner = re.search(r'<p class="verdict failed" id="verdict">(.*?)</p>', text).group(1)
    assert banner == (
        "generation 2 blocked by 3 checks: vp/real_arrivals expectations (suite real_arrivals: observed 3 failed "
        "expectations &gt; limit 0, n = 2), vp/synthetic diversity (variance ratio: observed 0.2 (95 % upper bound "
        "0.31) &lt; limit 0.5, n = 40), vp/synthetic fidelity (adversarial AUC: observed 0.99 (95 % lower bound "
        "0.97) &gt; limit 0.95, n = 40); not run: vp/augmented, vp/training_mix, vp/model, vp/evaluation"
    )
    assert '<dt>fidelity checks</dt><dd>synthetic <span class="failed">failed</span></dd>' in text
    assert '<dt>expectations checks</dt><dd>real_arrivals <span class="failed">failed</span></dd>' in text
    for evidence in failed.values():  # and each with its fix, in the list of failed checks
        assert evidence.replace(">", "&gt;").replace("<", "&lt;") in text


def test_a_generation_blocked_outside_the_cli_gets_its_report_from_the_failing_check(runner):
    """A run from the UI, a schedule or a sensor has no CLI to write the blocked generation's report: the
    failing blocking checks write it, and link it from their metadata."""
    from multiprocess_job import pipelines

    from synth_pipeline import SynthPolicy

    pipeline = pipelines[0]
    strict = SynthPolicy(max_synthetic_fraction=0.05, max_depth=0)
    [run] = runner.run(pipeline, [1], policy=strict)
    assert not run.success and {c.name for c in run.failed_checks} == {"synthetic_budget", "recursion_depth"}
    written = report_path(runner.data_dir, pipeline.name, 1)
    assert {c.metadata["report"] for c in run.failed_checks} == {str(written)}
    banner = re.search(r'<p class="verdict failed" id="verdict">(.*?)</p>', written.read_text()).group(1)
    # whichever check finished last wrote it, having read both records
    first = f"generation 1 blocked by 2 checks: {pipeline.name}/training_mix recursion_depth ("
    assert banner.startswith(first), banner
    budget = "non-real fraction (synthetic + augmented + unknown), overall"
    assert f", {pipeline.name}/training_mix synthetic_budget ({budget}: observed 0." in banner
    assert banner.endswith(f"; not run: {pipeline.name}/model, {pipeline.name}/evaluation"), banner
    assert run.verdict.headline() == banner.replace("&gt;", ">").replace("&lt;", "<")  # the CLI says the same


def test_a_failed_generation_report_names_its_failed_step_and_error(tmp_path, monkeypatch, capsys):
    """A trial's run on a source without its label column printed the step's error, but the page it wrote read
    'checks that failed none' and said nothing of the failure."""
    from synth_pipeline.datasets import breast_cancer

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "data"))
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    source = inputs / "no_label.csv"
    breast_cancer().rename(columns={"target": "outcome"}).to_csv(source, index=False)

    code = main(["run", "-m", "multiprocess_job", "--pipeline", "par_a", "--source", str(source)])

    captured = capsys.readouterr()
    assert code == 1, captured.err
    [step_line] = [line for line in captured.err.splitlines() if line.startswith("step ") and " FAILED: " in line]
    step = step_line.split()[1]
    text = report_path(tmp_path / "data", "par_a", 1).read_text()
    banner = re.search(r'<p class="verdict failed" id="verdict">(.*?)</p>', text)
    assert banner and banner.group(1).startswith(f"generation 1 FAILED: an error in step {step}"), banner
    errors = re.search(r'<ul id="step-errors">(.*?)</ul>', text)
    assert errors and f"<code>{step}</code> FAILED: " in errors.group(1) and "target" in errors.group(1), errors
    assert f'<dt>steps that failed</dt><dd><span class="failed">1</span>: {step}</dd>' in text

"""Generators behind one protocol: built-in names and `module:function` references, resolved by the registry,
with clear errors for references that name nothing or not a generator."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from generators_data import small_pipeline, small_table, stage_metadata

from synth_pipeline import SynthesizerSpec
from synth_pipeline.errors import GeneratorSpecError, MissingExtraError
from synth_pipeline.generators import Generator, GeneratorInfo
from synth_pipeline.generators.extras import require_extra
from synth_pipeline.generators.registry import resolve_generator
from synth_pipeline.naming import Stage
from synth_pipeline.provenance import DEPTH_COLUMN, KIND_COLUMN, user_columns

FACTORY = f"{__name__}:make_bootstrap"


class BootstrapGenerator:
    """Resamples the fit input's rows with replacement and jitters numeric columns by ``noise`` standard deviations."""

    def __init__(self, noise: float) -> None:
        self.noise = noise
        self._frame: pd.DataFrame | None = None

    def fit(self, frame: pd.DataFrame, *, label_column: str, seed: int) -> None:
        self._frame = frame

    def sample(self, num_rows: int, *, seed: int) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        rows = self._frame.sample(n=num_rows, replace=True, random_state=seed).reset_index(drop=True)
        for column in rows.select_dtypes("float").columns:
            rows[column] = rows[column] + rng.normal(scale=self.noise * self._frame[column].std(), size=num_rows)
        return rows

    def info(self) -> GeneratorInfo:
        return GeneratorInfo(name="tests.bootstrap", params={"noise": self.noise})


def make_bootstrap(noise: float = 0.0) -> BootstrapGenerator:
    return BootstrapGenerator(noise)


def not_a_generator(noise: float = 0.0) -> dict:
    return {"noise": noise}


def test_a_user_generator_named_module_function_makes_the_synthetic_rows(runner, tmp_path):
    pipeline = small_pipeline(tmp_path, SynthesizerSpec(method=FACTORY, params={"noise": 0.05}), name="user_gen")
    [run] = runner.run(pipeline, [1])
    assert not run.failures, run.failures
    metadata = stage_metadata(run, Stage.SYNTHETIC)
    assert metadata["generator"] == "tests.bootstrap"
    assert metadata["generator_params"] == {"noise": 0.05}
    synthetic = runner.read(pipeline, Stage.SYNTHETIC, 1)
    arrivals = runner.read(pipeline, Stage.REAL_ARRIVALS, 1)
    assert len(synthetic) == round(0.25 * len(arrivals))
    assert set(synthetic[KIND_COLUMN]) == {"synthetic"} and set(synthetic[DEPTH_COLUMN]) == {1}
    # Jittered, not copied: the float columns differ from every arrival row; the others are resampled values.
    assert not synthetic["x1"].isin(arrivals["x1"]).any()
    assert set(synthetic["colour"]) <= set(arrivals["colour"])


@pytest.mark.parametrize(("method", "params", "expected"), [
    pytest.param("no_such_module_for_sp:make", {}, ("synthesizer.method 'no_such_module_for_sp:make'",
                                                   "no module 'no_such_module_for_sp'", "Fix synthesizer.method"),
                 id="missing-module"),
    pytest.param(f"{__name__}:make_bootsrap", {}, ("no attribute 'make_bootsrap'", "did you mean 'make_bootstrap'?",
                                                   "Fix synthesizer.method"), id="missing-attribute"),
    pytest.param(f"{__name__}:not_a_generator", {}, ("returned a dict, not a generator", "lacks fit(), sample(), "
                                                     "info()", "make the factory return one"), id="wrong-type"),
    pytest.param(f"{__name__}:FACTORY", {}, ("is a str, not a function or class",), id="not-callable"),
    pytest.param(FACTORY, {"noize": 1}, ("synthesizer.params ['noize'] do not fit", "make_bootstrap(noise",
                                         "unexpected keyword argument 'noize'",
                                         "fix synthesizer.params"), id="wrong-params"),
    pytest.param("gan", {}, ("Input should be 'gaussian_copula', 'ctgan', 'tvae', 'dp_privbayes', 'mostlyai', "
                             "'file', 'word_markov' or 'openai_chat'",),
                 id="unknown-name"),
])
def test_a_wrong_generator_reference_names_the_field_and_the_fix(method, params, expected):
    with pytest.raises(GeneratorSpecError) as raised:
        resolve_generator(method, params)
    for text in expected:
        assert text in str(raised.value)


def test_a_wrong_reference_fails_the_synthetic_stage_with_its_message(runner, tmp_path):
    pipeline = small_pipeline(tmp_path, SynthesizerSpec(method=f"{__name__}:make_bootsrap"), name="bad_ref")
    [run] = runner.run(pipeline, [1])
    [(step, message)] = run.failures
    assert "synthetic" in step and "did you mean 'make_bootstrap'?" in message


def test_sdv_generators_follow_the_protocol_and_record_their_recoveries():
    frame = small_table(rows=120)
    generator = resolve_generator("gaussian_copula", {"default_distribution": "norm"})
    assert isinstance(generator, Generator)
    generator.fit(frame, label_column="label", seed=3)
    rows = generator.sample(30, seed=3)
    assert list(rows.columns) == list(frame.columns) and len(rows) == 30
    info = generator.info()
    assert info.name == "sdv.gaussian_copula" and info.params == {"default_distribution": "norm"}
    assert info.privacy is None
    assert set(info.extra) == {"collapsed_columns", "collapsed_columns_left", "marginal_overrides", "sdtypes_replaced"}


def test_a_missing_extra_names_the_extra_and_the_install_command():
    with pytest.raises(MissingExtraError) as raised:
        require_extra("no_such_module_for_sp_extra", extra="dp", purpose="the dp_privbayes generator")
    message = str(raised.value)
    assert "the dp_privbayes generator needs the Python module 'no_such_module_for_sp_extra'" in message
    assert "`pip install 'synth-pipeline[dp]'`" in message


def test_loading_definitions_with_any_generator_imports_no_generator_library(tmp_path):
    """Definitions name generators; their libraries load only when a generation is fitted."""
    code = (
        "import sys\n"
        "from generators_data import small_pipeline\n"
        "from synth_pipeline import SynthesizerSpec\n"
        "from pathlib import Path\n"
        f"for i, method in enumerate(['dp_privbayes', 'ctgan', '{FACTORY}']):\n"
        "    small_pipeline(Path(sys.argv[1]), SynthesizerSpec(method=method, params={}), name=f'p{i}')"
        ".to_definitions(data_dir=sys.argv[1])\n"
        "print(sorted(m for m in ('sdv', 'torch', 'DataSynthesizer', 'ctgan') if m in sys.modules))\n"
    )
    tests = Path(__file__).parent
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True,
                          cwd=tests.parent, env={"PYTHONPATH": f"{tests.parent}:{tests}", "PATH": "/usr/bin:/bin"},
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def test_user_columns_only_reach_a_generator(runner, tmp_path):
    """The fit input a generator sees has no provenance column (the protocol's promise)."""
    seen: list[list[str]] = []

    class Recording(BootstrapGenerator):
        def fit(self, frame, *, label_column, seed):
            seen.append(list(frame.columns))
            super().fit(frame, label_column=label_column, seed=seed)

    globals()["make_recording"] = lambda: Recording(0.0)
    pipeline = small_pipeline(tmp_path, SynthesizerSpec(method=f"{__name__}:make_recording"), name="recording")
    [run] = runner.run(pipeline, [1])
    assert not run.failures, run.failures
    assert seen == [user_columns(small_table())]

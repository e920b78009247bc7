"""The MOSTLY AI TabularARGN generator (extra ``mostlyai``) and the missing-extra message.

The engine tests are skipped where ``mostlyai-engine`` is not installed; the message tests
run everywhere.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synth_pipeline.datasets import breast_cancer
from synth_pipeline.errors import MissingExtraError, SynthPipelineError
from synth_pipeline.generators.extras import import_extra
from synth_pipeline.generators.mostlyai import IMPORT_HINTS, MostlyAIGenerator
from synth_pipeline.generators.protocol import Generator

NO_ENGINE = "mostlyai-engine not installed: pip install 'synth-pipeline[mostlyai]'"
TINY = {"model": "MOSTLY_AI/Small", "max_epochs": 2, "max_training_time": 1.0}


def test_missing_extra_names_the_install_command():
    with pytest.raises(MissingExtraError, match=r"pip install 'synth-pipeline\[someextra\]'") as caught:
        import_extra("synth_pipeline_no_such_module.engine", extra="someextra", purpose="the test generator")
    assert isinstance(caught.value, SynthPipelineError)
    assert "synth_pipeline_no_such_module.engine" in str(caught.value)


def test_broken_install_gives_the_known_fix(tmp_path, monkeypatch):
    # a real package that fails on import the way a CUDA torchvision beside a CPU torch does
    package = tmp_path / "synth_pipeline_broken_extra"
    package.mkdir()
    (package / "__init__.py").write_text(
        "try:\n    raise RuntimeError('operator torchvision::nms does not exist')\n"
        "except RuntimeError as error:\n    raise ModuleNotFoundError('Could not import module PreTrainedModel') "
        "from error\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(MissingExtraError, match="installed but fails to import") as caught:
        import_extra("synth_pipeline_broken_extra", extra="mostlyai", purpose="the test generator",
                     hints=IMPORT_HINTS)
    message = str(caught.value)
    assert "first cause RuntimeError: operator torchvision::nms does not exist" in message
    assert "uninstall torchvision" in message


def test_module_loads_without_the_engine():
    # definition loading may import this module: it must not pull in the engine, torch or transformers
    code = ("import sys, synth_pipeline.generators.mostlyai; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'transformers', 'mostlyai', 'sdv'}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parents[1])
    assert result.stdout.strip() == "[]"


def test_bad_params_name_what_it_takes():
    with pytest.raises(SynthPipelineError, match="takes no parameter 'epochs'; it takes model, max_training_time"):
        MostlyAIGenerator(epochs=3)
    with pytest.raises(SynthPipelineError, match="max_training_time must be a number > 0"):
        MostlyAIGenerator(max_training_time=0)
    with pytest.raises(SynthPipelineError, match="sample\\(\\) was called before fit\\(\\)"):
        MostlyAIGenerator().sample(5, seed=0)


@pytest.fixture(scope="module")
def fitted() -> Iterator[tuple[MostlyAIGenerator, pd.DataFrame]]:
    pytest.importorskip("mostlyai.engine", reason=NO_ENGINE)
    frame = breast_cancer()[["mean_radius", "mean_texture", "worst_area", "target"]].head(300).copy()
    frame["size"] = pd.Series(np.where(frame["mean_radius"] > 14, "large", "small"), dtype=object)
    frame["texture_rank"] = frame["mean_texture"].rank().astype("int32")
    before = frame.copy()
    generator = MostlyAIGenerator(**TINY)
    generator.fit(frame, label_column="target", seed=3)
    pd.testing.assert_frame_equal(frame, before)  # the fit input is not modified
    yield generator, frame
    generator.close()


def test_samples_the_fitted_columns_and_dtypes(fitted):
    generator, frame = fitted
    assert isinstance(generator, Generator)
    rows = generator.sample(57, seed=1)
    assert len(rows) == 57
    assert list(rows.columns) == list(frame.columns)
    pd.testing.assert_series_equal(rows.dtypes, frame.dtypes)
    assert set(rows["target"]) <= {0, 1}
    assert set(rows["size"].dropna()) <= {"large", "small"}  # no _RARE_ token
    assert rows.index.equals(pd.RangeIndex(57))
    empty = generator.sample(0, seed=1)
    assert empty.empty and list(empty.columns) == list(frame.columns)
    pd.testing.assert_series_equal(empty.dtypes, frame.dtypes)


def test_info_and_global_random_state(fitted):
    generator, frame = fitted
    state = np.random.get_state()[1].copy()
    first = generator.sample(10, seed=2)
    assert (np.random.get_state()[1] == state).all()  # the engine's global seeding is undone
    pd.testing.assert_frame_equal(generator.sample(10, seed=2), first)  # same seed, same rows
    info = generator.info()
    assert info.name == "mostlyai.tabular_argn"
    assert info.privacy is None
    assert info.params["model"] == "MOSTLY_AI/Small" and info.params["max_epochs"] == 2
    assert info.extra["fit_rows"] == len(frame) and info.extra["label_column"] == "target"
    assert info.extra["engine_version"]
    assert 0 < info.extra["epochs_trained"] <= 2 and info.extra["best_val_loss"] > 0


def test_close_deletes_the_workspace():
    pytest.importorskip("mostlyai.engine", reason=NO_ENGINE)
    frame = breast_cancer()[["mean_radius", "target"]].head(120)
    generator = MostlyAIGenerator(**{**TINY, "max_epochs": 1})
    generator.fit(frame, label_column="target", seed=0)
    workspace = generator.workspace
    assert workspace is not None and workspace.is_dir()
    generator.close()
    assert not workspace.exists() and generator.workspace is None
    with pytest.raises(SynthPipelineError, match="before fit"):
        generator.sample(3, seed=0)

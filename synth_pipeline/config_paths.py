"""Confining file paths that arrive in run config to the data directory.

Anyone who can launch a run (the Dagster UI's launchpad, a sensor, the GraphQL API) can
set a stage's ``path`` config. Such a path is resolved, symbolic links included, and must
lie under the data directory, under a directory listed in ``$SYNTH_PIPELINE_INPUT_DIRS``
(separated by ``os.pathsep``; set it in the environment of the processes that run the
pipeline, e.g. the Dagster code server), or under one of the dataset store's
``input_dirs`` (``synth-pipeline run --source FILE`` binds the file's directory there, for
its own runs only). Paths written in a pipeline spec are code, not config, and are not confined.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from synth_pipeline.errors import ConfigPathError

INPUT_DIRS_ENV = "SYNTH_PIPELINE_INPUT_DIRS"


def allowed_input_dirs(data_dir: Path, input_dirs: Iterable[str | Path] = ()) -> list[Path]:
    """The data directory, ``input_dirs`` and the directories in ``$SYNTH_PIPELINE_INPUT_DIRS``, resolved.

    Args:
        data_dir: The pipeline's data directory (first in the list).
        input_dirs: Further allowed directories, e.g. the dataset store's ``input_dirs``.

    Returns:
        The allowed directories, without repeats, the data directory first.
    """
    extra = [Path(part).expanduser() for part in os.environ.get(INPUT_DIRS_ENV, "").split(os.pathsep) if part]
    given = [Path(directory).expanduser() for directory in input_dirs]
    return list(dict.fromkeys(directory.resolve() for directory in [Path(data_dir), *given, *extra]))


def confine_config_path(path: str, data_dir: Path, input_dirs: Iterable[str | Path] = ()) -> Path:
    """Resolve a path from run config and make sure it stays inside the allowed directories.

    Args:
        path: The configured path; a relative path is taken relative to the data directory.
        data_dir: The pipeline's data directory.
        input_dirs: Further allowed directories (the dataset store's ``input_dirs``).

    Returns:
        The resolved absolute path.

    Raises:
        ConfigPathError: The path resolves outside the data directory, ``input_dirs`` and every
            directory in ``$SYNTH_PIPELINE_INPUT_DIRS`` (through ``..``, an absolute path or a symlink).
    """
    candidate = Path(path).expanduser()
    resolved = (candidate if candidate.is_absolute() else Path(data_dir) / candidate).resolve()
    allowed = allowed_input_dirs(data_dir, input_dirs)
    if any(resolved.is_relative_to(directory) for directory in allowed):
        return resolved
    raise ConfigPathError(
        f"path {path!r} in the run config resolves to {resolved}, outside the data directory "
        f"{allowed[0]}{' and the input directories ' + str([str(d) for d in allowed[1:]]) if allowed[1:] else ''}; "
        f"put the file under {allowed[0]} (e.g. in {allowed[0] / 'incoming'}), or add its directory to "
        f"${INPUT_DIRS_ENV} in the environment of the processes that run the pipeline"
    )

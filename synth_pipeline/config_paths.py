"""Confining file paths that arrive in run config to the data directory.

Anyone who can launch a run (the Dagster UI's launchpad, a sensor, the GraphQL API) can
set a stage's ``path`` config. Such a path is resolved, symbolic links included, and must
lie under the data directory or under a directory listed in
``$SYNTH_PIPELINE_INPUT_DIRS`` (separated by ``os.pathsep``). Paths written in a pipeline
spec are code, not config, and are not confined.
"""

from __future__ import annotations

import os
from pathlib import Path

from synth_pipeline.errors import ConfigPathError

INPUT_DIRS_ENV = "SYNTH_PIPELINE_INPUT_DIRS"


def allowed_input_dirs(data_dir: Path) -> list[Path]:
    """The data directory and the directories in ``$SYNTH_PIPELINE_INPUT_DIRS``, resolved."""
    extra = [Path(part).expanduser() for part in os.environ.get(INPUT_DIRS_ENV, "").split(os.pathsep) if part]
    return [directory.resolve() for directory in [Path(data_dir), *extra]]


def confine_config_path(path: str, data_dir: Path) -> Path:
    """Resolve a path from run config and make sure it stays inside the allowed directories.

    Args:
        path: The configured path; a relative path is taken relative to the data directory.
        data_dir: The pipeline's data directory.

    Returns:
        The resolved absolute path.

    Raises:
        ConfigPathError: The path resolves outside the data directory and every directory
            in ``$SYNTH_PIPELINE_INPUT_DIRS`` (through ``..``, an absolute path or a symlink).
    """
    candidate = Path(path).expanduser()
    resolved = (candidate if candidate.is_absolute() else Path(data_dir) / candidate).resolve()
    allowed = allowed_input_dirs(data_dir)
    if any(resolved.is_relative_to(directory) for directory in allowed):
        return resolved
    raise ConfigPathError(
        f"path {path!r} in the run config resolves to {resolved}, outside the data directory "
        f"{allowed[0]}{' and the input directories ' + str([str(d) for d in allowed[1:]]) if allowed[1:] else ''}; "
        f"put the file under {allowed[0]} (e.g. in {allowed[0] / 'incoming'}), or add its directory to "
        f"${INPUT_DIRS_ENV} in the environment of the processes that run the pipeline"
    )

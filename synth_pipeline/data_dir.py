"""Where the data directory is: ``base_dir``, else $SYNTH_PIPELINE_DATA_DIR, else ./.synth_pipeline/data.

Kept apart from :mod:`synth_pipeline.storage` (which re-exports these names) so that what
only needs the directory, such as the lineage store and ``synth-pipeline lineage``, does
not import Dagster.
"""

from __future__ import annotations

import os
from pathlib import Path

from synth_pipeline.errors import SynthPipelineError
from synth_pipeline.object_storage import is_url

DATA_DIR_ENV = "SYNTH_PIPELINE_DATA_DIR"
DEFAULT_DATA_DIR = Path(".synth_pipeline") / "data"


def resolve_data_dir(base_dir: str | None = None) -> Path:
    """The data directory: ``base_dir``, else $SYNTH_PIPELINE_DATA_DIR, else ./.synth_pipeline/data.

    Raises:
        SynthPipelineError: It is a URL: the data directory must be a POSIX file system.
    """
    chosen = base_dir or os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR
    if is_url(str(chosen)):
        raise SynthPipelineError(
            f"the data directory {str(chosen)!r} is a URL, but it holds the run lock and the lineage store, which "
            "need a (shared) POSIX file system: give base_dir / $SYNTH_PIPELINE_DATA_DIR a local or mounted "
            "directory and put the URL in stage_url / $SYNTH_PIPELINE_STAGE_URL, where the stage data goes")
    return Path(chosen).expanduser().absolute()

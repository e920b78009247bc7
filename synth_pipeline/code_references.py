"""Code references (``dagster/code_references``): each asset links to the code that made it.

The Dagster UI lists them on the asset's page and opens them in the editor set in the
user settings (``vscode://file/{FILE}:{LINE}`` by default). A template stage gets two:
where its pipeline was built (the team's module calling
:func:`~synth_pipeline.factory.build_synth_pipeline`: the spec, the first place to look)
and the stage's code in :mod:`synth_pipeline.stages`. An asset declared with
:func:`~synth_pipeline.provenance_assets.provenance_asset` gets its author's function.
"""

from __future__ import annotations

import inspect
import os
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg

CODE_REFERENCES = "dagster/code_references"
"""The metadata key Dagster shows as an asset's code references."""
_PACKAGE = Path(__file__).resolve().parent


@contextmanager
def _beta_api() -> Iterator[None]:
    """Dagster's code references are a beta API: its warning is for their authors, not for every code
    location load (the UI, each run step) of a team that never chose it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        yield


def function_reference(function: Callable[..., Any], label: str | None = None) -> dg.LocalFileCodeReference | None:
    """Where ``function`` is defined (file and first line), or None when it has no source file (e.g. typed
    into a REPL)."""
    try:
        path = inspect.getsourcefile(function)
        line = inspect.getsourcelines(function)[1]
    except (OSError, TypeError):
        return None
    if path is None:
        return None
    with _beta_api():
        return dg.LocalFileCodeReference(file_path=os.path.abspath(path), line_number=line, label=label)


def caller_reference(label: str, depth: int = 2) -> dg.LocalFileCodeReference | None:
    """The file and line that called the function calling this one (``depth`` frames up), or None when
    that caller is synth-pipeline itself or has no source file."""
    try:
        frame = sys._getframe(depth)
    except ValueError:
        return None
    path = Path(frame.f_code.co_filename)
    if not path.is_file() or _PACKAGE in path.resolve().parents:
        return None
    with _beta_api():
        return dg.LocalFileCodeReference(file_path=str(path.resolve()), line_number=frame.f_lineno, label=label)


def with_code_reference(
    metadata: Mapping[str, Any] | None, reference: dg.LocalFileCodeReference | dg.UrlCodeReference | None
) -> dict[str, Any]:
    """``metadata`` with ``reference`` appended to its code references (unchanged for None or one already there)."""
    merged = dict(metadata or {})
    if reference is None:
        return merged
    existing = merged.get(CODE_REFERENCES)
    references = list(existing.code_references) if isinstance(existing, dg.CodeReferencesMetadataValue) else []
    if reference not in references:
        with _beta_api():
            merged[CODE_REFERENCES] = dg.CodeReferencesMetadataValue(code_references=[*references, reference])
    return merged


def with_pipeline_references(
    assets: Iterable[dg.AssetsDefinition], defined_at: dg.LocalFileCodeReference | None
) -> list[dg.AssetsDefinition]:
    """A pipeline's assets referring to where it was built, then to their stage's code
    (``dg.with_source_code_references``: the asset function in :mod:`synth_pipeline.stages`)."""
    own = [
        asset.map_asset_specs(lambda spec: spec.replace_attributes(metadata=with_code_reference(spec.metadata,
                                                                                                defined_at)))
        for asset in assets
    ]
    with _beta_api():
        return list(dg.with_source_code_references(own))

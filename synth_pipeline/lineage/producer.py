"""Who produced our OpenLineage events, and where our custom facets' schemas are: versioned URLs.

The OpenLineage spec asks for a ``producer`` URI identifying the producing code and for
custom facets' ``_schemaURL`` to be an immutable, fetchable pointer to the schema version
(a tag or commit, not a branch). Both are derived from one place: the ``Repository`` URL
of ``[project.urls]`` in ``pyproject.toml`` (the installed package's metadata) and the
package version, whose release tag is ``v<version>``.
"""

from __future__ import annotations

import functools
import tomllib
from importlib import metadata
from pathlib import Path

DISTRIBUTION = "synth-pipeline"
SCHEMAS_PATH = "synth_pipeline/lineage/schemas"
"""Where the custom facet schemas live in the repository (and in the installed package)."""


def package_version(distribution: str = DISTRIBUTION) -> str:
    """The installed version of ``distribution`` (``0+unknown`` when it is not installed)."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "0+unknown"


@functools.cache
def repository_url() -> str | None:
    """The ``Repository`` project URL: from the installed metadata, else from the source tree's
    ``pyproject.toml`` (an editable install made before the URL was added); None if neither has it."""
    try:
        for entry in metadata.metadata(DISTRIBUTION).get_all("Project-URL") or []:
            label, _, url = entry.partition(",")
            if label.strip().lower() == "repository":
                return url.strip().rstrip("/")
    except metadata.PackageNotFoundError:
        pass
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    try:
        project = tomllib.loads(pyproject.read_text())["project"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return None
    if project.get("name") != DISTRIBUTION:
        return None
    url = (project.get("urls") or {}).get("Repository")
    return url.rstrip("/") if isinstance(url, str) else None


def _raw_base(repository: str) -> str:
    """``https://github.com/o/r`` -> ``https://raw.githubusercontent.com/o/r`` (other hosts: unchanged)."""
    prefix = "https://github.com/"
    if not repository.startswith(prefix):
        return repository
    return "https://raw.githubusercontent.com/" + repository[len(prefix):]


def producer_url() -> str:
    """The ``producer`` of our events: the repository at this version's tag,
    ``https://github.com/<owner>/<repo>/tree/v<version>`` (PyPI's release page without a repository URL)."""
    version = package_version()
    repository = repository_url()
    if repository is None:
        return f"https://pypi.org/project/{DISTRIBUTION}/{version}/"
    return f"{repository}/tree/v{version}"


def facet_schema_url(facet_name: str) -> str:
    """The ``_schemaURL`` of our custom facet ``facet_name`` (e.g. ``SynthPipelineProvenanceDatasetFacet``):
    its shipped JSON Schema at this version's tag, as a JSON pointer to its definition.

    ``https://raw.githubusercontent.com/<owner>/<repo>/v<version>/synth_pipeline/lineage/schemas/<name>.json#/$defs/<name>``
    """
    version = package_version()
    repository = repository_url() or f"https://github.com/{DISTRIBUTION}/{DISTRIBUTION}"
    return f"{_raw_base(repository)}/v{version}/{SCHEMAS_PATH}/{facet_name}.json#/$defs/{facet_name}"

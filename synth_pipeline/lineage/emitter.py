"""Sending OpenLineage events: always to the journal, and to the configured transport if any.

The journal (an append-only JSON-lines file per step process under the data directory,
written by openlineage-python's own ``file`` transport) is the record the DuckDB store
is built from, so it is always written, and a failure to write it fails the step.

Where events go besides is decided by the standard OpenLineage client configuration:
``openlineage.yml`` (``$OPENLINEAGE_CONFIG``, the working directory or
``~/.openlineage``), ``OPENLINEAGE__TRANSPORT__*`` variables, or ``OPENLINEAGE_URL``.
With none of them, the journal is the only destination. A configured transport that
fails (e.g. a lineage server that is down) logs a warning and does not fail the step:
the event stays in the journal.
``OPENLINEAGE_DISABLED=true`` turns off the configured transport, not the journal.
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import RunEvent
from openlineage.client.transport.file import FileConfig, FileTransport
from openlineage.client.transport.noop import NoopConfig, NoopTransport

from synth_pipeline.lineage.layout import LineageLayout

log = logging.getLogger(__name__)


def openlineage_configured() -> bool:
    """Whether the user configured an OpenLineage transport (file, variables or URL)."""
    if os.getenv("OPENLINEAGE_DISABLED", "").strip().lower() == "true":
        return False
    if os.environ.get("OPENLINEAGE_URL"):
        return True
    probe = OpenLineageClient(transport=NoopTransport(NoopConfig()))
    transport = probe.config.transport
    return bool(transport and transport.get("type"))


@functools.cache
def configured_client() -> OpenLineageClient | None:
    """The client for the user's configured transport, or None (built once per process)."""
    return OpenLineageClient() if openlineage_configured() else None


class LineageEmitter:
    """Emits the events of one step process.

    Args:
        layout: The lineage directory the journal belongs to.
        journal_file: This process's journal file in it.
        forward: Also send events to the configured OpenLineage transport.
    """

    def __init__(self, layout: LineageLayout, journal_file: Path, *, forward: bool = True) -> None:
        journal_file.parent.mkdir(parents=True, exist_ok=True)
        self.layout = layout
        self.journal_file = journal_file
        self._journal = FileTransport(FileConfig(log_file_path=str(journal_file), append=True))
        self._forward = forward
        self._interrupted = False

    def _end_partial_line(self) -> None:
        """Terminate a line left unfinished by a failed append (it is then skipped as invalid JSON)."""
        with open(self.journal_file, "ab+") as handle:
            size = handle.seek(0, os.SEEK_END)
            if size:
                handle.seek(size - 1)
                if handle.read(1) != b"\n":
                    handle.write(b"\n")
        self._interrupted = False

    def emit(self, event: RunEvent) -> None:
        """Append ``event`` to the journal, then send it to the configured transport."""
        if self._interrupted:
            self._end_partial_line()
        try:
            self._journal.emit(event)
        except BaseException:
            # The append may have written part of a line (e.g. a full disk): end it before the
            # next event, so that event is not glued to it and lost with it.
            self._interrupted = True
            raise
        self.layout.mark_journal_changed(self.journal_file)
        client = configured_client() if self._forward else None
        if client is None:
            return
        try:
            client.emit(event)
        except Exception as error:  # noqa: BLE001 - lineage delivery must not fail the data step
            log.warning(
                "OpenLineage event for %s not delivered to the configured %s transport (%s); it is in "
                "the journal %s",
                event.job.name, client.transport.kind, error, self.journal_file,
            )

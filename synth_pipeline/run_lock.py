"""One run at a time per data directory: the run lock.

Two runs writing into one data directory at once would interleave their generations (both
``synth-pipeline run --next`` would run the same one) and build on each other's half-finished
stages. So the directory has a lock, ``<data dir>/.run.lock``, a reader/writer lock of the
`filelock <https://py-filelock.readthedocs.io>`_ library (SQLite locks underneath: the kernel
releases them when their process dies, so a killed run never blocks the next one):

- **exclusive** for a process that runs generations itself: ``synth-pipeline run`` for its whole
  duration (:func:`synth_pipeline.runner.hold_data_dir`), and a schedule or sensor evaluation
  while it repairs killed runs. Its pid, host, start time and command are kept beside the lock
  (``.run.lock.json``) for the message of whoever waits.
- **shared**, for the duration of each step, by the steps of Dagster runs started elsewhere (the
  UI, the daemon, ``dagster job execute``): the dataset store resource takes it
  (:meth:`~synth_pipeline.storage.DatasetStore.yield_for_execution`). Steps share it with each
  other, so the multiprocess executor's parallel steps still run in parallel, but wait for an
  exclusive holder. Steps executed by a process that holds the exclusive side to launch runs, or
  by a descendant of it (the multiprocess executor's step processes), take nothing: their
  launcher's lock covers them, and waiting for it would deadlock.
- **none** for readers: ``synth-pipeline report`` and the lineage queries and sync. Stored files
  are renamed into place complete, the journal is read up to complete lines, and the lineage
  store has a lock of its own.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import sqlite3
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import filelock

from synth_pipeline.errors import SynthPipelineError

LOCK_NAME = ".run.lock"
INFO_NAME = ".run.lock.json"
POLL_SECONDS = 0.5
PROGRESS_SECONDS = 30.0
COMMAND_LIMIT = 300
"""Characters of the holder's command shown in messages."""

Report = Callable[[str], None]
Busy = Callable[[], "str | None"]


@dataclass(frozen=True)
class LockHolder:
    """The process holding a data directory's run lock exclusively, as recorded beside the lock.

    Attributes:
        pid: Its process id.
        host: The host it runs on.
        started: When it took the lock (local time, ISO 8601).
        command: What it runs, e.g. ``synth-pipeline run --next``.
        launches_runs: Its descendants' Dagster steps are its runs' steps, covered by its hold.
    """

    pid: int
    host: str
    started: str
    command: str
    launches_runs: bool = False

    def describe(self) -> str:
        """``run <pid> on <host> started <time> (<command>)``, a long command cut."""
        command = self.command if len(self.command) <= COMMAND_LIMIT else self.command[:COMMAND_LIMIT] + "..."
        return f"run {self.pid} on {self.host} started {self.started} ({command})"


class DataDirBusyError(SynthPipelineError):
    """Another run holds the data directory, and this one was asked not to wait (``--no-wait``).

    Attributes:
        data_dir: The data directory.
        holder: Who holds it, e.g. ``run 123 on host started ... (synth-pipeline run)``.
    """

    def __init__(self, data_dir: Path, holder: str) -> None:
        self.data_dir = data_dir
        self.holder = holder
        super().__init__(
            f"{data_dir} is in use by {holder}; nothing was run. Run the same command without --no-wait to "
            "wait for it and then run, or stop that run first (a killed process holds no lock: if it is gone, "
            "run again)"
        )


@dataclass
class _Hold:
    lock: filelock.ReadWriteLock
    thread: int
    holder: LockHolder
    depth: int = 1


_registry_lock = threading.Lock()
_exclusive_holds: dict[Path, _Hold] = {}


class RunLock:
    """The run lock of one data directory.

    Args:
        data_dir: The data directory (created when missing).
    """

    def __init__(self, data_dir: Path | str) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.path = self.data_dir / LOCK_NAME
        self.info_path = self.data_dir / INFO_NAME

    def holder(self) -> LockHolder | None:
        """The process recorded as holding the lock exclusively (None if none, or the record is unreadable)."""
        try:
            return LockHolder(**json.loads(self.info_path.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def held_here(self) -> bool:
        """Whether this process holds the lock exclusively."""
        with _registry_lock:
            return self.path in _exclusive_holds

    def covers_this_process(self) -> bool:
        """Whether this process, or the launcher that started it, holds the lock exclusively.

        Steps of such a process are part of its holder's runs and must not wait for the lock.
        """
        if self.held_here():
            return True
        holder = self.holder()
        if holder is None or not holder.launches_runs or holder.host != socket.gethostname():
            return False
        # The record outlives a holder killed outright, so it counts only while the lock is still held
        # (and then the pid is still the holder's).
        return holder.pid in _ancestors() and not self._free_of_writers()

    @contextmanager
    def hold(
        self,
        *,
        command: str | None = None,
        wait: bool = True,
        report: Report | None = None,
        also_wait_for: Busy | None = None,
        launches_runs: bool = False,
    ) -> Iterator[LockHolder]:
        """Hold the lock exclusively; re-entrant within one thread.

        Args:
            command: What this process runs, for the message of whoever waits (default: its command line).
            wait: Wait for the holder (default); False raises :class:`DataDirBusyError` at once.
            report: Called with a line when waiting starts, when whoever is waited for changes, and
                about every :data:`PROGRESS_SECONDS` while waiting (default: printed).
            also_wait_for: Called once the lock is held; a description of something else writing into
                the directory that the lock cannot see (e.g. a Dagster run between two steps) makes
                this release the lock and wait for it too. None when nothing is.
            launches_runs: This process launches Dagster runs under the lock: steps in its
                descendant processes are covered by it (:meth:`covers_this_process`).

        Yields:
            This hold's record.

        Raises:
            DataDirBusyError: ``wait`` is False and another process holds the lock, or
                ``also_wait_for`` names something.
        """
        thread = threading.get_ident()
        with _registry_lock:
            hold = _exclusive_holds.get(self.path)
            if hold is not None and hold.thread == thread:
                hold.depth += 1
                reentered = True
            else:
                reentered = False
        if reentered:
            try:
                yield hold.holder
            finally:
                self._leave(hold)
            return
        lock = self._acquire_exclusive(wait, _Waiting(self.data_dir, report or _print), also_wait_for)
        if lock is None:  # the file system cannot lock: go on unguarded, as atomic writes do there
            yield self._holder(command, launches_runs)
            return
        hold = _Hold(lock=lock, thread=thread, holder=self._record(self._holder(command, launches_runs)))
        with _registry_lock:
            _exclusive_holds[self.path] = hold
        try:
            yield hold.holder
        finally:
            self._leave(hold)

    @contextmanager
    def share(self, *, report: Report | None = None) -> Iterator[None]:
        """Hold the lock shared with other sharers (a step of a run started elsewhere), waiting for an exclusive holder.

        Args:
            report: Called with a line when waiting starts, when the holder changes, and about every
                :data:`PROGRESS_SECONDS` while waiting (default: printed).
        """
        lock = self._try(True, _Waiting(self.data_dir, report or _print), exclusive=False)
        try:
            yield
        finally:
            if lock is not None:
                lock.release()

    def _acquire_exclusive(
        self, wait: bool, waiting: _Waiting, also_wait_for: Busy | None
    ) -> filelock.ReadWriteLock | None:
        while True:
            lock = self._try(wait, waiting, exclusive=True)
            if lock is None:
                return None
            try:
                blocker = also_wait_for() if also_wait_for else None
            except BaseException:
                lock.release()
                raise
            if blocker is None:
                return lock
            lock.release()
            if not wait:
                raise DataDirBusyError(self.data_dir, blocker)
            waiting.update(blocker)
            time.sleep(POLL_SECONDS)

    def _try(self, wait: bool, waiting: _Waiting, *, exclusive: bool) -> filelock.ReadWriteLock | None:
        """Take the lock (polling, to report while waiting); None where the file system cannot lock."""
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            # One instance per hold: the library's per-path singleton would refuse, rather than wait for,
            # a conflicting hold of another thread of this process.
            lock = filelock.ReadWriteLock(self.path, is_singleton=False)
        except (OSError, ValueError, sqlite3.Error) as error:
            waiting.report(f"cannot lock {self.data_dir} ({error}); going on without the run lock")
            return None
        acquire = lock.acquire_write if exclusive else lock.acquire_read
        while True:
            try:
                acquire(blocking=False)
                return lock
            except filelock.Timeout:
                pass
            except (OSError, ValueError, sqlite3.Error) as error:
                waiting.report(f"cannot lock {self.data_dir} ({error}); going on without the run lock")
                return None
            blocker = self._describe_blocker()
            if not wait:
                raise DataDirBusyError(self.data_dir, blocker)
            waiting.update(blocker)
            time.sleep(POLL_SECONDS)

    def _describe_blocker(self) -> str:
        holder = self.holder()
        if holder is not None and not self._free_of_writers():
            return holder.describe()
        return "a Dagster step (of a run started from the Dagster UI, a schedule, a sensor or dagster job execute)"

    def _free_of_writers(self) -> bool:
        """Whether no process holds the lock exclusively (a shared hold succeeds)."""
        try:
            probe = filelock.ReadWriteLock(self.path, is_singleton=False)
            probe.acquire_read(blocking=False)
        except filelock.Timeout:
            return False
        except (OSError, ValueError, sqlite3.Error):
            return True
        probe.release()
        return True

    @staticmethod
    def _holder(command: str | None, launches_runs: bool) -> LockHolder:
        return LockHolder(pid=os.getpid(), host=socket.gethostname(), started=_now(),
                          command=command or shlex.join(sys.argv), launches_runs=launches_runs)

    def _record(self, holder: LockHolder) -> LockHolder:
        # Hidden and named like the store's temporary files, so a sweep removes one a killed writer left.
        temporary = self.info_path.with_name(f"{self.info_path.name}.{uuid.uuid4().hex}.tmp")
        try:
            temporary.write_text(json.dumps(asdict(holder)))
            os.replace(temporary, self.info_path)
        except OSError:  # only the waiting message loses its details
            temporary.unlink(missing_ok=True)
        return holder

    def _leave(self, hold: _Hold) -> None:
        with _registry_lock:
            hold.depth -= 1
            if hold.depth:
                return
            del _exclusive_holds[self.path]
        if self.holder() == hold.holder:
            self.info_path.unlink(missing_ok=True)
        hold.lock.release()


class _Waiting:
    """Reports a wait: once at its start, when whoever is waited for changes, and every PROGRESS_SECONDS."""

    def __init__(self, data_dir: Path, report: Report) -> None:
        self.data_dir = data_dir
        self.report = report
        self.blocker: str | None = None
        self.since = time.monotonic()
        self.last_report = self.since

    def update(self, blocker: str) -> None:
        now = time.monotonic()
        if blocker != self.blocker:
            self.blocker, self.last_report = blocker, now
            self.report(f"waiting for {blocker} to finish with {self.data_dir}")
        elif now - self.last_report >= PROGRESS_SECONDS:
            self.last_report = now
            self.report(f"still waiting for {blocker} to finish with {self.data_dir} ({now - self.since:.0f} s)")


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def _print(line: str) -> None:
    print(line, flush=True)


def _ancestors() -> set[int]:
    """The pids of this process's parent, its parent, and so on (only the parent where there is no /proc)."""
    found, pid = set(), os.getppid()
    while pid > 1 and pid not in found:
        found.add(pid)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        pid = int(stat[stat.rindex(")") + 2:].split()[1])  # the name in parentheses may hold spaces
    return found

"""A throwaway PostgreSQL server on 127.0.0.1 for tests, started from the server binaries.

Use the fixture by importing it into a test module::

    from postgres_server import postgres_server  # noqa: F401 - a pytest fixture

It runs Debian's (or any) PostgreSQL ``initdb`` / ``pg_ctl`` on a free port in a
temporary directory, creates a database and a password-protected superuser (host
connections use scram-sha-256, so the credentials are really checked), yields their
connection parameters and stops the server with ``pg_ctl stop -m fast``. When run as root
(initdb refuses root), the server runs as the ``postgres`` system user. It skips, saying
why, when no ``initdb`` is found (``.ci/run`` installs Debian's ``postgresql`` package).
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from conftest import free_port

# The cluster only lives for a test session: durability settings off make it faster.
_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "log_min_messages": "warning",
}


@dataclass(frozen=True)
class PostgresServer:
    """Connection parameters of a running server, plus its data directory and log."""

    host: str
    port: int
    username: str
    password: str
    database: str
    data_dir: Path
    log_file: Path

    def env(self, prefix: str = "DAGSTER_PG_") -> dict[str, str]:
        """The parameters as environment variables (``DAGSTER_PG_HOST``, ``_PORT``, ``_USERNAME``, ...)."""
        return {
            f"{prefix}HOST": self.host,
            f"{prefix}PORT": str(self.port),
            f"{prefix}USERNAME": self.username,
            f"{prefix}PASSWORD": self.password,
            f"{prefix}DB": self.database,
        }

    def create_database(self, name: str) -> PostgresServer:
        """A new, empty database ``name`` on this server, as connection parameters."""
        connection = self.connect("postgres")
        try:
            connection.cursor().execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()
        return replace(self, database=name)

    def connect(self, database: str | None = None):
        """A psycopg2 connection (autocommit) to ``database`` (default: the test database)."""
        import psycopg2

        connection = psycopg2.connect(
            host=self.host, port=self.port, user=self.username, password=self.password,
            dbname=database or self.database,
        )
        connection.autocommit = True
        return connection


def find_bin_dir() -> Path | None:
    """The directory holding initdb / pg_ctl: on the PATH, else Debian's newest /usr/lib/postgresql/N/bin."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).resolve().parent
    versions = [Path(path).parent.parent.name for path in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    versions = sorted((v for v in versions if v.isdigit()), key=int)
    return Path(f"/usr/lib/postgresql/{versions[-1]}/bin") if versions else None


class _Cluster:
    """initdb, start and stop, as the current user or (when root) as ``postgres``."""

    def __init__(self, bin_dir: Path, base: Path, owner: pwd.struct_passwd | None) -> None:
        self.bin_dir = bin_dir
        self.base = base
        self.owner = owner
        self.data_dir = base / "data"
        self.log_file = base / "server.log"

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        kwargs = {}
        if self.owner is not None:
            kwargs = {"user": self.owner.pw_uid, "group": self.owner.pw_gid, "extra_groups": []}
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
               "HOME": str(self.base)}
        return subprocess.run(
            [str(self.bin_dir / args[0]), *args[1:]], cwd=self.base, env=env, capture_output=True, text=True,
            timeout=timeout, check=False, **kwargs,
        )

    def initdb(self, username: str, password: str) -> None:
        password_file = self.base / "password"
        password_file.write_text(password + "\n")
        password_file.chmod(0o600)
        if self.owner is not None:
            os.chown(password_file, self.owner.pw_uid, self.owner.pw_gid)
        done = self.run(
            "initdb", "-D", str(self.data_dir), "-U", username, f"--pwfile={password_file}",
            "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync",
            "--no-instructions",
        )
        password_file.unlink()
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")

    def start(self, port: int) -> bool:
        settings = {**_SETTINGS, "port": str(port), "unix_socket_directories": f"'{self.base}'"}
        # postgresql.auto.conf is read last, so these win over postgresql.conf.
        with open(self.data_dir / "postgresql.auto.conf", "a") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())
        done = self.run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", "60", "start")
        return done.returncode == 0

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.data_dir), "-w", "-t", "60", "-m", "fast", "stop", timeout=90)

    def log_tail(self) -> str:
        try:
            return "\n".join(self.log_file.read_text().splitlines()[-20:])
        except OSError:
            return "(no server log)"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A running PostgreSQL server on 127.0.0.1 with an empty database ``dagster``, for the session."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) found on PATH or in /usr/lib/postgresql/*/bin; "
                    "install Debian's postgresql package (.ci/run does)")
    owner = None
    if os.geteuid() == 0:  # initdb refuses to run as root
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' system user to run the PostgreSQL server as")
    # As root, somewhere the postgres user can reach ($TMPDIR may be private to root).
    base = Path(tempfile.mkdtemp(prefix="synth-pg-", dir="/tmp" if owner is not None else None))
    if owner is not None:
        os.chown(base, owner.pw_uid, owner.pw_gid)
    cluster = _Cluster(bin_dir, base, owner)
    username, password = "synth", secrets.token_hex(16)
    started = False
    try:
        cluster.initdb(username, password)
        for _ in range(3):  # another process may take the free port before the server binds it
            port = free_port()
            started = cluster.start(port)
            if started:
                break
        if not started:
            raise RuntimeError(f"PostgreSQL did not start; its log:\n{cluster.log_tail()}")
        server = PostgresServer(host="127.0.0.1", port=port, username=username, password=password,
                                database="postgres", data_dir=cluster.data_dir, log_file=cluster.log_file)
        yield server.create_database("dagster")
    finally:
        if (cluster.data_dir / "postmaster.pid").exists():  # also a server whose start timed out
            cluster.stop()
        shutil.rmtree(base, ignore_errors=True)

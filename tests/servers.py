"""A real PostgreSQL server for the tests of the networked backend: started on loopback in a
temporary directory, stopped at the end of the session. Never a mock.

PostgreSQL refuses to run as root, so when the tests run as root the server runs as `nobody`.
Where its binaries are missing, a test that needs it fails in CI (AXIOM_REQUIRE_SERVERS=1, which
.ci/run sets) and skips, with the reason, elsewhere.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
import pytest

BINARY_DIRS = ("/usr/local/bin", "/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin")
SUPERUSER = "axiom"


def postgres_binaries() -> Path | None:
    """The folder with initdb, pg_ctl and postgres, or None."""
    on_path = shutil.which("pg_ctl")
    candidates = ([Path(on_path).parent] if on_path else []) + [Path(d) for d in BINARY_DIRS]
    for folder in candidates:
        if all((folder / name).exists() for name in ("initdb", "pg_ctl", "postgres")):
            return folder
    return None


def require_servers() -> bool:
    return os.environ.get("AXIOM_REQUIRE_SERVERS", "") == "1"


def missing_server(reason: str) -> None:
    """Fail in CI, where the servers must be there; skip with the reason elsewhere."""
    if require_servers():
        pytest.fail(f"{reason} (AXIOM_REQUIRE_SERVERS=1: CI must run the networked tests)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """One PostgreSQL cluster in a temporary directory, on 127.0.0.1 at a free port."""

    def __init__(self, binaries: Path) -> None:
        self.binaries = binaries
        self.root = Path(tempfile.mkdtemp(prefix="axiom-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self._as_user: list[str] = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
        self._template = ""

    def _run(self, *command: str) -> None:
        subprocess.run([*self._as_user, *command], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        if self._as_user:
            os.chmod(self.root, 0o777)
        self._run(str(self.binaries / "initdb"), "-D", str(self.data), "-U", SUPERUSER,
                  "--auth=trust", "--no-sync", "-E", "UTF8")  # fmt: skip
        self.restart()

    def stop(self) -> None:
        """Stop the server (fast: connections are cut), keeping its data for a restart."""
        self._run(str(self.binaries / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def restart(self) -> None:
        """Start the server on its data (again, after `stop`), on the same port."""
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300")  # fmt: skip
        self._run(str(self.binaries / "pg_ctl"), "-D", str(self.data), "-o", options,
                  "-l", str(self.root / "log"), "-w", "-t", "60", "start")  # fmt: skip

    def destroy(self) -> None:
        """Stop the server (immediate: no shutdown checkpoint of data that is deleted next) and
        delete its data."""
        try:
            self._run(str(self.binaries / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def new_database(self, migrated: bool = True) -> str:
        """A fresh database and its URL: a copy of one that already holds the networked backend's
        tables and SAQ's (made once per server), so an app on it starts without migrating; or,
        not `migrated`, an empty one (a copy of template1)."""
        template = self._migrated_template() if migrated else "template1"
        name = "t_" + uuid.uuid4().hex[:16]
        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute(f"CREATE DATABASE {name} TEMPLATE {template}")  # names of ours: nothing to quote
        return self.url(name)

    def _migrated_template(self) -> str:
        if not self._template:
            name = "axiom_migrated"
            with psycopg.connect(self.url(), autocommit=True) as db:
                db.execute(f"CREATE DATABASE {name}")
            asyncio.run(_migrate(self.url(name)))
            self._template = name
        return self._template


async def _migrate(url: str) -> None:
    """Create the networked backend's tables and SAQ's in the database at `url`."""
    from service.jobs.postgres import PgRunStore, connection_pool
    from service.jobs.queue_worker import connect_queue, run_queue

    pool = connection_pool(url)
    await pool.open(wait=True)
    try:
        await PgRunStore(pool).create_schema()
        queue = run_queue(pool)
        await connect_queue(queue)
        await queue.disconnect()
    finally:
        await pool.close()


def start_postgres() -> PostgresServer:
    """A started server, or a failure/skip (see `missing_server`) saying why there is none."""
    binaries = postgres_binaries()
    if binaries is None:
        missing_server("PostgreSQL is not installed (initdb, pg_ctl, postgres not found)")
        raise AssertionError("unreachable")
    server = PostgresServer(binaries)
    try:
        server.start()
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as error:
        output = getattr(error, "stderr", b"") or b""
        server.destroy()
        missing_server(f"PostgreSQL did not start: {error} {output.decode(errors='replace')[-500:]}")
    deadline = time.monotonic() + 30
    while True:
        try:
            psycopg.connect(server.url(), connect_timeout=2).close()
            return server
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)

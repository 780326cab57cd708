"""The embedded backend's store: runs and results in one SQLite file (WAL), which is also the queue.

A worker claims the oldest pending run in one transaction, reports progress into its row, checks
the row's cancel flag between chunks and solves, and stores the result as msgspec JSON. Each claim
bumps the row's `attempt`, and every later write of the worker names that attempt, so a stale
worker can never overwrite a newer one. A run whose computation was cut short (its worker died,
or the server stopped) goes back to the queue until it has been claimed `max_attempts` times;
the seed makes every repeat identical. One connection per process.

Each run has an owner (the digest of the API key that submitted it, "" while the API is open) and
a client (what the queue cap counts against); a run is only ever read or cancelled by its owner.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..contracts import OptimizationStatus, QueueCounts

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    progress REAL NOT NULL DEFAULT 0,
    error TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    request BLOB NOT NULL,
    seed INTEGER NOT NULL,
    spec_hash TEXT NOT NULL,
    result BLOB,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    attempt INTEGER NOT NULL DEFAULT 0,
    worker_pid INTEGER,
    owner TEXT NOT NULL DEFAULT '',
    client TEXT NOT NULL DEFAULT '',
    lost INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status, seq);
CREATE TABLE IF NOT EXISTS workers (
    pid INTEGER PRIMARY KEY,
    device TEXT NOT NULL,
    started_at TEXT NOT NULL
);
"""

_STATUS_COLUMNS = "run_id, status, progress, error, created_at, started_at, finished_at"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True, slots=True)
class Claim:
    run_id: str
    attempt: int
    seed: int
    request: bytes


@dataclass(frozen=True, slots=True)
class NewRun:
    """A validated submission, ready to queue."""

    run_id: str
    request: bytes
    seed: int
    spec_hash: str
    owner: str
    client: str


class QueueFull(Exception):
    """The client already has as many runs pending or running as one client may."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"at most {limit} runs may be pending or running at once; wait for one to finish")


class StoreUnavailable(Exception):
    """The database cannot take a write now (locked by another process, read-only, full)."""


@dataclass(frozen=True, slots=True)
class StoredResult:
    status: OptimizationStatus
    result: bytes | None  # the OptimizeResponse as JSON, once completed


class RunStore:
    """SQLite access shared by the server and its workers (one connection per process)."""

    def __init__(self, path: Path, busy_timeout: float = 30.0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=busy_timeout)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)
        self._add_missing_columns()

    def _add_missing_columns(self) -> None:
        """A database made by an earlier version lacks the ownership columns: add them (its runs
        were made while the API was open, which is what the defaults say)."""
        present = {row[1] for row in self.db.execute("PRAGMA table_info(runs)")}
        for column, kind in (("owner", "TEXT NOT NULL DEFAULT ''"), ("client", "TEXT NOT NULL DEFAULT ''")):
            if column not in present:
                self.db.execute(f"ALTER TABLE runs ADD COLUMN {column} {kind}")
        if "lost" not in present:
            self.db.execute("ALTER TABLE runs ADD COLUMN lost INTEGER NOT NULL DEFAULT 0")
        self.db.execute("CREATE INDEX IF NOT EXISTS runs_by_owner ON runs (owner, seq)")

    def close(self) -> None:
        self.db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            if self.db.in_transaction:
                with contextlib.suppress(sqlite3.Error):  # the error that got us here is the one to raise
                    self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # --- the server's side ---

    def insert(self, run: NewRun, max_queued: int) -> OptimizationStatus:
        """Queue a run, unless its client already has `max_queued` runs pending or running."""
        created = now()
        with self.transaction() as db:
            (queued,) = db.execute(
                "SELECT COUNT(*) FROM runs WHERE client = ? AND status IN ('pending', 'running')",
                (run.client,),
            ).fetchone()
            if queued >= max_queued:
                raise QueueFull(max_queued)
            db.execute(
                "INSERT INTO runs (run_id, status, created_at, request, seed, spec_hash, owner, client) "
                "VALUES (?, 'pending', ?, ?, ?, ?, ?, ?)",
                (run.run_id, created, run.request, run.seed, run.spec_hash, run.owner, run.client),
            )
        return OptimizationStatus(run_id=run.run_id, status="pending", progress=0.0, created_at=created)

    def status(self, run_id: str, owner: str) -> OptimizationStatus | None:
        row = self.db.execute(
            f"SELECT {_STATUS_COLUMNS} FROM runs WHERE run_id = ? AND owner = ?", (run_id, owner)
        ).fetchone()
        return None if row is None else status_from_row(row)

    def result(self, run_id: str, owner: str) -> StoredResult | None:
        row = self.db.execute(
            f"SELECT {_STATUS_COLUMNS}, result FROM runs WHERE run_id = ? AND owner = ?", (run_id, owner)
        ).fetchone()
        return None if row is None else StoredResult(status_from_row(row[:7]), row[7])

    def cancel(self, run_id: str, owner: str) -> OptimizationStatus | None:
        """Pending runs are cancelled at once; running ones are flagged for their worker."""
        with self.transaction() as db:
            db.execute(
                "UPDATE runs SET status = 'cancelled', error = 'cancelled before it started', "
                "finished_at = ? WHERE run_id = ? AND owner = ? AND status = 'pending'",
                (now(), run_id, owner),
            )
            db.execute(
                "UPDATE runs SET cancel_requested = 1 WHERE run_id = ? AND owner = ? AND status = 'running'",
                (run_id, owner),
            )
        return self.status(run_id, owner)

    def recent(self, limit: int, owner: str) -> list[OptimizationStatus]:
        rows = self.db.execute(
            f"SELECT {_STATUS_COLUMNS} FROM runs WHERE owner = ? ORDER BY seq DESC LIMIT ?", (owner, limit)
        )
        return [status_from_row(row) for row in rows]

    def counts(self) -> QueueCounts:
        rows = self.db.execute("SELECT status, COUNT(*) FROM runs GROUP BY status").fetchall()
        return QueueCounts(**dict(rows))

    def devices(self) -> list[str]:
        return [row[0] for row in self.db.execute("SELECT device FROM workers")]

    def recover(self, max_attempts: int) -> int:
        """Requeue (or, past max_attempts, fail) the runs a previous server left running; forget
        its workers."""
        with self.transaction() as db:
            db.execute("DELETE FROM workers")
            return _release(db, "status = 'running'", (), "the server stopped", max_attempts)

    def release_worker_runs(self, pid: int, cause: str, max_attempts: int) -> int:
        """Requeue (or, past max_attempts, fail) the run of a worker that died."""
        with self.transaction() as db:
            db.execute("DELETE FROM workers WHERE pid = ?", (pid,))
            return _release(db, "status = 'running' AND worker_pid = ?", (pid,), cause, max_attempts)

    # --- a worker's side ---

    def register_worker(self, pid: int, device: str) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO workers (pid, device, started_at) VALUES (?, ?, ?)", (pid, device, now())
        )

    def claim(self, pid: int) -> Claim | None:
        """Take the oldest pending run, or None."""
        with self.transaction() as db:
            row = db.execute(
                "SELECT run_id, attempt, seed, request FROM runs "
                "WHERE status = 'pending' ORDER BY seq LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            run_id, attempt, seed, request = row
            db.execute(
                "UPDATE runs SET status = 'running', started_at = ?, progress = 0, attempt = ?, "
                "worker_pid = ? WHERE run_id = ?",
                (now(), attempt + 1, pid, run_id),
            )
        return Claim(run_id, attempt + 1, seed, bytes(request))

    def cancel_requested(self, run_id: str) -> bool:
        row = self.db.execute("SELECT cancel_requested FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return bool(row and row[0])

    def report_progress(self, claim: Claim, progress: float) -> None:
        self.db.execute(
            "UPDATE runs SET progress = ? WHERE run_id = ? AND attempt = ? AND status = 'running'",
            (progress, claim.run_id, claim.attempt),
        )

    def finish(
        self, claim: Claim, status: str, *, error: str | None = None, result: bytes | None = None
    ) -> None:
        progress = 1.0 if status == "completed" else None
        self.db.execute(
            "UPDATE runs SET status = ?, error = ?, result = ?, finished_at = ?, "
            "progress = COALESCE(?, progress) WHERE run_id = ? AND attempt = ? AND status = 'running'",
            (status, error, result, now(), progress, claim.run_id, claim.attempt),
        )

    def requeue(self, claim: Claim) -> None:
        self.db.execute(
            "UPDATE runs SET status = 'pending', progress = 0, worker_pid = NULL "
            "WHERE run_id = ? AND attempt = ? AND status = 'running'",
            (claim.run_id, claim.attempt),
        )


def _release(
    db: sqlite3.Connection, where: str, args: tuple[object, ...], cause: str, max_attempts: int
) -> int:
    """Put the running runs `where` selects back in the queue, or fail those whose computation
    has now been lost max_attempts times, with the cause. (A worker that stops because its server
    is stopping requeues its run itself, and that does not count.)"""
    error = f"{cause} while computing this run, {max_attempts} time(s); it is not retried again"
    retry = "lost + 1 < ?"
    cursor = db.execute(
        f"UPDATE runs SET worker_pid = NULL, lost = lost + 1, "
        f"progress = CASE WHEN {retry} THEN 0 ELSE progress END, "
        f"error = CASE WHEN {retry} THEN NULL ELSE ? END, "
        f"finished_at = CASE WHEN {retry} THEN NULL ELSE ? END, "
        f"status = CASE WHEN {retry} THEN 'pending' ELSE 'failed' END WHERE {where}",
        (max_attempts, max_attempts, error, max_attempts, now(), max_attempts, *args),
    )
    return cursor.rowcount


def status_from_row(row: tuple[object, ...]) -> OptimizationStatus:
    run_id, status, progress, error, created, started, finished = row
    return OptimizationStatus(
        run_id=str(run_id),
        status=status,  # type: ignore[arg-type]
        progress=float(progress),  # type: ignore[arg-type]
        error=error,  # type: ignore[arg-type]
        created_at=str(created),
        started_at=started,  # type: ignore[arg-type]
        finished_at=finished,  # type: ignore[arg-type]
    )

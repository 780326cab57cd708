"""The embedded backend's store: runs and results in one SQLite file (WAL), which is also the queue.

A worker claims the oldest pending run in one transaction, reports progress into its row, checks
the row's cancel flag between chunks and solves, and stores the result as msgspec JSON. Each claim
bumps the row's `attempt`, and every later write of the worker names that attempt, so a stale
worker can never overwrite a newer one. One connection per process.
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
    worker_pid INTEGER
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
class StoredResult:
    status: OptimizationStatus
    result: bytes | None  # the OptimizeResponse as JSON, once completed


class RunStore:
    """SQLite access shared by the server and its workers (one connection per process)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA busy_timeout=30000")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # --- the server's side ---

    def insert(self, run_id: str, request: bytes, seed: int, spec_hash: str) -> OptimizationStatus:
        created = now()
        self.db.execute(
            "INSERT INTO runs (run_id, status, created_at, request, seed, spec_hash) "
            "VALUES (?, 'pending', ?, ?, ?, ?)",
            (run_id, created, request, seed, spec_hash),
        )
        return OptimizationStatus(run_id=run_id, status="pending", progress=0.0, created_at=created)

    def status(self, run_id: str) -> OptimizationStatus | None:
        row = self.db.execute(f"SELECT {_STATUS_COLUMNS} FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return None if row is None else _status(row)

    def result(self, run_id: str) -> StoredResult | None:
        row = self.db.execute(
            f"SELECT {_STATUS_COLUMNS}, result FROM runs WHERE run_id = ?", (run_id,)
        ).fetchone()
        return None if row is None else StoredResult(_status(row[:7]), row[7])

    def cancel(self, run_id: str) -> OptimizationStatus | None:
        """Pending runs are cancelled at once; running ones are flagged for their worker."""
        with self.transaction() as db:
            db.execute(
                "UPDATE runs SET status = 'cancelled', error = 'cancelled before it started', "
                "finished_at = ? WHERE run_id = ? AND status = 'pending'",
                (now(), run_id),
            )
            db.execute(
                "UPDATE runs SET cancel_requested = 1 WHERE run_id = ? AND status = 'running'", (run_id,)
            )
        return self.status(run_id)

    def recent(self, limit: int) -> list[OptimizationStatus]:
        rows = self.db.execute(f"SELECT {_STATUS_COLUMNS} FROM runs ORDER BY seq DESC LIMIT ?", (limit,))
        return [_status(row) for row in rows]

    def counts(self) -> QueueCounts:
        rows = self.db.execute("SELECT status, COUNT(*) FROM runs GROUP BY status").fetchall()
        return QueueCounts(**dict(rows))

    def devices(self) -> list[str]:
        return [row[0] for row in self.db.execute("SELECT device FROM workers")]

    def recover(self) -> int:
        """Put runs a previous server left running back in the queue; forget its workers."""
        with self.transaction() as db:
            db.execute("DELETE FROM workers")
            cursor = db.execute(
                "UPDATE runs SET status = 'pending', progress = 0, worker_pid = NULL WHERE status = 'running'"
            )
        return cursor.rowcount

    def fail_worker_runs(self, pid: int, reason: str) -> int:
        with self.transaction() as db:
            db.execute("DELETE FROM workers WHERE pid = ?", (pid,))
            cursor = db.execute(
                "UPDATE runs SET status = 'failed', error = ?, finished_at = ? "
                "WHERE status = 'running' AND worker_pid = ?",
                (reason, now(), pid),
            )
        return cursor.rowcount

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


def _status(row: tuple[object, ...]) -> OptimizationStatus:
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

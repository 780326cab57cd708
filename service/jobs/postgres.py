"""The networked backend's store: runs and results in PostgreSQL, shared by every API process and
every worker on any host.

The `axiom_runs` table holds what the embedded store's `runs` table holds (request, seed, status,
progress, result, error, timestamps, owner and client, the cancel flag). Dispatch is not here:
SAQ's own tables (saq_jobs, saq_stats) carry the queue, the leases and the retries.

Every write that ends a run names the statuses it may leave in the same statement (`WHERE status
IN ('pending', 'running')`), so a stale worker (one presumed dead whose run was given to another)
can never overwrite a result that is already stored, nor revive a cancelled run.

The database going away is an answer, not a hang: a connection is made within CONNECT_TIMEOUT,
a statement runs within STATEMENT_TIMEOUT, and a request waits at most POOL_TIMEOUT for a
connection; then it gets StoreUnavailable (503 with Retry-After). Service comes back by itself
when the database does: a connection found broken is dropped by the pool (the request that found
it gets a 503) and replaced. The pool does not ping a connection before lending it: that was a
second round trip on every request, the largest cost of a status poll under load.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from ..contracts import OptimizationStatus, QueueCounts
from .store import NewRun, QueueFull, StoredResult, StoreUnavailable, now, status_from_row

CONNECT_TIMEOUT = 2  # seconds to open a connection (an unreachable host answers as fast as this)
STATEMENT_TIMEOUT_MS = 5_000  # the longest statement of ours is a few milliseconds
POOL_TIMEOUT = 3.0  # seconds a request waits for a connection before it gets 503
UNREACHABLE = "the database cannot be reached; retry shortly"

_UNFINISHED = "status IN ('pending', 'running')"
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS axiom_runs (
    seq BIGSERIAL PRIMARY KEY,
    run_id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    progress DOUBLE PRECISION NOT NULL DEFAULT 0,
    error TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    request BYTEA NOT NULL,
    seed BIGINT NOT NULL,
    spec_hash TEXT NOT NULL,
    result BYTEA,
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    attempt INTEGER NOT NULL DEFAULT 0,
    worker TEXT,
    owner TEXT NOT NULL DEFAULT '',
    client TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS axiom_runs_by_owner ON axiom_runs (owner, seq);
CREATE INDEX IF NOT EXISTS axiom_runs_by_client ON axiom_runs (client, status);
CREATE INDEX IF NOT EXISTS axiom_runs_by_status ON axiom_runs (status);
CREATE TABLE IF NOT EXISTS axiom_limits (
    key TEXT PRIMARY KEY,
    value BYTEA NOT NULL,
    expires_at DOUBLE PRECISION
);
CREATE TABLE IF NOT EXISTS axiom_quota (
    key TEXT PRIMARY KEY,
    history BIGINT[] NOT NULL,
    reset BIGINT NOT NULL,
    admitted BOOLEAN NOT NULL
);
-- A submission: the run's row, unless its client already has p_max_queued runs pending or
-- running. The client's advisory lock makes the count and the insert one step across API
-- processes; each statement of a (volatile) function sees what was committed before it ran, so
-- the count includes a submission that held the lock just before this one.
CREATE OR REPLACE FUNCTION axiom_queue_run(
    p_run_id TEXT, p_created TEXT, p_request BYTEA, p_seed BIGINT, p_spec_hash TEXT,
    p_owner TEXT, p_client TEXT, p_max_queued INTEGER
) RETURNS BOOLEAN LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext(p_client));
    IF (SELECT COUNT(*) FROM axiom_runs WHERE client = p_client AND {_UNFINISHED}) >= p_max_queued THEN
        RETURN FALSE;
    END IF;
    INSERT INTO axiom_runs (run_id, status, created_at, request, seed, spec_hash, owner, client)
    VALUES (p_run_id, 'pending', p_created, p_request, p_seed, p_spec_hash, p_owner, p_client);
    RETURN TRUE;
END
$$;
"""
_SCHEMA_LOCK = 0x61786D  # advisory lock key: processes starting at once create the tables in turn
_STATUS_COLUMNS = "run_id, status, progress, error, created_at, started_at, finished_at"
# The volatile function runs once, before the companion's INSERT reads its answer.
_QUEUE_RUN = (
    "WITH queued AS (SELECT axiom_queue_run(%(run_id)s, %(created)s, %(request)s, %(seed)s, "
    "%(spec_hash)s, %(owner)s, %(client)s, %(max_queued)s) AS ok) "
)


@dataclass(frozen=True, slots=True)
class Companion:
    """A row of another table (`values` by column) written with a run's row, in its transaction:
    the run's job in the queue's table, so that a submission is one round trip, not three."""

    table: sql.Identifier
    values: dict[str, object]


@dataclass(frozen=True, slots=True)
class Start:
    """A run a worker is about to compute: its request and seed, and which computation it is."""

    request: bytes
    seed: int
    attempt: int


def connection_pool(url: str, max_size: int = 20, min_size: int = 2) -> AsyncConnectionPool:
    """A pool on `url` (not open yet) that keeps `min_size` connections open, in autocommit (SAQ
    needs it, and each of our writes is one statement or an explicit transaction), with the
    timeouts above."""
    return AsyncConnectionPool(
        url,
        kwargs={
            "autocommit": True,
            "connect_timeout": CONNECT_TIMEOUT,
            "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
        },
        min_size=min_size,
        max_size=max_size,
        timeout=POOL_TIMEOUT,
        open=False,
    )


def check_reachable(url: str) -> None:
    """Connect once, or raise StoreUnavailable saying why (a malformed URL, an unreachable server,
    a refused login): `axiom serve` and `axiom worker` check this before they start."""
    try:
        psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError as error:
        raise StoreUnavailable(f"AXIOM_DATABASE is not a valid PostgreSQL URL: {error}") from None
    try:
        with psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT):
            pass
    except psycopg.Error as error:
        reason = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
        raise StoreUnavailable(f"cannot reach the database at {_redacted(url)}: {reason}") from None


def _redacted(url: str) -> str:
    """The URL without its password, for messages and logs."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    host, port, name = info.get("host", "localhost"), info.get("port", 5432), info.get("dbname", "")
    return f"postgresql://{info.get('user', '')}@{host}:{port}/{name}"


@contextlib.asynccontextmanager
async def reachable() -> AsyncIterator[None]:
    """Turn the database being down (or too slow) into StoreUnavailable: a 503, never a 500."""
    try:
        yield
    except (psycopg.OperationalError, psycopg.errors.QueryCanceled, PoolTimeout) as error:
        raise StoreUnavailable(UNREACHABLE) from error
    except psycopg.InterfaceError as error:  # a connection that broke under us
        raise StoreUnavailable(UNREACHABLE) from error


class PgRunStore:
    """The runs table, through a connection pool that the caller opens and closes."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def create_schema(self) -> None:
        async with reachable(), self.pool.connection() as db, db.transaction():
            await db.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            await db.execute(_SCHEMA)

    # --- the API's side ---

    async def insert(
        self, run: NewRun, max_queued: int, companion: Companion | None = None
    ) -> OptimizationStatus:
        """Queue a run, unless its client already has `max_queued` runs pending or running, with
        its `companion` row, written only if the run's row was: one statement (`axiom_queue_run`
        and the companion's INSERT), so one round trip and one transaction, and the client's
        lock is held only while the server runs it."""
        created = now()
        args: dict[str, object] = {
            "run_id": run.run_id,
            "created": created,
            "request": run.request,
            "seed": run.seed,
            "spec_hash": run.spec_hash,
            "owner": run.owner,
            "client": run.client,
            "max_queued": max_queued,
        }
        query, extra = _with_companion(companion)
        async with reachable(), self.pool.connection() as db:
            cursor = await db.execute(query, args | extra)
            row = await cursor.fetchone()
        if row is None or not row[0]:
            raise QueueFull(max_queued)
        return OptimizationStatus(run_id=run.run_id, status="pending", progress=0.0, created_at=created)

    async def status(self, run_id: str, owner: str) -> OptimizationStatus | None:
        row = await self._one(
            f"SELECT {_STATUS_COLUMNS} FROM axiom_runs WHERE run_id = %s AND owner = %s", (run_id, owner)
        )
        return None if row is None else status_from_row(row)

    async def result(self, run_id: str, owner: str) -> StoredResult | None:
        row = await self._one(
            f"SELECT {_STATUS_COLUMNS}, result FROM axiom_runs WHERE run_id = %s AND owner = %s",
            (run_id, owner),
        )
        return (
            None
            if row is None
            else StoredResult(status_from_row(row[:7]), None if row[7] is None else bytes(row[7]))
        )

    async def cancel(self, run_id: str, owner: str) -> OptimizationStatus | None:
        """Pending runs are cancelled at once; running ones are flagged for their worker."""
        async with reachable(), self.pool.connection() as db, db.transaction():
            await db.execute(
                "UPDATE axiom_runs SET status = 'cancelled', error = 'cancelled before it started', "
                "finished_at = %s WHERE run_id = %s AND owner = %s AND status = 'pending'",
                (now(), run_id, owner),
            )
            await db.execute(
                "UPDATE axiom_runs SET cancel_requested = TRUE "
                "WHERE run_id = %s AND owner = %s AND status = 'running'",
                (run_id, owner),
            )
        return await self.status(run_id, owner)

    async def recent(self, limit: int, owner: str) -> list[OptimizationStatus]:
        async with reachable(), self.pool.connection() as db:
            cursor = await db.execute(
                f"SELECT {_STATUS_COLUMNS} FROM axiom_runs WHERE owner = %s ORDER BY seq DESC LIMIT %s",
                (owner, limit),
            )
            return [status_from_row(row) for row in await cursor.fetchall()]

    async def counts(self) -> QueueCounts:
        async with reachable(), self.pool.connection() as db:
            cursor = await db.execute("SELECT status, COUNT(*) FROM axiom_runs GROUP BY status")
            return QueueCounts(**{str(status): int(n) for status, n in await cursor.fetchall()})

    # --- a worker's side ---

    async def start(self, run_id: str, worker: str) -> Start | None:
        """Mark the run running on `worker` and return what to compute; None when it is already
        finished (completed by an earlier attempt, cancelled while queued)."""
        row = await self._one(
            "UPDATE axiom_runs SET status = 'running', started_at = %s, progress = 0, "
            f"attempt = attempt + 1, worker = %s WHERE run_id = %s AND {_UNFINISHED} "
            "RETURNING request, seed, attempt",
            (now(), worker, run_id),
        )
        return None if row is None else Start(bytes(row[0]), int(row[1]), int(row[2]))

    async def cancel_requested(self, run_id: str) -> bool:
        row = await self._one("SELECT cancel_requested FROM axiom_runs WHERE run_id = %s", (run_id,))
        return bool(row and row[0])

    async def report_progress(self, run_id: str, attempt: int, progress: float) -> None:
        await self._execute(
            "UPDATE axiom_runs SET progress = %s WHERE run_id = %s AND attempt = %s AND status = 'running'",
            (progress, run_id, attempt),
        )

    async def finish(self, run_id: str, status: str, error: str | None, result: bytes | None) -> bool:
        """Store how the run ended, unless it has already ended (one statement: the guard and the
        write cannot be split by another worker's write). True when this call wrote it."""
        progress = 1.0 if status == "completed" else None
        async with reachable(), self.pool.connection() as db:
            cursor = await db.execute(
                "UPDATE axiom_runs SET status = %s, error = %s, result = %s, finished_at = %s, "
                f"progress = COALESCE(%s, progress) WHERE run_id = %s AND {_UNFINISHED}",
                (status, error, result, now(), progress, run_id),
            )
            return cursor.rowcount == 1

    async def requeue(self, run_id: str, attempt: int) -> None:
        """The worker is stopping: the run waits for the next worker (SAQ retries its job)."""
        await self._execute(
            "UPDATE axiom_runs SET status = 'pending', progress = 0, worker = NULL "
            "WHERE run_id = %s AND attempt = %s AND status = 'running'",
            (run_id, attempt),
        )

    async def _one(self, query: str, args: tuple[object, ...]) -> tuple[Any, ...] | None:
        async with reachable(), self.pool.connection() as db:
            cursor = await db.execute(query, args)
            return await cursor.fetchone()

    async def _execute(self, query: str, args: tuple[object, ...]) -> None:
        async with reachable(), self.pool.connection() as db:
            await db.execute(query, args)


def _with_companion(companion: Companion | None) -> tuple[sql.Composable, dict[str, object]]:
    """The submission's statement: it answers one row, TRUE when the run was queued (and its
    companion row written), FALSE when its client's queue was full."""
    if companion is None:
        return sql.SQL(_QUEUE_RUN + "SELECT ok FROM queued"), {}
    columns = list(companion.values)
    query = sql.SQL(
        _QUEUE_RUN + "INSERT INTO {table} ({columns}) SELECT {values} FROM queued WHERE ok RETURNING TRUE"
    ).format(
        table=companion.table,
        columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
        values=sql.SQL(", ").join(sql.Placeholder(f"_{c}") for c in columns),
    )
    return query, {f"_{c}": v for c, v in companion.values.items()}

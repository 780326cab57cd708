"""A Litestar `Store` on the networked backend's database, so that what it keeps (the submission
rate limit's history per client) is the same for every API process sharing that database.

Litestar's rate limit reads a client's history, checks it and writes it back (three steps that
would need a lock across processes, held by every submitter in turn). Here the limit calls
`admit` instead: one INSERT ... ON CONFLICT DO UPDATE ... RETURNING statement that counts and
records the submission at once. Two API processes can never both admit a client's eleventh
submission (PostgreSQL locks that client's row for the statement), and clients never wait on
one another (each has its own row).
"""

from __future__ import annotations

import time
from datetime import timedelta

from litestar.middleware.rate_limit import CacheObject
from litestar.stores.base import Store
from psycopg_pool import AsyncConnectionPool

from .postgres import reachable

# A fixed window, as Litestar's limit keeps it: `reset` is when the client's window ends; a
# submission is admitted while fewer than `max` are recorded in it, and recorded (newest first).
_ADMIT = """
INSERT INTO axiom_quota AS q (key, history, reset, admitted)
VALUES (%(key)s, ARRAY[%(now)s]::BIGINT[], %(now)s + %(window)s, TRUE)
ON CONFLICT (key) DO UPDATE SET
    history = CASE WHEN q.reset <= %(now)s THEN ARRAY[%(now)s]::BIGINT[]
                   WHEN cardinality(q.history) < %(max)s THEN %(now)s || q.history
                   ELSE q.history END,
    reset = CASE WHEN q.reset <= %(now)s THEN %(now)s + %(window)s ELSE q.reset END,
    admitted = q.reset <= %(now)s OR cardinality(q.history) < %(max)s
RETURNING admitted, history, reset
"""
_LIVE = "(expires_at IS NULL OR expires_at > %s)"
_REFUND = "UPDATE axiom_quota SET history = history[2:] WHERE key = %s AND cardinality(history) > 0"


class DatabaseStore(Store):
    """Keys and values in the `axiom_limits` table (an expired value reads as absent); the
    submission limit's counts in `axiom_quota` (`admit`, `refund`)."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def admit(self, key: str, max_requests: int, window: int) -> tuple[bool, CacheObject]:
        """Count a submission of `key`'s against `max_requests` per `window` seconds, in one
        statement: whether it is admitted, and the client's history after it."""
        now = int(time.time())
        args = {"key": key, "now": now, "window": window, "max": max_requests}
        async with reachable(), self.pool.connection() as db:
            cursor = await db.execute(_ADMIT, args)
            row = await cursor.fetchone()
        assert row is not None
        return bool(row[0]), CacheObject(history=list(row[1]), reset=int(row[2]))

    async def refund(self, key: str) -> None:
        """Give back `key`'s newest submission (one the API refused as invalid)."""
        async with reachable(), self.pool.connection() as db:
            await db.execute(_REFUND, (key,))

    async def set(self, key: str, value: str | bytes, expires_in: int | timedelta | None = None) -> None:
        data = value.encode() if isinstance(value, str) else value
        async with reachable(), self.pool.connection() as db:
            await db.execute(
                "INSERT INTO axiom_limits (key, value, expires_at) VALUES (%s, %s, %s) "
                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at",
                (key, data, _deadline(expires_in)),
            )

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        async with reachable(), self.pool.connection() as db:
            if renew_for is None:
                cursor = await db.execute(
                    f"SELECT value FROM axiom_limits WHERE key = %s AND {_LIVE}",
                    (key, time.time()),
                )
            else:
                cursor = await db.execute(
                    f"UPDATE axiom_limits SET expires_at = %s WHERE key = %s AND {_LIVE} RETURNING value",
                    (_deadline(renew_for), key, time.time()),
                )
            row = await cursor.fetchone()
        return None if row is None else bytes(row[0])

    async def delete(self, key: str) -> None:
        async with reachable(), self.pool.connection() as db:
            await db.execute("DELETE FROM axiom_limits WHERE key = %s", (key,))

    async def delete_all(self) -> None:
        async with reachable(), self.pool.connection() as db:
            await db.execute("DELETE FROM axiom_limits")
            await db.execute("DELETE FROM axiom_quota")

    async def exists(self, key: str) -> bool:
        return await self.get(key) is not None

    async def expires_in(self, key: str) -> int | None:
        async with reachable(), self.pool.connection() as db:
            cursor = await db.execute("SELECT expires_at FROM axiom_limits WHERE key = %s", (key,))
            row = await cursor.fetchone()
        if row is None or row[0] is None:
            return None
        return max(0, int(row[0] - time.time()))


def _deadline(expires_in: int | timedelta | None) -> float | None:
    if expires_in is None:
        return None
    seconds = expires_in.total_seconds() if isinstance(expires_in, timedelta) else expires_in
    return time.time() + seconds

"""A Litestar `Store` on the networked backend's database, so that what it keeps (the submission
rate limit's history per client) is the same for every API process sharing that database.

Litestar's rate limit reads a client's history, checks it and writes it back under a lock of its
own process; `exclusive` is that lock for all processes at once (a PostgreSQL advisory lock), so
two API processes can never both admit a client's eleventh submission.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import timedelta
from types import TracebackType
from typing import Any

from litestar.stores.base import Store
from psycopg_pool import AsyncConnectionPool

from .postgres import reachable

_LIMIT_LOCK = 0x61786C  # advisory lock key of the rate limit's read-check-write


class DatabaseStore(Store):
    """Keys and values in the `axiom_limits` table; an expired value reads as absent."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool
        self.exclusive = _AdvisoryLock(pool, _LIMIT_LOCK)

    def _connection(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """The connection that holds `exclusive` while this process holds it (the rate limit reads
        and writes under it: two round trips under the lock, not two checkouts too), else one
        from the pool."""
        return self.exclusive.connection() or self.pool.connection()

    async def set(self, key: str, value: str | bytes, expires_in: int | timedelta | None = None) -> None:
        data = value.encode() if isinstance(value, str) else value
        async with reachable(), self._connection() as db:
            await db.execute(
                "INSERT INTO axiom_limits (key, value, expires_at) VALUES (%s, %s, %s) "
                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at",
                (key, data, _deadline(expires_in)),
            )

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        async with reachable(), self._connection() as db:
            cursor = await db.execute(
                "SELECT value FROM axiom_limits WHERE key = %s AND (expires_at IS NULL OR expires_at > %s)",
                (key, time.time()),
            )
            row = await cursor.fetchone()
            if row is not None and renew_for is not None:
                await db.execute(
                    "UPDATE axiom_limits SET expires_at = %s WHERE key = %s", (_deadline(renew_for), key)
                )
        return None if row is None else bytes(row[0])

    async def delete(self, key: str) -> None:
        async with reachable(), self.pool.connection() as db:
            await db.execute("DELETE FROM axiom_limits WHERE key = %s", (key,))

    async def delete_all(self) -> None:
        async with reachable(), self.pool.connection() as db:
            await db.execute("DELETE FROM axiom_limits")

    async def exists(self, key: str) -> bool:
        return await self.get(key) is not None

    async def expires_in(self, key: str) -> int | None:
        async with reachable(), self.pool.connection() as db:
            cursor = await db.execute("SELECT expires_at FROM axiom_limits WHERE key = %s", (key,))
            row = await cursor.fetchone()
        if row is None or row[0] is None:
            return None
        return max(0, int(row[0] - time.time()))


class _AdvisoryLock:
    """An async lock held across processes: this process's own lock first (so one connection, not
    one per waiting request, waits on the database), then a session advisory lock on one pooled
    connection, given back on exit with the connection."""

    def __init__(self, pool: AsyncConnectionPool, key: int) -> None:
        self.pool = pool
        self.key = key
        self._local = asyncio.Lock()
        self._held: tuple[contextlib.AbstractAsyncContextManager[Any], Any] | None = None

    def connection(self) -> contextlib.AbstractAsyncContextManager[Any] | None:
        """The held connection (lent, not given back on exit), or None while the lock is free."""
        return None if self._held is None else contextlib.nullcontext(self._held[1])

    async def __aenter__(self) -> None:
        await self._local.acquire()
        manager = self.pool.connection()
        try:
            async with reachable():
                db = await manager.__aenter__()
                try:
                    await db.execute("SELECT pg_advisory_lock(%s)", (self.key,))
                except BaseException:
                    await manager.__aexit__(None, None, None)
                    raise
        except BaseException:
            self._local.release()
            raise
        self._held = (manager, db)

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        assert self._held is not None
        manager, db = self._held
        self._held = None
        try:
            async with reachable():
                await db.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
        finally:
            await manager.__aexit__(None, None, None)
            self._local.release()


def _deadline(expires_in: int | timedelta | None) -> float | None:
    if expires_in is None:
        return None
    seconds = expires_in.total_seconds() if isinstance(expires_in, timedelta) else expires_in
    return time.time() + seconds

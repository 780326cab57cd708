"""The event loop is never held up by another process's SQLite write lock, by the computing
workers beside it, or by the garbage collector walking the startup heap."""

from __future__ import annotations

import asyncio
import gc
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import msgspec
import pytest
from litestar.testing import TestClient

from service.access import OPEN
from service.app import create_app
from service.contracts import OptimizeRequest
from service.jobs import EmbeddedJobRegistry

from .conftest import MakeBody, settings_for

pytestmark = pytest.mark.embedded_only  # the embedded backend's SQLite locking

LOCK_HELD_S = 0.5


def test_a_write_waiting_for_the_lock_leaves_the_loop_free(tmp_path: Path, make_body: MakeBody) -> None:
    """A worker holding the write lock (here, another connection) delays the submission that
    needs it, not the polls around it; the submission is stored once the lock is released."""
    request = msgspec.json.decode(msgspec.json.encode(make_body()), type=OptimizeRequest)

    async def scenario() -> None:
        registry = EmbeddedJobRegistry(settings_for(tmp_path))
        await registry.start()
        try:
            first = await registry.submit(request, OPEN, "test")
            other = sqlite3.connect(tmp_path / "runs.db", isolation_level=None)
            other.execute("BEGIN IMMEDIATE")  # as a worker's progress write does
            started = time.monotonic()
            asyncio.get_running_loop().call_later(LOCK_HELD_S, other.execute, "COMMIT")
            submitting = asyncio.create_task(registry.submit(request, OPEN, "test"))
            polled = []
            while not submitting.done():
                status = await registry.status(first.run_id, OPEN)
                assert status is not None and status.status == "pending"
                polled.append(time.monotonic() - started)
                await asyncio.sleep(0.01)
            stored = await submitting
            waited = time.monotonic() - started
            other.close()
            assert waited >= LOCK_HELD_S * 0.9
            assert len(polled) >= 10 and polled[0] < LOCK_HELD_S / 2  # polls went on meanwhile
            assert (await registry.status(stored.run_id, OPEN)) == stored
            cancelled = await registry.cancel(stored.run_id, OPEN)
            assert cancelled is not None and cancelled.status == "cancelled"
        finally:
            await registry.stop()

    asyncio.run(scenario())


def test_the_startup_heap_is_frozen_while_the_app_runs(tmp_path: Path) -> None:
    before = gc.get_freeze_count()
    with TestClient(create_app(settings_for(tmp_path))) as client:
        assert client.get("/health").status_code == 200
        assert gc.get_freeze_count() > before
    assert gc.get_freeze_count() == 0


YIELDING = """
import os, threading
from service.jobs.worker import yield_cpu
before = threading.Thread(target=threading.Event().wait, daemon=True); before.start()
yield_cpu()
after = threading.Thread(target=threading.Event().wait, daemon=True); after.start()
print(sorted({os.sched_getscheduler(int(t)) for t in os.listdir("/proc/self/task")}))
"""


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="SCHED_IDLE is Linux's")
def test_a_worker_computes_only_on_cpu_time_nobody_else_wants() -> None:
    """Every thread of a worker, those started before it yields and those after, is SCHED_IDLE
    (a niced one kept the server's event loop waiting for a time slice on each wake-up)."""
    shown = subprocess.run([sys.executable, "-c", YIELDING], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == f"[{os.SCHED_IDLE}]", shown

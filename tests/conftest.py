"""Test-run setup: a persistent JAX compilation cache, ../shared/data, hypothesis settings.

Every distinct kernel shape (drivers, chunk size, n_blocks) costs seconds to compile, so the
cache is on for the whole run, and shared fixtures build fields of the few sizes tests reuse.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import jax
import pytest
from hypothesis import settings

from core.slate import Driver, Track
from tests.fields import make_field
from tests.servers import PostgresServer, start_postgres

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
JAX_CACHE_DIR = REPO / ".pytest_cache" / "jax"

jax.config.update("jax_compilation_cache_dir", str(JAX_CACHE_DIR))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)

# Kernel examples compile and run for seconds: no per-example deadline.
settings.register_profile("axiom", deadline=None, print_blob=True)
settings.load_profile("axiom")

MakeField = Callable[..., list[Driver]]


def _missing_shared_reason() -> str:
    return f"needs the shared data folder {SHARED_DATA} (../shared/data beside the checkout)"


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tests marked `shared` skip, with the reason, when ../shared/data is absent."""
    if item.get_closest_marker("shared") is not None and not SHARED_DATA.is_dir():
        pytest.skip(_missing_shared_reason())


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The ../shared/data folder; the test skips with a clear reason when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(_missing_shared_reason())
    return SHARED_DATA


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the session (started on first use); fails in CI when missing."""
    server = start_postgres()
    yield server
    server.destroy()


@pytest.fixture(scope="session")
def field_factory() -> MakeField:
    return make_field


@pytest.fixture(scope="session")
def short_track() -> Track:
    """A 200-lap short track: the shape (12 drivers, short n_blocks) most unit tests share."""
    return Track("test-short", "Test Short Track", "short", 200)


@pytest.fixture(scope="session")
def field12() -> list[Driver]:
    return make_field(12, seed=12)

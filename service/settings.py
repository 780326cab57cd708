"""Service settings, read from AXIOM_* environment variables (and nowhere else)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import jax
import msgspec

from core.errors import InvalidInput


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """What a deployment can change. Defaults suit one machine with one worker."""

    database: Path = Path("axiom.db")  # AXIOM_DATABASE: SQLite file of runs and results
    workers: int = 1  # AXIOM_WORKERS: worker processes; 0 queues runs for workers started elsewhere
    max_scenarios: int = 1_000_000  # AXIOM_MAX_SCENARIOS
    rate_limit: int = 10  # AXIOM_RATE_LIMIT: submissions per minute per client
    cors_origins: tuple[str, ...] = ()  # AXIOM_CORS_ORIGINS: comma-separated; empty: no CORS
    cache_dir: Path = Path.home() / ".cache" / "axiom"  # AXIOM_CACHE_DIR (JAX cache under jax/)
    max_body_size: int = 1_048_576  # bytes; larger bodies get 413
    poll_interval: float = 0.05  # seconds an idle worker waits before looking for work again

    @property
    def jax_cache_dir(self) -> Path:
        return self.cache_dir / "jax"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        base = cls()

        def integer(name: str, default: int, low: int) -> int:
            raw = env.get(name)
            if raw is None or not raw.strip():
                return default
            try:
                value = int(raw)
            except ValueError:
                raise InvalidInput(name, f"must be an integer, got {raw!r}") from None
            if value < low:
                raise InvalidInput(name, f"must be at least {low}, got {value}")
            return value

        origins = tuple(o.strip() for o in env.get("AXIOM_CORS_ORIGINS", "").split(",") if o.strip())
        return cls(
            database=Path(env.get("AXIOM_DATABASE") or base.database),
            workers=integer("AXIOM_WORKERS", base.workers, 0),
            max_scenarios=integer("AXIOM_MAX_SCENARIOS", base.max_scenarios, 10),
            rate_limit=integer("AXIOM_RATE_LIMIT", base.rate_limit, 1),
            cors_origins=origins,
            cache_dir=Path(env.get("AXIOM_CACHE_DIR") or base.cache_dir),
        )


def enable_compilation_cache(directory: Path) -> None:
    """Keep compiled kernels across processes and runs (the first compile of a shape takes
    seconds); compiles shorter than half a second are not worth the disk."""
    jax.config.update("jax_compilation_cache_dir", str(directory))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)

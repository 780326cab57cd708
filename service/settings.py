"""Service settings, read from AXIOM_* environment variables (and nowhere else)."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path

import jax
import msgspec

from core.errors import InvalidInput


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """What a deployment can change. Defaults suit one machine with one worker."""

    database: Path = Path("axiom.db")  # AXIOM_DATABASE: SQLite file of runs and results
    # AXIOM_DATABASE as a postgresql:// URL instead: the networked backend (service.jobs.networked)
    database_url: str = ""
    # AXIOM_WORKERS: worker processes; 0 queues runs for workers started elsewhere (the networked
    # backend's default: its workers are `axiom worker` processes on any host)
    workers: int = 1
    max_scenarios: int = 1_000_000  # AXIOM_MAX_SCENARIOS
    rate_limit: int = 10  # AXIOM_RATE_LIMIT: submissions per minute per client
    cors_origins: tuple[str, ...] = ()  # AXIOM_CORS_ORIGINS: comma-separated; empty: no CORS
    cache_dir: Path = Path.home() / ".cache" / "axiom"  # AXIOM_CACHE_DIR (JAX cache under jax/)
    max_body_size: int = 1_048_576  # bytes; larger bodies get 413
    poll_interval: float = 0.05  # seconds an idle worker waits before looking for work again
    # AXIOM_API_KEYS: comma-separated keys, or @PATH of a file with one per line; empty: open API
    api_keys: tuple[str, ...] = ()
    # AXIOM_TRUSTED_PROXIES: addresses or networks whose X-Forwarded-For is believed; empty: none
    trusted_proxies: tuple[str, ...] = ()
    max_queued: int = 20  # AXIOM_MAX_QUEUED: a client's runs pending or running at once
    max_attempts: int = 3  # AXIOM_MAX_ATTEMPTS: computations of a run whose worker dies, then failed
    # AXIOM_HEARTBEAT: seconds a networked worker may go silent before its run is given to another
    heartbeat: int = 30

    @property
    def networked(self) -> bool:
        return bool(self.database_url)

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

        database = env.get("AXIOM_DATABASE", "").strip()
        url = database if is_database_url(database) else ""
        return cls(
            database=Path(database) if database and not url else base.database,
            database_url=url,
            workers=integer("AXIOM_WORKERS", 0 if url else base.workers, 0),
            max_scenarios=integer("AXIOM_MAX_SCENARIOS", base.max_scenarios, 10),
            rate_limit=integer("AXIOM_RATE_LIMIT", base.rate_limit, 1),
            cors_origins=_listed(env.get("AXIOM_CORS_ORIGINS", "")),
            cache_dir=Path(env.get("AXIOM_CACHE_DIR") or base.cache_dir),
            api_keys=_api_keys(env.get("AXIOM_API_KEYS", "")),
            trusted_proxies=_proxies(env.get("AXIOM_TRUSTED_PROXIES", "")),
            max_queued=integer("AXIOM_MAX_QUEUED", base.max_queued, 1),
            max_attempts=integer("AXIOM_MAX_ATTEMPTS", base.max_attempts, 1),
            heartbeat=integer("AXIOM_HEARTBEAT", base.heartbeat, 1),
        )


def is_database_url(text: str) -> bool:
    """A database server's URL (the networked backend), not a file path (the embedded one)."""
    return text.startswith(("postgresql://", "postgres://"))


MIN_KEY_LENGTH = 16  # a shorter key is guessable within the rate limit's reach


def _listed(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


def _api_keys(text: str) -> tuple[str, ...]:
    """Keys from AXIOM_API_KEYS: comma-separated, or `@PATH` of a file with one key per line
    (blank lines and lines starting with # skipped). The error never shows a key."""
    if text.strip().startswith("@"):
        path = Path(text.strip()[1:])
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as error:
            message = f"cannot read the key file {path}: {error.strerror}"
            raise InvalidInput("AXIOM_API_KEYS", message) from None
        keys = tuple(line.strip() for line in lines if line.strip() and not line.strip().startswith("#"))
    else:
        keys = _listed(text)
    for number, key in enumerate(keys, start=1):
        if len(key) < MIN_KEY_LENGTH or not key.isprintable() or " " in key:
            raise InvalidInput(
                "AXIOM_API_KEYS",
                f"key {number} must be at least {MIN_KEY_LENGTH} printable characters without spaces",
            )
    return keys


def _proxies(text: str) -> tuple[str, ...]:
    """AXIOM_TRUSTED_PROXIES as networks (an address is a /32 or /128), checked here."""
    proxies = _listed(text)
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise InvalidInput("AXIOM_TRUSTED_PROXIES", f"not an address or network: {proxy!r}") from None
    return proxies


def enable_compilation_cache(directory: Path) -> None:
    """Keep compiled kernels across processes and runs (the first compile of a shape takes
    seconds); compiles shorter than half a second are not worth the disk."""
    jax.config.update("jax_compilation_cache_dir", str(directory))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)

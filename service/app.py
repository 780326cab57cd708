"""create_app() -> Litestar, and nothing else."""

from __future__ import annotations

import functools
import gc
import logging

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin

from .access import Access, provide_client, provide_owner
from .jobs import JobRegistry, registry_for
from .limits import SUBMISSION_STORE, submission_limit
from .routes import (
    EXCEPTION_HANDLERS,
    OfflineDocsPlugin,
    OptimizeController,
    api_docs,
    health,
    openapi_json,
    provide_registry,
)
from .settings import Settings

log = logging.getLogger("axiom.service")

API_VERSION = "0.2.0"  # the public contract's version; README "REST service" says what each changed


def create_app(settings: Settings | None = None, registry: JobRegistry | None = None) -> Litestar:
    """The Axiom service. Settings default to the AXIOM_* environment; the registry to the backend
    they name (embedded SQLite, or networked PostgreSQL), started and stopped with the app."""
    settings = Settings.from_env() if settings is None else settings
    jobs: JobRegistry = registry_for(settings) if registry is None else registry
    shared = jobs.shared_store()
    access = Access.from_settings(settings)
    cors = CORSConfig(allow_origins=list(settings.cors_origins)) if settings.cors_origins else None
    return Litestar(
        route_handlers=[OptimizeController, health, openapi_json, api_docs],
        dependencies={
            "registry": Provide(provide_registry, sync_to_thread=False),
            "owner": Provide(provide_owner, sync_to_thread=False),
            "client": Provide(provide_client, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        middleware=[submission_limit(settings.rate_limit, access).middleware],
        cors_config=cors,
        request_max_body_size=settings.max_body_size,
        state=State({"registry": jobs, "access": access}),
        stores={SUBMISSION_STORE: shared} if shared is not None else None,
        on_startup=[jobs.start, _freeze_heap, functools.partial(_log_access, access)],
        on_shutdown=[jobs.stop, _unfreeze_heap],
        openapi_config=OpenAPIConfig(
            title="Axiom",
            version=API_VERSION,
            description="NASCAR DFS lineups: submit a run, poll it, fetch its lineups.",
            path="/schema",
            render_plugins=[OfflineDocsPlugin(path="/"), JsonRenderPlugin(path="/openapi.json")],
        ),
        debug=False,
    )


def _log_access(access: Access) -> None:
    """Say at startup whether the API needs keys (never which keys)."""
    if access.is_open:
        log.warning("AXIOM_API_KEYS is not set: the API is open, and anyone who can reach it sees every run")
    else:
        log.info(
            "API keys required (%d configured); each run is visible only to the key that made it",
            len(access.digests),
        )


def _freeze_heap() -> None:
    """Keep the garbage collector's full collections short: everything alive once the app has
    started (JAX, NumPy, cvxpy, Litestar: ~170,000 objects) moves to the permanent generation, so
    that a full collection no longer walks it. Without this, each full collection (one every few
    thousand requests, from their garbage) stopped the event loop for 0.2-0.4 s."""
    gc.collect()
    gc.freeze()


def _unfreeze_heap() -> None:
    """Give the startup heap back to the collector (it matters where apps start and stop in one
    process, as in the tests)."""
    gc.unfreeze()

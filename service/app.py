"""create_app() -> Litestar, and nothing else."""

from __future__ import annotations

import gc

from litestar import Litestar, Request
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin

from .jobs import EmbeddedJobRegistry, JobRegistry
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

API_VERSION = "0.2.0"  # the public contract's version; README "REST service" says what each changed


def create_app(settings: Settings | None = None, registry: JobRegistry | None = None) -> Litestar:
    """The Axiom service. Settings default to the AXIOM_* environment; the registry to the
    embedded SQLite + worker-process backend, started and stopped with the app."""
    settings = Settings.from_env() if settings is None else settings
    jobs: JobRegistry = EmbeddedJobRegistry(settings) if registry is None else registry

    def submissions_only(request: Request) -> bool:
        return request.method == "POST"  # polling status and results is never counted

    rate_limit = RateLimitConfig(
        rate_limit=("minute", settings.rate_limit), check_throttle_handler=submissions_only
    )
    cors = CORSConfig(allow_origins=list(settings.cors_origins)) if settings.cors_origins else None
    return Litestar(
        route_handlers=[OptimizeController, health, openapi_json, api_docs],
        dependencies={"registry": Provide(provide_registry, sync_to_thread=False)},
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        middleware=[rate_limit.middleware],
        cors_config=cors,
        request_max_body_size=settings.max_body_size,
        state=State({"registry": jobs}),
        on_startup=[jobs.start, _freeze_heap],
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

"""GET /health: liveness, the compute device and the queue."""

from __future__ import annotations

from litestar import get
from litestar.di import NamedDependency

from ..contracts import Health
from ..jobs import JobRegistry

Registry = NamedDependency[JobRegistry]


@get("/health", tags=["health"], summary="Service health, compute device and queue counts")
async def health(registry: Registry) -> Health:
    return await registry.health()

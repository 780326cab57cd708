"""GET /health: liveness, the compute device and the queue (HEAD: the same, without the body)."""

from __future__ import annotations

import msgspec
from litestar import HttpMethod, Request, Response, route
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.types import Method

from ..access import Access
from ..contracts import ENCODER, Health
from ..jobs import JobRegistry

Registry = NamedDependency[JobRegistry]


def _operation_id(_: object, method: Method, __: object) -> str:
    return "HealthHealth" if method == HttpMethod.GET else "HealthHead"  # GET's id as it always was


@route(
    "/health",
    http_method=[HttpMethod.GET, HttpMethod.HEAD],
    operation_id=_operation_id,
    tags=["health"],
    summary="Service health, compute device and queue counts",
    responses={200: ResponseSpec(Health, generate_examples=False, description="the health (HEAD: no body)")},
)
async def health(registry: Registry, state: State, request: Request) -> Response[Health] | Response[bytes]:
    access: Access = state.access
    report = msgspec.structs.replace(await registry.health(), auth="open" if access.is_open else "api_keys")
    if request.method == HttpMethod.HEAD:  # load balancers probe with HEAD: GET's headers, no body
        return Response(
            b"", media_type="application/json", headers={"content-length": str(len(ENCODER.encode(report)))}
        )
    return Response(report)

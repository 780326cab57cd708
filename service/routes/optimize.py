"""/api/v1/optimize: submit a run, poll its status and result, cancel it, list runs."""

from __future__ import annotations

import io
from typing import Annotated

from litestar import Controller, Response, delete, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, Parameter

from ..access import require_key
from ..contracts import (
    RESPONSE_DECODER,
    ErrorDetail,
    OptimizationStatus,
    OptimizeRequest,
    OptimizeResponse,
    RunError,
)
from ..jobs import JobRegistry, StoredResult
from ..mapping import AXIOM_IDS, write_lineups_csv
from .bodies import StrictOptimizeRequest

PREFIX = "/api/v1/optimize"
UPLOAD_IDS = "X-Axiom-Upload-Ids"  # "site": the site's player IDs; "axiom": Axiom's driver_ids
Registry = NamedDependency[JobRegistry]
Owner = NamedDependency[str]  # whose runs the request may see (service.access)
Client = NamedDependency[str]  # what the queue cap counts against (service.access)
RequestBody = Annotated[OptimizeRequest, Body(media_type=RequestEncodingType.JSON)]
RunId = Annotated[str, Parameter(max_length=64, description="the id POST returned")]


def provide_registry(state: State) -> JobRegistry:
    registry: JobRegistry = state.registry
    return registry


def _not_found(run_id: str) -> NotFoundException:
    return NotFoundException(detail=f"no run {run_id!r}")


def _unfinished(stored: StoredResult) -> Response[OptimizationStatus] | Response[RunError] | None:
    """202 with the status while a run is queued or computing; 409 once it failed or was cancelled."""
    status = stored.status
    if status.status in ("pending", "running"):
        return Response(status, status_code=202, media_type="application/json")
    if status.status in ("failed", "cancelled"):
        detail = status.error or status.status
        error = RunError(run_id=status.run_id, status=status.status, detail=detail)
        return Response(error, status_code=409, media_type="application/json")
    return None


_POLL_RESPONSES = {
    202: ResponseSpec(OptimizationStatus, description="the run is pending or running"),
    404: ResponseSpec(ErrorDetail, description="no such run"),
    409: ResponseSpec(RunError, description="the run failed or was cancelled; detail says why"),
}


class OptimizeController(Controller):
    path = PREFIX
    tags = ["optimize"]
    guards = [require_key]  # 401 without a valid key when AXIOM_API_KEYS is set

    @post(
        "/",
        status_code=202,
        summary="Submit an optimization; returns at once with the run's status",
        dto=StrictOptimizeRequest,  # the body is decoded strictly: "5000" is not a salary
        return_dto=None,
        responses={
            400: ResponseSpec(ErrorDetail, description="a field breaks a rule (field names it)"),
            413: ResponseSpec(ErrorDetail, description="the body is too large"),
            429: ResponseSpec(ErrorDetail, description="too many submissions; see Retry-After"),
        },
    )
    async def submit(
        self, data: RequestBody, registry: Registry, owner: Owner, client: Client
    ) -> Response[OptimizationStatus]:
        status = await registry.submit(data, owner, client)
        return Response(status, status_code=202, headers={"Location": f"{PREFIX}/{status.run_id}/status"})

    @get("/", summary="Recent runs, newest first")
    async def list_runs(
        self, registry: Registry, owner: Owner, limit: Annotated[int, Parameter(ge=1, le=1000)] = 50
    ) -> list[OptimizationStatus]:
        return await registry.list(limit, owner)

    @get("/{run_id:str}/status", summary="A run's status and progress", responses={404: _POLL_RESPONSES[404]})
    async def status(self, run_id: RunId, registry: Registry, owner: Owner) -> OptimizationStatus:
        status = await registry.status(run_id, owner)
        if status is None:
            raise _not_found(run_id)
        return status

    @get(
        "/{run_id:str}/result",
        summary="A completed run's lineups",
        responses={200: ResponseSpec(OptimizeResponse, description="the run completed"), **_POLL_RESPONSES},
    )
    async def result(
        self, run_id: RunId, registry: Registry, owner: Owner
    ) -> Response[OptimizeResponse] | Response[OptimizationStatus] | Response[RunError]:
        stored = await registry.result(run_id, owner)
        if stored is None:
            raise _not_found(run_id)
        early = _unfinished(stored)
        if early is not None:
            return early
        assert stored.result is not None
        # The stored JSON is the response: sent as is, never decoded and encoded again.
        return Response(stored.result, media_type="application/json")  # type: ignore[arg-type]

    @get(
        "/{run_id:str}/lineups.csv",
        summary="The site's lineup-upload CSV, with each driver's site_player_id (else its driver_id, "
        "and the X-Axiom-Upload-Ids header says axiom)",
        media_type="text/csv",
        responses=_POLL_RESPONSES,
    )
    async def lineups_csv(self, run_id: RunId, registry: Registry, owner: Owner) -> Response[str]:
        stored = await registry.result(run_id, owner)
        if stored is None:
            raise _not_found(run_id)
        early = _unfinished(stored)
        if early is not None:
            return early  # type: ignore[return-value]
        assert stored.result is not None
        response = RESPONSE_DECODER.decode(stored.result)
        text = io.StringIO()
        write_lineups_csv(text, response)
        filename = f"axiom-{response.site}-{run_id}.csv"
        headers = {
            "Content-Disposition": f'attachment; filename="{filename}"',
            UPLOAD_IDS: response.upload_ids,
        }
        if response.upload_ids == "axiom":
            headers["Warning"] = f'299 axiom "{AXIOM_IDS}"'
        return Response(text.getvalue(), media_type="text/csv", headers=headers)

    @delete(
        "/{run_id:str}",
        status_code=200,
        summary="Cancel a run (pending: at once; running: between chunks or solves)",
        responses={404: _POLL_RESPONSES[404]},
    )
    async def cancel(self, run_id: RunId, registry: Registry, owner: Owner) -> OptimizationStatus:
        status = await registry.cancel(run_id, owner)
        if status is None:
            raise _not_found(run_id)
        return status

"""Every error a client can meet, mapped to HTTP in one place.

Bodies are `ErrorDetail` ({"field", "detail"}): field names the offending field where one does.
"""

from __future__ import annotations

import logging
import re

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, TooManyRequestsException, ValidationException

from core.errors import AxiomError, Cancelled, Infeasible, InvalidInput, SolverFailed

from ..contracts import ErrorDetail
from ..jobs import RETRY_AFTER, QueueFull, StoreUnavailable

log = logging.getLogger("axiom.service")

_MSGSPEC_PATH = re.compile(r"^(?P<rule>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_UNKNOWN_FIELD = re.compile(r"unknown field `([^`]*)`")
_FIELD_PREFIX = re.compile(r"^(?P<field>[A-Za-z_][\w.\[\]]*): (?P<rule>.*)$", re.DOTALL)
_NO_DATA = "Object missing required field `data`"


def _error(
    status: int, detail: str, field: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    return Response(ErrorDetail(field=field, detail=detail), status_code=status, headers=headers)


def split_validation_message(message: str) -> tuple[str | None, str]:
    """(field, rule) from a msgspec message ("Expected `int` - at `$.drivers[0].salary`") or from a
    contract rule ("drivers[2].max_laps_led: must be ...")."""
    found = _MSGSPEC_PATH.match(message)
    path = found.group("path").lstrip(".") if found and found.group("path") else None
    rule = found.group("rule") if found else message
    unknown = _UNKNOWN_FIELD.search(rule)
    if unknown:  # msgspec puts the path of the object, not of the field
        return (f"{path}.{unknown.group(1)}" if path else unknown.group(1)), rule
    if path:
        return path, rule
    prefixed = _FIELD_PREFIX.match(message)
    if prefixed:
        return prefixed.group("field"), prefixed.group("rule")
    return None, message


def _invalid_input(_: Request, error: InvalidInput) -> Response:
    return _error(400, error.message, error.field)


def _validation(_: Request, error: ValidationException) -> Response:
    """Litestar wraps msgspec's decode errors as {"message", "key"}; a contract rule's message
    starts with the field's path itself."""
    cause = error.__cause__
    if isinstance(cause, msgspec.DecodeError) and not isinstance(cause, msgspec.ValidationError):
        return _error(400, f"malformed JSON: {cause}")
    if str(cause) == _NO_DATA:  # Litestar leaves `data` out when, and only when, the body is empty
        return _error(400, "request body is empty")
    items = [item for item in error.extra or [] if isinstance(item, dict)]
    if not items:
        return _error(400, str(error.detail))
    first = items[0]
    field, rule = split_validation_message(str(first.get("message", "")))
    key = first.get("key")
    if isinstance(key, str) and key not in ("data", ""):
        # msgspec's path points at the object that holds an unknown field, not at the field
        field = f"{key}.{field}" if field and _UNKNOWN_FIELD.search(rule) else field or key
    return _error(400, rule, field)


def _msgspec(_: Request, error: msgspec.MsgspecError) -> Response:
    if isinstance(error, msgspec.DecodeError) and not isinstance(error, msgspec.ValidationError):
        return _error(400, f"malformed JSON: {error}")
    field, rule = split_validation_message(str(error))
    return _error(400, rule, field)


def _too_many(_: Request, error: TooManyRequestsException) -> Response:
    headers = dict(error.headers or {})
    headers["Retry-After"] = str(max(1, int(headers.get("RateLimit-Reset", "60") or 60)))
    return _error(
        429, "too many submissions; retry after the number of seconds in Retry-After", headers=headers
    )


def _http(_: Request, error: HTTPException) -> Response:
    cause = error.__cause__
    while cause is not None and not isinstance(cause, msgspec.DecodeError):
        cause = cause.__cause__
    if isinstance(cause, msgspec.DecodeError) and not isinstance(cause, msgspec.ValidationError):
        return _error(400, f"malformed JSON: {cause}")
    return _error(error.status_code, str(error.detail), headers=dict(error.headers or {}) or None)


def _conflict(request: Request, error: AxiomError) -> Response:
    return _refused(request, error, 409)


def _solver(request: Request, error: SolverFailed) -> Response:
    return _refused(request, error, 503)


def _refused(request: Request, error: AxiomError, status: int) -> Response:
    """A core error's message, without its class: the class names code, which is the log's."""
    log.info("%s %s: %d %s: %s", request.method, request.url.path, status, type(error).__name__, error)
    return _error(status, str(error))


def _internal(request: Request, error: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    return _error(500, "internal error; the server log has the details")


def _queue_full(_: Request, error: QueueFull) -> Response:
    return _error(429, str(error), headers={"Retry-After": str(RETRY_AFTER)})


def _store_unavailable(_: Request, error: StoreUnavailable) -> Response:
    log.warning("a write was refused: %s", error.__cause__)
    return _error(503, str(error), headers={"Retry-After": str(RETRY_AFTER)})


EXCEPTION_HANDLERS = {
    QueueFull: _queue_full,
    StoreUnavailable: _store_unavailable,
    InvalidInput: _invalid_input,
    Infeasible: _conflict,
    Cancelled: _conflict,
    SolverFailed: _solver,
    AxiomError: _conflict,
    ValidationException: _validation,
    msgspec.MsgspecError: _msgspec,
    TooManyRequestsException: _too_many,
    HTTPException: _http,
    Exception: _internal,
}

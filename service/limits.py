"""The submission rate limit: Litestar's RateLimitConfig, counted per client (its API key, else
its address as `access` resolves it) and only for submissions the API accepts for validation.

The counts live in the app's SUBMISSION_STORE: this process's memory (the embedded backend: one
process), or the database that every API process shares (the networked backend), whose
`admit` counts and records a submission in one statement, atomic across processes."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import TooManyRequestsException
from litestar.middleware.rate_limit import DURATION_VALUES, RateLimitConfig, RateLimitMiddleware
from litestar.serialization import encode_json
from litestar.stores.base import Store
from litestar.types import Message, Receive, Scope, Send

from .access import Access

SUBMISSION_STORE = "submission_limit"  # the name of the store the limit's counts live in


class SubmissionLimit(RateLimitMiddleware):
    """Litestar's rate limit, with a submission the API refused as invalid (400) given back: a
    client that fixes a typo has not spent its quota on it."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = scope["litestar_app"]
        store = self.config.get_store_from_app(app)

        async def refund_rejected(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 400:
                await self._refund(scope, store)
            await send(message)

        admit = getattr(store, "admit", None)  # the database's one-statement count (see above)
        if admit is None:
            await super().__call__(scope, receive, refund_rejected)
            return
        request: Request[Any, Any, Any] = app.request_class(scope)
        if not await self.should_check_request(request=request):
            await self.app(scope, receive, send)
            return
        key = self.cache_key_from_request(request)
        admitted, history = await admit(key, self.max_requests, DURATION_VALUES[self.unit])
        headers = self.create_response_headers(cache_object=history)
        if not admitted:
            raise TooManyRequestsException(headers=headers)
        await self.app(scope, receive, self.create_send_wrapper(refund_rejected, history))

    async def _refund(self, scope: Scope, store: Store) -> None:
        request: Request[Any, Any, Any] = scope["litestar_app"].request_class(scope)
        if not await self.should_check_request(request=request):
            return
        key = self.cache_key_from_request(request)
        refund = getattr(store, "refund", None)
        if refund is not None:
            await refund(key)
            return
        async with self._lock:
            cached = await self.retrieve_cached_history(key, store)
            if cached.history:
                cached.history = cached.history[1:]  # the newest entry is this request's
                await store.set(key, encode_json(cached), expires_in=DURATION_VALUES[self.unit])


def submission_limit(per_minute: int, access: Access) -> RateLimitConfig:
    """`per_minute` submissions per client; polling status and results is never counted."""

    def submissions_only(request: Request[Any, Any, Any]) -> bool:
        return request.method == "POST"

    return RateLimitConfig(
        rate_limit=("minute", per_minute),
        check_throttle_handler=submissions_only,
        identifier_for_request=access.client,
        middleware_class=SubmissionLimit,
        store=SUBMISSION_STORE,
    )

"""The submission rate limit: Litestar's RateLimitConfig, counted per client (its API key, else
its address as `access` resolves it) and only for submissions the API accepts for validation.

The counts live in the app's SUBMISSION_STORE: this process's memory (the embedded backend: one
process), or the database that every API process shares (the networked backend), whose
`exclusive` lock then makes the read-check-write of a client's count one step across processes."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.middleware.rate_limit import DURATION_VALUES, RateLimitConfig, RateLimitMiddleware
from litestar.serialization import encode_json
from litestar.types import Message, Receive, Scope, Send

from .access import Access

SUBMISSION_STORE = "submission_limit"  # the name of the store the limit's counts live in


class SubmissionLimit(RateLimitMiddleware):
    """Litestar's rate limit, with a submission the API refused as invalid (400) given back: a
    client that fixes a typo has not spent its quota on it."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        store = self.config.get_store_from_app(scope["litestar_app"])
        self._lock = getattr(store, "exclusive", self._lock)  # see the module's docstring

        async def refund_rejected(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 400:
                await self._refund(scope)
            await send(message)

        await super().__call__(scope, receive, refund_rejected)

    async def _refund(self, scope: Scope) -> None:
        request: Request[Any, Any, Any] = scope["litestar_app"].request_class(scope)
        if not await self.should_check_request(request=request):
            return
        key = self.cache_key_from_request(request)
        store = self.config.get_store_from_app(scope["litestar_app"])
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

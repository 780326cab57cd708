"""Who is asking: API keys, the owner of a run, and the client address a limit is counted against.

With AXIOM_API_KEYS set, every request to the runs API needs a key (`X-API-Key: KEY` or
`Authorization: Bearer KEY`); a run belongs to the key that submitted it and is invisible to every
other key. Only a SHA-256 digest of a key is kept and stored (as the run's owner), keys are
compared in constant time, and no key is ever logged. Without keys the API is open and every run
has the owner "".

The client address is the socket's peer. X-Forwarded-For is believed only when that peer is one
of AXIOM_TRUSTED_PROXIES (none by default), so a client cannot pick the address it is counted as.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection, Request
from litestar.exceptions import NotAuthorizedException

from .settings import Settings

OPEN = ""  # the owner of every run while the API is open
_OWNER = "axiom.owner"  # where a request's resolved owner is kept in its ASGI scope
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Access:
    """The service's keys (as digests) and the proxies whose forwarded addresses it trusts."""

    digests: frozenset[bytes]
    trusted_proxies: tuple[_Network, ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> Access:
        return cls(
            digests=frozenset(_digest(key) for key in settings.api_keys),
            trusted_proxies=tuple(ipaddress.ip_network(p, strict=False) for p in settings.trusted_proxies),
        )

    @property
    def is_open(self) -> bool:
        return not self.digests

    def owner(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
        """The run owner of a request: the digest of its key, OPEN while the API is open, None
        when keys are on and the request carries no valid one."""
        if self.is_open:
            return OPEN
        scope: dict[str, Any] = connection.scope  # type: ignore[assignment]
        if _OWNER not in scope:  # the limit, the guard and the handler all ask: hash the key once
            scope[_OWNER] = self._match(_presented_key(connection))
        owner: str | None = scope[_OWNER]
        return owner

    def _match(self, presented: str | None) -> str | None:
        if presented is None:
            return None
        digest = _digest(presented)
        # A set lookup of the presented key's SHA-256 digest: what its timing could tell is about
        # digests, which no one can steer toward a configured key's without knowing the key (and
        # the set's hashing is keyed per process). Comparing with every digest in turn cost
        # 0.1 ms a request with a thousand keys.
        return digest.hex() if digest in self.digests else None

    def client(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        """What a client's limits are counted against: its key when it has a valid one, else its
        address."""
        owner = self.owner(connection)
        return f"key:{owner}" if owner else f"address:{self.address(connection)}"

    def address(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        """The client's address: the socket peer, or, when the peer is a trusted proxy, the
        nearest address in X-Forwarded-For that is not one."""
        peer = connection.client.host if connection.client else "unknown"
        forwarded = connection.headers.get("x-forwarded-for", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        for hop in [peer, *reversed(hops)]:
            if not self._trusted(hop):
                return hop
        return peer

    def _trusted(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.trusted_proxies)


def require_key(connection: ASGIConnection[Any, Any, Any, Any], _: object) -> None:
    """A Litestar guard: 401 unless the request carries a valid key (always passes while open)."""
    access: Access = connection.app.state.access
    if access.owner(connection) is None:
        raise NotAuthorizedException(
            detail="a valid API key is required: send it as X-API-Key or Authorization: Bearer",
            headers={"WWW-Authenticate": "Bearer"},
        )


def provide_owner(request: Request[Any, Any, Any]) -> str:
    """The `owner` dependency: whose runs a request may see (after `require_key` let it in)."""
    access: Access = request.app.state.access
    return access.owner(request) or OPEN


def provide_client(request: Request[Any, Any, Any]) -> str:
    """The `client` dependency: what the queue cap counts against."""
    access: Access = request.app.state.access
    return access.client(request)


def _presented_key(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    key = connection.headers.get("x-api-key")
    if key:
        return key.strip()
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()

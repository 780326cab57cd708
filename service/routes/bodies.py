"""Request bodies decoded by the contract, not by Litestar.

Litestar converts a body into its handler's type with msgspec's lax mode (`strict=False`, fixed
in its signature model and its DTOs), which turns "5000" into 5000 and 0 into False. A DTO is the
one hook Litestar 2 gives for decoding a body itself: this one hands the raw bytes to
`decode_request` and leaves the OpenAPI schema as Litestar writes it for the plain type.
"""

from __future__ import annotations

from typing import Any

from litestar.dto import MsgspecDTO
from litestar.openapi.spec import Reference, Schema
from litestar.typing import FieldDefinition

from ..contracts import OptimizeRequest, decode_request


class StrictOptimizeRequest(MsgspecDTO[OptimizeRequest]):
    """The `data` of a submission: decoded once, strictly; errors are msgspec's (errors.py)."""

    def decode_bytes(self, value: bytes) -> OptimizeRequest:
        return decode_request(value)

    @classmethod
    def create_openapi_schema(
        cls, field_definition: FieldDefinition, handler_id: str, schema_creator: Any
    ) -> Reference | Schema:
        # The contract's own schema (component OptimizeRequest), not the DTO's transfer model.
        schema: Reference | Schema = schema_creator.for_field_definition(field_definition)
        return schema

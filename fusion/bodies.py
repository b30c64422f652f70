"""The base of every JSON request body: taken as typed, never coerced.

Pydantic's lax mode would turn ``"with_groups": 0`` into ``false`` and ``"year": "2026"`` into
``2026``, so a caller's mistake passes silently and the API accepts what its own OpenAPI
document says it refuses. Request bodies validate strictly (JSON types as documented) and refuse
unknown fields; query and path parameters stay lax, as they arrive as text. Strict mode also
refuses ISO strings for ``datetime`` or ``UUID`` fields: mark such a field ``Field(strict=False)``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class RequestBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

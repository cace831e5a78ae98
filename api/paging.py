"""The query parameters of the fleet's paged listings (GET /systems, GET /health)."""

from typing import Annotated

from fastapi import Query

MAX_PAGE = 10_000

NamePrefix = Annotated[
    str | None, Query(max_length=128, description="Only systems whose name starts so")
]
PageLimit = Annotated[int | None, Query(ge=1, le=MAX_PAGE, description="At most this many")]


def cursor_query(pattern: str) -> object:
    """A `cursor` parameter: the `next_cursor` of the last page, in the listing's own form."""
    return Query(pattern=pattern, description="`next_cursor` of the last page")

"""Query shapes and answers of batch creation options, of the paged batch list and of a batch's
paged job reads."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from api.schemas.answers import Answer
from api.schemas.requests import Query, QueryInt

JobStatusFilter = Literal["pending", "in_progress", "completed", "failed", "cancelled", "blocked"]


def _without_nul(text: str | None) -> str | None:
    """Stored text never holds NUL (PostgreSQL refuses it), so no search or cursor may."""
    if text is not None and "\x00" in text:
        raise ValueError("must not contain the NUL character")
    return text


QueryText = Annotated[str | None, AfterValidator(_without_nul)]


class CreateOptions(Query):
    """?brief&name of POST /: `brief` answers without the jobs; `name` names an uploaded batch."""

    brief: bool = False
    name: str | None = Field(default=None, max_length=300)


class BatchesQuery(Query):
    """?limit&after&offset of GET /: the organisation's batches, newest first, a page after a
    cursor (`next_after` of the page before: a batch created meanwhile moves no page), or past
    `offset` of them (a batch created meanwhile shifts the pages by one)."""

    limit: QueryInt = Field(default=50, ge=1, le=500)
    after: QueryText = Field(default=None, max_length=500)
    offset: QueryInt = Field(default=0, ge=0, le=1_000_000_000)

    @model_validator(mode="after")
    def _one_way_of_paging(self) -> BatchesQuery:
        if self.after is not None and self.offset:
            raise PydanticCustomError("paging", "after and offset: page by one of them")
        return self


class BatchListAnswer(Answer):
    batches: list[dict[str, Any]]
    next_after: str | None
    limit: int
    offset: int


class BatchQuery(Query):
    """?brief of GET /{batchId}: the summary without its jobs (read them by page)."""

    brief: bool = False


class JobsQuery(Query):
    """?limit&after&status&q of GET /{batchId}/jobs: a page after a cursor (read back only on the
    listing it was given out for), filtered by job status (or `blocked`: jobs with a sub-step
    blocked by a failed dependency)."""

    limit: QueryInt = Field(default=100, ge=1, le=1000)
    after: QueryText = Field(default=None, max_length=500)
    status: JobStatusFilter | None = None
    q: QueryText = Field(default=None, max_length=300)


class JobsPageAnswer(Answer):
    jobs: list[dict[str, Any]]
    next_after: str | None
    limit: int
    total: int


class StreamQuery(Query):
    """?stream_token of GET /{batchId}/stream: a ticket, for clients that cannot send headers."""

    stream_token: str | None = Field(default=None, max_length=2000)


class StreamTicketAnswer(Answer):
    token: str
    expires_in: int
    url: str

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query, Response

from app.auth import Reader, ReaderInQuery
from app.db import DatabaseDep
from app.deps import NowDep
from app.errors import Invalid, responses
from app.frequency import service
from app.frequency.list_queries import ListScope, QueueCursor
from app.frequency.schemas import (
    NextFollowUpRead,
    ScheduleItem,
    StatusCode,
    StatusLookup,
    StatusLookupRead,
    StatusRead,
)
from app.pagination import PageDep, encode_cursor
from app.schemas import CustomerId, ExternalId, Instant, JudgedInstant, Page, Slug, format_utc

router = APIRouter(prefix="/v1", tags=["frequency"])

AsOf = Annotated[
    JudgedInstant | None,
    Query(description="Any instant, past or future (years 100 to 9000); default now."),
]


@router.get(
    "/customers/{customer_id}/status",
    summary="A customer's frequency status",
    response_model=StatusRead,
    responses=responses(401, 403, 404, 422),
)
async def get_status(
    customer_id: CustomerId,
    checked: ReaderInQuery,
    db: DatabaseDep,
    now: NowDep,
    as_of: AsOf = None,
) -> Response:
    """Over, under or on track, and why: the active policy and profile applied to the touches
    up to `as_of`."""
    document = await service.read_status(db, checked, customer_id, as_of or now, now)
    return Response(document, media_type="application/json")


@router.get(
    "/customers/{customer_id}/next-follow-up",
    summary="A customer's next follow-up",
    response_model=NextFollowUpRead,
    responses=responses(401, 403, 404, 422),
)
async def get_next_follow_up(
    customer_id: CustomerId,
    checked: ReaderInQuery,
    db: DatabaseDep,
    now: NowDep,
    as_of: AsOf = None,
) -> Response:
    """When, how and why to contact the customer next."""
    document = await service.read_status(db, checked, customer_id, as_of or now, now)
    return Response(
        orjson.dumps(orjson.loads(document)["next_follow_up"]), media_type="application/json"
    )


@router.post(
    "/statuses/lookup",
    summary="The statuses of many customers at once",
    response_model=StatusLookupRead,
    responses=responses(401, 403, 413, 422),
)
async def lookup_statuses(
    body: StatusLookup, principal: Reader, db: DatabaseDep, now: NowDep
) -> Response:
    """For a list view: the whole status document of each known customer (as `GET
    /v1/customers/{id}/status` answers it), in the order asked, and the ids of no customer
    in `not_found`. An id asked for twice is answered twice."""
    document = await service.lookup_statuses(
        db, principal.tenant_id, body.customer_ids, body.as_of or now, now
    )
    return Response(document, media_type="application/json")


@router.get(
    "/follow-ups",
    summary="A rep's or team's work queue",
    response_model=Page[ScheduleItem],
    responses=responses(401, 403, 422),
)
async def list_follow_ups(
    checked: ReaderInQuery,
    db: DatabaseDep,
    now: NowDep,
    page: PageDep,
    owner_rep: Annotated[ExternalId | None, Query()] = None,
    team: Annotated[Slug | None, Query()] = None,
    status: Annotated[Literal["due", "overdue"] | None, Query()] = None,
    due_before: Annotated[Instant | None, Query()] = None,
) -> Response:
    """Customers due (or due before `due_before`), suppressed ones left out: overdue first,
    then by segment weight, then by due time."""
    if owner_rep is None and team is None:
        raise Invalid.at(["query", "owner_rep"], "one of owner_rep or team is required")
    as_of, after = _queue_cursor(page.after(5), now)
    rows = await service.work_queue(
        db, checked, ListScope.of(owner_rep=owner_rep, owner_team=team), now=now, as_of=as_of,
        due_before=due_before, status=status, after=after, limit=page.limit + 1,
    )  # fmt: skip
    cursor = None
    if len(rows) > page.limit:
        last = rows[page.limit - 1]
        key = [
            as_of.isoformat(),
            int(bool(last["late"])),  # cursors carry no booleans (see decode_cursor)
            last["weight"],
            last["due_at"].isoformat(),
            last["customer_id"],
        ]
        cursor = encode_cursor(key)
    return _page_response(rows[: page.limit], cursor)


def _page_response(rows: Sequence[Mapping[str, Any]], cursor: str | None) -> Response:
    items = [
        {
            "customer_id": row["customer_id"], "status": row["status"],
            "due_at": format_utc(row["due_at"]),
            "overdue_at": format_utc(row["overdue_at"]) if row["overdue_at"] else None,
            "segment": row["segment"],
            "owner": {"rep_id": row["owner_rep"], "team": row["owner_team"]},
            "rule": row["rule"],
        }
        for row in rows
    ]  # fmt: skip
    body = orjson.dumps({"items": items, "next_cursor": cursor})
    return Response(body, media_type="application/json")


def _queue_cursor(key: list[Any] | None, now: datetime) -> tuple[datetime, QueueCursor | None]:
    """A queue pages at the instant its first page was read, so its order holds still (never
    later than now: a cursor is the client's to forge)."""
    if key is None:
        return now, None
    try:
        as_of, late, weight, due_at, customer_id = key
        pinned, due = datetime.fromisoformat(as_of), datetime.fromisoformat(due_at)
        if pinned.tzinfo is None or due.tzinfo is None:
            raise ValueError("naive")
        return min(pinned, now), QueueCursor(bool(late), float(weight), due, str(customer_id))
    except (TypeError, ValueError, OverflowError):
        raise Invalid.at(["query", "cursor"], "cursor is not one this service issued") from None


@router.get(
    "/statuses",
    summary="Customers by frequency status",
    response_model=Page[ScheduleItem],
    responses=responses(401, 403, 422),
)
async def list_statuses(
    checked: ReaderInQuery,
    db: DatabaseDep,
    now: NowDep,
    page: PageDep,
    status: Annotated[StatusCode | None, Query()] = None,
    segment: Annotated[Slug | None, Query()] = None,
    stage: Annotated[Slug | None, Query()] = None,
    team: Annotated[Slug | None, Query()] = None,
    owner_rep: Annotated[ExternalId | None, Query()] = None,
) -> Response:
    """Every customer's status now, filtered, ordered by customer id."""
    after = page.after_text()
    scope = ListScope.of(owner_rep=owner_rep, owner_team=team, segment=segment, stage=stage)
    rows = await service.statuses(
        db, checked, scope, now=now, status=status.value if status else None, after=after,
        limit=page.limit + 1,
    )  # fmt: skip
    more = len(rows) > page.limit
    cursor = encode_cursor([rows[page.limit - 1]["customer_id"]]) if more else None
    return _page_response(rows[: page.limit], cursor)

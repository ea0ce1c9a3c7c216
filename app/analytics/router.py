from collections.abc import Callable
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel

from app.analytics import service, tables
from app.analytics.schemas import (
    ComplianceReport,
    ContactsKey,
    ContactsReport,
    Filters,
    Interval,
    OutcomesKey,
    OutcomesReport,
    OwnerKey,
    Window,
)
from app.auth import Reader
from app.db import DatabaseDep, SessionDep, read_only
from app.deps import NowDep
from app.errors import Invalid, responses
from app.schemas import ExternalId, JudgedInstant, Slug
from app.touches.schemas import Category

router = APIRouter(prefix="/v1", tags=["analytics"])

MAX_RANGE = timedelta(days=366)


async def report_window(
    from_: Annotated[
        JudgedInstant,
        Query(alias="from", description="The start of the range, inclusive (RFC 3339)."),
    ],
    to: Annotated[
        JudgedInstant,
        Query(description="The end of the range, exclusive: after `from`, at most 366 days."),
    ],
) -> Window:
    if to <= from_:
        raise Invalid.at(["query", "to"], "must be after from")
    if to - from_ > MAX_RANGE:
        raise Invalid.at(["query", "to"], "must be at most 366 days after from")
    return Window(from_, to)


async def report_filters(
    channel: Annotated[Slug | None, Query(description="Only touches of this channel.")] = None,
    team: Annotated[Slug | None, Query(description="Only touches whose actor's team is this.")] = (
        None
    ),
    rep_id: Annotated[
        ExternalId | None, Query(description="Only touches whose actor's rep is this.")
    ] = None,
    partner_id: Annotated[
        ExternalId | None, Query(description="Only touches whose actor's partner is this.")
    ] = None,
    category: Annotated[Category | None, Query(description="Only touches of this category.")] = (
        None
    ),
    automated: Annotated[
        bool | None, Query(description="Only automated (true) or personal (false) touches.")
    ] = None,
) -> Filters:
    return Filters(channel, team, rep_id, partner_id, category, automated)


WindowDep = Annotated[Window, Depends(report_window)]
FiltersDep = Annotated[Filters, Depends(report_filters)]
K = TypeVar("K", bound=StrEnum)


def group_keys(raw: str | None, allowed: type[K], most: int) -> list[K]:
    """Comma-separated keys, each one of ``allowed``, distinct, at most ``most``."""
    names = raw.split(",") if raw else []
    known = {key.value: key for key in allowed}
    if len(names) > most or len(set(names)) < len(names) or not set(names) <= set(known):
        choices = ", ".join(known)
        raise Invalid.at(["query", "group_by"], f"must be up to {most} distinct of {choices}")
    return [known[name] for name in names]


def answer(request: Request, report: BaseModel, csv: Callable[[Any], str]) -> Response:
    """The report as CSV when the request's Accept asks for it, else as JSON."""
    headers = {"Vary": "Accept"}
    if tables.wants_csv(", ".join(request.headers.getlist("accept"))):
        return Response(csv(report), media_type=tables.CSV, headers=headers)
    body = report.model_dump_json(by_alias=True)
    return Response(body, media_type="application/json", headers=headers)


def csv_response(example: str) -> dict[int | str, dict[str, Any]]:
    content = {tables.CSV: {"schema": {"type": "string"}, "example": example}}
    return {200: {"description": "The report (JSON, or CSV when asked for).", "content": content}}


CONTACTS_CSV = (
    "period_start,channel,contacts,outbound,inbound,automated,customers,effective,responded,"
    "response_rate\r\n2026-11-01T00:00:00+08:00,email,120,110,10,80,64,30,18,0.1636\r\n"
)


@router.get(
    "/analytics/contacts",
    summary="Contact volume",
    response_model=ContactsReport,
    responses={**csv_response(CONTACTS_CSV), **responses(401, 403, 422)},
)
@read_only
async def contacts(
    request: Request,
    session: SessionDep,
    db: DatabaseDep,
    principal: Reader,
    now: NowDep,
    window: WindowDep,
    filters: FiltersDep,
    interval: Annotated[
        Interval | None, Query(description="The period length; absent: one period.")
    ] = None,
    group_by: Annotated[
        str | None,
        Query(description=f"Up to two of {', '.join(ContactsKey)}, comma-separated."),
    ] = None,
) -> Response:
    """Contacts (not engagements or purchases) that occurred in `[from, to)`, per period of
    the active policy's time zone and per group: outbound, inbound, automated, distinct
    customers, effective ones and responded outbound ones, with the range's totals (distinct
    customers over the whole range). `text/csv` when `Accept` asks for it."""
    keys = group_keys(group_by, ContactsKey, 2)
    report = await service.contacts(
        session, db, principal.tenant_id, window, interval=interval, keys=keys,
        filters=filters, now=now,
    )  # fmt: skip
    return answer(request, report, tables.contacts_csv)


OUTCOMES_CSV = (
    "n,channel,contacts,opened,clicked,replied,meeting_booked,converted,completed,open_rate,"
    "reply_rate,meeting_rate,connect_rate\r\n1,email,400,120,30,20,4,1,0,0.3,0.05,0.01,0.0\r\n"
)


@router.get(
    "/analytics/touch-outcomes",
    summary="Outcomes by follow-up number",
    response_model=OutcomesReport,
    responses={**csv_response(OUTCOMES_CSV), **responses(401, 403, 422)},
)
@read_only
async def touch_outcomes(
    request: Request,
    session: SessionDep,
    db: DatabaseDep,
    principal: Reader,
    now: NowDep,
    window: WindowDep,
    filters: FiltersDep,
    group_by: Annotated[
        str | None, Query(description=f"At most one of {', '.join(OutcomesKey)}.")
    ] = None,
) -> Response:
    """Every outbound contact that occurred in `[from, to)`, numbered by follow-up (1 plus
    the customer's outbound contacts since its last response before it, 10 for 10 or more),
    with its opens, clicks, replies, meetings, conversions and connected calls, per group
    and number. `text/csv` when `Accept` asks for it."""
    keys = group_keys(group_by, OutcomesKey, 1)
    report = await service.touch_outcomes(
        session, db, principal.tenant_id, window, keys=keys, filters=filters, now=now
    )
    return answer(request, report, tables.outcomes_csv)


COMPLIANCE_CSV = (
    "owner_rep,customers,due_now,overdue_now,over_contacted_now,suppressed_now,follow_ups,late,"
    "on_time_rate\r\nrep-7,40,6,2,1,0,52,5,0.9038\r\n,3,3,0,0,0,0,0,\r\n"
)


@router.get(
    "/analytics/compliance",
    summary="Cadence compliance per owner",
    response_model=ComplianceReport,
    responses={**csv_response(COMPLIANCE_CSV), **responses(401, 403, 422)},
)
async def compliance(
    request: Request,
    session: SessionDep,
    principal: Reader,
    db: DatabaseDep,
    now: NowDep,
    window: WindowDep,
    group_by: Annotated[
        OwnerKey, Query(description="Per owning rep (default) or owning team.")
    ] = OwnerKey.owner_rep,
) -> Response:
    """Per owner now (null: customers without one): customers and how many are due,
    overdue, over-contacted and suppressed now (as `/v1/statuses` says), and the outbound,
    personal follow-ups of `[from, to)`, with those late: at or after the `overdue_at` the
    customer's status had just before them. `text/csv` when `Accept` asks for it."""
    report = await service.compliance(
        session, db, principal.tenant_id, window, owner=group_by, now=now
    )
    return answer(request, report, tables.compliance_csv)

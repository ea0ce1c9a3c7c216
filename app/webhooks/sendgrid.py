"""SendGrid Event Webhook events mapped to touches, without I/O.

Two steps around one database look-up: ``parse_event`` checks each event on its own, then
``plan`` resolves customers (by the ``customer_id`` custom argument, else by email) and turns
every event into a touch, a skip or a rejection, in input order.
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from app.errors import ErrorItem
from app.schemas import EARLIEST_JUDGED, ID_PATTERN
from app.touches.schemas import Category, Kind, TouchIn

FUTURE_TOLERANCE = timedelta(minutes=5)
MAX_EMAIL_LENGTH = 320
CONTACT_EVENTS = frozenset({"processed", "delivered"})
ENGAGEMENTS: Mapping[str, str] = {
    "open": "opened",
    "click": "clicked",
    "unsubscribe": "unsubscribed",
    "group_unsubscribe": "unsubscribed",
    "spamreport": "complained",
    "bounce": "bounced",
    "dropped": "bounced",
}
ID = re.compile(ID_PATTERN)


@dataclass(frozen=True, slots=True)
class Event:
    """One event worth a touch; ``customer_id`` is the custom argument until resolved."""

    index: int
    type: str
    occurred_at: datetime
    message_id: str | None
    event_id: str | None
    customer_id: str | None
    email: str | None


@dataclass(frozen=True, slots=True)
class Skipped:
    """An event that makes no touch: not a recorded type, or no single customer."""

    reason: str


Rejected = list[ErrorItem]
Parsed = Event | Skipped | Rejected
Planned = TouchIn | Skipped | Rejected


def _valid_id(value: Any) -> str | None:
    return value if isinstance(value, str) and ID.fullmatch(value) else None


def _email(value: Any) -> str | None:
    if not isinstance(value, str) or "\x00" in value or not 0 < len(value) <= MAX_EMAIL_LENGTH:
        return None
    return value.lower()


def _instant(value: Any, now: datetime) -> datetime | str:
    """The event's unix-seconds ``timestamp`` as an instant, else why not."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "must be unix seconds"
    try:
        at = datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return "is out of range"
    if at < EARLIEST_JUDGED:
        return "is out of range"
    return "must not be more than 5 minutes ahead" if at > now + FUTURE_TOLERANCE else at


def _id_error(raw: Mapping[str, Any], key: str, required: bool) -> str | None:
    value = raw.get(key)
    if value is None:
        return "is required" if required else None
    return None if _valid_id(value) else "must be 1-128 characters of [A-Za-z0-9._:@-]"


def parse_event(raw: Any, index: int, now: datetime) -> Parsed:
    """Check one event: a touch-worthy event, a skip, or its errors (located in the body)."""
    loc: list[str | int] = ["body", index]
    if not isinstance(raw, dict):
        return [ErrorItem(loc=loc, msg="must be an event object")]
    kind = raw.get("event")
    if not isinstance(kind, str):
        return [ErrorItem(loc=[*loc, "event"], msg="must name the event type")]
    if kind not in CONTACT_EVENTS and kind not in ENGAGEMENTS:
        return Skipped(f"event type {kind!r} is not recorded")
    occurred_at = _instant(raw.get("timestamp"), now)
    problems = {
        "timestamp": occurred_at if isinstance(occurred_at, str) else None,
        "sg_message_id": _id_error(raw, "sg_message_id", kind in CONTACT_EVENTS),
        "sg_event_id": _id_error(raw, "sg_event_id", kind in ENGAGEMENTS),
    }
    errors = [ErrorItem(loc=[*loc, key], msg=msg) for key, msg in problems.items() if msg]
    if errors or isinstance(occurred_at, str):
        return errors
    return Event(
        index=index,
        type=kind,
        occurred_at=occurred_at,
        message_id=_valid_id(raw.get("sg_message_id")),
        event_id=_valid_id(raw.get("sg_event_id")),
        customer_id=_valid_id(raw.get("customer_id")),
        email=_email(raw.get("email")),
    )


def emails_to_match(parsed: Iterable[Parsed]) -> set[str]:
    """The emails of the events that carry no usable ``customer_id`` custom argument."""
    return {
        p.email
        for p in parsed
        if isinstance(p, Event) and p.customer_id is None and p.email is not None
    }


def resolve(event: Event, by_email: Mapping[str, Sequence[str]]) -> Event | Skipped:
    """The event with its customer: the custom argument, else the one profile of its email."""
    if event.customer_id is not None:
        return event
    matches = by_email.get(event.email, ()) if event.email is not None else ()
    if len(matches) != 1:
        return Skipped("no customer" if not matches else "several customers share the email")
    return replace(event, customer_id=matches[0])


@dataclass(frozen=True, slots=True)
class ContactState:
    """What one delivery says about a message's contact: when it was first seen, if delivered."""

    occurred_at: datetime
    delivered: bool


def contact_states(events: Iterable[Event]) -> dict[str, ContactState]:
    """Per ``sg_message_id``: the earliest processed/delivered time, and whether delivered."""
    states: dict[str, ContactState] = {}
    for event in events:
        if event.type not in CONTACT_EVENTS or event.message_id is None:
            continue
        seen = states.get(event.message_id)
        delivered = event.type == "delivered" or (seen is not None and seen.delivered)
        at = event.occurred_at if seen is None else min(seen.occurred_at, event.occurred_at)
        states[event.message_id] = ContactState(at, delivered)
    return states


def to_touch(event: Event, states: Mapping[str, ContactState], source: str) -> TouchIn:
    """The touch an event makes; every processed/delivered event of a message makes the same."""
    assert event.customer_id is not None
    common: dict[str, Any] = {
        "customer_id": event.customer_id,
        "channel": "email",
        "category": Category.marketing,
        "automated": True,
        "source": source,
    }
    if event.type in CONTACT_EVENTS:
        assert event.message_id is not None
        state = states[event.message_id]
        outcome = "delivered" if state.delivered else None
        return TouchIn.model_validate(
            {
                **common,
                "occurred_at": state.occurred_at,
                "kind": Kind.contact,
                "outcome": outcome,
                "external_id": event.message_id,
            }
        )
    return TouchIn.model_validate(
        {
            **common,
            "occurred_at": event.occurred_at,
            "kind": Kind.engagement,
            "outcome": ENGAGEMENTS[event.type],
            "external_id": event.event_id,
            "ref_external_id": event.message_id,
            "metadata": {"sendgrid_event": event.type},
        }
    )


def plan(
    parsed: Sequence[Parsed], by_email: Mapping[str, Sequence[str]], source: str
) -> list[Planned]:
    """One touch, skip or rejection per event, in input order."""
    resolved = [resolve(p, by_email) if isinstance(p, Event) else p for p in parsed]
    states = contact_states(r for r in resolved if isinstance(r, Event))
    return [to_touch(r, states, source) if isinstance(r, Event) else r for r in resolved]

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.errors import ErrorItem
from app.touches.schemas import Category, Kind, TouchIn
from app.webhooks import sendgrid
from app.webhooks.sendgrid import Event, Skipped

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
T0 = int(NOW.timestamp()) - 600
MSG = "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0"


def event(kind: str, at: int = T0, **extra: Any) -> dict[str, Any]:
    return {
        "event": kind,
        "timestamp": at,
        "email": "Buyer@Acme.example",
        "sg_message_id": MSG,
        "sg_event_id": f"ev-{kind}-{at}",
        **extra,
    }


def plan(events: list[Any], by_email: dict[str, list[str]] | None = None) -> list[Any]:
    parsed = [sendgrid.parse_event(raw, i, NOW) for i, raw in enumerate(events)]
    return sendgrid.plan(parsed, by_email or {}, "sg-main")


def test_processed_and_delivered_make_one_contact_at_the_first_time() -> None:
    planned = plan(
        [event("delivered", T0 + 5, customer_id="c-1"), event("processed", T0, customer_id="c-1")]
    )
    first, second = planned
    assert first == second
    assert isinstance(first, TouchIn)
    assert first.kind is Kind.contact
    assert first.external_id == MSG
    assert first.occurred_at == datetime.fromtimestamp(T0, UTC)
    assert first.outcome == "delivered"
    assert first.channel == "email"
    assert first.automated is True
    assert first.category is Category.marketing
    assert first.source == "sg-main"
    assert first.customer_id == "c-1"


def test_processed_alone_has_no_outcome() -> None:
    [touch] = plan([event("processed", customer_id="c-1")])
    assert isinstance(touch, TouchIn)
    assert touch.outcome is None


@pytest.mark.parametrize(
    ("kind", "outcome"),
    [
        ("open", "opened"),
        ("click", "clicked"),
        ("unsubscribe", "unsubscribed"),
        ("group_unsubscribe", "unsubscribed"),
        ("spamreport", "complained"),
        ("bounce", "bounced"),
        ("dropped", "bounced"),
    ],
)
def test_engagements(kind: str, outcome: str) -> None:
    [touch] = plan([event(kind, customer_id="c-1")])
    assert isinstance(touch, TouchIn)
    assert touch.kind is Kind.engagement
    assert touch.outcome == outcome
    assert touch.external_id == f"ev-{kind}-{T0}"
    assert touch.ref_external_id == MSG
    assert touch.metadata == {"sendgrid_event": kind}
    assert (touch.channel, touch.automated, touch.category) == ("email", True, Category.marketing)


def test_engagement_without_message_id_points_nowhere() -> None:
    raw = event("open", customer_id="c-1")
    del raw["sg_message_id"]
    [touch] = plan([raw])
    assert isinstance(touch, TouchIn)
    assert touch.ref_external_id is None


@pytest.mark.parametrize("kind", ["deferred", "group_resubscribe", "something_new"])
def test_other_event_types_are_skipped(kind: str) -> None:
    [skipped] = plan([event(kind, customer_id="c-1")])
    assert isinstance(skipped, Skipped)


def test_customer_by_email_case_insensitive() -> None:
    [touch] = plan([event("open")], {"buyer@acme.example": ["c-9"]})
    assert isinstance(touch, TouchIn)
    assert touch.customer_id == "c-9"


def test_custom_argument_wins_over_email() -> None:
    [touch] = plan([event("open", customer_id="c-1")], {"buyer@acme.example": ["c-9"]})
    assert isinstance(touch, TouchIn)
    assert touch.customer_id == "c-1"


def test_invalid_custom_argument_falls_back_to_email() -> None:
    [touch] = plan([event("open", customer_id="bad id!")], {"buyer@acme.example": ["c-9"]})
    assert isinstance(touch, TouchIn)
    assert touch.customer_id == "c-9"


@pytest.mark.parametrize("matches", [[], ["c-1", "c-2"]])
def test_no_or_several_customers_skip(matches: list[str]) -> None:
    [skipped] = plan([event("open")], {"buyer@acme.example": matches} if matches else {})
    assert isinstance(skipped, Skipped)


def test_emails_to_match_only_for_events_without_custom_argument() -> None:
    parsed = [
        sendgrid.parse_event(raw, i, NOW)
        for i, raw in enumerate(
            [
                event("open"),
                event("click", customer_id="c-1", email="other@x.example"),
                event("deferred", email="skip@x.example"),
            ]
        )
    ]
    assert sendgrid.emails_to_match(parsed) == {"buyer@acme.example"}


def _errors(planned: Any) -> list[ErrorItem]:
    assert isinstance(planned, list), planned
    return planned


def test_ids_outside_the_pattern_are_rejected() -> None:
    [bad_message, bad_event] = plan(
        [
            event("delivered", customer_id="c-1", sg_message_id="has space"),
            event("open", customer_id="c-1", sg_event_id="abc=="),
        ]
    )
    assert [e.loc for e in _errors(bad_message)] == [["body", 0, "sg_message_id"]]
    assert [e.loc for e in _errors(bad_event)] == [["body", 1, "sg_event_id"]]


def test_required_ids() -> None:
    contact = event("processed", customer_id="c-1")
    del contact["sg_message_id"]
    engagement = event("click", customer_id="c-1")
    del engagement["sg_event_id"]
    [a, b] = plan([contact, engagement])
    assert [e.loc for e in _errors(a)] == [["body", 0, "sg_message_id"]]
    assert [e.loc for e in _errors(b)] == [["body", 1, "sg_event_id"]]


@pytest.mark.parametrize(
    "bad",
    [
        "2026-11-20",
        None,
        True,
        10**30,
        int((NOW + timedelta(minutes=6)).timestamp()),
    ],
)
def test_bad_timestamps_are_rejected(bad: Any) -> None:
    [rejected] = plan([event("open", customer_id="c-1", at=bad)])
    assert [e.loc for e in _errors(rejected)] == [["body", 0, "timestamp"]]


def test_float_timestamps_are_accepted() -> None:
    [touch] = plan([event("open", customer_id="c-1", at=T0 + 0.5)])  # type: ignore[arg-type]
    assert isinstance(touch, TouchIn)


@pytest.mark.parametrize("raw", [[], "open", 3, {"timestamp": T0}, {"event": 5}])
def test_malformed_events_are_rejected(raw: Any) -> None:
    [rejected] = plan([raw])
    assert _errors(rejected)[0].loc[:2] == ["body", 0]


def test_contact_states_merge_per_message() -> None:
    events = [
        Event(0, "processed", NOW, "m1", None, "c", None),
        Event(1, "delivered", NOW - timedelta(seconds=3), "m1", None, "c", None),
        Event(2, "processed", NOW, "m2", None, "c", None),
        Event(3, "open", NOW - timedelta(hours=1), "m2", "e", "c", None),
    ]
    states = sendgrid.contact_states(events)
    assert states == {
        "m1": sendgrid.ContactState(NOW - timedelta(seconds=3), True),
        "m2": sendgrid.ContactState(NOW, False),
    }

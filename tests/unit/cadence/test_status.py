"""The status of one customer at one instant: precedence, reasons, counts, contactable_now,
recheck_at and what the store must supply."""

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from app.cadence import (
    Activity,
    BusinessDays,
    Cap,
    HoursRange,
    Match,
    Reservation,
    Signal,
    SignalKind,
    Status,
    Target,
    evaluate,
    window_days_needed,
)
from app.cadence.types import WELL_KNOWN_CHANNELS, WindowCount
from tests.unit.cadence import (
    activity_from,
    bucketed,
    days_to_read,
    hm,
    inb,
    local,
    make_policy,
    make_profile,
    make_rule,
    out,
    utc,
)

AS_OF = utc(2026, 11, 20, 3)


def ago(days: float) -> datetime:
    return AS_OF - timedelta(days=days)


@pytest.mark.parametrize(
    ("paused", "cap", "days_since", "expected", "codes"),
    [
        (True, Cap(30, 1), 15, "suppressed", ["paused", "cap_exceeded"]),
        (False, Cap(30, 1), 15, "over_contacted", ["cap_exceeded"]),
        (False, Cap(30, 2), 15, "on_track", ["cap_reached"]),  # held back to frees_at
        (False, None, 15, "overdue", ["overdue"]),
        (False, None, 10, "overdue", ["overdue"]),
        (False, None, 8, "due", ["due"]),
        (False, None, 7, "due", ["due"]),
        (False, None, 3, "on_track", []),
        (True, None, 3, "suppressed", ["paused"]),
    ],
)
def test_status_precedence(
    paused: bool, cap: Cap | None, days_since: int, expected: str, codes: list[str]
) -> None:
    rule = make_rule(follow_up_days=7, overdue_after_days=10, caps=(cap,) if cap else ())
    profile = make_profile(paused_until=AS_OF + timedelta(days=5) if paused else None)
    activity = activity_from([out(ago(20), "phone"), out(ago(days_since))])
    status = evaluate(make_policy(rule), profile, activity, AS_OF)
    assert status.status == expected
    assert [r.code for r in status.reasons] == codes


def test_every_reason_at_once_in_order() -> None:
    rule = make_rule(
        follow_up_days=1, overdue_after_days=2, caps=(Cap(7, 1),), targets=(Target(7, 5),)
    )
    profile = make_profile(
        paused_until=AS_OF + timedelta(days=1), opted_out_channels=frozenset({"all"})
    )
    signals = [
        Signal(ago(3), SignalKind.unsubscribed, "email"),
        Signal(ago(2), SignalKind.complained, "email"),
    ]
    activity = activity_from([out(ago(5)), out(ago(4))], signals=signals)
    status = evaluate(make_policy(rule), profile, activity, AS_OF)
    assert status.status == "suppressed"
    assert [r.code for r in status.reasons] == [
        "opted_out_all",
        "paused",
        "cap_exceeded",
        "recent_unsubscribe",
        "recent_complaint",
        "target_unmet",
    ]
    # email alone left, and paused by the complaint
    profile = replace(profile, opted_out_channels=WELL_KNOWN_CHANNELS - {"email"})
    status = evaluate(make_policy(rule), profile, activity, AS_OF)
    assert [r.code for r in status.reasons] == [
        "paused",
        "complaint_pause",
        "cap_exceeded",
        "recent_unsubscribe",
        "recent_complaint",
        "target_unmet",
    ]
    # email opted out too: the complaint pause holds no channel open
    profile = replace(profile, opted_out_channels=WELL_KNOWN_CHANNELS - {"sms"})
    status = evaluate(make_policy(rule), profile, activity, AS_OF)
    assert [r.code for r in status.reasons][:3] == ["paused", "cap_exceeded", "recent_unsubscribe"]
    # several channels open: a complaint pause is a reason, not a suppression
    status = evaluate(make_policy(rule), make_profile(), activity, AS_OF)
    assert status.status == "over_contacted"
    assert [r.code for r in status.reasons] == [
        "cap_exceeded",
        "recent_unsubscribe",
        "recent_complaint",
        "complaint_pause",
        "target_unmet",  # not overdue: the follow-up waits for the cap to free
    ]


def test_counts_are_contacts_of_both_directions() -> None:
    activity = activity_from(
        [
            out(ago(1), "email"),
            inb(ago(2), "phone"),
            out(ago(6.9), "phone", automated=True),
            out(ago(7), "sms"),  # exactly 7 days: in the 30 days only
            out(ago(29), "email"),
            inb(ago(89), "visit"),
            out(ago(90), "visit"),  # exactly 90 days: out
        ]
    )
    status = evaluate(make_policy(), make_profile(), activity, AS_OF)
    assert status.counts == {
        "7d": WindowCount(3, {"email": 1, "phone": 2}),
        "30d": WindowCount(5, {"email": 2, "phone": 2, "sms": 1}),
        "90d": WindowCount(6, {"email": 2, "phone": 2, "sms": 1, "visit": 1}),
    }
    assert (status.last_contact_at, status.last_outbound_at, status.last_inbound_at) == (
        ago(1),
        ago(1),
        ago(2),
    )


SH = "Asia/Shanghai"
OFFICE = make_policy(
    make_rule(follow_up_days=3, overdue_after_days=5, min_gap_hours=24, channel="phone"),
    timezone=SH,
    business_days=BusinessDays(frozenset({1, 2, 3, 4, 5}), "CN"),
    contact_hours=HoursRange(hm("09:00"), hm("18:00")),
)
FRIDAY_10 = local(SH, 2026, 11, 6, 10)
LUNCH = HoursRange(hm("12:00"), hm("13:00"))


@pytest.mark.parametrize(
    ("as_of", "events", "profile_fields", "caps", "signals", "expected"),
    [
        (FRIDAY_10, [out(FRIDAY_10 - timedelta(hours=25))], {}, (), [], True),
        (FRIDAY_10, [out(FRIDAY_10 - timedelta(hours=23))], {}, (), [], False),  # min gap
        (FRIDAY_10, [inb(FRIDAY_10 - timedelta(hours=1))], {}, (), [], True),  # no gap
        (FRIDAY_10, [], {}, (), [], True),  # never contacted
        (local(SH, 2026, 11, 7, 10), [], {}, (), [], False),  # Saturday
        (local(SH, 2026, 10, 1, 10), [], {}, (), [], False),  # National Day
        (local(SH, 2026, 10, 1, 10), [], {"country": "US"}, (), [], True),  # not in the US
        # outside contact hours on a business day: outside_contact_hours denies
        (local(SH, 2026, 11, 6, 20), [], {}, (), [], False),
        (local(SH, 2026, 2, 14, 10), [], {}, (), [], True),  # a make-up Saturday
        (local(SH, 2026, 11, 6, 12, 30), [], {"quiet_hours": LUNCH}, (), [], False),
        (local(SH, 2026, 11, 6, 13), [], {"quiet_hours": LUNCH}, (), [], True),
        (FRIDAY_10, [out(FRIDAY_10 - timedelta(days=2))], {}, (Cap(7, 1),), [], False),
        (
            FRIDAY_10,
            [out(FRIDAY_10 - timedelta(days=2), "phone")],
            {},
            (Cap(7, 1, frozenset({"phone"})),),
            [],
            True,  # email is still open
        ),
        (
            FRIDAY_10,
            [out(FRIDAY_10 - timedelta(days=2), "phone")],
            {"opted_out_channels": WELL_KNOWN_CHANNELS - {"phone"}},
            (Cap(7, 1, frozenset({"phone"})),),
            [],
            False,  # phone is all that is left, and it is capped
        ),
        (FRIDAY_10, [], {"opted_out_channels": frozenset({"all"})}, (), [], False),
        (FRIDAY_10, [], {"paused_until": FRIDAY_10 + timedelta(days=1)}, (), [], False),
        (
            FRIDAY_10,
            [],
            {},
            (),
            [Signal(FRIDAY_10 - timedelta(days=1), SignalKind.complained, "email")],
            True,  # the complaint pauses email; the owner may call and apologise
        ),
        (
            FRIDAY_10,
            [],
            {"opted_out_channels": WELL_KNOWN_CHANNELS - {"email"}},
            (),
            [Signal(FRIDAY_10 - timedelta(days=1), SignalKind.complained, "email")],
            False,  # email was all that was left
        ),
        (
            FRIDAY_10,
            [],
            {},
            (),
            [Signal(FRIDAY_10 - timedelta(days=1), SignalKind.unsubscribed, "email")],
            True,  # over-contacted, but an unsubscribe from email denies only email
        ),
    ],
)
def test_contactable_now(
    as_of: datetime,
    events: list[Any],
    profile_fields: dict[str, Any],
    caps: tuple[Cap, ...],
    signals: list[Signal],
    expected: bool,
) -> None:
    policy = OFFICE
    if caps:
        policy = make_policy(
            make_rule(min_gap_hours=24, caps=caps),
            timezone=SH,
            business_days=OFFICE.business_days,
            contact_hours=OFFICE.contact_hours,
        )
    profile = make_profile(**profile_fields)
    activity = activity_from(events, signals=signals)
    assert evaluate(policy, profile, activity, as_of).contactable_now is expected


def _recheck(profile: Any = None, activity: Activity | None = None, **rule: Any) -> Status:
    policy = make_policy(make_rule("young", Match(stage_age_days_lt=14)), make_rule("old", **rule))
    return evaluate(policy, profile or make_profile(), activity or Activity(), AS_OF)


def test_recheck_at_is_the_next_change_other_than_due_or_overdue() -> None:
    # a stage-age threshold ahead
    young = make_profile(stage_entered_at=ago(10))
    assert _recheck(young).recheck_at == ago(10) + timedelta(days=14)
    # nothing ahead: no recheck (due and overdue are stored times of their own)
    assert _recheck(activity=activity_from([out(ago(100), "phone")])).recheck_at is None
    # a pause ends
    paused = make_profile(paused_until=AS_OF + timedelta(days=3))
    assert _recheck(paused).recheck_at == AS_OF + timedelta(days=3)
    # a recent unsubscribe stops counting
    unsubscribed = activity_from(
        [out(ago(100), "phone")], signals=[Signal(ago(5), SignalKind.unsubscribed, "sms")]
    )
    status = _recheck(activity=unsubscribed)
    assert status.recheck_at == ago(5) + timedelta(days=30)
    assert status.over_until == status.recheck_at
    # a cap frees
    capped = activity_from([out(ago(100), "phone"), out(ago(3), "phone")])
    assert _recheck(activity=capped, caps=(Cap(7, 1),)).recheck_at == ago(3) + timedelta(days=7)
    # a reservation expires
    reserved = activity_from(
        [out(ago(100), "phone")],
        reservations=[Reservation("phone", ago(0.01), AS_OF + timedelta(hours=1))],
    )
    assert _recheck(activity=reserved).recheck_at == AS_OF + timedelta(hours=1)


def test_suppressed_until_is_the_last_end_of_a_suppression() -> None:
    profile = make_profile(paused_until=AS_OF + timedelta(days=3))
    complaint = Signal(ago(1), SignalKind.complained, "email")
    status = evaluate(make_policy(), profile, activity_from([], signals=[complaint]), AS_OF)
    assert status.suppressed_until == AS_OF + timedelta(days=3)  # email alone is paused
    assert status.over_until == ago(1) + timedelta(days=30)  # recent_complaint
    assert status.recheck_at == AS_OF + timedelta(days=3)
    only_email = replace(profile, opted_out_channels=WELL_KNOWN_CHANNELS - {"email"})
    status = evaluate(make_policy(), only_email, activity_from([], signals=[complaint]), AS_OF)
    assert status.suppressed_until == ago(1) + timedelta(days=90)


def test_window_days_needed() -> None:
    rule = make_rule(caps=(Cap(14, 3), Cap(7, 1)), targets=(Target(60, 2),))
    # 2: open rates leave out the emails of the last 48 hours
    assert window_days_needed(make_policy(rule), make_profile(), AS_OF) == {
        2,
        7,
        14,
        30,
        60,
        90,
    }
    profile = make_profile(max_contacts_per_30d=3)
    assert window_days_needed(make_policy(), profile, AS_OF) == {2, 7, 30, 90}
    long = make_rule(caps=(Cap(365, 100),))
    assert 365 in window_days_needed(make_policy(long), profile, AS_OF)


def test_missing_days_name_the_partial_days_the_store_must_supply() -> None:
    policy = make_policy(make_rule(caps=(Cap(14, 1),)))
    exact = activity_from([out(utc(2026, 11, 6, 2)), out(utc(2026, 11, 6, 5)), out(ago(3))])
    complete = evaluate(policy, make_profile(), exact, AS_OF)
    needed = days_to_read(window_days_needed(policy, make_profile(), AS_OF), AS_OF)
    assert date(2026, 11, 6) in needed
    rough = evaluate(policy, make_profile(), bucketed(exact, []), AS_OF)
    assert date(2026, 11, 6) in rough.missing_days
    # the edges are not always enough: the cap frees when the 17 November contact leaves
    read = evaluate(policy, make_profile(), bucketed(exact, needed), AS_OF)
    assert read.missing_days == {date(2026, 11, 17)}
    assert read.caps[0].frees_at is None
    again = evaluate(policy, make_profile(), bucketed(exact, needed | read.missing_days), AS_OF)
    assert again.missing_days == frozenset()
    assert again == complete

"""The next follow-up: due_at, earliest_at, overdue_at and the channel, hand-checked."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest

from app.cadence import (
    BusinessDays,
    Cap,
    ContactEvent,
    HoursRange,
    Policy,
    Profile,
    Signal,
    SignalKind,
    evaluate,
)
from app.cadence.followup import pick_channel
from app.cadence.types import WELL_KNOWN_CHANNELS, NextFollowUp
from tests.unit.cadence import (
    activity_from,
    hm,
    inb,
    local,
    make_policy,
    make_profile,
    make_rule,
    out,
    utc,
)

SH = "Asia/Shanghai"
WEEKDAYS = BusinessDays(frozenset({1, 2, 3, 4, 5}), holidays_country="CN")
NINE_TO_SIX = HoursRange(hm("09:00"), hm("18:00"))
PLAIN = make_policy(make_rule(follow_up_days=7, overdue_after_days=10, min_gap_hours=48))
OFFICE = make_policy(
    make_rule(follow_up_days=3, overdue_after_days=5, min_gap_hours=24),
    timezone=SH,
    business_days=WEEKDAYS,
    contact_hours=NINE_TO_SIX,
)


@dataclass(frozen=True)
class Case:
    name: str
    policy: Policy
    events: list[ContactEvent]
    as_of: datetime
    due_at: datetime
    earliest_at: datetime
    overdue_at: datetime | None
    status: str
    profile: Profile = field(default_factory=make_profile)
    signals: list[Signal] = field(default_factory=list)


CASES = [
    Case(
        "outbound: the clock and the gap start at the contact",
        PLAIN,
        [out(utc(2026, 11, 10, 10))],
        utc(2026, 11, 12, 9),
        due_at=utc(2026, 11, 17, 10),
        earliest_at=utc(2026, 11, 12, 10),
        overdue_at=utc(2026, 11, 20, 10),
        status="on_track",
    ),
    Case(
        "an inbound contact resets the clock but starts no gap",
        PLAIN,
        [out(utc(2026, 11, 10, 10)), inb(utc(2026, 11, 11, 9))],
        utc(2026, 11, 17, 10),
        due_at=utc(2026, 11, 18, 9),
        earliest_at=utc(2026, 11, 12, 10),
        overdue_at=utc(2026, 11, 21, 9),
        status="on_track",
    ),
    Case(
        "inbound only: no gap at all",
        PLAIN,
        [inb(utc(2026, 11, 11, 9))],
        utc(2026, 11, 18, 9),
        due_at=utc(2026, 11, 18, 9),
        earliest_at=utc(2026, 11, 11, 9),
        overdue_at=utc(2026, 11, 21, 9),
        status="due",
    ),
    Case(
        "overdue at overdue_at exactly",
        PLAIN,
        [out(utc(2026, 11, 10, 10))],
        utc(2026, 11, 20, 10),
        due_at=utc(2026, 11, 17, 10),
        earliest_at=utc(2026, 11, 12, 10),
        overdue_at=utc(2026, 11, 20, 10),
        status="overdue",
    ),
    Case(
        "never contacted: due since created_at, never overdue",
        PLAIN,
        [],
        utc(2026, 11, 20),
        due_at=utc(2026, 1, 1),
        earliest_at=utc(2026, 1, 1),
        overdue_at=None,
        status="due",
    ),
    Case(
        "never contacted, looked at before the profile existed: still due",
        PLAIN,
        [],
        utc(2025, 6, 1),
        due_at=utc(2026, 1, 1),
        earliest_at=utc(2026, 1, 1),
        overdue_at=None,
        status="due",
    ),
    Case(
        "never contacted, created on a Saturday: Monday's opening",
        OFFICE,
        [],
        utc(2026, 11, 20),
        due_at=local(SH, 2026, 11, 2, 9),
        earliest_at=local(SH, 2026, 11, 2, 9),
        overdue_at=None,
        status="due",
        profile=make_profile(created_at=local(SH, 2026, 10, 31, 11)),
    ),
    Case(
        "never contacted, paused until later: due when the pause ends",
        PLAIN,
        [],
        utc(2026, 11, 20),
        due_at=utc(2026, 12, 1),
        earliest_at=utc(2026, 12, 1),
        overdue_at=None,
        status="suppressed",
        profile=make_profile(paused_until=utc(2026, 12, 1)),
    ),
    Case(
        "business days: Friday + 3 is Wednesday, + 5 is Friday",
        OFFICE,
        [out(local(SH, 2026, 11, 6, 10))],
        local(SH, 2026, 11, 9, 10),
        due_at=local(SH, 2026, 11, 11, 10),
        earliest_at=local(SH, 2026, 11, 9, 9),  # Friday + 24 h is Saturday: Monday opening
        overdue_at=local(SH, 2026, 11, 13, 10),
        status="on_track",
    ),
    Case(
        "business days: an evening call moves to the next opening, overdue is not moved",
        OFFICE,
        [inb(local(SH, 2026, 11, 6, 20))],
        local(SH, 2026, 11, 12, 9),
        due_at=local(SH, 2026, 11, 12, 9),
        earliest_at=local(SH, 2026, 11, 9, 9),
        overdue_at=local(SH, 2026, 11, 13, 20),
        status="due",
    ),
    Case(
        "business days: the golden week moves everything",
        OFFICE,
        [out(local(SH, 2026, 9, 29, 15))],
        local(SH, 2026, 10, 8, 15),
        due_at=local(SH, 2026, 10, 9, 15),  # 30 Sep, 8 Oct, 9 Oct
        earliest_at=local(SH, 2026, 9, 30, 15),
        overdue_at=local(SH, 2026, 10, 12, 15),  # 10 Oct (a make-up Saturday), 12 Oct
        status="on_track",
    ),
    Case(
        "quiet hours move due_at out of them",
        PLAIN,
        [out(local(SH, 2026, 11, 10, 21))],
        local(SH, 2026, 11, 17, 21),
        due_at=local(SH, 2026, 11, 18, 9),
        earliest_at=local(SH, 2026, 11, 13, 9),
        overdue_at=local(SH, 2026, 11, 20, 21),
        status="on_track",
        profile=make_profile(timezone=SH, quiet_hours=HoursRange(hm("20:00"), hm("09:00"))),
    ),
    Case(
        "a past pause still holds the follow-up back to its end",
        PLAIN,
        [out(utc(2026, 11, 1))],
        utc(2026, 11, 20),
        due_at=utc(2026, 11, 10),
        earliest_at=utc(2026, 11, 10),
        overdue_at=utc(2026, 11, 11),
        status="overdue",
        profile=make_profile(paused_until=utc(2026, 11, 10)),
    ),
    Case(
        "a pause past overdue_at: overdue a minute after due_at",
        PLAIN,
        [out(utc(2026, 11, 1))],
        utc(2026, 11, 15),
        due_at=utc(2026, 11, 20),
        earliest_at=utc(2026, 11, 20),
        overdue_at=utc(2026, 11, 20, 0, 1),
        status="suppressed",
        profile=make_profile(paused_until=utc(2026, 11, 20)),
    ),
    Case(
        "a complaint pause of the only channel left holds the follow-up back to its end",
        make_policy(make_rule(follow_up_days=7, overdue_after_days=10), complaint_pause_days=9),
        [out(utc(2026, 11, 1))],
        utc(2026, 11, 5),
        due_at=utc(2026, 11, 11),
        earliest_at=utc(2026, 11, 11),
        overdue_at=utc(2026, 11, 11, 0, 1),
        status="suppressed",
        profile=make_profile(
            preferred_channels=("email",), opted_out_channels=WELL_KNOWN_CHANNELS - {"email"}
        ),
        signals=[Signal(utc(2026, 11, 2), SignalKind.complained, "email")],
    ),
    Case(
        "a complaint pause of another channel holds nothing back",
        make_policy(make_rule(follow_up_days=7, overdue_after_days=10), complaint_pause_days=9),
        [out(utc(2026, 11, 1))],
        utc(2026, 11, 5),
        due_at=utc(2026, 11, 8),
        earliest_at=utc(2026, 11, 1),
        overdue_at=utc(2026, 11, 11),
        status="over_contacted",
        profile=make_profile(preferred_channels=("email",)),
        signals=[Signal(utc(2026, 11, 2), SignalKind.complained, "email")],
    ),
    Case(
        "a rule not counting automated contacts runs its clock from the last personal one",
        make_policy(make_rule(follow_up_days=3, overdue_after_days=5, count_automated=False)),
        [
            out(utc(2026, 11, 10, 10), "phone"),
            *(out(utc(2026, 11, d, 8), automated=True) for d in (11, 12, 13)),
        ],
        utc(2026, 11, 14),
        due_at=utc(2026, 11, 13, 10),
        earliest_at=utc(2026, 11, 10, 10),
        overdue_at=utc(2026, 11, 15, 10),
        status="due",
    ),
    Case(
        "a rule not counting automated contacts, with only automated ones: never contacted",
        make_policy(
            make_rule(
                follow_up_days=3, overdue_after_days=5, min_gap_hours=24, count_automated=False
            )
        ),
        [out(utc(2026, 11, 10, 10), automated=True)],
        utc(2026, 11, 10, 12),
        due_at=utc(2026, 1, 1),
        earliest_at=utc(2026, 1, 1),
        overdue_at=None,
        status="due",
    ),
    Case(
        "a rule counting automated contacts: a newsletter moves the clock",
        make_policy(make_rule(follow_up_days=3, overdue_after_days=5)),
        [out(utc(2026, 11, 10, 10), "phone"), out(utc(2026, 11, 13, 8), automated=True)],
        utc(2026, 11, 14),
        due_at=utc(2026, 11, 16, 8),
        earliest_at=utc(2026, 11, 13, 8),
        overdue_at=utc(2026, 11, 18, 8),
        status="on_track",
    ),
    Case(
        "a reached cap holds the follow-up back to its frees_at",
        make_policy(make_rule(follow_up_days=3, overdue_after_days=5, caps=(Cap(7, 1),))),
        [out(utc(2026, 11, 15, 10))],
        utc(2026, 11, 19),
        due_at=utc(2026, 11, 22, 10),
        earliest_at=utc(2026, 11, 22, 10),
        overdue_at=utc(2026, 11, 22, 10, 1),
        status="on_track",
    ),
    Case(
        "a cap not reached holds nothing",
        make_policy(make_rule(follow_up_days=3, overdue_after_days=5, caps=(Cap(7, 2),))),
        [out(utc(2026, 11, 15, 10))],
        utc(2026, 11, 19),
        due_at=utc(2026, 11, 18, 10),
        earliest_at=utc(2026, 11, 15, 10),
        overdue_at=utc(2026, 11, 20, 10),
        status="due",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_next_follow_up(case: Case) -> None:
    activity = activity_from(case.events, signals=case.signals)
    status = evaluate(case.policy, case.profile, activity, case.as_of)
    got = status.next_follow_up
    assert (got.due_at, got.earliest_at, got.overdue_at) == (
        case.due_at,
        case.earliest_at,
        case.overdue_at,
    )
    assert status.status == case.status
    personal = [e.at for e in case.events if not e.automated]
    counts_all = case.policy.rules[0].count_automated
    clock = [e.at for e in case.events] if counts_all else personal
    assert got.counted_from == max(clock, default=None)


def test_engagements_are_not_contacts() -> None:
    """Engagements reach the engine only as signals and `engaged` flags: they move nothing."""
    contact = out(utc(2026, 11, 10, 10))
    plain = evaluate(PLAIN, make_profile(), activity_from([contact]), utc(2026, 11, 12))
    engaged = ContactEvent(contact.at, contact.channel, outbound=True, engaged=True)
    signals = [Signal(utc(2026, 11, 11), SignalKind.unsubscribed, "sms")]
    noisy = evaluate(
        PLAIN, make_profile(), activity_from([engaged], signals=signals), utc(2026, 11, 12)
    )
    assert noisy.next_follow_up == plain.next_follow_up
    assert noisy.counts == plain.counts
    assert noisy.last_contact_at == plain.last_contact_at


@pytest.mark.parametrize(
    ("profile_fields", "last_response", "rule_channel", "expected"),
    [
        ({"preferred_channels": ("sms", "email")}, "phone", "visit", "sms"),
        (
            {"preferred_channels": ("sms", "email"), "opted_out_channels": frozenset({"sms"})},
            "phone",
            "visit",
            "email",
        ),
        ({}, "phone", "visit", "phone"),
        ({"opted_out_channels": frozenset({"phone"})}, "phone", "visit", "visit"),
        ({}, None, "visit", "visit"),
        ({}, None, None, None),
        ({"opted_out_channels": frozenset({"all"})}, "phone", "visit", None),
        ({"preferred_channels": ("wechat",)}, None, "visit", "wechat"),  # any channel slug
    ],
)
def test_channel_choice(
    profile_fields: dict[str, Any],
    last_response: str | None,
    rule_channel: str | None,
    expected: str | None,
) -> None:
    profile = make_profile(**profile_fields)
    activity = activity_from([], last_response_channel=last_response)
    rule = make_rule(channel=rule_channel)
    assert pick_channel(profile, activity, rule, {}) == expected
    status = evaluate(make_policy(rule), profile, activity, utc(2026, 11, 20))
    assert status.next_follow_up.channel == expected


@pytest.mark.parametrize(
    ("profile_fields", "paused", "expected"),
    [
        ({"preferred_channels": ("email", "sms")}, {"email"}, "sms"),
        ({"preferred_channels": ("visit",)}, {"visit"}, "email"),  # the rule's
        ({}, {"email"}, "phone"),  # the rule's paused: switch, call and apologise
        ({}, {"email", "phone"}, "im"),
        ({"opted_out_channels": frozenset({"phone"})}, {"email"}, "im"),
        ({}, {"sms"}, "email"),  # another channel paused: nothing changes
    ],
)
def test_a_complaint_paused_channel_is_skipped(
    profile_fields: dict[str, Any], paused: set[str], expected: str
) -> None:
    profile = make_profile(**profile_fields)
    ends = dict.fromkeys(paused, utc(2027, 1, 1))
    rule = make_rule(channel="email")
    assert pick_channel(profile, activity_from([]), rule, ends) == expected


def test_the_reason_explains_the_follow_up() -> None:
    rule = make_rule("onboarding", channel="phone", follow_up_days=7)
    never = evaluate(make_policy(rule), make_profile(), activity_from([]), utc(2026, 11, 20))
    assert never.next_follow_up.reason == (
        "Never contacted: make a first contact by phone (rule onboarding)."
    )
    once = evaluate(
        make_policy(rule), make_profile(), activity_from([out(utc(2026, 11, 1))]), utc(2026, 11, 2)
    )
    assert once.next_follow_up.reason == (
        "Follow up by phone 7 days after the last contact (2026-11-01) (rule onboarding)."
    )


def test_follow_up_times_are_never_moved_to_as_of() -> None:
    """A due or overdue customer's follow-up lies in the past."""
    activity = activity_from([out(utc(2026, 1, 5))])
    status = evaluate(PLAIN, make_profile(), activity, utc(2026, 11, 1))
    assert status.status == "overdue"
    assert status.next_follow_up == NextFollowUp(
        due_at=utc(2026, 1, 12),
        earliest_at=utc(2026, 1, 7),
        overdue_at=utc(2026, 1, 15),
        channel=None,
        reason="Follow up 7 days after the last contact (2026-01-05) (rule r).",
        counted_from=utc(2026, 1, 5),
    )


def test_dst_keeps_the_local_time_of_the_last_contact() -> None:
    """A call at 10:00 New York time on 5 March is due at 10:00 on 12 March, after the clocks
    went forward: 14:00 UTC, not 15:00."""
    policy = make_policy(timezone="America/New_York")
    last = local("America/New_York", 2026, 3, 5, 10)
    status = evaluate(policy, make_profile(), activity_from([out(last)]), last)
    assert last == utc(2026, 3, 5, 15)
    assert status.next_follow_up.due_at == utc(2026, 3, 12, 14)
    assert status.next_follow_up.overdue_at == utc(2026, 3, 15, 14)
    # the customer's own zone wins over the policy's
    berlin = make_profile(timezone="Europe/Berlin")
    status = evaluate(policy, berlin, activity_from([out(utc(2026, 3, 25, 9))]), last)
    assert status.next_follow_up.due_at == utc(2026, 4, 1, 8)  # 10:00 CET, then 10:00 CEST

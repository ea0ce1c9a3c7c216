"""Conflict checks: every deny and warn reason, with the instant it passes, and precedence."""

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.cadence import (
    Activity,
    Actor,
    BusinessDays,
    Cap,
    ContactBy,
    ContactRequest,
    Decision,
    LockHold,
    PlannedContact,
    Policy,
    Profile,
    Reservation,
    Signal,
    SignalKind,
    Surroundings,
    Verdict,
    check,
    evaluate,
)
from app.cadence.types import HoursRange
from tests.unit.cadence import activity_from, hm, local, make_policy, make_profile, make_rule, out

SH = "Asia/Shanghai"
FRIDAY_10 = local(SH, 2026, 11, 6, 10)  # a business day in Shanghai, 02:00Z
REP7 = Actor(rep_id="rep-7", team="north")
REP9 = Actor(rep_id="rep-9", team="south")
DIST = Actor(partner_id="dist-1")
OFFICE = make_policy(
    make_rule(min_gap_hours=24, caps=(Cap(7, 2),)),
    timezone=SH,
    business_days=BusinessDays(frozenset({1, 2, 3, 4, 5}), "CN"),
    contact_hours=HoursRange(hm("09:00"), hm("18:00")),
)


def judge(
    *,
    at: datetime = FRIDAY_10,
    channel: str = "phone",
    actor: Actor = REP7,
    policy: Policy = OFFICE,
    profile: Profile | None = None,
    activity: Activity | None = None,
    around: Surroundings | None = None,
) -> Verdict:
    profile = profile or make_profile(owner_rep="rep-7", owner_team="north")
    activity = activity or Activity()
    status = evaluate(policy, profile, activity, at)
    return check(
        policy,
        profile,
        activity,
        status.standing,
        around or Surroundings(),
        ContactRequest(channel, actor, at),
    )


def reasons(verdict: Verdict) -> dict[str, datetime | None]:
    return {r.code: r.until for r in verdict.reasons}


class TestDenials:
    def test_a_quiet_business_morning_is_allowed(self) -> None:
        assert judge() == Verdict(Decision.allow, ())

    def test_an_opted_out_channel_is_denied_and_never_passes(self) -> None:
        profile = make_profile(opted_out_channels=frozenset({"phone"}))
        assert reasons(judge(profile=profile)) == {"opted_out": None}
        assert judge(profile=profile, channel="email").decision is Decision.allow

    def test_opting_out_of_all_denies_every_channel(self) -> None:
        profile = make_profile(opted_out_channels=frozenset({"all"}))
        assert "opted_out" in reasons(judge(profile=profile, channel="carrier-pigeon"))

    def test_a_pause_denies_until_it_ends(self) -> None:
        until = FRIDAY_10 + timedelta(days=3)
        assert reasons(judge(profile=make_profile(paused_until=until))) == {"paused": until}

    def test_a_complaint_pauses_its_channel_for_the_policy_days(self) -> None:
        complained = FRIDAY_10 - timedelta(days=1)
        activity = activity_from([], signals=[Signal(complained, SignalKind.complained, "email")])
        email = judge(activity=activity, channel="email")
        assert email.decision is Decision.deny
        assert reasons(email) == {"complaint_pause": complained + timedelta(days=90)}
        phone = judge(activity=activity, channel="phone")  # call and apologise
        assert phone.decision is Decision.warn
        assert reasons(phone) == {"recent_complaint": complained + timedelta(days=30)}

    def test_a_complaint_older_than_fatigue_days_no_longer_warns_other_channels(self) -> None:
        complained = FRIDAY_10 - timedelta(days=30)
        activity = activity_from([], signals=[Signal(complained, SignalKind.complained, "email")])
        assert judge(activity=activity, channel="phone").decision is Decision.allow
        assert reasons(judge(activity=activity, channel="email")) == {
            "complaint_pause": complained + timedelta(days=90)
        }

    def test_a_reached_cap_denies_until_it_frees(self) -> None:
        first, second = FRIDAY_10 - timedelta(days=5), FRIDAY_10 - timedelta(days=2)
        found = reasons(judge(activity=activity_from([out(first), out(second)])))
        assert found == {"cap_reached": first + timedelta(days=7)}

    def test_a_cap_of_other_channels_does_not_deny_this_one(self) -> None:
        policy = replace(OFFICE, rules=(make_rule(caps=(Cap(7, 1, frozenset({"email"})),)),))
        activity = activity_from([out(FRIDAY_10 - timedelta(days=2), "email")])
        assert judge(policy=policy, activity=activity, channel="phone").decision is Decision.allow
        assert "cap_reached" in reasons(judge(policy=policy, activity=activity, channel="email"))

    def test_an_open_reservation_uses_up_a_cap(self) -> None:
        policy = replace(OFFICE, rules=(make_rule(caps=(Cap(7, 1),)),))
        booked = Reservation(
            "phone", FRIDAY_10 - timedelta(minutes=5), FRIDAY_10 + timedelta(hours=1)
        )
        activity = activity_from([], reservations=[booked])
        assert reasons(judge(policy=policy, activity=activity)) == {
            "cap_reached": booked.expires_at
        }

    def test_the_profiles_own_cap_counts_too(self) -> None:
        profile = make_profile(max_contacts_per_30d=1)
        activity = activity_from([out(FRIDAY_10 - timedelta(days=20))])
        found = reasons(judge(profile=profile, activity=activity))
        assert found == {"cap_reached": FRIDAY_10 + timedelta(days=10)}

    def test_the_minimum_gap_denies_after_an_outbound_contact(self) -> None:
        last = FRIDAY_10 - timedelta(hours=3)
        found = reasons(judge(activity=activity_from([out(last)])))
        assert found == {"min_gap": last + timedelta(hours=24)}

    def test_the_minimum_gap_ignores_inbound_contacts(self) -> None:
        activity = activity_from([replace(out(FRIDAY_10 - timedelta(hours=1)), outbound=False)])
        assert judge(activity=activity).decision is Decision.allow

    def test_a_weekend_is_not_a_business_day_until_monday_begins(self) -> None:
        saturday = local(SH, 2026, 11, 7, 10)
        assert reasons(judge(at=saturday)) == {"non_business_day": local(SH, 2026, 11, 9, 9)}

    def test_an_official_make_up_saturday_is_a_business_day(self) -> None:
        """China's 调休: Saturday 14 February 2026 is a working day, the 21st is not, and the
        Spring Festival holidays run to Monday 23 February."""
        assert judge(at=local(SH, 2026, 2, 14, 10)).decision is Decision.allow
        assert reasons(judge(at=local(SH, 2026, 2, 21, 10))) == {
            "non_business_day": local(SH, 2026, 2, 24, 9)
        }
        assert reasons(judge(at=local(SH, 2026, 2, 17, 10))) == {
            "non_business_day": local(SH, 2026, 2, 24, 9)
        }
        before_make_up_day = local(SH, 2026, 2, 13, 19)  # Friday evening: Saturday opens
        assert reasons(judge(at=before_make_up_day)) == {
            "outside_contact_hours": local(SH, 2026, 2, 14, 9)
        }

    def test_a_public_holiday_of_the_customers_country_is_not_a_business_day(self) -> None:
        national_day = local(SH, 2026, 10, 1, 10)
        assert "non_business_day" in reasons(judge(at=national_day))
        profile = make_profile(country="US", owner_rep="rep-7")
        assert judge(at=national_day, profile=profile).decision is Decision.allow

    def test_quiet_hours_deny_until_they_end_in_the_customers_zone(self) -> None:
        profile = make_profile(quiet_hours=HoursRange(hm("12:00"), hm("14:00")), owner_rep="rep-7")
        found = reasons(judge(at=local(SH, 2026, 11, 6, 12, 30), profile=profile))
        assert found == {"quiet_hours": local(SH, 2026, 11, 6, 14)}

    def test_quiet_hours_that_wrap_midnight_end_the_next_morning(self) -> None:
        profile = make_profile(quiet_hours=HoursRange(hm("20:00"), hm("09:00")), owner_rep="rep-7")
        found = reasons(judge(at=local(SH, 2026, 11, 5, 22), profile=profile))
        assert found == {
            "outside_contact_hours": local(SH, 2026, 11, 6, 9),
            "quiet_hours": local(SH, 2026, 11, 6, 9),
        }

    @pytest.mark.parametrize(
        ("at", "opens"),
        [
            (local(SH, 2026, 11, 6, 20), local(SH, 2026, 11, 9, 9)),  # Friday evening: Monday
            (local(SH, 2026, 11, 6, 8, 59), local(SH, 2026, 11, 6, 9)),  # before opening
            (local(SH, 2026, 11, 6, 18), local(SH, 2026, 11, 9, 9)),  # [start, end)
            (local(SH, 2026, 9, 30, 18, 30), local(SH, 2026, 10, 8, 9)),  # golden week
        ],
    )
    def test_outside_contact_hours_deny_until_they_next_open(
        self, at: datetime, opens: datetime
    ) -> None:
        assert reasons(judge(at=at)) == {"outside_contact_hours": opens}

    def test_in_contact_hours_is_allowed(self) -> None:
        assert judge(at=local(SH, 2026, 11, 6, 9)).decision is Decision.allow
        assert judge(at=local(SH, 2026, 11, 6, 17, 59)).decision is Decision.allow

    def test_another_holders_lock_denies_until_it_expires(self) -> None:
        lock = LockHold(DIST, FRIDAY_10 - timedelta(days=1), FRIDAY_10 + timedelta(days=89))
        activity = activity_from([])
        activity = replace(activity, locks=(lock,))
        assert reasons(judge(activity=activity)) == {"locked": lock.ends_at}
        assert judge(activity=activity, actor=Actor(partner_id="dist-1")).decision is Decision.allow

    def test_a_lock_outside_its_period_does_not_deny(self) -> None:
        lock = LockHold(DIST, FRIDAY_10 + timedelta(hours=1), FRIDAY_10 + timedelta(days=9))
        assert judge(activity=replace(Activity(), locks=(lock,))).decision is Decision.allow

    @pytest.mark.parametrize(
        ("holder", "actor", "held"),
        [
            (Actor(team="north"), Actor(rep_id="rep-1", team="north"), True),
            (Actor(team="north"), Actor(rep_id="rep-1", team="south"), False),
            (Actor(rep_id="rep-1"), Actor(rep_id="rep-1", team="south"), True),
            (Actor(partner_id="p"), Actor(rep_id="p"), False),
            (Actor(partner_id="p"), Actor(), False),
            (Actor(team="north"), Actor(team="north", partner_id="p"), False),
            (Actor(rep_id="rep-1"), Actor(rep_id="rep-1", partner_id="p"), False),
        ],
    )
    def test_the_holder_is_whoever_the_lock_names(
        self, holder: Actor, actor: Actor, held: bool
    ) -> None:
        assert actor.is_held_by(holder) is held


class TestWarnings:
    def test_another_owner_rep_warns(self) -> None:
        assert reasons(judge(actor=REP9)) == {"owned_by_other": None}

    def test_the_owner_team_decides_when_the_actor_names_no_rep(self) -> None:
        assert judge(actor=Actor(team="north")).decision is Decision.allow
        assert reasons(judge(actor=Actor(team="south"))) == {"owned_by_other": None}

    def test_an_actor_without_ids_is_nobodys_rival(self) -> None:
        assert judge(actor=Actor()).decision is Decision.allow

    def test_a_recent_contact_by_another_team_warns_until_it_is_no_longer_recent(self) -> None:
        at = FRIDAY_10 - timedelta(hours=5)
        around = Surroundings(recent_contacts=[ContactBy(at, Actor(team="south"))])
        assert reasons(judge(around=around)) == {
            "recent_contact_by_other": at + timedelta(hours=24)
        }

    @pytest.mark.parametrize(
        ("contact", "actor", "other"),
        [
            (Actor(team="north"), REP7, False),
            (Actor(rep_id="rep-3", team="north"), REP7, False),  # a colleague of the same team
            (Actor(partner_id="dist-1"), REP7, True),
            (Actor(partner_id="dist-1"), DIST, False),
            (Actor(partner_id="dist-2"), DIST, True),
            (Actor(team="north"), DIST, True),  # the company itself, to a partner
            (Actor(), REP7, False),  # touches without an actor never count
            (Actor(rep_id="rep-3"), REP7, False),  # no team to compare
        ],
    )
    def test_who_counts_as_another(self, contact: Actor, actor: Actor, other: bool) -> None:
        around = Surroundings(recent_contacts=[ContactBy(FRIDAY_10 - timedelta(hours=1), contact)])
        assert ("recent_contact_by_other" in reasons(judge(actor=actor, around=around))) is other

    def test_a_contact_older_than_the_recent_window_does_not_warn(self) -> None:
        old = ContactBy(FRIDAY_10 - timedelta(hours=24), Actor(team="south"))
        assert judge(around=Surroundings(recent_contacts=[old])).decision is Decision.allow

    def test_another_actors_plan_near_the_instant_warns(self) -> None:
        plan = PlannedContact(
            REP9, "visit", FRIDAY_10 + timedelta(hours=2), FRIDAY_10 + timedelta(days=1)
        )
        found = reasons(judge(around=Surroundings(plans=[plan])))
        assert found == {"planned_by_other": FRIDAY_10 + timedelta(days=1)}

    def test_ones_own_plan_does_not_warn(self) -> None:
        plan = PlannedContact(REP7, "visit", FRIDAY_10, FRIDAY_10 + timedelta(hours=1))
        assert judge(around=Surroundings(plans=[plan])).decision is Decision.allow

    def test_a_plan_far_from_the_instant_or_expired_does_not_warn(self) -> None:
        far = PlannedContact(
            REP9, "visit", FRIDAY_10 + timedelta(hours=30), FRIDAY_10 + timedelta(days=3)
        )
        gone = PlannedContact(
            REP9, "phone", FRIDAY_10 - timedelta(hours=2), FRIDAY_10 - timedelta(hours=1)
        )
        assert judge(around=Surroundings(plans=[far, gone])).decision is Decision.allow

    @pytest.mark.parametrize(
        ("one", "other", "same"),
        [
            (REP7, REP7, True),
            (Actor(team="north"), REP7, True),
            (Actor(rep_id="rep-7"), Actor(rep_id="rep-7", partner_id="p"), False),
            (Actor(rep_id="x", partner_id="p"), Actor(partner_id="p"), True),
            (REP7, REP9, False),
            (Actor(team="north"), Actor(partner_id="p"), False),
            (Actor(), Actor(), False),
        ],
    )
    def test_sameness_of_actors(self, one: Actor, other: Actor, same: bool) -> None:
        assert one.is_same_as(other) is same
        assert other.is_same_as(one) is same


class TestDecision:
    def test_one_deny_reason_denies_whatever_warns(self) -> None:
        verdict = judge(
            actor=REP9,
            profile=make_profile(owner_rep="rep-7", opted_out_channels=frozenset({"phone"})),
        )
        assert verdict.decision is Decision.deny
        assert [r.code for r in verdict.reasons] == ["opted_out", "owned_by_other"]

    def test_warn_reasons_alone_warn(self) -> None:
        assert judge(actor=REP9).decision is Decision.warn

    def test_contactable_now_agrees_with_the_owners_check(self) -> None:
        profile = make_profile(owner_rep="rep-7", owner_team="north")
        for at in (FRIDAY_10, local(SH, 2026, 11, 7, 10), FRIDAY_10 + timedelta(hours=2)):
            activity = activity_from([out(FRIDAY_10 - timedelta(hours=20), "phone")])
            status = evaluate(OFFICE, profile, activity, at)
            owner = Actor(rep_id="rep-7", team="north")
            allowed = any(
                check(
                    OFFICE,
                    profile,
                    activity,
                    status.standing,
                    Surroundings(),
                    ContactRequest(c, owner, at),
                ).decision
                is not Decision.deny
                for c in ("phone", "email", "visit")
            )
            assert status.contactable_now is allowed


@settings(max_examples=150, deadline=None)
@given(
    hours=st.integers(min_value=0, max_value=24 * 14),
    gap=st.integers(min_value=0, max_value=72),
    last_hours_ago=st.integers(min_value=1, max_value=24 * 10),
)
def test_every_until_lies_after_the_instant_checked(
    hours: int, gap: int, last_hours_ago: int
) -> None:
    at = FRIDAY_10 + timedelta(hours=hours)
    policy = replace(OFFICE, rules=(make_rule(min_gap_hours=gap, caps=(Cap(7, 1),)),))
    activity = activity_from([out(at - timedelta(hours=last_hours_ago), "phone")])
    profile = make_profile(quiet_hours=HoursRange(hm("12:00"), hm("13:00")))
    verdict = judge(at=at, policy=policy, activity=activity, profile=profile)
    for reason in verdict.reasons:
        assert reason.until is None or reason.until > at, reason

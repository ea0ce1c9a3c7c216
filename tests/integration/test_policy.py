"""Cadence policies: GET /v1/policy (the built-in default until one is set), PUT /v1/policy
(validated, versioned) and GET /v1/policy/versions."""

import copy
from typing import Any

import httpx
import pytest

from tests.conftest import Tenant
from tests.integration.helpers import assert_full_problem, put_policy

NOW_Z = "2026-11-20T03:00:00Z"

CATCH_ALL: dict[str, Any] = {
    "name": "everyone",
    "match": {},
    "follow_up_days": 30,
    "overdue_after_days": 60,
}
MINIMAL: dict[str, Any] = {"rules": [CATCH_ALL]}
FULL: dict[str, Any] = {
    "timezone": "Asia/Shanghai",
    "business_days": {"weekdays": [1, 2, 3, 4, 5], "holidays_country": "CN"},
    "contact_hours": {"start": "09:00", "end": "18:00"},
    "recent_contact_hours": 12,
    "fatigue_days": 21,
    "complaint_pause_days": 60,
    "segment_weights": {"strategic": 3, "high_value": 2},
    "rules": [
        {
            "name": "onboarding",
            "match": {"stage": ["customer"], "stage_age_days_lt": 30},
            "follow_up_days": 7,
            "overdue_after_days": 10,
            "min_gap_hours": 48,
            "channel": "phone",
            "count_automated": False,
            "caps": [{"window_days": 7, "max": 2, "channels": ["phone", "email"]}],
            "targets": [{"window_days": 30, "min": 4, "depth": "value"}],
        },
        CATCH_ALL,
    ],
}
POLICY_FIELDS = {
    "timezone", "business_days", "contact_hours", "recent_contact_hours", "fatigue_days",
    "complaint_pause_days", "segment_weights", "rfm", "rules", "version", "created_at",
}  # fmt: skip
RULE_FIELDS = {
    "name", "match", "follow_up_days", "overdue_after_days", "min_gap_hours", "channel",
    "count_automated", "caps", "targets",
}  # fmt: skip
MATCH_FIELDS = {
    "segment", "stage", "market", "industry", "stage_age_days_lt", "stage_age_days_gte",
    "outbound_in_stage_lt", "outbound_in_stage_gte", "rfm_segment",  # [1.1]
}  # fmt: skip


def with_rule(**changes: Any) -> dict[str, Any]:
    """A policy whose only rule (a catch-all) has these changes."""
    return {"rules": [{**CATCH_ALL, **changes}]}


def changed(path: list[str | int], value: Any) -> dict[str, Any]:
    """FULL with one value replaced."""
    doc = copy.deepcopy(FULL)
    target: Any = doc
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return doc


def as_document(policy: dict[str, Any]) -> dict[str, Any]:
    """A policy as read, without what the service adds: what a client would PUT back."""
    return {k: v for k, v in policy.items() if k not in {"version", "created_at"}}


async def all_versions(client: httpx.AsyncClient, limit: int) -> list[int]:
    versions: list[int] = []
    cursor: str | None = None
    for _ in range(50):
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        response = await client.get("/v1/policy/versions", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= limit
        versions += [item["version"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return versions
    raise AssertionError("the pages never ended")


class TestGetDefaultPolicy:
    async def test_a_new_tenant_gets_the_built_in_default_as_version_0(
        self, admin: httpx.AsyncClient
    ) -> None:
        response = await admin.get("/v1/policy")
        assert response.status_code == 200, response.text
        policy = response.json()
        assert set(policy) >= POLICY_FIELDS
        assert policy["version"] == 0
        assert policy["created_at"] is None

    async def test_every_field_is_present_in_the_default_and_its_rules(
        self, admin: httpx.AsyncClient
    ) -> None:
        policy = (await admin.get("/v1/policy")).json()
        for rule in policy["rules"]:
            assert set(rule) >= RULE_FIELDS, rule["name"]
            assert set(rule["match"]) == MATCH_FIELDS, rule["name"]
            for cap in rule["caps"]:
                assert set(cap) >= {"window_days", "max", "channels"}
            for target in rule["targets"]:
                assert set(target) >= {"window_days", "min", "depth"}

    async def test_the_default_rules_end_with_a_catch_all(self, admin: httpx.AsyncClient) -> None:
        rules = (await admin.get("/v1/policy")).json()["rules"]
        assert all(value is None for value in rules[-1]["match"].values())
        for rule in rules[:-1]:
            assert any(value is not None for value in rule["match"].values()), rule["name"]

    async def test_the_default_has_a_negotiation_rule_of_3_to_5_days(
        self, admin: httpx.AsyncClient
    ) -> None:
        rules = (await admin.get("/v1/policy")).json()["rules"]
        negotiation = [r for r in rules if "negotiation" in (r["match"]["stage"] or [])]
        assert negotiation
        assert 3 <= negotiation[0]["follow_up_days"] <= 5

    async def test_each_default_rule_names_the_brief_row_it_encodes(
        self, admin: httpx.AsyncClient
    ) -> None:
        rules = (await admin.get("/v1/policy")).json()["rules"]
        assert len(rules) >= 5
        for rule in rules:
            assert isinstance(rule.get("source"), str), rule["name"]
            assert rule["source"].strip(), rule["name"]

    async def test_the_default_encodes_the_brief_cadences(self, admin: httpx.AsyncClient) -> None:
        rules = {r["name"]: r for r in (await admin.get("/v1/policy")).json()["rules"]}
        cycles = {name: (r["follow_up_days"], r["overdue_after_days"]) for name, r in rules.items()}
        loyal = [r for r in rules.values() if r["match"]["stage"] == ["loyal"]]
        assert loyal
        assert loyal[0]["follow_up_days"] == 90
        opportunity = [r for r in rules.values() if "opportunity" in (r["match"]["stage"] or [])]
        assert opportunity
        assert 5 <= opportunity[0]["follow_up_days"] <= 7
        assert all(overdue > follow for follow, overdue in cycles.values())

    async def test_the_default_puts_industry_rules_before_market_rules(
        self, admin: httpx.AsyncClient
    ) -> None:
        rules = (await admin.get("/v1/policy")).json()["rules"]
        prospects = [r for r in rules if "lead" in (r["match"]["stage"] or [])]
        by_industry = [i for i, r in enumerate(prospects) if r["match"]["industry"]]
        by_market = [i for i, r in enumerate(prospects) if r["match"]["market"]]
        assert by_industry
        assert by_market
        assert max(by_industry) < min(by_market)

    async def test_the_default_document_can_be_put_back_as_it_is(
        self, admin: httpx.AsyncClient
    ) -> None:
        default = (await admin.get("/v1/policy")).json()
        stored = await put_policy(admin, as_document(default))
        assert stored["version"] == 1
        assert as_document(stored) == as_document(default)


class TestPutPolicy:
    async def test_the_first_policy_set_is_version_1(self, admin: httpx.AsyncClient) -> None:
        stored = await put_policy(admin, FULL)
        assert stored["version"] == 1
        assert stored["created_at"] == NOW_Z

    async def test_the_next_policy_set_is_version_2(self, admin: httpx.AsyncClient) -> None:
        await put_policy(admin, FULL)
        stored = await put_policy(admin, MINIMAL)
        assert stored["version"] == 2

    async def test_get_returns_the_policy_just_put(self, admin: httpx.AsyncClient) -> None:
        stored = await put_policy(admin, FULL)
        response = await admin.get("/v1/policy")
        assert response.status_code == 200, response.text
        assert response.json() == stored

    async def test_the_stored_policy_echoes_what_was_put(self, admin: httpx.AsyncClient) -> None:
        stored = await put_policy(admin, FULL)
        assert stored["timezone"] == "Asia/Shanghai"
        assert stored["business_days"] == FULL["business_days"]
        assert stored["contact_hours"] == FULL["contact_hours"]
        assert stored["recent_contact_hours"] == 12
        assert stored["fatigue_days"] == 21
        assert stored["complaint_pause_days"] == 60
        assert stored["segment_weights"] == {"strategic": 3, "high_value": 2}
        onboarding = stored["rules"][0]
        assert onboarding["match"]["stage"] == ["customer"]
        assert onboarding["match"]["stage_age_days_lt"] == 30
        assert onboarding["min_gap_hours"] == 48
        assert onboarding["channel"] == "phone"
        assert onboarding["count_automated"] is False
        assert onboarding["caps"] == [{"window_days": 7, "max": 2, "channels": ["phone", "email"]}]
        assert onboarding["targets"] == [{"window_days": 30, "min": 4, "depth": "value"}]

    async def test_omitted_fields_take_the_documented_defaults(
        self, admin: httpx.AsyncClient
    ) -> None:
        doc = {
            "rules": [
                {
                    **CATCH_ALL,
                    "caps": [{"window_days": 7, "max": 2}],
                    "targets": [{"window_days": 30, "min": 1}],
                }
            ]
        }
        stored = await put_policy(admin, doc)
        assert stored["timezone"] == "UTC"
        assert stored["business_days"] is None
        assert stored["contact_hours"] is None
        assert stored["recent_contact_hours"] == 24
        assert stored["fatigue_days"] == 30
        assert stored["complaint_pause_days"] == 90
        assert stored["segment_weights"] == {}
        [rule] = stored["rules"]
        assert set(rule) >= RULE_FIELDS
        assert rule["min_gap_hours"] == 0
        assert rule["channel"] is None
        assert rule["count_automated"] is True
        assert rule["caps"] == [{"window_days": 7, "max": 2, "channels": None}]
        assert rule["targets"] == [{"window_days": 30, "min": 1, "depth": None}]
        assert set(rule["match"]) == MATCH_FIELDS
        assert all(value is None for value in rule["match"].values())

    async def test_the_boundary_values_are_accepted(self, admin: httpx.AsyncClient) -> None:
        doc = with_rule(
            follow_up_days=1,
            overdue_after_days=2,
            min_gap_hours=0,
            caps=[{"window_days": 1, "max": 0}, {"window_days": 365, "max": 5}],
            targets=[{"window_days": 365, "min": 1}],
        )
        doc["business_days"] = {"weekdays": [1, 7]}
        doc["contact_hours"] = {"start": "00:00", "end": "23:59"}
        stored = await put_policy(admin, doc)
        assert stored["rules"][0]["caps"][0]["max"] == 0
        assert stored["business_days"] == {"weekdays": [1, 7], "holidays_country": None}

    async def test_an_empty_match_may_also_appear_before_the_last_rule(
        self, admin: httpx.AsyncClient
    ) -> None:
        doc = {"rules": [{**CATCH_ALL, "name": "first"}, CATCH_ALL]}
        assert (await put_policy(admin, doc))["version"] == 1

    async def test_a_rejected_policy_leaves_the_active_one_in_place(
        self, admin: httpx.AsyncClient
    ) -> None:
        stored = await put_policy(admin, FULL)
        assert_full_problem(await admin.put("/v1/policy", json={"rules": []}), 422)
        assert (await admin.get("/v1/policy")).json() == stored
        assert (await put_policy(admin, MINIMAL))["version"] == 2


class TestPolicyValidation:
    @pytest.mark.parametrize(
        ("doc", "loc"),
        [
            pytest.param({**MINIMAL, "colour": "red"}, ["body", "colour"], id="top-level"),
            pytest.param(with_rule(colour="red"), ["body", "rules", 0, "colour"], id="in-a-rule"),
            pytest.param(
                with_rule(match={"colour": ["red"]}),
                ["body", "rules", 0, "match", "colour"],
                id="in-a-match",
            ),
            pytest.param(
                with_rule(caps=[{"window_days": 7, "max": 1, "colour": 1}]),
                ["body", "rules", 0, "caps", 0, "colour"],
                id="in-a-cap",
            ),
            pytest.param(
                changed(["business_days", "colour"], 1),
                ["body", "business_days", "colour"],
                id="in-business-days",
            ),
        ],
    )
    async def test_an_unknown_key_is_rejected(
        self, admin: httpx.AsyncClient, doc: dict[str, Any], loc: list[str | int]
    ) -> None:
        body = assert_full_problem(await admin.put("/v1/policy", json=doc), 422)
        assert loc in [error["loc"] for error in body["errors"]]

    async def test_a_policy_without_a_final_catch_all_is_rejected(
        self, admin: httpx.AsyncClient
    ) -> None:
        doc = {"rules": [CATCH_ALL, {**CATCH_ALL, "name": "leads", "match": {"stage": ["lead"]}}]}
        body = assert_full_problem(await admin.put("/v1/policy", json=doc), 422)
        assert body["errors"]
        assert all(error["loc"][0] == "body" for error in body["errors"])

    async def test_a_policy_whose_only_rule_matches_some_customers_is_rejected(
        self, admin: httpx.AsyncClient
    ) -> None:
        doc = with_rule(match={"stage_age_days_gte": 0})
        assert_full_problem(await admin.put("/v1/policy", json=doc), 422)

    async def test_empty_rules_are_rejected(self, admin: httpx.AsyncClient) -> None:
        body = assert_full_problem(await admin.put("/v1/policy", json={"rules": []}), 422)
        assert ["body", "rules"] in [error["loc"] for error in body["errors"]]

    async def test_missing_rules_are_rejected(self, admin: httpx.AsyncClient) -> None:
        body = assert_full_problem(await admin.put("/v1/policy", json={"timezone": "UTC"}), 422)
        assert ["body", "rules"] in [error["loc"] for error in body["errors"]]

    @pytest.mark.parametrize("field", ["name", "match", "follow_up_days", "overdue_after_days"])
    async def test_a_rule_missing_a_required_field_is_rejected(
        self, admin: httpx.AsyncClient, field: str
    ) -> None:
        rule = {k: v for k, v in CATCH_ALL.items() if k != field}
        body = assert_full_problem(await admin.put("/v1/policy", json={"rules": [rule]}), 422)
        assert ["body", "rules", 0, field] in [error["loc"] for error in body["errors"]]

    @pytest.mark.parametrize(
        ("doc", "loc"),
        [
            pytest.param(
                with_rule(follow_up_days=0, overdue_after_days=5),
                ["body", "rules", 0, "follow_up_days"],
                id="follow_up_days-0",
            ),
            pytest.param(
                with_rule(min_gap_hours=-1), ["body", "rules", 0, "min_gap_hours"], id="gap-below-0"
            ),
            pytest.param(
                with_rule(caps=[{"window_days": 0, "max": 1}]),
                ["body", "rules", 0, "caps", 0, "window_days"],
                id="cap-window-0",
            ),
            pytest.param(
                with_rule(caps=[{"window_days": 366, "max": 1}]),
                ["body", "rules", 0, "caps", 0, "window_days"],
                id="cap-window-366",
            ),
            pytest.param(
                with_rule(targets=[{"window_days": 0, "min": 1}]),
                ["body", "rules", 0, "targets", 0, "window_days"],
                id="target-window-0",
            ),
            pytest.param(
                with_rule(targets=[{"window_days": 366, "min": 1}]),
                ["body", "rules", 0, "targets", 0, "window_days"],
                id="target-window-366",
            ),
            pytest.param(
                with_rule(caps=[{"window_days": 7, "max": -1}]),
                ["body", "rules", 0, "caps", 0, "max"],
                id="cap-max-minus-1",
            ),
            pytest.param(
                with_rule(targets=[{"window_days": 7, "min": 0}]),
                ["body", "rules", 0, "targets", 0, "min"],
                id="target-min-0",
            ),
            pytest.param(
                with_rule(targets=[{"window_days": 7, "min": 1, "depth": "shallow"}]),
                ["body", "rules", 0, "targets", 0, "depth"],
                id="target-depth-unknown",
            ),
            pytest.param(
                with_rule(channel="Phone!"), ["body", "rules", 0, "channel"], id="channel-not-slug"
            ),
            pytest.param(
                changed(["timezone"], "Mars/Olympus"), ["body", "timezone"], id="bad-timezone"
            ),
            pytest.param(
                changed(["business_days", "holidays_country"], "china"),
                ["body", "business_days", "holidays_country"],
                id="bad-country",
            ),
            pytest.param(
                changed(["contact_hours", "start"], "25:00"),
                ["body", "contact_hours", "start"],
                id="hour-25",
            ),
            pytest.param(
                changed(["contact_hours", "start"], "9:00"),
                ["body", "contact_hours", "start"],
                id="hour-one-digit",
            ),
            pytest.param(
                changed(["contact_hours", "end"], "18:60"),
                ["body", "contact_hours", "end"],
                id="minute-60",
            ),
            pytest.param(
                changed(["business_days", "weekdays"], [0, 1, 2]),
                ["body", "business_days", "weekdays", 0],
                id="weekday-0",
            ),
            pytest.param(
                changed(["business_days", "weekdays"], [1, 8]),
                ["body", "business_days", "weekdays", 1],
                id="weekday-8",
            ),
            pytest.param(
                changed(["fatigue_days"], 0), ["body", "fatigue_days"], id="fatigue-days-0"
            ),
            pytest.param(
                changed(["segment_weights"], {"strategic": -1}),
                ["body", "segment_weights", "strategic"],
                id="negative-weight",
            ),
        ],
    )
    async def test_a_value_out_of_range_is_rejected(
        self, admin: httpx.AsyncClient, doc: dict[str, Any], loc: list[str | int]
    ) -> None:
        body = assert_full_problem(await admin.put("/v1/policy", json=doc), 422)
        assert loc in [error["loc"] for error in body["errors"]], body["errors"]

    @pytest.mark.parametrize(("follow_up_days", "overdue_after_days"), [(7, 7), (7, 6), (7, 1)])
    async def test_overdue_after_days_must_exceed_follow_up_days(
        self, admin: httpx.AsyncClient, follow_up_days: int, overdue_after_days: int
    ) -> None:
        doc = with_rule(follow_up_days=follow_up_days, overdue_after_days=overdue_after_days)
        body = assert_full_problem(await admin.put("/v1/policy", json=doc), 422)
        assert body["errors"]
        assert all(error["loc"][:3] == ["body", "rules", 0] for error in body["errors"])

    @pytest.mark.parametrize(
        ("start", "end"), [("18:00", "09:00"), ("09:00", "09:00")], ids=["reversed", "equal"]
    )
    async def test_contact_hours_must_start_before_they_end(
        self, admin: httpx.AsyncClient, start: str, end: str
    ) -> None:
        doc = changed(["contact_hours"], {"start": start, "end": end})
        body = assert_full_problem(await admin.put("/v1/policy", json=doc), 422)
        assert body["errors"]
        assert all(error["loc"][:2] == ["body", "contact_hours"] for error in body["errors"])

    async def test_every_bad_field_is_named(self, admin: httpx.AsyncClient) -> None:
        doc = changed(["timezone"], "Nowhere/Land")
        doc["rules"][0]["caps"][0]["max"] = -1
        doc["contact_hours"]["end"] = "24:00"
        body = assert_full_problem(await admin.put("/v1/policy", json=doc), 422)
        locs = [error["loc"] for error in body["errors"]]
        assert ["body", "timezone"] in locs
        assert ["body", "rules", 0, "caps", 0, "max"] in locs
        assert ["body", "contact_hours", "end"] in locs

    @pytest.mark.parametrize(
        "body",
        [[], "policy", 7, None, {"rules": "all"}, {"rules": [None]}, {"rules": [{"match": []}]}],
        ids=["list", "string", "number", "null", "rules-string", "rule-null", "match-list"],
    )
    async def test_a_body_of_the_wrong_shape_is_rejected(
        self, admin: httpx.AsyncClient, body: Any
    ) -> None:
        assert_full_problem(await admin.put("/v1/policy", json=body), 422)


class TestPolicyVersions:
    async def test_a_new_tenant_lists_only_the_default(self, admin: httpx.AsyncClient) -> None:
        response = await admin.get("/v1/policy/versions")
        assert response.status_code == 200, response.text
        page = response.json()
        assert [item["version"] for item in page["items"]] == [0]
        assert page["next_cursor"] is None

    async def test_versions_are_listed_newest_first_ending_with_the_default(
        self, admin: httpx.AsyncClient
    ) -> None:
        first = await put_policy(admin, FULL)
        second = await put_policy(admin, MINIMAL)
        page = (await admin.get("/v1/policy/versions")).json()
        assert [item["version"] for item in page["items"]] == [2, 1, 0]
        assert page["items"][0] == second
        assert page["items"][1] == first
        assert page["items"][2]["created_at"] is None
        assert page["next_cursor"] is None

    async def test_the_listed_default_is_the_built_in_policy(
        self, admin: httpx.AsyncClient
    ) -> None:
        default = (await admin.get("/v1/policy")).json()
        await put_policy(admin, MINIMAL)
        items = (await admin.get("/v1/policy/versions")).json()["items"]
        assert items[-1] == default

    @pytest.mark.parametrize("limit", [1, 2, 3, 4])
    async def test_pages_walk_every_version_once(
        self, admin: httpx.AsyncClient, limit: int
    ) -> None:
        for _ in range(3):
            await put_policy(admin, MINIMAL)
        assert await all_versions(admin, limit) == [3, 2, 1, 0]

    async def test_a_full_page_that_ends_the_list_has_no_cursor(
        self, admin: httpx.AsyncClient
    ) -> None:
        await put_policy(admin, MINIMAL)
        page = (await admin.get("/v1/policy/versions", params={"limit": 2})).json()
        assert [item["version"] for item in page["items"]] == [1, 0]
        assert page["next_cursor"] is None

    async def test_a_bad_cursor_is_rejected(self, admin: httpx.AsyncClient) -> None:
        response = await admin.get("/v1/policy/versions", params={"cursor": "not-a-cursor"})
        body = assert_full_problem(response, 422)
        assert ["query", "cursor"] in [error["loc"] for error in body["errors"]]

    @pytest.mark.parametrize("limit", [0, 501, -1])
    async def test_a_limit_out_of_range_is_rejected(
        self, admin: httpx.AsyncClient, limit: int
    ) -> None:
        response = await admin.get("/v1/policy/versions", params={"limit": limit})
        body = assert_full_problem(response, 422)
        assert ["query", "limit"] in [error["loc"] for error in body["errors"]]


class TestPolicyRoles:
    @pytest.mark.parametrize("role", ["admin", "ingest", "read"])
    async def test_these_roles_may_read_the_policy(self, tenant: Tenant, role: str) -> None:
        client = await tenant.client(role)
        assert (await client.get("/v1/policy")).status_code == 200
        assert (await client.get("/v1/policy/versions")).status_code == 200

    @pytest.mark.parametrize("role", ["ingest", "read"])
    async def test_these_roles_may_not_put_a_policy(self, tenant: Tenant, role: str) -> None:
        client = await tenant.client(role)
        assert_full_problem(await client.put("/v1/policy", json=MINIMAL), 403)
        admin = await tenant.client("admin")
        assert (await admin.get("/v1/policy")).json()["version"] == 0

    @pytest.mark.parametrize("role", ["ingest", "read", "partner"])
    async def test_a_forbidden_put_is_403_before_the_body_is_validated(
        self, tenant: Tenant, role: str
    ) -> None:
        client = await tenant.client(role, "p-1" if role == "partner" else None)
        assert_full_problem(await client.put("/v1/policy", json={"rules": []}), 403)
        assert_full_problem(await client.put("/v1/policy", content=b"{not json"), 403)

    async def test_a_partner_may_neither_read_nor_put(self, tenant: Tenant) -> None:
        partner = await tenant.client("partner", "p-1")
        assert_full_problem(await partner.get("/v1/policy"), 403)
        assert_full_problem(await partner.get("/v1/policy/versions"), 403)
        assert_full_problem(await partner.put("/v1/policy", json=MINIMAL), 403)

    async def test_no_key_is_401(self, anonymous: httpx.AsyncClient) -> None:
        assert_full_problem(await anonymous.get("/v1/policy"), 401)
        assert_full_problem(await anonymous.get("/v1/policy/versions"), 401)
        assert_full_problem(await anonymous.put("/v1/policy", json={"rules": []}), 401)

    async def test_an_unknown_key_is_401(self, anonymous: httpx.AsyncClient) -> None:
        headers = {"Authorization": "Bearer tb_not_a_key"}
        assert_full_problem(await anonymous.get("/v1/policy", headers=headers), 401)
        assert_full_problem(await anonymous.put("/v1/policy", json=MINIMAL, headers=headers), 401)


class TestPolicyTenantIsolation:
    async def test_another_tenant_keeps_the_default(
        self, admin: httpx.AsyncClient, other_tenant: Tenant
    ) -> None:
        await put_policy(admin, FULL)
        theirs = await other_tenant.client("admin")
        assert (await theirs.get("/v1/policy")).json()["version"] == 0
        listed = (await theirs.get("/v1/policy/versions")).json()["items"]
        assert [item["version"] for item in listed] == [0]

    async def test_each_tenant_numbers_its_own_versions(
        self, admin: httpx.AsyncClient, other_tenant: Tenant
    ) -> None:
        await put_policy(admin, FULL)
        await put_policy(admin, FULL)
        theirs = await other_tenant.client("admin")
        stored = await put_policy(theirs, MINIMAL)
        assert stored["version"] == 1
        assert (await admin.get("/v1/policy")).json()["version"] == 2
        assert (await admin.get("/v1/policy")).json()["timezone"] == "Asia/Shanghai"
        assert (await theirs.get("/v1/policy")).json()["timezone"] == "UTC"

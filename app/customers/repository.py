"""SQL for customer profiles."""

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

import orjson
from sqlalchemy import RowMapping, Select, Table, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.customers.models import Customer
from app.customers.schemas import CustomerFilters
from app.db import Fetch, erase_customer_rows
from app.policies import repository as policies_repo
from app.refresh import repository as marks_repo
from app.tenants import repository as tenants_repo

customers = cast(Table, Customer.__table__)


def _scoped(tenant_id: uuid.UUID) -> Select[Any]:
    return select(customers).where(customers.c.tenant_id == tenant_id)


async def get(
    session: AsyncSession, tenant_id: uuid.UUID, customer_id: str, *, for_update: bool = False
) -> RowMapping | None:
    stmt = _scoped(tenant_id).where(customers.c.customer_id == customer_id)
    if for_update:
        # FOR NO KEY UPDATE: a profile write never changes the key, so it must not hold up the
        # foreign-key checks of touches stored meanwhile (FOR KEY SHARE), which run after the
        # batch has marked the customer: each would wait for the other
        stmt = stmt.with_for_update(key_share=True)
    row: RowMapping | None = (await session.execute(stmt)).mappings().one_or_none()
    return row


async def get_with_policy_version(
    session: AsyncSession, tenant_id: uuid.UUID, customer_id: str
) -> RowMapping | None:
    """A profile, and the tenant's active policy version beside it (one round trip)."""
    stmt = select(
        *customers.c, policies_repo.active_version_of(tenant_id).label("policy_version")
    ).where(customers.c.tenant_id == tenant_id, customers.c.customer_id == customer_id)
    row: RowMapping | None = (await session.execute(stmt)).mappings().one_or_none()
    return row


TEXT_COLUMNS = (
    "name", "segment", "stage", "market", "industry", "owner_rep", "owner_team", "timezone",
    "country", "email",
)  # fmt: skip
JSON_COLUMNS = ("preferences", "attributes")
PROFILE_COLUMNS = (*TEXT_COLUMNS, *JSON_COLUMNS)

PUT_MANY_SQL = """
INSERT INTO customers AS c
    (tenant_id, customer_id, {columns}, created_at, updated_at, stage_entered_at)
SELECT CAST(:tenant_id AS uuid), u.customer_id, {values},
    CAST(:now AS timestamptz), CAST(:now AS timestamptz), CAST(:now AS timestamptz)
FROM unnest({arrays}) AS u(customer_id, {columns})
ORDER BY u.customer_id
{replace}
WHERE ({stored}) IS DISTINCT FROM ({given})
RETURNING c.customer_id, c.xmax = 0 AS created
"""


def _listed(template: str, names: Iterable[str] = PROFILE_COLUMNS) -> str:
    return ", ".join(template.format(name=name) for name in names)


# A profile given again replaces the stored one (``c``) whole; its stage's clock restarts only
# when the stage changes.
REPLACE = (
    "ON CONFLICT (tenant_id, customer_id) DO UPDATE SET "
    + _listed("{name} = excluded.{name}")
    + ", updated_at = excluded.updated_at, stage_entered_at = CASE WHEN c.stage IS DISTINCT"
    " FROM excluded.stage THEN excluded.stage_entered_at ELSE c.stage_entered_at END"
)


def _put_many_sql() -> str:
    # Arrays of text: asyncpg sends them as is; the JSON columns are cast once unnested.
    text_values, json_values = (
        _listed("u.{name}", TEXT_COLUMNS),
        _listed("CAST(u.{name} AS jsonb)", JSON_COLUMNS),
    )
    return PUT_MANY_SQL.format(
        columns=_listed("{name}"),
        values=f"{text_values}, {json_values}",
        arrays=_listed("CAST(:{name} AS text[])", ("customer_id", *PROFILE_COLUMNS)),
        replace=REPLACE,
        stored=_listed("c.{name}"),
        given=_listed("excluded.{name}"),
    )


# In customer_id order, so concurrent batches lock their rows in one order and cannot
# deadlock. A replace with the very same values writes nothing (re-imports change nothing,
# not even updated_at), so it is not returned.
PUT_MANY = text(_put_many_sql())


def _put_one_sql() -> str:
    """One statement for ``PUT /v1/customers/{id}``: $1 the tenant, $2 the customer, $3 now,
    $4 the key's hash, $5 the roles it needs, then one parameter per profile column. A key
    that is not live or lacks the role writes nothing; the row always answers the key."""
    first = 6
    values = ", ".join(
        f"${first + i}::jsonb" if name in JSON_COLUMNS else f"${first + i}::text"
        for i, name in enumerate(PROFILE_COLUMNS)
    )
    return (
        f"WITH {tenants_repo.live_key(key_hash='$4')},"
        f" put AS (INSERT INTO customers AS c (tenant_id, customer_id, {_listed('{name}')},"
        " created_at, updated_at, stage_entered_at)"
        f" SELECT $1, $2, {values}, $3, $3, $3"
        f" WHERE EXISTS (SELECT 1 FROM key WHERE role = ANY($5::text[])) {REPLACE}"
        " RETURNING c.*, c.xmax = 0 AS created),"
        f" marked AS ({marks_repo.mark_from('put', '$1::uuid')})"
        f" SELECT {tenants_repo.KEY_SELECTED}, p.* FROM (SELECT 1) AS one"
        " LEFT JOIN key k ON true LEFT JOIN put p ON true"
    )


PUT_ONE = _put_one_sql()


async def put_checked(
    fetch: Fetch,
    tenant_id: uuid.UUID,
    customer_id: str,
    fields: Mapping[str, Any],
    now: datetime,
    key: tuple[bytes, Sequence[str]],
) -> tuple[dict[str, Any] | None, Mapping[str, Any]]:
    """Create or replace a profile and mark it for a refresh, in one statement that checks
    the key (its hash and the roles it needs) first: the key's row (None for no live key),
    and the stored row with ``created`` (its columns null if the key may not write)."""
    profile = [
        orjson.dumps(fields[name]).decode() if name in JSON_COLUMNS else fields[name]
        for name in PROFILE_COLUMNS
    ]
    [row] = await fetch(PUT_ONE, tenant_id, customer_id, now, key[0], list(key[1]), *profile)
    return tenants_repo.key_selected(row), row


async def put_many(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    profiles: Mapping[str, dict[str, Any]],
    now: datetime,
) -> dict[str, bool]:
    """Create or replace profiles (by customer_id) as PUT does, in one statement.

    Answers, for each profile created or changed, whether it was created."""
    if not profiles:
        return {}
    params: dict[str, Any] = {"tenant_id": tenant_id, "now": now, "customer_id": list(profiles)}
    for name in TEXT_COLUMNS:
        params[name] = [fields[name] for fields in profiles.values()]
    for name in JSON_COLUMNS:
        params[name] = [orjson.dumps(fields[name]).decode() for fields in profiles.values()]
    result = await session.execute(PUT_MANY, params)
    return {customer_id: bool(created) for customer_id, created in result}


async def update_fields(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    customer_id: str,
    fields: dict[str, Any],
    *,
    stage_entered_at: datetime | None,
    now: datetime,
) -> RowMapping:
    values: dict[str, Any] = {**fields, "updated_at": now}
    if stage_entered_at is not None:
        values["stage_entered_at"] = stage_entered_at
    stmt = (
        update(customers)
        .where(customers.c.tenant_id == tenant_id, customers.c.customer_id == customer_id)
        .values(**values)
        .returning(*customers.c)
    )
    return (await session.execute(stmt)).mappings().one()


async def list_page(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    filters: CustomerFilters,
    *,
    after: str | None,
    limit: int,
) -> list[RowMapping]:
    stmt = _scoped(tenant_id)
    for column, value in (
        (customers.c.segment, filters.segment),
        (customers.c.stage, filters.stage),
        (customers.c.owner_rep, filters.owner_rep),
        (customers.c.owner_team, filters.team),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if after is not None:
        stmt = stmt.where(customers.c.customer_id > after)
    stmt = stmt.order_by(customers.c.customer_id).limit(limit)
    return list((await session.execute(stmt)).mappings())


def ensure_exist_from(source: str, tenant: str, now: str) -> str:
    """A statement creating a bare profile for each ``customer_id`` of ``source`` not yet
    known (for a data-modifying WITH: ``tenant`` and ``now`` are its parameters)."""
    return (
        "INSERT INTO customers (tenant_id, customer_id, preferences, attributes, created_at,"
        f" updated_at, stage_entered_at) SELECT DISTINCT {tenant}, customer_id, '{{}}'::jsonb,"
        f" '{{}}'::jsonb, {now}, {now}, {now} FROM {source} ORDER BY 2 ON CONFLICT DO NOTHING"
    )


async def find_by_email(
    session: AsyncSession, tenant_id: uuid.UUID, emails: Iterable[str]
) -> dict[str, list[str]]:
    """Customer ids per lower-cased email, for the emails given."""
    wanted = sorted({email.lower() for email in emails})
    if not wanted:
        return {}
    stmt = select(func.lower(customers.c.email), customers.c.customer_id).where(
        customers.c.tenant_id == tenant_id, func.lower(customers.c.email).in_(wanted)
    )
    found: dict[str, list[str]] = {}
    for email, customer_id in await session.execute(stmt):
        found.setdefault(email, []).append(customer_id)
    return found


OPT_OUT = text(
    "UPDATE customers c SET preferences = jsonb_set(c.preferences, '{opted_out_channels}',"
    " to_jsonb(ARRAY(SELECT DISTINCT x FROM unnest(ARRAY(SELECT jsonb_array_elements_text("
    " coalesce(c.preferences->'opted_out_channels', '[]'))) || u.channels) AS x ORDER BY x))),"
    " updated_at = :now"
    " FROM (SELECT customer_id, array_agg(channel) AS channels FROM unnest(CAST(:customer_id AS"
    " text[]), CAST(:channel AS text[])) AS v(customer_id, channel) GROUP BY customer_id) AS u"
    " WHERE c.tenant_id = :tenant_id AND c.customer_id = u.customer_id"
)


async def opt_out(
    session: AsyncSession, tenant_id: uuid.UUID, pairs: Sequence[tuple[str, str]], now: datetime
) -> None:
    """Add each (customer, channel) to the customer's opted-out channels."""
    if not pairs:
        return
    ordered = sorted(set(pairs))
    await session.execute(
        OPT_OUT,
        {
            "tenant_id": tenant_id,
            "customer_id": [p[0] for p in ordered],
            "channel": [p[1] for p in ordered],
            "now": now,
        },
    )


async def lock(session: AsyncSession, tenant_id: uuid.UUID, customer_id: str) -> RowMapping | None:
    """A profile held until the caller's transaction ends (deciders that count, such as
    reservations, take turns on it), with the tenant's active policy version beside it.

    ``FOR NO KEY UPDATE`` does not wait for writers that only reference the customer (a
    touch's foreign key takes a key-share lock)."""
    stmt = (
        select(*customers.c, policies_repo.active_version_of(tenant_id).label("policy_version"))
        .where(customers.c.tenant_id == tenant_id, customers.c.customer_id == customer_id)
        .with_for_update(of=customers, key_share=True)
    )
    row: RowMapping | None = (await session.execute(stmt)).mappings().one_or_none()
    return row


WITH_POLICY_VERSION = (
    f"SELECT c.*, {policies_repo.active_version_sql('$1')} AS policy_version FROM customers c"
    " WHERE c.tenant_id = $1 AND c.customer_id = ANY($2::text[]) ORDER BY c.customer_id"
)


async def profiles_with_policy_version(
    fetch: Fetch, tenant_id: uuid.UUID, customer_ids: Sequence[str]
) -> list[Mapping[Any, Any]]:
    """As ``with_policy_version``, on the driver."""
    return list(await fetch(WITH_POLICY_VERSION, tenant_id, sorted(set(customer_ids))))


async def with_policy_version(
    session: AsyncSession, tenant_id: uuid.UUID, customer_ids: Sequence[str]
) -> list[RowMapping]:
    """Profiles in id order, each with the tenant's active policy version beside it."""
    stmt = (
        select(*customers.c, policies_repo.active_version_of(tenant_id).label("policy_version"))
        .where(customers.c.tenant_id == tenant_id)
        .where(customers.c.customer_id.in_(sorted(set(customer_ids))))
        .order_by(customers.c.customer_id)
    )
    return list((await session.execute(stmt)).mappings())


HOLD_FOR_ERASURE = "SELECT 1 FROM customers WHERE tenant_id = $1 AND customer_id = $2 FOR UPDATE"
ERASE_PROFILE = erase_customer_rows("customers")


async def hold_for_erasure(fetch: Fetch, tenant_id: uuid.UUID, customer_id: str) -> bool:
    """Lock the profile against every writer that refers to it (a touch's foreign key waits,
    then finds it gone); whether there is one."""
    return bool(await fetch(HOLD_FOR_ERASURE, tenant_id, customer_id))


async def erase(fetch: Fetch, tenant_id: uuid.UUID, customer_id: str) -> None:
    """Delete the profile, and with it (cascading) its schedule, status document and mark."""
    await fetch(ERASE_PROFILE, tenant_id, customer_id)

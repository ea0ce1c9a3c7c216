"""Customer profiles: create or replace (one or a batch), merge-patch, read, list."""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import KeyChecked
from app.customers import repository
from app.customers.schemas import (
    CustomerBatchItem,
    CustomerFilters,
    CustomerItemStatus,
    CustomerRead,
    CustomerWrite,
)
from app.db import Database
from app.errors import ErrorItem, Invalid, NotFound, validation_items
from app.refresh import service as refresh


class CustomerNotFound(NotFound):
    def __init__(self, customer_id: str) -> None:
        super().__init__(f"No customer {customer_id!r}.")


def to_read(row: Mapping[Any, Any]) -> CustomerRead:
    return CustomerRead.model_validate(
        {
            **row,
            "owner": {"rep_id": row["owner_rep"], "team": row["owner_team"]},
            "preferences": {
                "opted_out_channels": [],
                "paused_until": None,
                "preferred_channels": [],
                "max_contacts_per_30d": None,
                "quiet_hours": None,
                **row["preferences"],
            },
        }
    )


def to_columns(profile: CustomerWrite) -> dict[str, Any]:
    data = profile.model_dump(mode="json", exclude={"customer_id", "owner"})
    return {**data, "owner_rep": profile.owner.rep_id, "owner_team": profile.owner.team}


def to_document(row: RowMapping) -> dict[str, Any]:
    """The writable part of a stored profile, as a client would PUT it."""
    return to_read(row).model_dump(
        mode="json", exclude={"customer_id", "created_at", "updated_at", "stage_entered_at"}
    )


def check_path_id(profile: CustomerWrite, customer_id: str) -> None:
    if profile.customer_id is not None and profile.customer_id != customer_id:
        raise Invalid.at(["body", "customer_id"], "must match the customer_id in the path")


async def put_customer(
    db: Database, checked: KeyChecked, customer_id: str, profile: CustomerWrite, now: datetime
) -> tuple[CustomerRead, bool]:
    """Create or replace a profile, marked for a refresh, in one statement that also checks
    the key (its 401 and 403 before the body's 422); whether it was created."""
    check_path_id(profile, customer_id)  # its 422 still waits for the key's 401 or 403
    async with db.driver() as driver:
        key, row = await repository.put_checked(
            driver.fetch, checked.tenant_id, customer_id, to_columns(profile), now,
            checked.key_and_roles,
        )  # fmt: skip
    checked.admit(key)
    return to_read(row), bool(row["created"])


@dataclass(frozen=True, slots=True)
class ItemOutcome:
    """What became of one profile of a batch."""

    customer_id: str | None
    status: CustomerItemStatus
    errors: list[ErrorItem] | None = None


Parsed = CustomerBatchItem | list[ErrorItem]


def parse_item(raw: Any, index: int) -> Parsed:
    """Validate one profile of a batch; its errors are located inside the batch."""
    loc = ("body", "customers", index)
    if not isinstance(raw, dict):
        return [ErrorItem(loc=list(loc), msg="must be a JSON object (a customer profile)")]
    try:
        return CustomerBatchItem.model_validate(raw)
    except ValidationError as exc:
        return validation_items([{**e, "loc": (*loc, *e["loc"])} for e in exc.errors()])


def reject_repeats(parsed: Sequence[Parsed]) -> list[Parsed]:
    """An item naming the customer of an earlier valid item is rejected: which of the two
    should win is anybody's guess. A repeat of a rejected item is judged on its own."""
    first: dict[str, int] = {}
    judged: list[Parsed] = []
    for index, item in enumerate(parsed):
        if isinstance(item, CustomerBatchItem):
            earlier = first.setdefault(item.customer_id, index)
            if earlier != index:
                msg = f"repeats the customer_id of item {earlier}"
                item = [ErrorItem(loc=["body", "customers", index, "customer_id"], msg=msg)]
        judged.append(item)
    return judged


def given_id(raw: Any) -> str | None:
    """The item's customer_id as given, if it is a string that can be written back."""
    value = raw.get("customer_id") if isinstance(raw, dict) else None
    if not isinstance(value, str):
        return None
    try:
        value.encode()
    except UnicodeEncodeError:
        return None
    return value


async def store(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    profiles: Sequence[CustomerBatchItem],
    now: datetime,
) -> dict[str, bool]:
    """Create or replace profiles of distinct customers as PUT does; whether each was created.

    Only profiles that changed ask for fresh verdicts: an identical replace changes nothing."""
    columns = {profile.customer_id: to_columns(profile) for profile in profiles}
    written = await repository.put_many(session, tenant_id, columns, now)
    if written:
        await refresh.customers_changed(session, tenant_id, sorted(written))
    return {customer_id: written.get(customer_id, False) for customer_id in columns}


def outcome_of(raw: Any, item: Parsed, created: dict[str, bool]) -> ItemOutcome:
    if isinstance(item, list):
        return ItemOutcome(given_id(raw), CustomerItemStatus.rejected, item)
    new = created[item.customer_id]
    status = CustomerItemStatus.created if new else CustomerItemStatus.replaced
    return ItemOutcome(item.customer_id, status)


async def put_batch(
    session: AsyncSession, tenant_id: uuid.UUID, raw_items: Sequence[Any], now: datetime
) -> list[ItemOutcome]:
    """Create or replace the valid profiles of a batch; report every item in input order."""
    parsed = reject_repeats([parse_item(raw, index) for index, raw in enumerate(raw_items)])
    valid = [item for item in parsed if isinstance(item, CustomerBatchItem)]
    created = await store(session, tenant_id, valid, now)
    await session.commit()
    return [outcome_of(raw, item, created) for raw, item in zip(raw_items, parsed, strict=True)]


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def validate_patched(document: dict[str, Any]) -> CustomerWrite:
    try:
        return CustomerWrite.model_validate(document)
    except ValidationError as exc:
        items = validation_items([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()])
        raise Invalid("The patched profile is not valid; see errors.", errors=items) from None


async def patch_customer(
    session: AsyncSession, tenant_id: uuid.UUID, customer_id: str, patch: Any, now: datetime
) -> CustomerRead:
    if not isinstance(patch, dict):
        raise Invalid.at(["body"], "a merge patch must be a JSON object")
    row = await repository.get(session, tenant_id, customer_id, for_update=True)
    if row is None:
        raise CustomerNotFound(customer_id)
    profile = validate_patched(merge_patch(to_document(row), patch))
    check_path_id(profile, customer_id)
    stage_moved = profile.stage != row["stage"]
    row = await repository.update_fields(
        session,
        tenant_id,
        customer_id,
        to_columns(profile),
        stage_entered_at=now if stage_moved else None,
        now=now,
    )
    await refresh.customers_changed(session, tenant_id, [customer_id])
    await session.commit()
    return to_read(row)


async def get_customer(
    session: AsyncSession, tenant_id: uuid.UUID, customer_id: str
) -> CustomerRead:
    row = await repository.get(session, tenant_id, customer_id)
    if row is None:
        raise CustomerNotFound(customer_id)
    return to_read(row)


async def list_customers(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    filters: CustomerFilters,
    *,
    after: str | None,
    limit: int,
) -> list[CustomerRead]:
    rows = await repository.list_page(session, tenant_id, filters, after=after, limit=limit)
    return [to_read(row) for row in rows]

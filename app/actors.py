"""Actors and lock holders as tables store them: three nullable id columns with a prefix."""

from collections.abc import Mapping
from typing import Any

from sqlalchemy import RowMapping

from app import cadence


def actor_from(row: Mapping[str, Any] | RowMapping, prefix: str = "actor_") -> cadence.Actor:
    return cadence.Actor(
        rep_id=row[f"{prefix}rep_id"],
        team=row[f"{prefix}team"],
        partner_id=row[f"{prefix}partner_id"],
    )


def actor_columns(actor: cadence.Actor, prefix: str = "actor_") -> dict[str, str | None]:
    return {
        f"{prefix}rep_id": actor.rep_id,
        f"{prefix}team": actor.team,
        f"{prefix}partner_id": actor.partner_id,
    }


def actor_dict(actor: cadence.Actor) -> dict[str, str | None]:
    """The API's shape of an actor or holder: every id present, null when unset."""
    return actor_columns(actor, prefix="")

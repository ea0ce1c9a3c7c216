"""The status document: what ``GET /v1/customers/{id}/status`` answers, built from the
engine's Status once and serialised once (stored as is, served with the instant read at)."""

from datetime import datetime
from typing import Any

import orjson

from app import cadence
from app.cadence.types import CapState, Fatigue, NextFollowUp, TargetState
from app.schemas import format_utc


def _instant(value: datetime | None) -> str | None:
    return format_utc(value) if value is not None else None


def _reason(reason: cadence.Reason) -> dict[str, Any]:
    return {"code": reason.code, "message": reason.message, "until": _instant(reason.until)}


def _cap(cap: CapState) -> dict[str, Any]:
    return {
        "window_days": cap.window_days, "max": cap.max, "used": cap.used,
        "remaining": cap.remaining, "frees_at": _instant(cap.frees_at),
        "channels": sorted(cap.channels) if cap.channels is not None else None,
    }  # fmt: skip


def _target(target: TargetState) -> dict[str, Any]:
    return {
        "window_days": target.window_days, "min": target.min, "done": target.done,
        "met": target.met, "depth": target.depth,
    }  # fmt: skip


def next_follow_up(follow_up: NextFollowUp) -> dict[str, Any]:
    return {
        "due_at": _instant(follow_up.due_at), "earliest_at": _instant(follow_up.earliest_at),
        "overdue_at": _instant(follow_up.overdue_at), "channel": follow_up.channel,
        "reason": follow_up.reason, "counted_from": _instant(follow_up.counted_from),
    }  # fmt: skip


def _fatigue(fatigue: Fatigue) -> dict[str, Any]:
    return {
        "unsubscribed_channels": list(fatigue.unsubscribed_channels),
        "complaints_90d": fatigue.complaints_90d,
        "open_rate_recent": fatigue.open_rate_recent,
        "open_rate_before": fatigue.open_rate_before,
    }


def document(customer_id: str, status: cadence.Status) -> dict[str, Any]:
    """Every field of the status but ``as_of``, which is the instant of each read."""
    return {
        "customer_id": customer_id,
        "policy_version": status.policy_version,
        "rule": status.rule,
        "status": status.status.value,
        "contactable_now": status.contactable_now,
        "reasons": [_reason(r) for r in status.reasons],
        "last_contact_at": _instant(status.last_contact_at),
        "last_outbound_at": _instant(status.last_outbound_at),
        "last_inbound_at": _instant(status.last_inbound_at),
        "counts": {
            label: {"total": count.total, "by_channel": dict(count.by_channel)}
            for label, count in status.counts.items()
        },
        "caps": [_cap(c) for c in status.caps],
        "targets": [_target(t) for t in status.targets],
        "fatigue": _fatigue(status.fatigue),
        "next_follow_up": next_follow_up(status.next_follow_up),
    }


def encode(customer_id: str, status: cadence.Status) -> bytes:
    return orjson.dumps(document(customer_id, status))


def at_instant(encoded: bytes, as_of: datetime) -> bytes:
    """A stored document as read at ``as_of``: the instant goes first, the rest as stored."""
    return b'{"as_of":"' + format_utc(as_of).encode() + b'",' + encoded[1:]


def encode_facts(activity: cadence.Activity) -> bytes:
    """What a conflict check reads of the activity besides the document's caps: the last
    outbound contacts (the minimum gap), unsubscribes and complaints, and locks."""
    return orjson.dumps(
        {
            "last_outbound_at": _instant(activity.last_outbound_at),
            "last_manual_outbound_at": _instant(activity.last_manual_outbound_at),
            "signals": [[_instant(s.at), s.kind.value, s.channel] for s in activity.signals],
            "locks": [
                [lock.holder.rep_id, lock.holder.team, lock.holder.partner_id,
                 _instant(lock.starts_at), _instant(lock.ends_at)]
                for lock in activity.locks
            ],
        }
    )  # fmt: skip


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def decode_facts(encoded: bytes) -> cadence.Activity:
    facts = orjson.loads(encoded)
    return cadence.Activity(
        last_outbound_at=_parse(facts["last_outbound_at"]),
        last_manual_outbound_at=_parse(facts["last_manual_outbound_at"]),
        signals=tuple(
            cadence.Signal(datetime.fromisoformat(at), cadence.SignalKind(kind), channel)
            for at, kind, channel in facts["signals"]
        ),
        locks=tuple(
            cadence.LockHold(
                cadence.Actor(rep, team, partner),
                datetime.fromisoformat(starts),
                datetime.fromisoformat(ends),
            )
            for rep, team, partner, starts, ends in facts["locks"]
        ),
    )


def standing(encoded: bytes) -> cadence.Standing:
    """The rule and caps of a stored document (what a conflict check needs of it)."""
    document = orjson.loads(encoded)
    caps = tuple(
        CapState(
            window_days=c["window_days"], max=c["max"], used=c["used"], remaining=c["remaining"],
            frees_at=_parse(c["frees_at"]),
            channels=frozenset(c["channels"]) if c["channels"] is not None else None,
        )
        for c in document["caps"]
    )  # fmt: skip
    return cadence.Standing(document["rule"], caps)

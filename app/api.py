"""Every feature's router: in the order of the API document's tags, and the order requests
are matched in."""

from fastapi import APIRouter

from app.analytics.router import router as analytics
from app.audit.router import router as audit
from app.conflicts.router import router as coordination
from app.customers.router import router as customers
from app.erasure.router import router as erasure
from app.events.router import router as events
from app.frequency.router import router as frequency
from app.locks.router import router as locks
from app.ops.router import router as ops
from app.policies.router import router as policy
from app.rfm.router import router as rfm
from app.tenants.router import router as api_keys
from app.touches.router import router as touches
from app.webhooks.router import router as webhooks

ROUTERS: tuple[APIRouter, ...] = (
    ops, api_keys, customers, erasure, touches, policy, frequency, coordination, locks, audit,
    analytics, rfm, events, webhooks,
)  # fmt: skip
# A request is matched against routes in order: the hot paths first.
MATCH_ORDER: tuple[APIRouter, ...] = (
    frequency, coordination, touches, customers, erasure, locks, policy, audit, analytics, rfm,
    events, webhooks, api_keys, ops,
)  # fmt: skip

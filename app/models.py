"""Every table's model, imported in one place for Alembic."""

from app.audit.models import AuditEvent
from app.conflicts.models import ContactPlan
from app.customers.models import Customer
from app.db import Base
from app.events.models import Event, EventCursor, EventDelivery, EventEndpoint
from app.facts.models import ContactFact, OutcomeRollup, OutcomeRollupDelta, PendingFacts
from app.frequency.models import CustomerDayCount, CustomerSchedule, StatusDocument
from app.idempotency.models import IdempotencyRecord
from app.locks.models import ContactLock
from app.policies.models import PolicyVersion
from app.refresh.models import RefreshMark
from app.rfm.models import RfmScore, RfmSnapshot
from app.tenants.models import ApiKey, Tenant
from app.touches.models import ErasedTouchKey, Touch, TouchRetention
from app.webhooks.models import Source

__all__ = [
    "ApiKey",
    "AuditEvent",
    "Base",
    "ContactFact",
    "ContactLock",
    "ContactPlan",
    "Customer",
    "CustomerDayCount",
    "CustomerSchedule",
    "ErasedTouchKey",
    "Event",
    "EventCursor",
    "EventDelivery",
    "EventEndpoint",
    "IdempotencyRecord",
    "OutcomeRollup",
    "OutcomeRollupDelta",
    "PendingFacts",
    "PolicyVersion",
    "RefreshMark",
    "RfmScore",
    "RfmSnapshot",
    "Source",
    "StatusDocument",
    "Tenant",
    "Touch",
    "TouchRetention",
]

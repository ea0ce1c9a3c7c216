"""Erasure of a customer: the route (it sits with the customers' paths in the API document)."""

from fastapi import APIRouter, Response

from app.auth import Admin
from app.db import SessionDep
from app.deps import NowDep
from app.erasure import service as erasure
from app.errors import responses
from app.schemas import CustomerId

router = APIRouter(prefix="/v1/customers", tags=["customers"])


@router.delete(
    "/{customer_id}",
    status_code=204,
    summary="Erase a customer",
    responses=responses(401, 403, 404, 422),
)
async def erase_customer(
    customer_id: CustomerId, session: SessionDep, principal: Admin, now: NowDep
) -> Response:
    """Forget the customer (a deletion request): the profile, touches, engagements and
    purchases, plans, locks, schedule, RFM scores and outbound events, in one transaction.
    The audit log keeps its decisions under `erased:<sha256 of tenant and customer id>`;
    analytics and RFM no longer count the customer. The id is free again."""
    await erasure.erase(session, principal, customer_id, now)
    return Response(status_code=204)

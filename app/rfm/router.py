from typing import Annotated

from fastapi import APIRouter, Query

from app.auth import Admin, Reader
from app.db import SessionDep
from app.deps import NowDep
from app.errors import responses
from app.pagination import PageDep
from app.rfm import service
from app.rfm.schemas import CustomerRfm, RfmSummary
from app.schemas import CustomerId, Page, RfmSegment

router = APIRouter(prefix="/v1", tags=["rfm"])


@router.get(
    "/customers/{customer_id}/rfm",
    summary="A customer's RFM scores",
    responses=responses(401, 403, 404, 422),
)
async def get_customer_rfm(
    customer_id: CustomerId, session: SessionDep, principal: Reader, now: NowDep
) -> CustomerRfm:
    """Recency, frequency and money of the customer's purchases in the policy's window, their
    scores 1..5 and the segment, from the tenant's snapshot (`as_of`). Outside the population
    (no purchase in the window) the segment is `none` and every score null."""
    return await service.customer_rfm(session, principal.tenant_id, customer_id, now)


@router.get("/rfm", summary="Customers by RFM segment", responses=responses(401, 403, 422))
async def list_rfm(
    session: SessionDep,
    principal: Reader,
    page: PageDep,
    now: NowDep,
    segment: Annotated[
        RfmSegment | None, Query(description="One segment; `none`: the customers outside.")
    ] = None,
) -> Page[CustomerRfm]:
    """The snapshot's population in `customer_id` order, or one segment of it, or with
    `segment=none` the customers outside it."""
    return await service.list_rfm(session, principal.tenant_id, segment, page, now)


@router.get("/rfm/summary", summary="Customers and money by segment", responses=responses(401, 403))
async def rfm_summary(session: SessionDep, principal: Reader, now: NowDep) -> RfmSummary:
    """Every segment of the table in its order (also those with no customer), then `none`."""
    return await service.summary(session, principal.tenant_id, now)


@router.post(
    "/rfm/recompute", summary="Recompute the RFM snapshot now", responses=responses(401, 403)
)
async def recompute_rfm(session: SessionDep, principal: Admin, now: NowDep) -> RfmSummary:
    """Score the tenant's buyers now (the service also does so by itself once the snapshot is
    over an hour old and a purchase or a policy change came since). The customers whose
    segment changed have their schedules refreshed (rules may match `rfm_segment`)."""
    return await service.recompute(session, principal.tenant_id, now)

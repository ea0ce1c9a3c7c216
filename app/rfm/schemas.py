"""RFM as the API shows it: a customer's scores and segment, a snapshot's summary."""

from pydantic import BaseModel, Field

from app.schemas import Instant, RfmSegment


class CustomerRfm(BaseModel):
    customer_id: str
    as_of: Instant = Field(description="The instant of the snapshot the scores come from.")
    recency_days: int | None = Field(
        description="Whole days (of 24 hours) from the last purchase to as_of; null outside"
        " the population."
    )
    frequency: int | None = Field(description="Purchases in the window; null outside it.")
    monetary: float | None = Field(
        description="Their total amount (a purchase without one counts 0); null outside it."
    )
    r: int | None = Field(ge=1, le=5, description="Recency score, 1..5; null outside.")
    f: int | None = Field(ge=1, le=5, description="Frequency score, 1..5; null outside.")
    m: int | None = Field(ge=1, le=5, description="Monetary score, 1..5; null outside.")
    segment: RfmSegment

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "customer_id": "c-1001", "as_of": "2026-11-20T03:00:00Z", "recency_days": 2,
                    "frequency": 6, "monetary": 1200.0, "r": 5, "f": 5, "m": 5,
                    "segment": "champions",
                }
            ]
        }
    }  # fmt: skip


class SegmentTotal(BaseModel):
    segment: RfmSegment
    customers: int = Field(description="Customers in the segment.")
    monetary: float = Field(description="Their purchases' total amount in the window.")


class RfmSummary(BaseModel):
    as_of: Instant = Field(description="The instant the snapshot scored.")
    population: int = Field(description="Customers with a purchase in the window.")
    segments: list[SegmentTotal] = Field(
        description="Every segment of the table in its order, also those with no customer,"
        " then none."
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "as_of": "2026-11-20T03:00:00Z",
                    "population": 5,
                    "segments": [
                        {"segment": "champions", "customers": 1, "monetary": 1200.0},
                        {"segment": "cant_lose", "customers": 1, "monetary": 900.0},
                        {"segment": "at_risk", "customers": 0, "monetary": 0.0},
                        {"segment": "loyal", "customers": 1, "monetary": 400.0},
                        {"segment": "new", "customers": 1, "monetary": 35.0},
                        {"segment": "promising", "customers": 0, "monetary": 0.0},
                        {"segment": "potential_loyalist", "customers": 0, "monetary": 0.0},
                        {"segment": "need_attention", "customers": 0, "monetary": 0.0},
                        {"segment": "about_to_sleep", "customers": 0, "monetary": 0.0},
                        {"segment": "lost", "customers": 1, "monetary": 20.0},
                        {"segment": "hibernating", "customers": 0, "monetary": 0.0},
                        {"segment": "others", "customers": 0, "monetary": 0.0},
                        {"segment": "none", "customers": 37, "monetary": 0.0},
                    ],
                }
            ]
        }
    }

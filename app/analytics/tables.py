"""The reports as CSV: a header line, then one line per row (no totals line), the columns in
the JSON's order with the group keys by name; and whether a request asks for CSV."""

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from app.analytics.schemas import (
    ComplianceReport,
    ComplianceTotals,
    ContactsReport,
    ContactsTotals,
    OutcomeRow,
    OutcomesReport,
)

CSV = "text/csv"
# The counts and rates of each report's rows, in the JSON's order.
CONTACT_COLUMNS = tuple(ContactsTotals.model_fields)
OUTCOME_COLUMNS = tuple(name for name in OutcomeRow.model_fields if name not in ("n", "group"))
COMPLIANCE_COLUMNS = tuple(ComplianceTotals.model_fields)


def wants_csv(accept: str | None) -> bool:
    """Whether ``Accept`` names ``text/csv`` with a quality above 0 and at least that of
    ``application/json`` (wildcards alone keep JSON)."""
    qualities: dict[str, float] = {}
    for media_range in (accept or "").split(","):
        media_type, *parameters = (part.strip() for part in media_range.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        qualities[media_type.lower()] = quality
    csv_quality = qualities.get(CSV, 0.0)
    json_quality = max(qualities.get(t, 0.0) for t in ("application/json", "application/*"))
    return csv_quality > 0 and csv_quality >= json_quality


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def to_csv(header: Sequence[str], lines: Iterable[Sequence[Any]]) -> str:
    """RFC 4180 text: CRLF line ends, fields quoted where they must be."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([_cell(value) for value in line] for line in lines)
    return out.getvalue()


def contacts_csv(report: ContactsReport) -> str:
    keys = [key.value for key in report.group_by]
    lines = (
        [row.period_start, *(row.group[k] for k in keys)]
        + [getattr(row, c) for c in CONTACT_COLUMNS]
        for row in report.rows
    )
    return to_csv(["period_start", *keys, *CONTACT_COLUMNS], lines)


def outcomes_csv(report: OutcomesReport) -> str:
    keys = [key.value for key in report.group_by]
    lines = (
        [row.n, *(row.group[k] for k in keys)] + [getattr(row, c) for c in OUTCOME_COLUMNS]
        for row in report.rows
    )
    return to_csv(["n", *keys, *OUTCOME_COLUMNS], lines)


def compliance_csv(report: ComplianceReport) -> str:
    lines = ([row.owner] + [getattr(row, c) for c in COMPLIANCE_COLUMNS] for row in report.rows)
    return to_csv([report.group_by.value, *COMPLIANCE_COLUMNS], lines)

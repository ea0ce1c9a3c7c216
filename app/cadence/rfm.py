"""RFM: scoring a population of buyers 1..5 on recency, frequency and money, and the segment
table that names a customer's scores (the contract's "RFM" section)."""

from dataclasses import dataclass

SCORES = range(1, 6)


def score(worse: int, population: int) -> int:
    """``1 + floor(5 * worse / population)``, at most 5: ``worse`` is how many of the
    population do strictly worse on the metric, so ties score alike."""
    return min(5, 1 + (5 * worse) // population)


@dataclass(frozen=True, slots=True)
class Segment:
    """A row of the segment table: inclusive ranges of r, f and m."""

    name: str
    r: tuple[int, int]
    f: tuple[int, int]
    m: tuple[int, int]
    nickname: str | None = None  # the brief's words for it

    def holds(self, r: int, f: int, m: int) -> bool:
        return all(low <= s <= high for s, (low, high) in ((r, self.r), (f, self.f), (m, self.m)))


ANY = (1, 5)
SEGMENTS = (
    Segment("champions", (4, 5), (4, 5), (4, 5), "star customers"),
    Segment("cant_lose", (1, 1), (4, 5), (4, 5), "sleeping valuable customers"),
    Segment("at_risk", (1, 2), (3, 5), (3, 5)),
    Segment("loyal", (3, 5), (3, 5), (3, 5)),
    Segment("new", (4, 5), (1, 1), (1, 1)),
    Segment("promising", (3, 3), (1, 1), (1, 1)),
    Segment("potential_loyalist", (3, 5), (1, 3), (1, 3)),
    Segment("need_attention", (2, 2), (2, 3), (2, 3)),
    Segment("about_to_sleep", (2, 2), (1, 2), (1, 2)),
    Segment("lost", (1, 1), (1, 1), (1, 1)),
    Segment("hibernating", (1, 2), (1, 2), (1, 2)),
    Segment("others", ANY, ANY, ANY),
)
OUTSIDE = "none"  # the segment of a customer with no purchase in the window
SEGMENT_NAMES = (*(s.name for s in SEGMENTS), OUTSIDE)


def segment_of(r: int, f: int, m: int) -> str:
    """The first row of the table that holds for these scores."""
    return next(s.name for s in SEGMENTS if s.holds(r, f, m))

"""RFM scores and the segment table, against the contract's words."""

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.cadence.rfm import SCORES, SEGMENT_NAMES, SEGMENTS, score, segment_of

ALL_SCORES = list(itertools.product(SCORES, SCORES, SCORES))


@pytest.mark.parametrize(
    ("worse", "population", "expected"),
    [
        (0, 1, 1),  # a population of one: nobody is worse
        (0, 5, 1),
        (1, 5, 2),
        (4, 5, 5),
        (1, 2, 3),  # 1 + floor(5 / 2)
        (9, 10, 5),  # 1 + floor(45 / 10) = 5
        (99, 100, 5),  # 1 + floor(495 / 100) = 5
        (19, 100, 1),  # 1 + floor(95 / 100)
        (20, 100, 2),
    ],
)
def test_a_score_counts_the_customers_strictly_worse(
    worse: int, population: int, expected: int
) -> None:
    assert score(worse, population) == expected


@given(st.integers(1, 10_000).flatmap(lambda n: st.tuples(st.integers(0, n - 1), st.just(n))))
def test_scores_are_1_to_5_and_never_fall_as_fewer_do_better(case: tuple[int, int]) -> None:
    worse, population = case
    assert 1 <= score(worse, population) <= 5
    if worse + 1 < population:
        assert score(worse, population) <= score(worse + 1, population)


def test_every_row_of_the_table_is_the_first_match_of_some_scores() -> None:
    reached = {segment_of(*scores) for scores in ALL_SCORES}
    assert reached == {s.name for s in SEGMENTS}


@pytest.mark.parametrize(
    ("scores", "segment"),
    [
        ((5, 5, 5), "champions"),
        ((4, 4, 4), "champions"),
        ((1, 5, 5), "cant_lose"),
        ((1, 3, 3), "at_risk"),
        ((2, 5, 5), "at_risk"),
        ((3, 3, 3), "loyal"),
        ((5, 1, 1), "new"),
        ((3, 1, 1), "promising"),
        ((5, 2, 1), "potential_loyalist"),
        ((2, 2, 2), "need_attention"),  # the contract's example
        ((2, 1, 1), "about_to_sleep"),
        ((1, 1, 1), "lost"),
        ((1, 1, 2), "hibernating"),  # the contract's example
        ((5, 5, 1), "others"),
        ((1, 4, 1), "others"),
    ],
)
def test_the_segment_is_the_first_row_that_holds(
    scores: tuple[int, int, int], segment: str
) -> None:
    assert segment_of(*scores) == segment


def test_the_segments_are_listed_in_the_table_order_then_none() -> None:
    assert SEGMENT_NAMES == (
        "champions", "cant_lose", "at_risk", "loyal", "new", "promising", "potential_loyalist",
        "need_attention", "about_to_sleep", "lost", "hibernating", "others", "none",
    )  # fmt: skip

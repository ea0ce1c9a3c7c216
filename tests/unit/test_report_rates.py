"""Report rates: a count over a count, rounded half up to 4 decimal places, in integers."""

from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given
from hypothesis import strategies as st

from app.analytics.service import rate


def test_halves_round_up_and_nothing_over_nothing_is_null() -> None:
    assert rate(1, 20_000) == 0.0001  # 0.00005
    assert rate(3, 20_000) == 0.0002  # 0.00015
    assert rate(18, 110) == 0.1636
    assert rate(0, 7) == 0.0
    assert rate(7, 7) == 1.0
    assert rate(0, 0) is None


@given(
    st.integers(1, 10**12).flatmap(lambda whole: st.tuples(st.integers(0, whole), st.just(whole)))
)
def test_equals_the_decimal_rounding(counts: tuple[int, int]) -> None:
    part, whole = counts
    exact = (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), ROUND_HALF_UP)
    assert rate(part, whole) == float(exact)

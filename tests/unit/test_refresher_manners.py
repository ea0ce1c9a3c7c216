"""The background refresher yields to requests: while the process serves some, its rounds
take at most their share of the time."""

import pytest

from app.frequency.refresher import Yielding
from app.load import RequestLoad


def test_alone_the_refresher_never_rests() -> None:
    load = RequestLoad()
    assert Yielding(load, 0.25).rest_after(2.0, load.started) == 0.0


def test_with_a_request_in_flight_it_rests_three_times_its_round_at_a_quarter() -> None:
    load = RequestLoad()
    load.begin()
    assert Yielding(load, 0.25).rest_after(2.0, load.started) == pytest.approx(6.0)
    assert Yielding(load, 1.0).rest_after(2.0, load.started) == 0.0


def test_a_request_served_during_the_round_counts_too() -> None:
    load = RequestLoad()
    started = load.started
    load.begin()
    load.end()
    assert load.in_flight == 0
    assert Yielding(load, 0.5).rest_after(1.0, started) == pytest.approx(1.0)
    assert Yielding(load, 0.5).rest_after(1.0, load.started) == 0.0

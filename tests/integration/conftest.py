"""Fixtures of the integration tests beyond the suite's own (tests/conftest.py)."""

from collections.abc import Iterator

import pytest

from tests.receiver import Receiver, running_receiver


@pytest.fixture
def rx() -> Iterator[Receiver]:
    """A real receiver of outbound events on 127.0.0.1."""
    with running_receiver() as receiver:
        yield receiver

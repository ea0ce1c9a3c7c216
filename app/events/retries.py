"""When a failed delivery is tried again: the contract's schedule, with jitter, and a
receiver's ``Retry-After`` (429, 503) honoured. Pure: the caller passes the randomness."""

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

# After the first attempt fails, the next ones wait these long; after the last, failed.
RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
JITTER = 0.1  # a delay is spread over +-10%, so retries to one receiver do not arrive in step
# A Retry-After is honoured up to this long; a receiver asking for more waits this long.
LONGEST_RETRY_AFTER = timedelta(hours=24)
DELAY_SECONDS = re.compile(r"[0-9]{1,12}", re.ASCII)


def next_attempt_delay(
    attempts: int, spread: float, retry_after: timedelta | None = None
) -> timedelta | None:
    """How long after the ``attempts``-th failed attempt to try again; None: no more tries.
    ``spread`` in [0, 1) picks the point in the jitter band; ``retry_after`` (what a 429 or
    503 asked for) lengthens the wait, never shortens it."""
    if attempts < 1:
        raise ValueError("attempts counts the attempts made, at least one")
    if not 0 <= spread < 1:
        raise ValueError("spread must lie in [0, 1)")
    if attempts >= MAX_ATTEMPTS:
        return None
    delay = RETRY_DELAYS[attempts - 1] * (1 - JITTER + 2 * JITTER * spread)
    if retry_after is not None:
        delay = max(delay, min(retry_after, LONGEST_RETRY_AFTER))
    return delay


def parse_retry_after(value: str | None, now: datetime | None = None) -> timedelta | None:
    """A ``Retry-After``: delay seconds, or (given the wall clock's ``now``) an HTTP date;
    anything else a receiver sends is ignored."""
    if value is None:
        return None
    value = value.strip()
    if DELAY_SECONDS.fullmatch(value):
        return min(timedelta(seconds=int(value)), LONGEST_RETRY_AFTER)
    if now is None:
        return None
    try:
        until = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if until.tzinfo is None:  # an HTTP date is GMT; a date without a zone is taken as such
        until = until.replace(tzinfo=UTC)
    return min(max(until - now, timedelta(0)), LONGEST_RETRY_AFTER)

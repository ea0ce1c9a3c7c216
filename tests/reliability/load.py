"""Clients posting touches for a bounded time, retrying every failure with the same ids.

Each logical call (one ``POST /v1/touches`` or one ``POST /v1/touches/batch``) is retried until
it is acknowledged (a 2xx), reusing its touches' ``source`` + ``external_id`` and, for a batch,
its ``Idempotency-Key``. Every attempt is recorded, with the ``X-Request-ID`` it carried, so a
failure can be matched with the service's log lines.
"""

import asyncio
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx

from tests.reliability.profiles import Profile

Key = tuple[str, str]  # (source, external_id)
Touch = dict[str, Any]

SOURCE = "load"
CHANNELS = ("email", "phone", "visit", "wechat", "sms", "meeting")
OFFSETS = (UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5)))
DEPTHS = (None, None, "light", "value", "deep")
# Past this an attempt counts as a hang: generous, so that a slow machine is not a failure.
ATTEMPT_TIMEOUT = httpx.Timeout(60.0, connect=5.0)
# Statuses that say "this request is wrong": retrying the same body cannot help.
FINAL_CLIENT_ERRORS = frozenset({400, 401, 403, 404, 405, 413, 415, 422})


def key_of(touch: Touch) -> Key:
    return (touch.get("source", "api"), touch["external_id"])


@dataclass(slots=True)
class Attempt:
    request_id: str
    started: float
    ended: float | None = None
    body_sent_at: float | None = None
    status: int | None = None
    error: str | None = None
    retry_after: str | None = None
    content_type: str | None = None
    body: str = ""

    def describe(self) -> str:
        outcome = f"{self.status}" if self.status is not None else f"error {self.error}"
        extra = f" Retry-After={self.retry_after}" if self.retry_after is not None else ""
        return f"[{self.request_id}] -> {outcome}{extra} {self.body[:300]}"


@dataclass(slots=True)
class Call:
    """One logical request and all its attempts."""

    name: str
    path: str
    touches: list[Touch]
    idempotency_key: str | None
    attempts: list[Attempt] = field(default_factory=list)
    acked: dict[Key, str] = field(default_factory=dict)  # touch key -> id the service answered
    done: bool = False
    violations: list[str] = field(default_factory=list)

    @property
    def body(self) -> Touch:
        return self.touches[0] if self.path == "/v1/touches" else {"touches": self.touches}

    def describe(self) -> str:
        """The request, then its attempts, runs of one same answer folded into one line."""
        head = f"POST {self.path} ({len(self.touches)} touches"
        head += f", Idempotency-Key {self.idempotency_key})" if self.idempotency_key else ")"
        lines = [head]
        runs: list[list[Attempt]] = []
        for attempt in self.attempts:
            if runs and _same_answer(runs[-1][0], attempt):
                runs[-1].append(attempt)
            else:
                runs.append([attempt])
        for run in runs:
            times = f" (x{len(run)}, to attempt {run[-1].request_id})" if len(run) > 1 else ""
            lines.append(run[0].describe() + times)
        return "\n    ".join(lines)


def _same_answer(one: Attempt, other: Attempt) -> bool:
    return (one.status, one.error, one.body[:200]) == (other.status, other.error, other.body[:200])


class TouchMaker:
    """Valid touches of a few customers, channels, kinds, depths and UTC offsets."""

    def __init__(self, rng: random.Random, prefix: str, customers: int) -> None:
        self.rng = rng
        self.prefix = prefix
        self.customers = customers
        self.sequence = 0

    def touch(self) -> Touch:
        self.sequence += 1
        rng = self.rng
        at = datetime.now(UTC) - timedelta(seconds=rng.uniform(60, 20 * 86400))
        kind = rng.choices(("contact", "engagement", "purchase"), (85, 10, 5))[0]
        direction = "outbound" if rng.random() < 0.75 else "inbound"
        touch: Touch = {
            "customer_id": f"cust-{rng.randrange(self.customers)}",
            "channel": rng.choice(CHANNELS),
            "occurred_at": at.astimezone(rng.choice(OFFSETS)).isoformat(),
            "kind": kind,
            "direction": direction,
            "automated": direction == "outbound" and rng.random() < 0.3,
            "depth": rng.choice(DEPTHS),
            "source": SOURCE,
            "external_id": f"{self.prefix}-{self.sequence}",
            "actor": {"rep_id": f"rep-{rng.randrange(3)}", "team": "north"},
        }
        if kind == "engagement":
            touch["outcome"] = "opened"
        if kind == "purchase":
            touch["amount"] = round(rng.uniform(1, 500), 2)
        return touch


@dataclass(slots=True)
class Report:
    """What the clients saw, once the load is over."""

    calls: list[Call]
    events: dict[str, list[float]]

    @property
    def attempts(self) -> list[Attempt]:
        return [attempt for call in self.calls for attempt in call.attempts]

    @property
    def acked(self) -> dict[Key, str]:
        return {key: id_ for call in self.calls for key, id_ in call.acked.items()}

    @property
    def sent(self) -> dict[Key, Touch]:
        return {key_of(touch): touch for call in self.calls for touch in call.touches}

    @property
    def unacknowledged(self) -> list[Call]:
        return [call for call in self.calls if not call.done]

    @property
    def violations(self) -> list[str]:
        return [f"{v}\n    {call.describe()}" for call in self.calls for v in call.violations]

    def statuses(self) -> Counter[str]:
        return Counter(str(a.status) if a.status else "error" for a in self.attempts)

    def by_request_id(self) -> dict[str, Attempt]:
        return {attempt.request_id: attempt for attempt in self.attempts}

    def slowest(self) -> float:
        """The longest attempt, in seconds (reported, never asserted on)."""
        spans = [a.ended - a.started for a in self.attempts if a.ended is not None]
        return max(spans, default=0.0)

    def summary(self) -> str:
        return (
            f"{len(self.calls)} calls, {len(self.attempts)} attempts, "
            f"{len(self.sent)} touches sent, {len(self.acked)} acknowledged, "
            f"statuses {dict(sorted(self.statuses().items()))}, "
            f"slowest attempt {self.slowest():.1f} s"
        )


class Load:
    """Concurrent clients for a bounded time; ``run`` drives a scenario alongside them."""

    def __init__(self, base_url: str, api_key: str, profile: Profile, seed: int = 7) -> None:
        self.base_url = base_url
        self.api_key = api_key
        self.profile = profile
        self.run_id = uuid.uuid4().hex[:8]
        self.seed = seed
        self.calls: list[Call] = []
        self.events: dict[str, list[float]] = {}
        self.stopping = asyncio.Event()
        self.giving_up = asyncio.Event()
        self.in_flight: dict[str, Attempt] = {}

    def mark(self, event: str) -> float:
        """Note when something happened to the service, to order attempts around it."""
        now = time.monotonic()
        self.events.setdefault(event, []).append(now)
        return now

    @property
    def acked(self) -> int:
        return sum(len(call.acked) for call in self.calls)

    async def wait_for_more_acks(self, count: int, within: float) -> bool:
        target = self.acked + count
        return await self.wait_until(lambda: self.acked >= target, within)

    async def wait_until(self, condition: Callable[[], bool], within: float) -> bool:
        deadline = time.monotonic() + within
        while not condition():
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    async def run(self, scenario: Callable[["Load"], Awaitable[None]]) -> Report:
        """Clients post while ``scenario`` runs; then they finish (or give up on) their calls."""
        clients = [
            asyncio.create_task(self._client(index)) for index in range(self.profile.clients)
        ]
        try:
            await scenario(self)
        finally:
            self.stopping.set()
            _, pending = await asyncio.wait(clients, timeout=self.profile.give_up_seconds)
            self.giving_up.set()
            if pending:
                await asyncio.wait(pending)
            for task in clients:
                task.result()  # a bug in the client itself must not pass silently
        return Report(self.calls, self.events)

    async def _client(self, index: int) -> None:
        rng = random.Random(self.seed * 1000 + index)
        maker = TouchMaker(rng, f"{self.run_id}-{index}", self.profile.customers)
        headers = {"Authorization": f"Bearer {self.api_key}"}
        async with httpx.AsyncClient(
            base_url=self.base_url, headers=headers, timeout=ATTEMPT_TIMEOUT
        ) as client:
            sequence = 0
            while not self.stopping.is_set():
                sequence += 1
                call = self._next_call(rng, maker, f"c{index}-{sequence}")
                self.calls.append(call)
                await self._until_acknowledged(client, call, rng)

    def _next_call(self, rng: random.Random, maker: TouchMaker, name: str) -> Call:
        if rng.random() < self.profile.single_share:
            return Call(name, "/v1/touches", [maker.touch()], None)
        size = rng.randint(2, self.profile.max_batch)
        touches = [maker.touch() for _ in range(size)]
        if rng.random() < 0.1:
            touches.append(dict(touches[0]))  # a repeat inside the batch: its duplicate
        return Call(name, "/v1/touches/batch", touches, f"{self.run_id}-{name}")

    async def _until_acknowledged(
        self, client: httpx.AsyncClient, call: Call, rng: random.Random
    ) -> None:
        failures = 0
        while not self.giving_up.is_set():
            attempt = await self._attempt(client, call)
            if attempt.status is not None and 200 <= attempt.status < 300:
                self._acknowledge(call, attempt)
                call.done = True
                return
            self._judge_failure(call, attempt)
            if attempt.status in FINAL_CLIENT_ERRORS:
                return
            failures += 1
            await asyncio.sleep(_backoff(attempt, failures, rng))

    async def _attempt(self, client: httpx.AsyncClient, call: Call) -> Attempt:
        attempt = Attempt(f"{self.run_id}.{call.name}.{len(call.attempts) + 1}", time.monotonic())
        call.attempts.append(attempt)
        headers = {"X-Request-ID": attempt.request_id, "Content-Type": "application/json"}
        if call.idempotency_key:
            headers["Idempotency-Key"] = call.idempotency_key

        async def trace(event: str, info: dict[str, Any]) -> None:
            if event == "http11.send_request_body.complete":
                attempt.body_sent_at = time.monotonic()

        self.in_flight[attempt.request_id] = attempt
        try:
            response = await client.post(
                call.path,
                content=json.dumps(call.body).encode(),
                headers=headers,
                extensions={"trace": trace},
            )
        except httpx.HTTPError as exc:
            attempt.error = f"{type(exc).__name__}: {exc}"
        else:
            attempt.status = response.status_code
            attempt.retry_after = response.headers.get("retry-after")
            attempt.content_type = response.headers.get("content-type")
            attempt.body = response.text
        finally:
            attempt.ended = time.monotonic()
            self.in_flight.pop(attempt.request_id, None)
        return attempt

    def _acknowledge(self, call: Call, attempt: Attempt) -> None:
        try:
            answer = json.loads(attempt.body)
        except ValueError:
            call.violations.append(f"a {attempt.status} whose body is not JSON")
            return
        if call.path == "/v1/touches":
            self._acknowledge_single(call, attempt, answer)
        else:
            self._acknowledge_batch(call, answer)

    def _acknowledge_single(self, call: Call, attempt: Attempt, answer: Any) -> None:
        touch = call.touches[0]
        if attempt.status not in (200, 201) or answer.get("duplicate") is not (
            attempt.status == 200
        ):
            call.violations.append(f"POST /v1/touches answered {attempt.status} {answer}")
        if answer.get("external_id") != touch["external_id"]:
            call.violations.append("the answer is another touch than the one posted")
        call.acked[key_of(touch)] = str(answer.get("id"))

    def _acknowledge_batch(self, call: Call, answer: Any) -> None:
        results = answer.get("results") if isinstance(answer, dict) else None
        if not isinstance(results, list) or len(results) != len(call.touches):
            call.violations.append("a batch answer without one result per item")
            return
        for touch, result in zip(call.touches, results, strict=True):
            if result.get("status") in ("created", "duplicate") and result.get("id"):
                call.acked[key_of(touch)] = str(result["id"])
            else:
                call.violations.append(f"a valid item was not stored: {result}")

    @staticmethod
    def _judge_failure(call: Call, attempt: Attempt) -> None:
        status = attempt.status
        if status is None or status == 409:
            return  # a dropped connection or timeout; or the first try of this key still running
        if status == 503 and attempt.retry_after is None:
            call.violations.append("a 503 without Retry-After")
        elif status >= 500 and status != 503:
            call.violations.append(f"a server error {status}")
        elif status < 500:
            call.violations.append(f"a valid request refused with {status}")
        if not (attempt.content_type or "").startswith("application/problem+json"):
            call.violations.append(f"an error {status} that is not application/problem+json")


def _backoff(attempt: Attempt, failures: int, rng: random.Random) -> float:
    """Retry-After when given (capped), else exponential with jitter: 50 ms .. 1 s."""
    if attempt.retry_after is not None:
        try:
            return min(float(attempt.retry_after), 2.0) * rng.uniform(0.5, 1.0)
        except ValueError:
            pass
    return float(min(1.0, 0.05 * 2 ** min(failures, 5)) * rng.uniform(0.5, 1.0))

"""How busy this process is with requests, for background work that yields to them."""


class RequestLoad:
    """Requests in flight and started, counted by the request middleware."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.started = 0

    def begin(self) -> None:
        self.in_flight += 1
        self.started += 1

    def end(self) -> None:
        self.in_flight -= 1

    def busy_since(self, started: int) -> bool:
        """Whether a request was served since ``started`` was read off ``self.started``."""
        return self.in_flight > 0 or self.started != started

"""Reading Accept-Encoding, and the TOUCHBASE_CORS_ORIGINS setting."""

import pytest
from pydantic import ValidationError

from app.browser import accepts_gzip
from app.config import Settings


@pytest.mark.parametrize(
    ("accept_encoding", "expected"),
    [
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("br;q=1.0, GZIP;q=0.5", True),
        ("x-gzip", True),
        ("*", True),
        ("br, *;q=0.1", True),
        ("", False),
        ("identity", False),
        ("br, zstd", False),
        ("gzip;q=0", False),
        ("gzip;q=0.000", False),
        ("gzip;q=0, *", False),
        ("*;q=0", False),
        ("gzip;q=nan", False),
        ("gzip;q=2", False),
        ("gzip;q=", False),
        ("gzip ; level=9 ; q=0.3", True),
        (",,;;==", False),
    ],
)
def test_accepts_gzip_by_weight(accept_encoding: str, expected: bool) -> None:
    assert accepts_gzip(accept_encoding) is expected


def test_origins_are_a_comma_separated_environment_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "TOUCHBASE_CORS_ORIGINS", " https://App.example.com/ ,http://localhost:5173,"
    )
    assert Settings().cors_origins == ("https://app.example.com", "http://localhost:5173")


@pytest.mark.parametrize("unset", ["", " , "])
def test_empty_origins_mean_no_cors(monkeypatch: pytest.MonkeyPatch, unset: str) -> None:
    monkeypatch.setenv("TOUCHBASE_CORS_ORIGINS", unset)
    assert Settings().cors_origins == ()


@pytest.mark.parametrize("bad", ["app.example.com", "https://app.example.com/path", "*", "null"])
def test_what_is_no_origin_is_refused_at_start(bad: str) -> None:
    with pytest.raises(ValidationError, match="not an origin"):
        Settings(cors_origins=bad)

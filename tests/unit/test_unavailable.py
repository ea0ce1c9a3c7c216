"""A dropped connection is 'database unavailable' (a 503) however it surfaces."""

import asyncpg

from app.errors import is_database_unavailable


def _raised_while_handling(first: BaseException, second: BaseException) -> BaseException:
    try:
        try:
            raise first
        except BaseException:
            raise second from None
    except BaseException as exc:
        return exc


def test_leaving_a_transaction_on_a_connection_the_server_dropped() -> None:
    dropped = asyncpg.exceptions.AdminShutdownError("terminating connection")
    closed = asyncpg.exceptions.InterfaceError("the underlying connection is closed")
    assert is_database_unavailable(_raised_while_handling(dropped, closed))


def test_an_interface_error_of_its_own_is_not_unavailability() -> None:
    assert not is_database_unavailable(asyncpg.exceptions.InterfaceError("misuse"))
    refused = _raised_while_handling(ValueError("bad"), asyncpg.exceptions.InterfaceError("x"))
    assert not is_database_unavailable(refused)

"""Which URLs outbound events may be sent to: ``https`` on a public address, unless private URLs
are allowed (development, tests). An endpoint cannot be aimed at the service's own network:
loopback, private, link-local, multicast, unspecified, reserved and shared addresses are
refused, written as IPv4, IPv6 or IPv4 mapped into IPv6. No test here needs DNS."""

import ipaddress

import pytest

from app.events.urls import refused_address, refused_host, refused_url

NOT_PUBLIC = [
    pytest.param("127.0.0.1", id="loopback"),
    pytest.param("127.255.0.9", id="loopback-range"),
    pytest.param("::1", id="loopback-v6"),
    pytest.param("10.0.0.1", id="private-10"),
    pytest.param("172.16.0.1", id="private-172"),
    pytest.param("192.168.1.1", id="private-192"),
    pytest.param("fc00::1", id="unique-local-v6"),
    pytest.param("169.254.169.254", id="link-local-metadata"),
    pytest.param("fe80::1", id="link-local-v6"),
    pytest.param("0.0.0.0", id="unspecified"),
    pytest.param("::", id="unspecified-v6"),
    pytest.param("224.0.0.1", id="multicast"),
    pytest.param("ff02::1", id="multicast-v6"),
    pytest.param("240.0.0.1", id="reserved"),
    pytest.param("255.255.255.255", id="broadcast"),
    pytest.param("100.64.0.1", id="shared-cgnat"),
    pytest.param("192.0.2.1", id="documentation"),
    pytest.param("198.18.0.1", id="benchmarking"),
    pytest.param("::ffff:127.0.0.1", id="mapped-loopback"),
    pytest.param("::ffff:10.0.0.1", id="mapped-private"),
    pytest.param("::ffff:169.254.169.254", id="mapped-link-local"),
]
PUBLIC = [
    pytest.param("8.8.8.8", id="v4"),
    pytest.param("1.1.1.1", id="v4-other"),
    pytest.param("2001:4860:4860::8888", id="v6"),
    pytest.param("::ffff:8.8.8.8", id="mapped-v4"),
]


def literal(address: str) -> str:
    """An address as the host of a URL: IPv6 in brackets."""
    return f"[{address}]" if ":" in address else address


class TestRefusedAddress:
    @pytest.mark.parametrize("address", NOT_PUBLIC)
    def test_an_address_that_is_not_public_is_refused(self, address: str) -> None:
        """Every range of the service's own networks is refused, naming the address."""
        refusal = refused_address(ipaddress.ip_address(address))
        assert refusal is not None
        shown = ipaddress.ip_address(address)
        if isinstance(shown, ipaddress.IPv6Address) and shown.ipv4_mapped is not None:
            shown = shown.ipv4_mapped
        assert str(shown) in refusal

    @pytest.mark.parametrize("address", PUBLIC)
    def test_a_public_address_is_accepted(self, address: str) -> None:
        assert refused_address(ipaddress.ip_address(address)) is None


class TestRefusedUrl:
    @pytest.mark.parametrize(
        "url",
        [
            pytest.param("http://example.com/x", id="http"),
            pytest.param("ftp://example.com/x", id="ftp"),
            pytest.param("file:///etc/passwd", id="file"),
            pytest.param("example.com/x", id="no-scheme"),
            pytest.param("https:///x", id="no-host"),
            pytest.param("https://", id="nothing"),
            pytest.param("https://user:secret@example.com/x", id="credentials"),
            pytest.param("https://user@example.com/x", id="user"),
            pytest.param("https://example.com:0/x", id="port-0"),
            pytest.param("https://example.com:99999/x", id="port-out-of-range"),
            pytest.param("https://[::1/x", id="unclosed-bracket"),
            pytest.param("https://localhost/x", id="localhost"),
            pytest.param("https://LOCALHOST:8443/x", id="localhost-upper-case"),
            pytest.param("https://api.localhost/x", id="under-localhost"),
        ],
    )
    def test_a_url_that_is_not_https_on_a_named_host_is_refused(self, url: str) -> None:
        """Not https, no host, credentials, a bad port, localhost: refused."""
        assert refused_url(url, allow_private=False) is not None

    @pytest.mark.parametrize("address", NOT_PUBLIC)
    def test_an_ip_literal_that_is_not_public_is_refused(self, address: str) -> None:
        """https on a loopback, private, link-local ... address written in the URL: refused."""
        assert refused_url(f"https://{literal(address)}/x", allow_private=False) is not None
        assert refused_url(f"https://{literal(address)}:8443/x", allow_private=False) is not None

    @pytest.mark.parametrize(
        "url",
        [
            "https://8.8.8.8/x",
            "https://example.com/x",
            "https://example.com:8443/hooks?tenant=1",
            "https://[2001:4860:4860::8888]/x",
            "HTTPS://Example.COM/x",
        ],
    )
    def test_https_on_a_public_address_or_a_name_is_accepted(self, url: str) -> None:
        """A host name is judged when it is resolved, at each delivery; here it passes."""
        assert refused_url(url, allow_private=False) is None

    @pytest.mark.parametrize(
        "url", ["http://127.0.0.1:8080/x", "http://localhost:8080/x", "https://10.0.0.1/x"]
    )
    def test_private_urls_may_be_allowed(self, url: str) -> None:
        """With private URLs allowed (development, tests) plain http on loopback is fine."""
        assert refused_url(url, allow_private=True) is None

    @pytest.mark.parametrize(
        "url",
        [
            pytest.param("ftp://127.0.0.1/x", id="ftp"),
            pytest.param("http://user:pw@127.0.0.1/x", id="credentials"),
            pytest.param("http:///x", id="no-host"),
        ],
    )
    def test_allowing_private_urls_allows_nothing_else(self, url: str) -> None:
        """Only the scheme and the address are relaxed."""
        assert refused_url(url, allow_private=True) is not None


class TestRefusedHost:
    @pytest.mark.parametrize("address", NOT_PUBLIC)
    async def test_an_ip_literal_that_is_not_public_is_refused(self, address: str) -> None:
        assert await refused_host(f"https://{literal(address)}/x", allow_private=False) is not None

    @pytest.mark.parametrize(
        "host",
        [
            pytest.param("127.1", id="short-loopback"),
            pytest.param("2130706433", id="decimal-loopback"),
            pytest.param("0", id="decimal-unspecified"),
            pytest.param("localhost", id="localhost"),
        ],
    )
    async def test_a_host_resolving_to_loopback_is_refused(self, host: str) -> None:
        """Forms of an address the URL check takes for a name resolve (locally, no DNS) to
        loopback or the unspecified address: refused before anything is sent."""
        assert await refused_host(f"https://{host}/x", allow_private=False) is not None

    async def test_a_public_literal_is_accepted(self) -> None:
        assert await refused_host("https://8.8.8.8/x", allow_private=False) is None

    async def test_a_refused_url_is_refused_without_resolving(self) -> None:
        assert await refused_host("http://8.8.8.8/x", allow_private=False) is not None

    async def test_private_urls_may_be_allowed(self) -> None:
        assert await refused_host("http://127.0.0.1:8080/x", allow_private=True) is None
        assert await refused_host("ftp://127.0.0.1:8080/x", allow_private=True) is not None

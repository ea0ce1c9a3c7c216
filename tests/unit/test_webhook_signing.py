import base64
import re
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from standardwebhooks import Webhook

from app.schemas import ID_PATTERN
from app.webhooks import signing
from app.webhooks.service import delivery_external_id, new_secret

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
SECRET = signing.secret_from_bytes(bytes(range(32)))
BODY = b'{"customer_id": "c-1", "channel": "email"}'


def standard_headers(
    body: bytes = BODY, at: datetime = NOW, msg_id: str = "msg_1", secret: str = SECRET
) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, body.decode()),
    }


def test_new_secret_is_whsec_and_32_bytes_of_standard_base64() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert new_secret() != secret


def test_standard_signature_verifies() -> None:
    assert signing.verify_standard(SECRET, standard_headers(), BODY, NOW)


def test_standard_signature_within_tolerance_both_ways() -> None:
    for offset in (timedelta(minutes=5), timedelta(minutes=-5)):
        assert signing.verify_standard(SECRET, standard_headers(at=NOW + offset), BODY, NOW)
    for offset in (timedelta(minutes=5, seconds=1), timedelta(minutes=-5, seconds=-1)):
        assert not signing.verify_standard(SECRET, standard_headers(at=NOW + offset), BODY, NOW)


def test_standard_signature_refuses_tampering() -> None:
    headers = standard_headers()
    assert not signing.verify_standard(SECRET, headers, BODY + b" ", NOW)
    assert not signing.verify_standard(SECRET, {**headers, "webhook-id": "msg_2"}, BODY, NOW)
    other = signing.secret_from_bytes(b"x" * 32)
    assert not signing.verify_standard(other, headers, BODY, NOW)


def test_standard_signature_accepts_one_good_among_several() -> None:
    headers = standard_headers()
    good = headers["webhook-signature"]
    headers["webhook-signature"] = f"v1,AAAA v2,zzz garbage v1,!!! {good}"
    assert signing.verify_standard(SECRET, headers, BODY, NOW)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("webhook-id", ""),
        ("webhook-timestamp", "abc"),
        ("webhook-timestamp", "-1"),
        ("webhook-timestamp", "0" + str(int(NOW.timestamp()))),
        ("webhook-timestamp", str(NOW.timestamp())),
        ("webhook-timestamp", "9" * 40),
        ("webhook-signature", ""),
        ("webhook-signature", "v1"),
        ("webhook-signature", "v1,not base64!"),
        ("webhook-signature", "v2," + base64.b64encode(b"x" * 32).decode()),
    ],
)
def test_standard_signature_malformed_headers_fail_without_raising(name: str, value: str) -> None:
    headers = {**standard_headers(), name: value}
    assert not signing.verify_standard(SECRET, headers, BODY, NOW)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_standard_signature_missing_header(missing: str) -> None:
    headers = standard_headers()
    del headers[missing]
    assert not signing.verify_standard(SECRET, headers, BODY, NOW)


def test_standard_signature_non_utf8_body_fails() -> None:
    assert not signing.verify_standard(SECRET, standard_headers(), b"\xff\xfe", NOW)


def test_offered_signatures_keeps_v1_entries_only() -> None:
    sig = base64.b64encode(b"s" * 32).decode()
    assert signing.offered_signatures(f"v1,{sig} v1a,{sig} v1,@@ ,") == [b"s" * 32]


def test_parse_unix_seconds() -> None:
    assert signing.parse_unix_seconds(str(int(NOW.timestamp()))) == NOW
    assert signing.parse_unix_seconds(None) is None
    assert signing.parse_unix_seconds(" 1") is None
    assert signing.parse_unix_seconds("1\n") is None


def p256() -> tuple[ec.EllipticCurvePrivateKey, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return key, base64.b64encode(der).decode()


def sendgrid_headers(
    key: ec.EllipticCurvePrivateKey, body: bytes = BODY, at: datetime = NOW
) -> dict[str, str]:
    timestamp = str(int(at.timestamp()))
    signature = key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        signing.SENDGRID_TIMESTAMP: timestamp,
        signing.SENDGRID_SIGNATURE: base64.b64encode(signature).decode(),
    }


def test_sendgrid_signature_verifies() -> None:
    key, public = p256()
    assert signing.verify_sendgrid(public, sendgrid_headers(key), BODY, NOW)


def test_sendgrid_signature_refuses_tampering_and_other_keys() -> None:
    key, public = p256()
    headers = sendgrid_headers(key)
    assert not signing.verify_sendgrid(public, headers, BODY + b" ", NOW)
    _, other = p256()
    assert not signing.verify_sendgrid(other, headers, BODY, NOW)
    later = {**headers, signing.SENDGRID_TIMESTAMP: str(int(NOW.timestamp()) + 1)}
    assert not signing.verify_sendgrid(public, later, BODY, NOW)


def test_sendgrid_signature_tolerance() -> None:
    key, public = p256()
    for offset in (timedelta(minutes=5), timedelta(minutes=-5)):
        assert signing.verify_sendgrid(public, sendgrid_headers(key, at=NOW + offset), BODY, NOW)
    for offset in (timedelta(minutes=6), timedelta(minutes=-6)):
        headers = sendgrid_headers(key, at=NOW + offset)
        assert not signing.verify_sendgrid(public, headers, BODY, NOW)


@pytest.mark.parametrize(
    "signature", ["", "not base64!", base64.b64encode(b"\x30\x03junk").decode()]
)
def test_sendgrid_malformed_signature_fails_without_raising(signature: str) -> None:
    key, public = p256()
    headers = {**sendgrid_headers(key), signing.SENDGRID_SIGNATURE: signature}
    assert not signing.verify_sendgrid(public, headers, BODY, NOW)


def test_sendgrid_missing_headers_fail() -> None:
    _, public = p256()
    assert not signing.verify_sendgrid(public, {}, BODY, NOW)


def test_load_public_key_accepts_p256_and_normalizes_whitespace() -> None:
    _, public = p256()
    wrapped = "\n".join(public[i : i + 40] for i in range(0, len(public), 40))
    assert signing.normalize_public_key(wrapped) == public


@pytest.mark.parametrize("encoded", ["not base64!", base64.b64encode(b"junk").decode(), ""])
def test_load_public_key_refuses_garbage(encoded: str) -> None:
    with pytest.raises(ValueError, match="must be"):
        signing.load_public_key(encoded)


def _spki(key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey) -> str:
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def test_load_public_key_refuses_other_curves_and_algorithms() -> None:
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    for other in (p384, rsa_key):
        with pytest.raises(ValueError, match="P-256"):
            signing.load_public_key(_spki(other))


def test_delivery_external_id() -> None:
    assert delivery_external_id("msg_2Lx", 3) == "msg_2Lx:3"
    for webhook_id in ("msg with spaces", "m" * 130, "ünïcode"):
        derived = delivery_external_id(webhook_id, 999)
        assert re.fullmatch(ID_PATTERN, derived), derived
        assert derived.endswith(":999")
        assert derived == delivery_external_id(webhook_id, 999)
    assert delivery_external_id("a b", 0) != delivery_external_id("a c", 0)

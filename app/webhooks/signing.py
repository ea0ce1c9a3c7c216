"""Webhook signatures, checked without I/O: Standard Webhooks (HMAC) and SendGrid (ECDSA).

Every check takes ``now`` from the caller (the app's clock), the request's raw body bytes and
its headers by lower-case name; it answers True or False and never raises on bad input.
"""

import base64
import binascii
import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from standardwebhooks import Webhook

TOLERANCE = timedelta(minutes=5)
SECRET_PREFIX = "whsec_"

WEBHOOK_ID = "webhook-id"
WEBHOOK_TIMESTAMP = "webhook-timestamp"
WEBHOOK_SIGNATURE = "webhook-signature"
SENDGRID_SIGNATURE = "x-twilio-email-event-webhook-signature"
SENDGRID_TIMESTAMP = "x-twilio-email-event-webhook-timestamp"

# Canonical unix seconds (no sign, no leading zero, no fraction), at most year 5138.
UNIX_SECONDS = re.compile(r"0|[1-9][0-9]{0,10}")


def secret_from_bytes(key: bytes) -> str:
    """A Standard Webhooks secret: ``whsec_`` and the standard base64 of the HMAC key."""
    return SECRET_PREFIX + base64.b64encode(key).decode()


def parse_unix_seconds(value: str | None) -> datetime | None:
    if value is None or not UNIX_SECONDS.fullmatch(value):
        return None
    return datetime.fromtimestamp(int(value), UTC)


def within_tolerance(sent: datetime, now: datetime) -> bool:
    """Whether a signature's timestamp is at most 5 minutes off, in either direction."""
    return abs(now - sent) <= TOLERANCE


def _b64(value: str) -> bytes | None:
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        return None


def offered_signatures(header: str) -> list[bytes]:
    """The ``v1`` signatures of a space-separated ``webhook-signature``; malformed ones dropped."""
    found: list[bytes] = []
    for entry in header.split(" "):
        version, _, encoded = entry.partition(",")
        decoded = _b64(encoded) if version == "v1" else None
        if decoded:
            found.append(decoded)
    return found


def expected_signature(secret: str, msg_id: str, sent: datetime, body: bytes) -> bytes | None:
    """HMAC-SHA256 of ``{id}.{timestamp}.{body}``; None for a body that is not UTF-8."""
    try:
        data = body.decode()
    except UnicodeDecodeError:
        return None
    signed: str = Webhook(secret).sign(msg_id, sent, data)
    return base64.b64decode(signed.partition(",")[2])


def verify_standard(secret: str, headers: Mapping[str, str], body: bytes, now: datetime) -> bool:
    """Standard Webhooks: one of the offered ``v1`` signatures matches, sent within tolerance."""
    msg_id = headers.get(WEBHOOK_ID)
    sent = parse_unix_seconds(headers.get(WEBHOOK_TIMESTAMP))
    offered = offered_signatures(headers.get(WEBHOOK_SIGNATURE) or "")
    if not msg_id or sent is None or not offered or not within_tolerance(sent, now):
        return False
    expected = expected_signature(secret, msg_id, sent, body)
    if expected is None:
        return False
    return any(hmac.compare_digest(expected, given) for given in offered)


def load_public_key(encoded: str) -> ec.EllipticCurvePublicKey:
    """An ECDSA P-256 key from base64 DER SubjectPublicKeyInfo; ValueError says what is wrong."""
    der = _b64("".join(encoded.split()))
    if der is None:
        raise ValueError("must be standard base64")
    try:
        key = serialization.load_der_public_key(der)
    except (ValueError, UnsupportedAlgorithm):
        raise ValueError("must be a DER SubjectPublicKeyInfo public key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("must be an ECDSA P-256 public key")
    return key


def normalize_public_key(encoded: str) -> str:
    """The key's canonical base64 DER (whitespace and line breaks dropped)."""
    key = load_public_key(encoded)
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def verify_sendgrid(
    public_key: str, headers: Mapping[str, str], body: bytes, now: datetime
) -> bool:
    """SendGrid: ECDSA-SHA256 over the timestamp header's value followed by the raw body."""
    timestamp = headers.get(SENDGRID_TIMESTAMP)
    sent = parse_unix_seconds(timestamp)
    signature = _b64(headers.get(SENDGRID_SIGNATURE) or "")
    if timestamp is None or sent is None or not signature or not within_tolerance(sent, now):
        return False
    try:
        key = load_public_key(public_key)
        key.verify(signature, timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except (ValueError, InvalidSignature):
        return False
    return True

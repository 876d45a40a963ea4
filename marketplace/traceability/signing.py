"""Short code signatures: a truncated HMAC-SHA256 over the identifier, with a key id to rotate keys."""

from __future__ import annotations

import base64
import hmac

SIGNATURE_BYTES = 9  # 72 bits: 12 base64url characters on the label, beyond guessing online


def _mac(secret: bytes, identifier: str) -> str:
    digest = hmac.digest(secret, identifier.encode(), "sha256")[:SIGNATURE_BYTES]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign(identifier: str, keys: tuple[tuple[str, bytes], ...]) -> str:
    """ "kid.mac" with the newest key (the first one)."""
    kid, secret = keys[0]
    return f"{kid}.{_mac(secret, identifier)}"


def verify(identifier: str, signature: str | None, keys: tuple[tuple[str, bytes], ...]) -> bool:
    """True when the signature was made over this identifier by any key still held."""
    if not signature:
        return False
    kid, _, presented = signature.partition(".")
    for known_kid, secret in keys:
        if hmac.compare_digest(known_kid.encode(), kid.encode()):
            return hmac.compare_digest(_mac(secret, identifier).encode(), presented.encode())
    return False

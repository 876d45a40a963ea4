"""What identifies a contract's terms: the fingerprint both parties sign, shown before they sign."""

from __future__ import annotations

import hashlib
import json


def fingerprint(terms: dict) -> str:
    """SHA-256 over the canonical JSON of the terms: sorted keys, no spaces, UTF-8."""
    canonical = json.dumps(terms, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()

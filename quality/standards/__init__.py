"""The standards shipped with Shanhai, as data files that cite their sources."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

HERE = Path(__file__).parent
FILES = ("longjing.json", "celery.json", "plum.json", "poultry.json")


@cache
def _load(name: str) -> str:
    return (HERE / name).read_text(encoding="utf-8")


def shipped_standards() -> list[dict]:
    """A fresh copy each call, so that no caller can change the shipped data."""
    return [json.loads(_load(name)) for name in FILES]

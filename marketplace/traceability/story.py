"""The lot's story as a scan shows it: product, brand, village, cooperative, quality, trace, recall."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from catalog import service as catalog_service
from catalog.models import Lot, LotStatus
from marketplace.traceability import trace as trace_service
from marketplace.traceability.models import EventType
from quality import service as quality_service

EVENT_LABELS = {
    EventType.COMMISSIONING: ("采收", "Harvested"),
    EventType.INSPECTING: ("检测", "Inspected"),
    EventType.PACKING: ("包装", "Packed"),
    EventType.SHIPPING: ("发运", "Shipped"),
    EventType.RECEIVING: ("收货", "Received"),
    EventType.RETAIL_SELLING: ("上架销售", "On sale"),
    EventType.RECALLED: ("召回", "Recalled"),
}
STATUS_LABELS = {
    LotStatus.REGISTERED: ("已登记", "Registered"),
    LotStatus.INSPECTED: ("已检测", "Inspected"),
    LotStatus.GRADED: ("已定级", "Graded"),
    LotStatus.REJECTED: ("未通过", "Rejected"),
    LotStatus.ON_SALE: ("在售", "On sale"),
    LotStatus.SOLD_OUT: ("已售罄", "Sold out"),
    LotStatus.RECALLED: ("已召回", "Recalled"),
}


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[0] if lang == "zh" else pair[1]


def _local(moment: datetime | None, zone: ZoneInfo) -> str | None:
    return moment.astimezone(zone).isoformat(timespec="minutes") if moment else None


def build_story(session: Session, *, lot_id: int, lang: str, zone: ZoneInfo) -> dict:
    """Everything the scan page tells about a lot, in one language, its times in `zone`; no
    per-code data."""
    lot: Lot = catalog_service.get_lot(session, lot_id)
    product, village, cooperative = lot.product, lot.village, lot.cooperative
    brand = product.brand
    zh = lang == "zh"
    story = {
        "product": {
            "id": product.id,
            "name": product.name_zh if zh else product.name_en,
            "description": product.description_zh if zh else product.description_en,
        },
        "brand": {
            "id": brand.id,
            "name": brand.name_zh if zh else brand.name_en,
            "slogan": brand.slogan_zh if zh else brand.slogan_en,
            "story": brand.story_zh if zh else brand.story_en,
            "logo_url": f"/api/v1/brands/{brand.id}/logo" if brand.logo_sha256 else None,
        },
        "village": {
            "id": village.id,
            "name": village.name_zh if zh else village.name_en,
            "township": village.township_zh if zh else village.township_en,
            "county": village.county_zh if zh else village.county_en,
            "latitude": float(village.latitude),
            "longitude": float(village.longitude),
        },
        "cooperative": {"id": cooperative.id, "name": cooperative.name_zh if zh else cooperative.name_en},
        "lot": {
            "id": lot.id,
            "lot_code": lot.lot_code,
            "harvested_on": lot.harvested_on.isoformat(),
            "quantity": str(lot.quantity),
            "unit": lot.unit,
            "status": lot.status.value,
            "status_label": _pick(STATUS_LABELS[lot.status], lang),
        },
        "quality": quality_service.scan_summary(session, lot_id=lot.id),
        "recall": (
            {"reason": lot.recall_reason or "", "recalled_at": _local(lot.status_changed_at, zone)}
            if lot.status is LotStatus.RECALLED
            else None
        ),
        "trace": [
            {
                "sequence": event.sequence,
                "type": EventType(event.event_type).value,
                "label": _pick(EVENT_LABELS[EventType(event.event_type)], lang),
                "occurred_at": _local(event.occurred_at, zone),
                "place": event.place,
                "disposition": event.disposition,
            }
            for event in trace_service.lot_events(session, lot_id=lot.id)
        ],
    }
    return story


class StoryCache:
    """Stories per (lot, language) for a few seconds, with their JSON: a region scanning one
    lot at once costs one build and one serialisation, not thousands. A recall shows within
    `ttl` seconds. `dumps` is the app's JSON encoder, so the cached text is what it would write;
    times are told in `zone`, the service's time zone."""

    def __init__(self, ttl: float, dumps: Callable[[dict], str], zone: ZoneInfo) -> None:
        self.ttl = ttl
        self._dumps = dumps
        self._zone = zone
        self._entries: dict[tuple[int, str], tuple[float, dict, str]] = {}
        self._lock = threading.Lock()

    def cached(self, *, lot_id: int, lang: str) -> tuple[dict, str] | None:
        """The story and its JSON when a fresh one is cached, without touching the database."""
        entry = self._entries.get((lot_id, lang))
        if self.ttl > 0 and entry and time.monotonic() - entry[0] < self.ttl:
            return entry[1], entry[2]
        return None

    def get_with_json(self, session: Session, *, lot_id: int, lang: str) -> tuple[dict, str]:
        entry = self.cached(lot_id=lot_id, lang=lang)
        if entry is not None:
            return entry
        story = build_story(session, lot_id=lot_id, lang=lang, zone=self._zone)
        text = self._dumps(story)
        if self.ttl > 0:
            with self._lock:
                if len(self._entries) > 10_000:
                    self._entries.clear()
                self._entries[(lot_id, lang)] = (time.monotonic(), story, text)
        return story, text

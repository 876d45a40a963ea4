"""One scan, from the scanned path to the answer: the resolver's view and the fast path both
call it.

A `Scanner` (one per app) judges a scanned link, counts the scan, finds the lot's story and
writes the JSON answer with its own headers (Link, Content-Language, the CORS and Vary that the
resolver's answers carry). What every answer carries besides (the rate limit's headers, the
security headers, the request id, the request's metrics and log line) is the edge's
(`marketplace.core.edge`), which both callers apply.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.datastructures import LanguageAccept, MIMEAccept
from werkzeug.http import parse_accept_header

from marketplace.core import db, edge
from marketplace.core.config import Settings
from marketplace.traceability import authenticity, digital_link, metrics, scans
from marketplace.traceability.authenticity import ScanResult, Verdict
from marketplace.traceability.errors import UnknownLinkType
from marketplace.traceability.journal import ScanJournal
from marketplace.traceability.scans import ScanRecorder, Thresholds
from marketplace.traceability.service import SIGNATURE_PARAMETER
from marketplace.traceability.story import StoryCache

# The resolver's route for scans: what the request log, the metrics and the scan budget call it.
SCAN_RULE = "/01/<path:rest>"
LINKSET_TYPE = "application/linkset+json"
GS1_VOCABULARY = "https://gs1.org/voc/"
LINK_TYPES = ("pip", "traceability", "certificationInfo", "defaultLink")
# The resolver's answers depend on these request headers.
NEGOTIATED_BY = ("Accept", "Accept-Language")
STORY_MARKER = "\x00story\x00"


@dataclass(frozen=True)
class Client:
    """Who scanned, as far as counting a scan needs: a keyed fingerprint and a coarse place."""

    address: str | None
    user_agent: str
    latitude: str | None = None
    longitude: str | None = None


@dataclass(frozen=True)
class JsonAnswer:
    body: bytes
    headers: list[tuple[str, str]]


@dataclass(frozen=True)
class JsonScan:
    """A JSON scan's verdict and, for a genuine code, its answer (None when not admitted)."""

    result: ScanResult
    answer: JsonAnswer | None
    counted: bool


class Scanner:
    """The scan pipeline of one app: its settings, scan recorder, story cache and code reader."""

    def __init__(self, app: Flask) -> None:
        self._runtime = app.extensions["shanhai"]
        self.session_factory: sessionmaker[Session] = self._runtime.session_factory
        self._thresholds: tuple[Settings, Thresholds] | None = None
        self.recorder = scan_recorder(app)
        self.stories = story_cache(app)
        self.reader = authenticity.CodeReader(self.session_factory)
        self._dumps: Callable[[object], str] = app.json.dumps
        self._story_marker = self._dumps(STORY_MARKER)  # as the app's JSON writes it

    @property
    def settings(self) -> Settings:
        # Read at each scan: the settings an app runs with may be replaced (a key rotation).
        return self._runtime.settings

    @property
    def thresholds(self) -> Thresholds:
        settings = self.settings
        if self._thresholds is None or self._thresholds[0] is not settings:
            self._thresholds = (settings, thresholds(settings))
        return self._thresholds[1]

    def judge(self, link: digital_link.DigitalLink, session: Session | None = None) -> ScanResult:
        """The verdict on a scanned link: read in `session`, else on the reader's connection."""
        if session is not None:
            return authenticity.judge(
                link,
                keys=self.settings.signing_keys,
                find=lambda identifier: authenticity.find_code(session, identifier),
            )
        return authenticity.judge(link, keys=self.settings.signing_keys, find=self.reader.find)

    def count(self, result: ScanResult, client: Client, session: Session | None = None) -> None:
        """Count a judged scan (queued when scans are written behind, else in `session`)."""
        scans.count_scan(
            session,
            result,
            thresholds=self.thresholds,
            zone=self.settings.zone,
            recorder=self.recorder,
            fingerprint=fingerprint(self.settings, client.address, client.user_agent),
            place=scans.coarse_place(client.latitude, client.longitude),
        )
        metrics.SCANS.labels(result.verdict.status).inc()

    def story(self, result: ScanResult, lang: str, session: Session | None = None) -> tuple[dict, str]:
        """The lot's story and its JSON, from the cache when it is fresh."""
        assert result.code is not None
        lot_id = result.code.lot_id
        entry = self.stories.cached(lot_id=lot_id, lang=lang)
        if entry is not None:
            return entry
        if session is not None:
            return self.stories.get_with_json(session, lot_id=lot_id, lang=lang)
        with self.session_factory() as own:
            return self.stories.get_with_json(own, lot_id=lot_id, lang=lang)

    def scan_json(
        self,
        link: digital_link.DigitalLink,
        *,
        lang: str,
        client: Client,
        session: Session | None = None,
        admit: Callable[[ScanResult], bool] | None = None,
    ) -> JsonScan:
        """Judge, count and answer a JSON scan: the verdict, story, payload and headers.

        `admit`, when given, sees the verdict before anything is counted and may refuse the
        scan (the fast path leaves codes that are not ours, and spent budgets, to Flask)."""
        result = self.judge(link, session)
        if admit is not None and not admit(result):
            return JsonScan(result, None, counted=False)
        self.count(result, client, session)
        if result.code is None:
            return JsonScan(result, None, counted=True)
        story, story_json = self.story(result, lang, session)
        base_url = self.settings.public_base_url
        links = code_links(result, story, base_url)
        payload = scan_payload(result, story, links, lang, self.settings.zone)
        body = self._body(payload, story_json)
        headers = [
            ("Link", link_header(result, base_url)),
            ("Content-Language", lang),
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            *edge.PUBLIC_READ_CORS,
            ("Vary", ", ".join(NEGOTIATED_BY)),
        ]
        return JsonScan(result, JsonAnswer(body, headers), counted=True)

    def _body(self, payload: dict, story_json: str) -> bytes:
        """The app's JSON of `payload`, with the story's cached JSON (most of it) spliced in.

        The story's place is held by a marker string while the rest is dumped; JSON writes a
        NUL in any real string as \\u0000, so only the marker can match.
        """
        document = self._dumps({**payload, "story": STORY_MARKER})
        return document.replace(self._story_marker, story_json, 1).encode()


def scanner(app: Flask) -> Scanner:
    extensions = app.extensions
    if "shanhai.scanner" not in extensions:
        extensions["shanhai.scanner"] = Scanner(app)
    return extensions["shanhai.scanner"]


def story_cache(app: Flask) -> StoryCache:
    extensions = app.extensions
    if "shanhai.story_cache" not in extensions:
        settings = extensions["shanhai"].settings
        extensions["shanhai.story_cache"] = StoryCache(
            settings.scan_story_cache_seconds, dumps=app.json.dumps, zone=settings.zone
        )
    return extensions["shanhai.story_cache"]


def scan_recorder(app: Flask) -> ScanRecorder | None:
    """The process's write-behind scan recorder, when the settings ask for one."""
    current = app.extensions["shanhai"]
    if current.settings.scan_write_behind_seconds <= 0:
        return None
    extensions = app.extensions
    if "shanhai.scan_recorder" not in extensions:
        factory = current.session_factory

        def write(records, then=None) -> None:
            with app.app_context(), db.unit_of_work(factory) as session:
                scans.apply_scans(
                    session, records, thresholds=thresholds(current.settings), zone=current.settings.zone
                )
                if then is not None:  # the journal's offsets, in the same transaction
                    then(session)

        extensions["shanhai.scan_recorder"] = ScanRecorder(
            write=write,
            interval=current.settings.scan_write_behind_seconds,
            journal=scan_journal(current.settings),
        )
    return extensions["shanhai.scan_recorder"]


def scan_journal(settings: Settings) -> ScanJournal | None:
    """The journal of answered scans, in a folder of the database's own (one folder can serve
    several databases: a segment is only ever drained into the database it was meant for). The
    folder is named by the database URL without its password, which may change."""
    if not settings.scan_journal_dir:
        return None
    url = make_url(settings.database_url).render_as_string(hide_password=True)
    database = hashlib.sha256(url.encode()).hexdigest()[:16]
    return ScanJournal(Path(settings.scan_journal_dir) / database)


def thresholds(settings: Settings) -> Thresholds:
    return Thresholds(
        scan_count=settings.scan_count_threshold,
        distinct_places=settings.scan_place_threshold,
        place_window=timedelta(hours=settings.scan_place_window_hours),
    )


def raw_path_and_query(environ: dict) -> str:
    # The undecoded URI: a lot "A/B" arrives as A%2FB and must not split the path.
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        return raw
    query = environ.get("QUERY_STRING", "")
    return quote(environ.get("PATH_INFO", "")) + (f"?{query}" if query else "")


def language(requested: str | None, accept_language: str) -> str:
    """The story's language: ?lang= when it names one we write, else the Accept-Language."""
    if requested in ("zh", "en"):
        return requested
    return _language_for(accept_language)


# Phones send a handful of distinct Accept and Accept-Language headers, and parsing one costs
# more than the rest of content negotiation: the answer is kept per header value.
@functools.lru_cache(maxsize=1024)
def _language_for(accept_language: str) -> str:
    accepted = parse_accept_header(accept_language, LanguageAccept)
    return accepted.best_match(["zh", "en"], default="zh") or "zh"


@functools.lru_cache(maxsize=1024)
def _representation_for(accept: str) -> str:
    best = parse_accept_header(accept, MIMEAccept).best_match(
        ["text/html", "application/json", LINKSET_TYPE], default="text/html"
    )
    return {"application/json": "json", LINKSET_TYPE: "linkset"}.get(best or "", "html")


def wanted_representation(link_type: str | None, accept: str) -> str:
    """What to answer with: the ?linkType= asked for, else what the Accept header prefers."""
    if link_type:
        name = link_type.removeprefix("gs1:").removeprefix(GS1_VOCABULARY)
        if name in ("linkset", "all"):
            return "linkset"
        if name not in LINK_TYPES:
            raise UnknownLinkType(
                f"this resolver has no link of type {link_type!r}; it knows "
                "linkset, " + ", ".join(f"gs1:{t}" for t in LINK_TYPES)
            )
        return name
    return _representation_for(accept)


def fingerprint(settings: Settings, address: str | None, user_agent: str) -> str:
    return scans.client_fingerprint(secret=settings.secret_key, address=address or "", user_agent=user_agent)


def code_links(result: ScanResult, story: dict, base_url: str) -> dict[str, list[dict]]:
    lot_id, product_id = story["lot"]["id"], story["product"]["id"]
    anchor = digital_link.build(
        base_url, gtin=result.link.gtin, lot=result.link.lot, serial=result.link.serial
    )
    links = {
        "defaultLink": [{"href": anchor, "title": story["product"]["name"], "type": "text/html"}],
        "pip": [
            {
                "href": f"{base_url}/api/v1/products/{product_id}",
                "title": "Product information",
                "type": "application/json",
            }
        ],
        "traceability": [
            {
                "href": f"{base_url}/api/v1/lots/{lot_id}/trace.jsonld",
                "title": "EPCIS 2.0 trace",
                "type": "application/ld+json",
            }
        ],
    }
    certificate = (story.get("quality") or {}).get("certificate") or {}
    if certificate.get("url"):
        links["certificationInfo"] = [{"href": certificate["url"], "title": "Certificate"}]
    return links


def link_header(result: ScanResult, base_url: str) -> str:
    """Where the code's linkset is: its canonical URI (lot and serial percent-encoded), with
    the printed attributes and signature, which the resolver needs to answer for it."""
    link = result.link
    signature = {name: value for name, value in link.parameters.items() if name == SIGNATURE_PARAMETER}
    target = digital_link.canonical_uri(link, base_url, {**signature, "linkType": "linkset"})
    return f'<{target}>; rel="linkset"; type="{LINKSET_TYPE}"'


def message(verdict: Verdict, lang: str, zone: ZoneInfo) -> str:
    first = verdict.first_scanned_at
    when = first.astimezone(zone).strftime("%Y-%m-%d %H:%M") if first else ""
    if verdict.status == "not_genuine":
        if lang == "zh":
            return "非正品：此码不是本平台签发的。"
        return "Not genuine: this code was not issued by us."
    if verdict.status == "suspected_copy":
        return ("此码可能被复制：" if lang == "zh" else "This code may have been copied: ") + verdict.reason
    if lang == "zh":
        return f"正品，首次扫码于 {when}，已扫码 {verdict.scan_count} 次"
    return f"Genuine, first scanned on {when}, scanned {verdict.scan_count} times"


def verdict_json(verdict: Verdict, lang: str, zone: ZoneInfo) -> dict:
    return {
        "status": verdict.status,
        "genuine": verdict.genuine,
        "reason": verdict.reason,
        "message": message(verdict, lang, zone),
        "first_scanned_at": verdict.first_scanned_at.isoformat() if verdict.first_scanned_at else None,
        "scan_count": verdict.scan_count,
    }


def scan_payload(result: ScanResult, story: dict, links: dict, lang: str, zone: ZoneInfo) -> dict:
    """The JSON story of a scanned code: what `Accept: application/json` gets."""
    assert result.code is not None
    return {
        "code": {
            "gtin": result.link.gtin,
            "lot": result.link.lot,
            "serial": result.link.serial,
            "level": result.code.level.value,
            "uri": links["defaultLink"][0]["href"],
        },
        "verdict": verdict_json(result.verdict, lang, zone),
        "story": story,
        "links": links,
        "lang": lang,
    }

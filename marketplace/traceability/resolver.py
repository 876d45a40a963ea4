"""The GS1 Digital Link resolver at the root paths (/01/…): scan page, JSON, linkset, redirects."""

from __future__ import annotations

import functools
import hashlib
import math
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import Flask, Response, current_app, json, redirect, render_template, request
from sqlalchemy.engine import make_url
from werkzeug.datastructures import LanguageAccept, MIMEAccept
from werkzeug.http import parse_accept_header

from marketplace.core import db
from marketplace.core.config import Settings
from marketplace.core.http import ApiView, Blueprint, runtime
from marketplace.traceability import authenticity, digital_link, metrics
from marketplace.traceability.authenticity import ScanRecorder, ScanResult, Thresholds
from marketplace.traceability.errors import CodeNotFound, UnknownLinkType
from marketplace.traceability.journal import ScanJournal
from marketplace.traceability.service import SIGNATURE_PARAMETER
from marketplace.traceability.story import StoryCache

blp = Blueprint(
    "resolver",
    __name__,
    url_prefix="",
    template_folder="templates",
    description="GS1 Digital Link resolver: what a phone gets when it scans a code",
)

LINKSET_TYPE = "application/linkset+json"
GS1_VOCABULARY = "https://gs1.org/voc/"
LINK_TYPES = ("pip", "traceability", "certificationInfo", "defaultLink")
# Any page may read a code's story. Browsers read these on the actual response ...
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "Link, Location",
}
# ... and these only on the answer to a preflight (OPTIONS), so only that answer carries them.
CORS_PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Accept, Accept-Language",
    "Access-Control-Max-Age": "86400",
}


@blp.after_request
def add_cors_headers(response: Response) -> Response:
    response.headers.update(CORS_HEADERS)
    if request.method == "OPTIONS":
        response.headers.update(CORS_PREFLIGHT_HEADERS)
    response.vary.update(("Accept", "Accept-Language"))
    return response


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
                authenticity.apply_scans(
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
    return {"application/json": "json", LINKSET_TYPE: "linkset"}.get(best, "html")


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
    return authenticity.client_fingerprint(
        secret=settings.secret_key, address=address or "", user_agent=user_agent
    )


def code_links(result: ScanResult, story: dict, base_url: str) -> dict[str, list[dict]]:
    lot_id, product_id = story["lot"]["id"], story["product"]["id"]
    anchor = f"{base_url}/01/{result.link.gtin}/10/{quote(result.link.lot or '', safe='')}"
    if result.link.serial:
        anchor += f"/21/{quote(result.link.serial, safe='')}"
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


def _message(verdict, lang: str, zone: ZoneInfo) -> str:
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


def _verdict_json(verdict, lang: str, zone: ZoneInfo) -> dict:
    return {
        "status": verdict.status,
        "genuine": verdict.genuine,
        "reason": verdict.reason,
        "message": _message(verdict, lang, zone),
        "first_scanned_at": verdict.first_scanned_at.isoformat() if verdict.first_scanned_at else None,
        "scan_count": verdict.scan_count,
    }


def scan_payload(result: ScanResult, story: dict, links: dict, lang: str, zone: ZoneInfo) -> dict:
    """The JSON story of a scanned code: what `Accept: application/json` gets."""
    return {
        "code": {
            "gtin": result.link.gtin,
            "lot": result.link.lot,
            "serial": result.link.serial,
            "level": result.code.level.value,
            "uri": links["defaultLink"][0]["href"],
        },
        "verdict": _verdict_json(result.verdict, lang, zone),
        "story": story,
        "links": links,
        "lang": lang,
    }


@blp.route("/01/<path:rest>")
class DigitalLinkResource(ApiView):
    def get(self, rest):
        """Resolve a collaboration code: scan page, JSON story, linkset or a redirect"""
        app = current_app._get_current_object()
        settings = runtime().settings
        base_url = settings.public_base_url
        representation = wanted_representation(
            request.args.get("linkType"), request.headers.get("Accept", "")
        )
        lang = language(request.args.get("lang"), request.headers.get("Accept-Language", ""))
        session = db.session()
        counts_as_scan = request.method == "GET" and representation in ("html", "json")
        result = authenticity.check(
            session, path_and_query=raw_path_and_query(request.environ), keys=settings.signing_keys
        )
        if counts_as_scan:
            authenticity.count_scan(
                session,
                result,
                thresholds=thresholds(settings),
                zone=settings.zone,
                recorder=scan_recorder(app),
                fingerprint=fingerprint(settings, request.remote_addr, request.headers.get("User-Agent", "")),
                place=authenticity.coarse_place(request.args.get("lat"), request.args.get("lon")),
            )
            metrics.SCANS.labels(result.verdict.status).inc()
        if result.code is None:
            if representation == "html":
                body = render_template(
                    "codes/not_genuine.html",
                    lang=lang,
                    message=_message(result.verdict, lang, settings.zone),
                    link=result.link,
                )
                return Response(body, status=404, mimetype="text/html")
            raise CodeNotFound(
                f"{result.link.identifier} is not a code we issued",
                verdict=_verdict_json(result.verdict, lang, settings.zone),
            )
        story = story_cache(app).get(session, lot_id=result.code.lot_id, lang=lang)
        links = code_links(result, story, base_url)
        headers = {"Link": link_header(result, base_url)}
        if representation == "linkset":
            anchor = links["defaultLink"][0]["href"]
            body = {
                "linkset": [
                    {"anchor": anchor, **{GS1_VOCABULARY + name: targets for name, targets in links.items()}}
                ]
            }
            return Response(json.dumps(body), mimetype=LINKSET_TYPE, headers=headers)
        if representation in LINK_TYPES and representation != "defaultLink":
            if representation not in links:
                raise UnknownLinkType(f"this code has no gs1:{representation} link yet")
            return redirect(links[representation][0]["href"], code=307)
        payload = scan_payload(result, story, links, lang, settings.zone)
        headers["Content-Language"] = lang
        if representation == "json":
            return Response(json.dumps(payload), mimetype="application/json", headers=headers)
        body = render_template(
            "codes/scan.html",
            lang=lang,
            data=payload,
            map=village_map(story["village"], settings.map_tile_url),
        )
        return Response(body, mimetype="text/html", headers=headers)


@blp.route("/.well-known/gs1resolver")
class ResolverDescription(ApiView):
    @blp.doc(
        responses={
            "200": {
                "description": "the GS1 resolver description file",
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        }
    )
    def get(self):
        """Describe this resolver (GS1 resolver description file)"""
        base_url = runtime().settings.public_base_url
        return {
            "name": "Shanhai 山海 collaboration-code resolver",
            "resolverRoot": base_url,
            "supportedPrimaryKeys": ["01"],
            "supportedLinkTypes": [
                {"namespace": GS1_VOCABULARY, "prefix": "gs1:", "profile": name} for name in LINK_TYPES
            ],
            "linkTypeDefaultCanBeLinkset": True,
            "supportedContextValuesEnumerated": {"lang": ["zh", "en"]},
            "validatesAIs": True,
            "signature": "query parameter s=<key id>.<truncated HMAC-SHA256, base64url>",
        }


def village_map(village: dict, tile_url: str) -> dict:
    """An offline map: the village on a 0.1° graticule; a tile server only when one is set."""
    lat, lon = village["latitude"], village["longitude"]
    span = 0.5
    west, north = lon - span / 2, lat + span / 2
    ticks = [round(math.floor((west + i * 0.1) * 10) / 10, 1) for i in range(7)]
    lat_ticks = [round(math.floor((north - i * 0.1) * 10) / 10, 1) for i in range(7)]
    to_x = lambda value: (value - west) / span * 300  # noqa: E731
    to_y = lambda value: (north - value) / span * 300  # noqa: E731
    tile = None
    if tile_url:
        zoom = 12
        scale = 2**zoom
        x = (lon + 180) / 360 * scale
        y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * scale
        tile = {
            "url": tile_url.format(z=zoom, x=int(x), y=int(y)),
            "left": (x - int(x)) * 100,
            "top": (y - int(y)) * 100,
        }
    return {
        "meridians": [(t, to_x(t)) for t in ticks if 0 <= to_x(t) <= 300],
        "parallels": [(t, to_y(t)) for t in lat_ticks if 0 <= to_y(t) <= 300],
        "x": to_x(lon),
        "y": to_y(lat),
        "tile": tile,
    }

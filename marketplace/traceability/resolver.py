"""The GS1 Digital Link resolver at the root paths (/01/…): scan page, JSON, linkset, redirects."""

from __future__ import annotations

import math

from flask import Response, current_app, json, redirect, render_template, request
from flask.typing import ResponseReturnValue

from marketplace.core import db, edge
from marketplace.core.http import ApiView, Blueprint, runtime
from marketplace.core.security import limit_blueprint
from marketplace.traceability import digital_link, scanning
from marketplace.traceability.errors import CodeNotFound, UnknownLinkType
from marketplace.traceability.scanning import GS1_VOCABULARY, LINK_TYPES, LINKSET_TYPE, SCAN_RULE

blp = Blueprint(
    "resolver",
    __name__,
    url_prefix="",
    template_folder="templates",
    description="GS1 Digital Link resolver: what a phone gets when it scans a code",
)
# Per phone or network: a viral product scanned by a whole town still gets through. The fast
# path in front of Flask spends the same budget, through the same edge.
limit_blueprint(blp, lambda settings: settings.scan_rate_limit)


@blp.after_request
def add_cors_headers(response: Response) -> Response:
    response.headers.update(edge.PUBLIC_READ_CORS)
    if request.method == "OPTIONS":
        response.headers.update(edge.PUBLIC_READ_PREFLIGHT)
    response.vary.update(scanning.NEGOTIATED_BY)
    return response


@blp.route(SCAN_RULE)
class DigitalLinkResource(ApiView):
    def get(self, rest: str) -> ResponseReturnValue:
        """Resolve a collaboration code: scan page, JSON story, linkset or a redirect"""
        scanner = scanning.scanner(current_app._get_current_object())  # type: ignore[attr-defined]
        settings = runtime().settings
        base_url = settings.public_base_url
        representation = scanning.wanted_representation(
            request.args.get("linkType"), request.headers.get("Accept", "")
        )
        lang = scanning.language(request.args.get("lang"), request.headers.get("Accept-Language", ""))
        session = db.session()
        link = digital_link.parse_path(scanning.raw_path_and_query(request.environ))
        client = scanning.Client(
            request.remote_addr,
            request.headers.get("User-Agent", ""),
            request.args.get("lat"),
            request.args.get("lon"),
        )
        if request.method == "GET" and representation == "json":
            scan = scanner.scan_json(link, lang=lang, client=client, session=session)
            if scan.answer is not None:
                return Response(scan.answer.body, headers=scan.answer.headers)
            result = scan.result
        else:
            result = scanner.judge(link, session)
            if request.method == "GET" and representation == "html":
                scanner.count(result, client, session)
        if result.code is None:
            if representation == "html":
                body = render_template(
                    "codes/not_genuine.html",
                    lang=lang,
                    message=scanning.message(result.verdict, lang, settings.zone),
                    link=result.link,
                )
                return Response(body, status=404, mimetype="text/html")
            raise CodeNotFound(
                f"{result.link.identifier} is not a code we issued",
                verdict=scanning.verdict_json(result.verdict, lang, settings.zone),
            )
        story, _ = scanner.story(result, lang, session)
        links = scanning.code_links(result, story, base_url)
        headers = {"Link": scanning.link_header(result, base_url)}
        if representation == "linkset":
            anchor = links["defaultLink"][0]["href"]
            linkset = {
                "linkset": [
                    {"anchor": anchor, **{GS1_VOCABULARY + name: targets for name, targets in links.items()}}
                ]
            }
            return Response(json.dumps(linkset), mimetype=LINKSET_TYPE, headers=headers)
        if representation in LINK_TYPES and representation != "defaultLink":
            if representation not in links:
                raise UnknownLinkType(f"this code has no gs1:{representation} link yet")
            return redirect(links[representation][0]["href"], code=307)
        payload = scanning.scan_payload(result, story, links, lang, settings.zone)
        headers["Content-Language"] = lang
        if representation == "json":  # HEAD: what GET would answer, uncounted
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

"""GS1 Digital Link URIs keyed by GTIN (AI 01): a strict parser and a builder.

Follows the GS1 Digital Link standard 1.x and the behaviour of GS1's own syntax engine for the
GTIN-keyed subset that Shanhai prints: path qualifiers 22 → 10 → 21 (or 235), data attributes
in the query string, AI values percent-decoded and checked against their GS1 format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from catalog import gtin as gtin_rules
from marketplace.traceability.errors import MalformedDigitalLink

# GS1 AI encodable character set 82 (General Specifications §7.11, figure 7.11-1).
CSET82 = re.compile(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]+")
DIGITS = re.compile(r"[0-9]+")
UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
SCHEME = re.compile(r"^(https?|HTTPS?)://([^/?#]*)(.*)$")
HOST = re.compile(r"^([A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$")


@dataclass(frozen=True)
class AiRule:
    title: str
    pattern: re.Pattern
    max_length: int
    fixed: bool = False
    date: bool = False


def _numeric(length: int, *, fixed: bool = True, date_value: bool = False, title: str) -> AiRule:
    return AiRule(title, DIGITS, length, fixed=fixed, date=date_value)


AI_RULES: dict[str, AiRule] = {
    "01": _numeric(14, title="GTIN"),
    "22": AiRule("CPV", CSET82, 20),
    "10": AiRule("BATCH/LOT", CSET82, 20),
    "21": AiRule("SERIAL", CSET82, 20),
    "235": AiRule("TPX", CSET82, 28),
    "11": _numeric(6, date_value=True, title="PROD DATE"),
    "13": _numeric(6, date_value=True, title="PACK DATE"),
    "15": _numeric(6, date_value=True, title="BEST BEFORE"),
    "16": _numeric(6, date_value=True, title="SELL BY"),
    "17": _numeric(6, date_value=True, title="USE BY OR EXPIRY"),
    "30": _numeric(8, fixed=False, title="VAR. COUNT"),
    "37": _numeric(8, fixed=False, title="COUNT"),
    "7007": _numeric(12, fixed=False, title="HARVEST DATE"),
    **{f"310{d}": _numeric(6, title="NET WEIGHT (kg)") for d in range(6)},
    **{f"392{d}": _numeric(15, fixed=False, title="PRICE") for d in range(10)},
    **{str(ai): AiRule("INTERNAL", CSET82, 90) for ai in range(91, 100)},
}
# Qualifier paths allowed after the GTIN, in the only order the standard accepts.
QUALIFIER_PATHS = (("22", "10", "21"), ("235",))
PATH_ONLY = {"01", "22", "10", "21", "235"}


@dataclass(frozen=True)
class DigitalLink:
    gtin: str
    lot: str | None = None
    serial: str | None = None
    cpv: str | None = None
    tpx: str | None = None
    attributes: tuple[tuple[str, str], ...] = ()
    # Query parameters that are not AIs (for us: the signature), kept for the caller.
    parameters: dict[str, str] = field(default_factory=dict)

    @property
    def path_elements(self) -> list[tuple[str, str]]:
        pairs = [
            ("01", self.gtin),
            ("22", self.cpv),
            ("10", self.lot),
            ("21", self.serial),
            ("235", self.tpx),
        ]
        return [(ai, value) for ai, value in pairs if value is not None]

    def element_string(self) -> str:
        """The GS1 element string, "^" standing for FNC1, as GS1's syntax engine prints it."""
        out = "^"
        elements = self.path_elements + list(self.attributes)
        for index, (ai, value) in enumerate(elements):
            out += ai + value
            if not AI_RULES[ai].fixed and index < len(elements) - 1:
                out += "^"
        return out

    @property
    def identifier(self) -> str:
        """The canonical key of one code: GTIN, lot and serial without attributes."""
        return "".join(f"({ai}){value}" for ai, value in self.path_elements)

    def attribute(self, ai: str) -> str | None:
        return dict(self.attributes).get(ai)


def parse(uri: str) -> DigitalLink:
    """Parse a whole GS1 Digital Link URI; raises MalformedDigitalLink naming what is wrong."""
    match = SCHEME.match(uri)
    if not match:
        raise MalformedDigitalLink("a Digital Link starts with http:// or https://")
    host, rest = match.group(2), match.group(3)
    if not host or not HOST.match(host):
        raise MalformedDigitalLink(f"{host!r} is not a host name")
    return parse_path(rest)


def parse_path(path_and_query: str) -> DigitalLink:
    """Parse the path (with its optional stem) and query of a Digital Link."""
    without_fragment = path_and_query.split("#", 1)[0]
    path, _, query = without_fragment.partition("?")
    if not path.startswith("/") or path.endswith("/"):
        raise MalformedDigitalLink("the path must start with / and must not end with /")
    segments = path[1:].split("/")
    start = _primary_key_position(segments)
    pairs = segments[start:]
    elements: list[tuple[str, str]] = []
    for index in range(0, len(pairs), 2):
        ai, raw = pairs[index], pairs[index + 1]
        if ai not in AI_RULES:
            raise MalformedDigitalLink(f"({ai}) is not a known GS1 application identifier")
        elements.append((ai, _checked(ai, unescape(raw, query=False))))
    path_ais = [ai for ai, _ in elements]
    qualifiers = tuple(path_ais[1:])
    if not any(_is_ordered_subsequence(qualifiers, allowed) for allowed in QUALIFIER_PATHS):
        raise MalformedDigitalLink(
            f"qualifiers /{'/'.join(qualifiers)} are not allowed after a "
            "GTIN; the order is 22, 10, 21 (or 235 alone)"
        )
    attributes, parameters = _parse_query(query)
    seen = set(path_ais)
    for ai, _ in attributes:
        if ai in seen:
            raise MalformedDigitalLink(f"({ai}) appears twice")
        seen.add(ai)
        if ai in PATH_ONLY and not ("235" in path_ais and ai in {"10", "21", "22"}):
            raise MalformedDigitalLink(f"({ai}) belongs in the path, not in the query string")
    values = dict(elements)
    return DigitalLink(
        gtin=values["01"],
        lot=values.get("10"),
        serial=values.get("21"),
        cpv=values.get("22"),
        tpx=values.get("235"),
        attributes=tuple(attributes),
        parameters=parameters,
    )


def _primary_key_position(segments: list[str]) -> int:
    # The stem may contain anything, even "01": the rightmost GTIN that leaves AI/value pairs wins.
    for index in range(len(segments) - 2, -1, -1):
        if segments[index] == "01" and (len(segments) - index) % 2 == 0:
            return index
    raise MalformedDigitalLink("the path holds no GTIN key: expected /01/{GTIN}")


def _is_ordered_subsequence(found: tuple[str, ...], allowed: tuple[str, ...]) -> bool:
    position = 0
    for ai in found:
        try:
            position = allowed.index(ai, position) + 1
        except ValueError:
            return False
    return True


def _parse_query(query: str) -> tuple[list[tuple[str, str]], dict[str, str]]:
    attributes: list[tuple[str, str]] = []
    parameters: dict[str, str] = {}
    for item in query.split("&"):
        if not item:
            continue
        name, has_value, raw = item.partition("=")
        if DIGITS.fullmatch(name):
            if name not in AI_RULES:
                raise MalformedDigitalLink(f"({name}) is not a known GS1 application identifier")
            if not has_value or not raw:
                raise MalformedDigitalLink(f"({name}) has no value")
            attributes.append((name, _checked(name, unescape(raw, query=True))))
        elif name:
            parameters.setdefault(name, unescape(raw, query=True))
    return attributes, parameters


def _checked(ai: str, value: str) -> str:
    rule = AI_RULES[ai]
    if not value:
        raise MalformedDigitalLink(f"({ai}) {rule.title} is empty")
    if len(value) > rule.max_length or (rule.fixed and len(value) != rule.max_length):
        size = f"exactly {rule.max_length}" if rule.fixed else f"at most {rule.max_length}"
        raise MalformedDigitalLink(f"({ai}) {rule.title} must have {size} characters")
    if not rule.pattern.fullmatch(value):
        raise MalformedDigitalLink(f"({ai}) {rule.title} holds characters outside its GS1 character set")
    if ai == "01" and not gtin_rules.is_valid(value):
        raise MalformedDigitalLink(f"(01) {value} fails its GTIN check digit")
    if rule.date and not _is_gs1_date(value):
        raise MalformedDigitalLink(f"({ai}) {value} is not a YYMMDD date")
    if ai == "7007" and not (
        len(value) in (6, 12)
        and all(_is_gs1_date(value[i : i + 6], allow_zero_day=False) for i in range(0, len(value), 6))
    ):
        raise MalformedDigitalLink(f"(7007) {value} is not a YYMMDD harvest date or range")
    return value


def _is_gs1_date(value: str, *, allow_zero_day: bool = True) -> bool:
    year, month, day = int(value[:2]), int(value[2:4]), int(value[4:6])
    if day == 0 and allow_zero_day:
        day = 1
    try:
        date(2000 + year, month, day)
    except ValueError:
        return False
    return True


def unescape(value: str, *, query: bool) -> str:
    """Percent-decode one component; "+" is a space only in the query string."""
    if query:
        value = value.replace("+", " ")
    if "%" not in value:
        return value
    out = bytearray()
    index = 0
    while index < len(value):
        char = value[index]
        hex_pair = value[index + 1 : index + 3]
        if char == "%" and len(hex_pair) == 2 and all(c in "0123456789abcdefABCDEF" for c in hex_pair):
            byte = int(hex_pair, 16)
            if byte == 0:
                raise MalformedDigitalLink("a value contains %00")
            out.append(byte)
            index += 3
        else:
            out.extend(char.encode())
            index += 1
    try:
        return out.decode()
    except UnicodeDecodeError as error:
        raise MalformedDigitalLink("a value is not UTF-8 once percent-decoded") from error


def escape(value: str, *, query: bool) -> str:
    """Percent-encode one component as GS1's syntax engine does: only unreserved stay bare."""
    if UNRESERVED.issuperset(value):  # most lots and every serial we mint
        return value
    out = []
    for char in value:
        if char in UNRESERVED:
            out.append(char)
        elif char == " " and query:
            out.append("+")
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode())
    return "".join(out)


def build(
    base_url: str,
    *,
    gtin: str,
    lot: str | None = None,
    serial: str | None = None,
    cpv: str | None = None,
    attributes: list[tuple[str, str]] | tuple = (),
    parameters: dict[str, str] | None = None,
) -> str:
    """Build a canonical Digital Link; every value is checked as the parser would check it."""
    for ai, _value in attributes:
        if ai not in AI_RULES or ai in PATH_ONLY:
            raise MalformedDigitalLink(f"({ai}) cannot be a data attribute of a GTIN")
    link = DigitalLink(
        gtin=_checked("01", gtin),
        lot=lot and _checked("10", lot),
        serial=serial and _checked("21", serial),
        cpv=cpv and _checked("22", cpv),
        attributes=tuple((ai, _checked(ai, value)) for ai, value in attributes),
    )
    return canonical_uri(link, base_url, parameters)


def canonical_uri(link: DigitalLink, base_url: str, parameters: dict[str, str] | None = None) -> str:
    """The canonical URI of a link whose values are already checked (built or parsed)."""
    path = "".join(f"/{ai}/{escape(value, query=False)}" for ai, value in link.path_elements)
    seen: set[str] = {ai for ai, _ in link.path_elements}
    ordered = []
    # Fixed-length attributes first, each AI once, as GS1's generator emits them.
    for fixed in (True, False):
        for ai, value in link.attributes:
            if AI_RULES[ai].fixed is fixed and ai not in seen:
                seen.add(ai)
                ordered.append(f"{ai}={escape(value, query=True)}")
    ordered.extend(f"{name}={escape(value, query=True)}" for name, value in (parameters or {}).items())
    return base_url.rstrip("/") + path + ("?" + "&".join(ordered) if ordered else "")

"""The Digital Link parser and builder against GS1's own syntax-engine vectors, and our rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from marketplace.traceability import digital_link
from marketplace.traceability.errors import MalformedDigitalLink

VECTORS = json.loads((Path(__file__).parent / "gs1_vectors.json").read_text())
PATH_KEYS = {"01": "gtin", "10": "lot", "21": "serial", "22": "cpv"}


@pytest.mark.parametrize(("uri", "element_string"), VECTORS["parse"])
def test_gs1_parse_vectors_give_the_engines_element_string(uri, element_string):
    assert digital_link.parse(uri).element_string() == element_string


@pytest.mark.parametrize(("uri", "why"), VECTORS["parse_errors"])
def test_gs1_invalid_uris_are_refused(uri, why):
    with pytest.raises(MalformedDigitalLink):
        digital_link.parse(uri)


@pytest.mark.parametrize(("uri", "element_string"), VECTORS["other_primary_keys"])
def test_uris_keyed_by_something_other_than_a_gtin_are_out_of_scope_and_refused(uri, element_string):
    with pytest.raises(MalformedDigitalLink, match="GTIN"):
        digital_link.parse(uri)


def _build(stem, elements):
    kwargs, attributes = {}, []
    for ai, value in elements:
        if ai in PATH_KEYS and PATH_KEYS[ai] not in kwargs:
            kwargs[PATH_KEYS[ai]] = value
        elif ai not in PATH_KEYS:
            attributes.append((ai, value))
    return digital_link.build(stem, attributes=attributes, **kwargs)


@pytest.mark.parametrize(("stem", "elements", "uri"), VECTORS["build"])
def test_gs1_build_vectors_give_the_engines_uri(stem, elements, uri):
    assert _build(stem, elements) == uri


@pytest.mark.parametrize(("stem", "elements", "why"), VECTORS["build_errors"])
def test_gs1_build_errors_are_refused(stem, elements, why):
    with pytest.raises(MalformedDigitalLink):
        _build(stem, elements)


@pytest.mark.parametrize(("raw", "path", "query"), VECTORS["escape"])
def test_percent_encoding_matches_the_engine(raw, path, query):
    assert digital_link.escape(raw, query=False) == path
    assert digital_link.escape(raw, query=True) == query


@pytest.mark.parametrize(("raw", "path", "query"), VECTORS["unescape"])
def test_percent_decoding_matches_the_engine(raw, path, query):
    assert digital_link.unescape(raw, query=False) == path
    assert digital_link.unescape(raw, query=True) == query


def test_a_nul_byte_is_never_decoded():
    with pytest.raises(MalformedDigitalLink):
        digital_link.unescape("A%00B", query=False)


@pytest.mark.parametrize(
    "uri",
    [
        "https://s.test/01/09520123456789/10/ABC",  # check digit
        "https://s.test/01/0952012345678/10/ABC",  # 13 digits
        "https://s.test/01/09520123456788/21/X/10/ABC",  # 21 before 10
        "https://s.test/01/09520123456788/10/ABC/22/X",  # 22 after 10
        "https://s.test/01/09520123456788/10/ABC/10/DEF",  # 10 twice
        "https://s.test/01/09520123456788/10/" + "A" * 21,  # lot longer than 20
        "https://s.test/01/09520123456788/21/" + "9" * 21,  # serial longer than 20
        "https://s.test/01/09520123456788/10/AB%20C",  # space is not in CSET 82
        "https://s.test/01/09520123456788/10/%E5%B1%B1",  # 山 is not in CSET 82
        "https://s.test/01/09520123456788/10/ABC?17=261340",  # month 13
        "https://s.test/01/09520123456788/10/ABC?7007=2604",  # harvest date too short
        "https://s.test/01/09520123456788/10/ABC?17=260101&17=260102",
    ],
)
def test_strict_rules_refuse_what_gs1_forbids(uri):
    with pytest.raises(MalformedDigitalLink):
        digital_link.parse(uri)


def test_expiry_and_harvest_date_ride_in_the_query_string():
    uri = digital_link.build(
        "https://s.test",
        gtin="09520123456788",
        lot="L1",
        serial="S1",
        attributes=[("7007", "260401"), ("17", "261231")],
    )
    # Fixed-length AIs (17) come first, as GS1's generator emits them.
    assert uri == "https://s.test/01/09520123456788/10/L1/21/S1?17=261231&7007=260401"
    link = digital_link.parse(uri)
    assert link.attribute("7007") == "260401" and link.attribute("17") == "261231"


def test_a_lot_with_a_slash_round_trips_percent_encoded():
    uri = digital_link.build("https://s.test", gtin="09520123456788", lot="2026/04")
    assert uri == "https://s.test/01/09520123456788/10/2026%2F04"
    assert digital_link.parse(uri).lot == "2026/04"


def test_the_builder_refuses_values_the_parser_would_refuse():
    with pytest.raises(MalformedDigitalLink):
        digital_link.build("https://s.test", gtin="09520123456789")
    with pytest.raises(MalformedDigitalLink):
        digital_link.build("https://s.test", gtin="09520123456788", lot="A" * 21)

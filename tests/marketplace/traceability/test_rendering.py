"""Every rendered QR decodes back to exactly its URI with a real decoder (zxing-cpp)."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw

from marketplace.traceability import rendering
from marketplace.traceability.rendering import Label

zxingcpp = pytest.importorskip("zxingcpp")

URIS = [
    "http://shanhai.test/01/06970000000017/10/LOT1/21/W84ARKXADQBZ?7007=260401&s=k2.Lg_FPKeJR4Hl",
    "https://shanhai.example.cn/01/06970000000017/10/2026%2F04-A?7007=260401&s=d1.AbCdEfGhIjKl",
]


def logo_png() -> bytes:
    # A busy, high-contrast logo: the hardest case for the decoder.
    image = Image.new("RGBA", (200, 200), (46, 139, 87, 255))
    draw = ImageDraw.Draw(image)
    for offset in range(0, 200, 20):
        draw.rectangle((offset, 0, offset + 9, 199), fill=(0, 0, 0, 255))
    draw.ellipse((40, 40, 160, 160), fill=(255, 215, 0, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def decoded(image: Image.Image) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(image.convert("L"))]


@pytest.mark.parametrize("uri", URIS)
@pytest.mark.parametrize("with_logo", [False, True])
def test_a_png_qr_decodes_to_exactly_its_uri(uri, with_logo):
    png = rendering.render_png(uri, size=400, logo_png=logo_png() if with_logo else None)
    image = Image.open(io.BytesIO(png))
    assert decoded(image) == [uri]


def test_the_png_uses_error_correction_h_and_a_four_module_quiet_zone():
    uri = URIS[0]
    image = Image.open(io.BytesIO(rendering.render_png(uri, size=400))).convert("L")
    matrix = rendering.qr_matrix(uri)
    modules = len(matrix)
    scale = image.width // modules
    assert image.width == modules * scale
    # The first four modules of every side are light.
    for position in range(4 * scale):
        assert image.getpixel((position, image.height // 2)) == 255
        assert image.getpixel((image.width // 2, position)) == 255
    result = zxingcpp.read_barcodes(image)[0]
    assert result.ec_level == "H"


@pytest.mark.parametrize("size", [128, 300, 1024])
def test_the_png_is_about_the_chosen_size(size):
    image = Image.open(io.BytesIO(rendering.render_png(URIS[0], size=size)))
    assert size * 0.8 <= image.width <= size


@pytest.mark.parametrize("with_logo", [False, True])
def test_an_svg_qr_rasterised_by_cairo_decodes_to_exactly_its_uri(with_logo):
    try:
        import cairosvg
    except (ImportError, OSError) as error:  # OSError: the cairo C library is missing
        pytest.skip(f"cairosvg cannot rasterise here: {error}")
    svg = rendering.render_svg(URIS[1], size=400, logo_png=logo_png() if with_logo else None)
    assert svg.count("<image") == (1 if with_logo else 0)
    png = cairosvg.svg2png(bytestring=svg.encode(), output_width=600, output_height=600)
    assert decoded(Image.open(io.BytesIO(png))) == [URIS[1]]


def test_every_label_of_a_pdf_sheet_decodes_to_its_own_uri():
    pdfium = pytest.importorskip("pypdfium2")
    uris = [
        f"http://shanhai.test/01/06970000000017/10/LOT1/21/SER{n:09d}?7007=260401&s=k2.x{n:011d}"
        for n in range(25)
    ]
    labels = [
        Label(uri=uri, product="西湖龙井 明前特级", lot="LOT1", serial=uri.split("/21/")[1][:12])
        for uri in uris
    ]
    pdf = b"".join(rendering.label_sheet_pdf(labels, logo_png=logo_png()))
    assert pdf.startswith(b"%PDF")
    document = pdfium.PdfDocument(pdf)
    assert len(document) == 2
    found = []
    for page in document:
        bitmap = page.render(scale=300 / 72).to_pil()
        found.extend(decoded(bitmap))
    assert sorted(found) == sorted(uris)

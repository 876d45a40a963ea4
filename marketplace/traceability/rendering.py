"""QR images (PNG, SVG) with the brand's logo in the centre, and A4 label sheets as PDF."""

from __future__ import annotations

import base64
import io
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import qrcode
from PIL import Image
from qrcode.constants import ERROR_CORRECT_H

from marketplace.core.pdf import register_cjk_font

QUIET_ZONE = 4
# The logo covers at most this share of the symbol's width: about 5 % of its area, well inside
# the 30 % that error correction H restores.
LOGO_SHARE = 0.22
MIN_SIZE, MAX_SIZE = 64, 4096


def qr_matrix(uri: str) -> list[list[bool]]:
    """The modules of the symbol, quiet zone included."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_H, border=QUIET_ZONE)
    code.add_data(uri.encode())
    code.make(fit=True)
    return code.get_matrix()


def render_png(uri: str, *, size: int = 512, logo_png: bytes | None = None) -> bytes:
    """A square PNG of about `size` pixels, whole pixels per module so that edges stay sharp."""
    image = _qr_bitmap(qr_matrix(uri), size=size).convert("RGB")
    if logo_png:
        _paste_logo(image, logo_png)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _paste_logo(image: Image.Image, logo_png: bytes) -> None:
    side = int(image.width * LOGO_SHARE)
    with Image.open(io.BytesIO(logo_png)) as source:
        logo = source.convert("RGBA")
    logo.thumbnail((side, side), Image.Resampling.LANCZOS)
    pad = max(2, side // 12)
    plate = Image.new("RGB", (logo.width + 2 * pad, logo.height + 2 * pad), "white")
    plate.paste(logo, (pad, pad), logo)
    image.paste(plate, ((image.width - plate.width) // 2, (image.height - plate.height) // 2))


def render_svg(uri: str, *, size: int = 512, logo_png: bytes | None = None) -> str:
    """The same symbol as one SVG path, one unit per module; the logo rides as an embedded PNG."""
    matrix = qr_matrix(uri)
    modules = len(matrix)
    runs = []
    for y, row in enumerate(matrix):
        x = 0
        while x < modules:
            if row[x]:
                start = x
                while x < modules and row[x]:
                    x += 1
                runs.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    logo = ""
    if logo_png:
        side = modules * LOGO_SHARE
        with Image.open(io.BytesIO(logo_png)) as source:
            ratio = source.height / source.width
        width, height = (side, side * ratio) if ratio <= 1 else (side / ratio, side)
        pad = side / 12
        x0, y0 = (modules - width) / 2, (modules - height) / 2
        encoded = base64.b64encode(logo_png).decode()
        logo = (
            f'<rect x="{x0 - pad:.3f}" y="{y0 - pad:.3f}" width="{width + 2 * pad:.3f}" '
            f'height="{height + 2 * pad:.3f}" fill="#fff"/>'
            f'<image x="{x0:.3f}" y="{y0:.3f}" width="{width:.3f}" height="{height:.3f}" '
            f'href="data:image/png;base64,{encoded}" '
            f'xlink:href="data:image/png;base64,{encoded}"/>'
        )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'width="{size}" height="{size}" viewBox="0 0 {modules} {modules}" '
        f'shape-rendering="crispEdges"><title>{_xml(uri)}</title>'
        f'<rect width="{modules}" height="{modules}" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(runs)}"/>{logo}</svg>'
    )


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass
class Label:
    uri: str
    product: str
    lot: str
    serial: str | None


# A4 in points; a 3 × 7 grid of 60 mm × 37 mm labels, a common sticker sheet.
COLUMNS, ROWS = 3, 7


def label_sheet_pdf(
    labels: Iterable[Label], *, logo_png: bytes | None = None, title: str = "Shanhai labels"
) -> Iterator[bytes]:
    """Render labels onto A4 pages and stream the PDF in chunks.

    Each QR is drawn as a 1-bit image (a few hundred bytes), so 100,000 labels stay small; the
    document is spooled to a temporary file rather than held in memory.
    """
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    font = register_cjk_font()
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - read out and closed below
    pdf = canvas.Canvas(spool, pagesize=A4, pageCompression=1)
    pdf.setTitle(title)
    page_width, page_height = A4
    cell_width, cell_height = 60 * mm, 37 * mm
    margin_x = (page_width - COLUMNS * cell_width) / 2
    margin_y = (page_height - ROWS * cell_height) / 2
    qr_side = 33 * mm
    logo_reader = ImageReader(io.BytesIO(logo_png)) if logo_png else None
    for index, label in enumerate(labels):
        if index and index % (COLUMNS * ROWS) == 0:
            pdf.showPage()
        slot = index % (COLUMNS * ROWS)
        column, row = slot % COLUMNS, slot // COLUMNS
        x = margin_x + column * cell_width
        y = page_height - margin_y - (row + 1) * cell_height
        qr_x, qr_y = x + 2 * mm, y + (cell_height - qr_side) / 2
        # Four pixels a module keep viewers that smooth images from blurring module edges.
        bitmap = _qr_bitmap(qr_matrix(label.uri), pixels_per_module=4)
        pdf.drawImage(ImageReader(bitmap), qr_x, qr_y, qr_side, qr_side)
        if logo_reader is not None:
            side = qr_side * LOGO_SHARE
            pad = side / 12
            pdf.setFillColorRGB(1, 1, 1)
            pdf.rect(
                qr_x + (qr_side - side) / 2 - pad,
                qr_y + (qr_side - side) / 2 - pad,
                side + 2 * pad,
                side + 2 * pad,
                stroke=0,
                fill=1,
            )
            pdf.drawImage(
                logo_reader,
                qr_x + (qr_side - side) / 2,
                qr_y + (qr_side - side) / 2,
                side,
                side,
                mask="auto",
                preserveAspectRatio=True,
            )
            pdf.setFillColorRGB(0, 0, 0)
        text_x = qr_x + qr_side + 1.5 * mm
        pdf.setFont(font, 7)
        pdf.drawString(text_x, y + cell_height - 9 * mm, label.product[:14])
        pdf.setFont("Helvetica", 6.5)
        pdf.drawString(text_x, y + cell_height - 15 * mm, f"LOT {label.lot}")
        if label.serial:
            pdf.drawString(text_x, y + cell_height - 20 * mm, f"SN {label.serial}")
    pdf.save()
    spool.seek(0)
    while chunk := spool.read(64 * 1024):
        yield chunk
    spool.close()


def _qr_bitmap(
    matrix: list[list[bool]], *, size: int | None = None, pixels_per_module: int | None = None
) -> Image.Image:
    """The symbol as a 1-bit image: whole pixels a module, as many as fit in `size` (at least one)."""
    modules = len(matrix)
    scale = pixels_per_module or max(1, (size or modules) // modules)
    image = Image.new("1", (modules, modules), 1)
    pixels = image.load()
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                pixels[x, y] = 0  # type: ignore[index]  # load() is None only for an image without pixel data
    return image.resize((modules * scale, modules * scale), Image.Resampling.NEAREST)

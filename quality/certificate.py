"""The certificate as a one-page PDF in the 食用农产品承诺达标合格证 form.

The Chinese text uses ReportLab's built-in STSong-Light CID font: it needs no font file on the
server, and PDF readers supply the glyphs.
"""

from __future__ import annotations

import io

from reportlab.lib.pagesizes import A5
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from marketplace.core.pdf import CJK_FONT, register_cjk_font
from quality.grading import fmt
from quality.models import CERTIFICATE_BASES, Certificate


def certificate_fields(certificate: Certificate) -> list[tuple[str, str]]:
    """The form's rows, in order: shared by the PDF and the tests that read it back."""
    grade = certificate.grade
    standard = grade.standard
    ticked = [f"√{CERTIFICATE_BASES[key]}" for key in certificate.basis]
    return [
        ("编号 No.", certificate.number),
        ("食用农产品名称 Product", certificate.product_name),
        ("数量(重量) Quantity", f"{fmt(certificate.quantity)} {certificate.unit}"),
        ("产地 Origin", certificate.origin),
        ("生产者 Producer", certificate.producer),
        ("联系方式 Contact", certificate.contact_phone),
        ("开具日期 Issued on", certificate.issued_on.isoformat()),
        ("承诺依据 Basis", " ".join(ticked)),
        ("等级 Grade", f"{grade.grade_code}"),
        ("标准及版本 Standard", f"{standard.code}-{standard.version} {standard.title_zh}"),
        ("批次 Lot", certificate.lot.lot_code),
    ]


def render_pdf(certificate: Certificate) -> bytes:
    register_cjk_font()
    out = io.BytesIO()
    width, height = A5
    # invariant: the same certificate renders to the same bytes.
    page = canvas.Canvas(out, pagesize=A5, invariant=1)
    page.setTitle(f"承诺达标合格证 {certificate.number}")
    page.setFont(CJK_FONT, 16)
    page.drawCentredString(width / 2, height - 20 * mm, "食用农产品承诺达标合格证")
    page.setFont(CJK_FONT, 9)
    page.drawCentredString(width / 2, height - 26 * mm, "Certificate of commitment to compliance")
    y = height - 38 * mm
    for label, value in certificate_fields(certificate):
        page.setFont(CJK_FONT, 9)
        page.drawString(12 * mm, y, label)
        page.setFont(CJK_FONT, 10)
        for line in _wrap(value, 24):
            page.drawString(50 * mm, y, line)
            y -= 5.5 * mm
        y -= 1.5 * mm
    y -= 3 * mm
    page.setFont(CJK_FONT, 9)
    page.drawString(12 * mm, y, "承诺声明 Commitment")
    y -= 5.5 * mm
    for line in _wrap(certificate.commitment, 34):
        page.drawString(12 * mm, y, line)
        y -= 5 * mm
    page.showPage()
    page.save()
    return out.getvalue()


def _wrap(text: str, width: int) -> list[str]:
    """Lines of at most `width` Chinese characters; a Latin character counts as half of one."""
    lines, line, used = [], "", 0.0
    for char in text:
        size = 0.5 if char.isascii() else 1.0
        if used + size > width:
            lines.append(line)
            line, used = "", 0.0
        line += char
        used += size
    return [*lines, line] if line or not lines else lines

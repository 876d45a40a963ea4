"""What every PDF we render shares: the font that writes Chinese."""

from __future__ import annotations

from functools import cache

# ReportLab's built-in CID font: it needs no font file on the server, and PDF readers supply
# the glyphs.
CJK_FONT = "STSong-Light"


@cache
def register_cjk_font() -> str:
    """Register CJK_FONT with ReportLab (once a process) and return its name."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    return CJK_FONT

"""Brand logos: checked by content, not by name, and normalised to one square-bounded PNG."""

from __future__ import annotations

import hashlib
import io
import warnings

from PIL import Image, UnidentifiedImageError

from catalog.errors import LogoTooLarge, UnsupportedLogo

ACCEPTED_FORMATS = {"PNG", "JPEG", "WEBP", "GIF"}
MAX_SIDE = 512
MAX_SOURCE_PIXELS = 40_000_000


def normalise_logo(data: bytes, *, max_bytes: int) -> tuple[bytes, str]:
    """Return the logo as an RGBA PNG at most 512 px on its longer side, and its SHA-256."""
    if len(data) > max_bytes:
        raise LogoTooLarge(f"the logo is {len(data)} bytes; at most {max_bytes} are accepted")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                image_format = probe.format
                if image_format not in ACCEPTED_FORMATS:
                    raise UnsupportedLogo(f"{image_format} logos are not accepted; send PNG, JPEG, "
                                          "WebP or GIF")
                if probe.width * probe.height > MAX_SOURCE_PIXELS:
                    raise LogoTooLarge(f"the logo is {probe.width}×{probe.height} pixels; "
                                       "at most 40 megapixels are accepted")
                probe.verify()
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                logo = image.convert("RGBA")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise LogoTooLarge("the logo has too many pixels; at most 40 megapixels are accepted") from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise UnsupportedLogo("the upload is not a readable PNG, JPEG, WebP or GIF image") from error
    logo.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    logo.save(out, format="PNG", optimize=True)
    png = out.getvalue()
    return png, hashlib.sha256(png).hexdigest()

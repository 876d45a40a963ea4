"""Brand logos: checked by content, not by name, and normalised to one square-bounded PNG."""

from __future__ import annotations

import hashlib
import io
import warnings

from PIL import Image, UnidentifiedImageError

from catalog.errors import LogoTooLarge, UnsupportedLogo

ACCEPTED_FORMATS = {"PNG", "JPEG", "WEBP", "GIF"}
MAX_SIDE = 512
# Decoding costs 4 bytes a pixel, twice (the image and its RGBA copy): a 38 KB PNG of
# 6300×6300 took +285 MiB of a worker at 40 megapixels. A logo is kept at 512 px, so 4 megapixels
# (2000×2000) are plenty, and the size is read from the header before anything is decoded.
MAX_SOURCE_PIXELS = 4_000_000


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
                    raise UnsupportedLogo(
                        f"{image_format} logos are not accepted; send PNG, JPEG, WebP or GIF"
                    )
                if probe.width * probe.height > MAX_SOURCE_PIXELS:
                    raise LogoTooLarge(
                        f"the logo is {probe.width}×{probe.height} pixels; at most "
                        "4 megapixels (such as 2000×2000) are accepted: it is "
                        f"shown at {MAX_SIDE} px at most"
                    )
                probe.verify()
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                logo = image.convert("RGBA")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise LogoTooLarge("the logo has too many pixels; at most 4 megapixels are accepted") from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise UnsupportedLogo("the upload is not a readable PNG, JPEG, WebP or GIF image") from error
    logo.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    logo.save(out, format="PNG", optimize=True)
    png = out.getvalue()
    return png, hashlib.sha256(png).hexdigest()

"""What a media file is, read from its first bytes (never trusted from its extension)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from cmctl.networks.base import MediaFacts

_FTYP_VIDEO = {
    b"qt  ": "video/quicktime",
    b"M4V ": "video/mp4",
    b"isom": "video/mp4",
    b"iso2": "video/mp4",
    b"mp41": "video/mp4",
    b"mp42": "video/mp4",
    b"avc1": "video/mp4",
    b"dash": "video/mp4",
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"mif1": "image/heif",
    b"avif": "image/avif",
}


def sniff_bytes(head: bytes) -> str | None:
    """MIME type from a file's first 32 bytes, or None when unrecognised."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        return _FTYP_VIDEO.get(head[8:12])
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    return None


@cache
def facts(path: Path) -> MediaFacts:
    """Type and size of ``path`` (OSError when it cannot be read)."""
    with path.open("rb") as f:
        head = f.read(32)
        size = f.seek(0, 2)
    return MediaFacts(sniff_bytes(head), size)

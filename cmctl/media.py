"""What a media file is, read from its first bytes (never trusted from its extension)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import BinaryIO, Literal

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


def dimensions(path: Path) -> tuple[int, int] | None:
    """(width, height) in pixels of a PNG, JPEG, GIF or WebP image, as displayed.

    Read from the file's header only (no image library): PNG's IHDR chunk, GIF's
    logical screen descriptor, WebP's VP8/VP8L/VP8X header, JPEG's SOFn segment (with
    width and height swapped when the EXIF orientation turns the picture a quarter).
    None for other types, or when the header cannot be read.
    """
    try:
        with path.open("rb") as f:
            head = f.read(64)
            kind = sniff_bytes(head[:32])
            if kind == "image/png":
                return _png_size(head)
            if kind == "image/gif":
                return _positive(_u16le(head, 6), _u16le(head, 8))
            if kind == "image/webp":
                return _webp_size(head)
            if kind == "image/jpeg":
                f.seek(2)
                return _jpeg_size(f)
    except (OSError, ValueError, IndexError):
        return None
    return None


def _positive(width: int, height: int) -> tuple[int, int] | None:
    return (width, height) if width > 0 and height > 0 else None


def _u16le(data: bytes, at: int) -> int:
    return int.from_bytes(data[at : at + 2], "little")


def _png_size(head: bytes) -> tuple[int, int] | None:
    # 8-byte signature, then the IHDR chunk: length (4), type (4), width (4), height (4).
    if head[12:16] != b"IHDR" or len(head) < 24:
        return None
    return _positive(int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big"))


def _webp_size(head: bytes) -> tuple[int, int] | None:
    chunk = head[12:16]
    if chunk == b"VP8 " and head[23:26] == b"\x9d\x01\x2a":  # lossy: key frame start code
        return _positive(_u16le(head, 26) & 0x3FFF, _u16le(head, 28) & 0x3FFF)
    if chunk == b"VP8L" and head[20:21] == b"\x2f":  # lossless: 14 bits each, minus one
        bits = int.from_bytes(head[21:25], "little")
        return ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8X" and len(head) >= 30:  # extended: 24-bit canvas size, minus one
        width = int.from_bytes(head[24:27], "little") + 1
        height = int.from_bytes(head[27:30], "little") + 1
        return (width, height)
    return None


# SOFn markers carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share the range.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_size(f: BinaryIO) -> tuple[int, int] | None:
    quarter_turn = False
    for _ in range(1000):  # segments before the frame header; a real file has a few
        marker = f.read(2)
        while marker[:1] == b"\xff" and marker[1:2] == b"\xff":  # fill bytes
            marker = marker[1:] + f.read(1)
        if len(marker) < 2 or marker[0] != 0xFF:
            return None
        code = marker[1]
        if code in (0x01, *range(0xD0, 0xD8)):  # standalone markers: no length
            continue
        if code in (0xD9, 0xDA):  # end of image, start of scan: no frame header seen
            return None
        length = int.from_bytes(f.read(2), "big")
        if length < 2:
            return None
        if code in _JPEG_SOF:
            segment = f.read(5)  # precision (1), height (2), width (2)
            if len(segment) < 5:
                return None
            height = int.from_bytes(segment[1:3], "big")
            width = int.from_bytes(segment[3:5], "big")
            return _positive(height, width) if quarter_turn else _positive(width, height)
        if code == 0xE1:  # APP1: EXIF orientation 5-8 turns the image a quarter
            segment = f.read(length - 2)
            quarter_turn = quarter_turn or _exif_orientation(segment) in (5, 6, 7, 8)
            continue
        f.seek(length - 2, 1)
    return None


def _exif_orientation(segment: bytes) -> int | None:
    """The Orientation tag (0x0112) of IFD0 in an APP1 Exif segment, if any."""
    if not segment.startswith(b"Exif\x00\x00"):
        return None
    tiff = segment[6:]
    endian: Literal["little", "big"]
    if tiff[:2] == b"II":
        endian = "little"
    elif tiff[:2] == b"MM":
        endian = "big"
    else:
        return None
    ifd = int.from_bytes(tiff[4:8], endian)
    count = int.from_bytes(tiff[ifd : ifd + 2], endian)
    for i in range(min(count, 256)):
        entry = tiff[ifd + 2 + 12 * i : ifd + 14 + 12 * i]
        if len(entry) < 12:
            return None
        if int.from_bytes(entry[:2], endian) == 0x0112:
            return int.from_bytes(entry[8:10], endian)
    return None

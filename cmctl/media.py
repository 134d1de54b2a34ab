"""What a media file is, read from its first bytes (never trusted from its extension).

Every read of a media file goes through :func:`open_checked` (or :func:`read_checked`,
:func:`inspect`), which checks the file's name, place and type BEFORE reading a byte:

- the path as written has no NUL or control character, no component longer than
  255 bytes and is at most 1024 bytes long;
- once every symbolic link is resolved, the file is inside the project folder, not
  under a hidden folder or a dotfile (``.env``, ``.git/``, the ``.cmctl`` state folder)
  and not cmctl.yaml;
- it is opened without following a link (``O_NOFOLLOW`` on the resolved path) and
  without blocking (``O_NONBLOCK``: a FIFO cannot hang cmctl), and ``fstat`` of the
  opened file says it is a regular file (``/dev/zero``, a folder or a socket is refused);
- reads are bounded by the caller's ceiling (the network's largest accepted size).

The same checks run when `validate` reads a calendar and again when a file is sent, so
a file swapped for a link (to ``.env``, say) after the calendar was loaded is not sent.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import BinaryIO, Literal


@dataclass(frozen=True, slots=True)
class MediaFacts:
    """What cmctl found out about one media file (what the networks' media checks judge)."""

    mime_type: str | None  # sniffed from the content, None when unrecognised
    size: int  # bytes


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


MAX_NAME_BYTES = 255  # one path component (NAME_MAX on Linux, macOS and Windows)
MAX_PATH_BYTES = 1024  # the whole path as written in a calendar
CONFIG_NAMES = ("cmctl.yaml", "cmctl.yml")


class MediaProblem(OSError):
    """A media file cmctl will not read. ``message`` says why and is safe to show."""

    def __init__(self, message: str, rule: str = "media") -> None:
        super().__init__(message)
        self.message = message
        self.rule = rule
        self.strerror = message  # callers print strerror

    def __str__(self) -> str:
        return self.message


def check_name(source: str, max_bytes: int = MAX_PATH_BYTES) -> None:
    """The path as written: no NUL or control character, sane lengths (MediaProblem)."""
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in source):
        raise MediaProblem(f"media path {source!r} contains a control character", "media-path")
    try:
        size = len(source.encode("utf-8"))
    except UnicodeEncodeError:  # lone surrogates
        raise MediaProblem(f"media path {source!r} is not valid text", "media-path") from None
    if size > max_bytes:
        raise MediaProblem(
            f"media path is {size} bytes long; cmctl accepts {max_bytes}", "media-path"
        )
    for part in source.replace("\\", "/").split("/"):
        if len(part.encode("utf-8")) > MAX_NAME_BYTES:
            raise MediaProblem(
                f"a name in media path '{source[:40]}…' is longer than {MAX_NAME_BYTES} bytes",
                "media-path",
            )


def _place(path: Path, root: Path | None) -> Path:
    """The resolved path, checked against the project folder (MediaProblem)."""
    shown = path.name if root is None else _shown(path, root)
    check_name(str(path), 4 * MAX_PATH_BYTES)  # absolute here: PATH_MAX
    try:
        real = Path(os.path.realpath(path, strict=True))
    except FileNotFoundError:
        raise MediaProblem(f"media file '{shown}' does not exist", "media-missing") from None
    except (OSError, RuntimeError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or "cannot resolve it"
        raise MediaProblem(f"media file '{shown}': {reason}", "media-path") from None
    if root is None:
        return real
    root = Path(os.path.realpath(root))
    if not real.is_relative_to(root):
        lexical = Path(os.path.normpath(path.absolute()))
        via = " (through a symbolic link)" if lexical.is_relative_to(root) else ""
        raise MediaProblem(f"media '{shown}' is outside the project folder{via}", "media-path")
    inside = real.relative_to(root).parts
    if any(part.startswith(".") for part in inside) or inside in {(n,) for n in CONFIG_NAMES}:
        via = " (through a symbolic link)" if real != Path(os.path.normpath(path)) else ""
        raise MediaProblem(
            f"media '{shown}' is a hidden or configuration file{via}; cmctl never sends "
            "dotfiles, cmctl.yaml or the state folder",
            "media-path",
        )
    return real


def _shown(path: Path, root: Path) -> str:
    try:
        return path.absolute().relative_to(root).as_posix()
    except ValueError:
        return str(path)


@contextlib.contextmanager
def open_checked(
    path: Path, root: Path | None, max_bytes: int | None = None
) -> Iterator[tuple[BinaryIO, MediaFacts]]:
    """Open a media file for reading after checking its name, place and type.

    Yields the open file (positioned at 0) and its facts (sniffed type, size). Raises
    MediaProblem (an OSError) when the file must not be read: see the module docstring.
    ``root`` is the project folder (None only for files cmctl did not get from a
    calendar: the place check is then skipped, the other checks are not). With
    ``max_bytes``, a larger file is refused before any read.
    """
    real = _place(path, root)
    shown = path.name if root is None else _shown(path, root)
    flags = (
        os.O_RDONLY
        | getattr(os, "O_NONBLOCK", 0)
        | getattr(os, "O_NOFOLLOW", 0)
        | getattr(os, "O_CLOEXEC", 0)
        | getattr(os, "O_BINARY", 0)
    )
    try:
        fd = os.open(real, flags)
    except OSError as exc:
        if exc.errno == getattr(os, "ELOOP", -1):
            raise MediaProblem(
                f"media '{shown}' was replaced by a symbolic link", "media-path"
            ) from None
        raise MediaProblem(f"cannot read media '{shown}': {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise MediaProblem(f"media '{shown}' is not a regular file", "media-path")
        if max_bytes is not None and st.st_size > max_bytes:
            raise MediaProblem(
                f"media '{shown}' is {st.st_size:,} bytes; at most {max_bytes:,} can be sent"
            )
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        f = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with f:
        head = f.read(32)
        f.seek(0)
        yield f, MediaFacts(sniff_bytes(head), st.st_size)


def read_checked(path: Path, root: Path | None, max_bytes: int) -> tuple[bytes, MediaFacts]:
    """The bytes of a media file (at most ``max_bytes``) and its facts; see open_checked."""
    with open_checked(path, root, max_bytes) as (f, found):
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:  # it grew after the check
        raise MediaProblem(f"media '{path.name}' is larger than {max_bytes:,} bytes")
    return data, found


def inspect(path: Path, root: Path | None) -> MediaFacts:
    """Type and size of a media file, checked like open_checked (MediaProblem)."""
    with open_checked(path, root) as (_f, found):
        return found


def digest(path: Path, root: Path | None) -> str:
    """SHA-256 of a media file, read in chunks after the checks (MediaProblem)."""
    with open_checked(path, root) as (f, found):
        h = hashlib.sha256()
        left = found.size
        while left > 0:
            chunk = f.read(min(1024 * 1024, left))
            if not chunk:
                break
            h.update(chunk)
            left -= len(chunk)
    return h.hexdigest()


def facts(path: Path, root: Path | None = None) -> MediaFacts:
    """Type and size of ``path`` (OSError, MediaProblem included, when it cannot be read).

    Cached per file version (inode, size, modification time): a long-lived daemon sees
    a file that was replaced.
    """
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return inspect(path, root)  # raises the MediaProblem that says why
    return _facts(path, root, st.st_ino, st.st_size, st.st_mtime_ns)


@cache
def _facts(path: Path, root: Path | None, inode: int, size: int, mtime_ns: int) -> MediaFacts:
    return inspect(path, root)


def dimensions(path: Path) -> tuple[int, int] | None:
    """(width, height) in pixels of a PNG, JPEG, GIF or WebP image, as displayed.

    Read from the file's header only (no image library): PNG's IHDR chunk, GIF's
    logical screen descriptor, WebP's VP8/VP8L/VP8X header, JPEG's SOFn segment (with
    width and height swapped when the EXIF orientation turns the picture a quarter).
    None for other types, or when the header cannot be read.
    """
    try:
        with open_checked(path, None) as (f, _found):
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

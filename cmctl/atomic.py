"""Replacing a file atomically: a reader sees the old file or the new one, never half.

The new content goes to a temporary file in the same folder, is flushed and fsync'ed,
takes the mode of the file it replaces (or ``new_mode``, else what the umask gives a
new file), is renamed over the file, and the folder is fsync'ed. On any error the
temporary file is removed and the old file is untouched.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


def _mode(path: Path, new_mode: int | None) -> int:
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        if new_mode is not None:
            return new_mode
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextlib.contextmanager
def replacing(path: Path, *, new_mode: int | None = None) -> Iterator[BinaryIO]:
    """A binary stream whose content replaces ``path`` when the block ends without error."""
    folder = path.parent if str(path.parent) else Path(".")
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp, _mode(path, new_mode))
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    fsync_dir(folder)


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (where the platform can: not on Windows)."""
    if sys.platform == "win32":
        return
    with contextlib.suppress(OSError):
        handle = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


def write_bytes(path: Path, data: bytes, *, new_mode: int | None = None) -> None:
    """Replace ``path`` with ``data`` atomically (see the module's doc)."""
    with replacing(path, new_mode=new_mode) as stream:
        stream.write(data)

"""cmctl.atomic: the one way cmctl replaces a file (feed, agenda page, export, add)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cmctl import atomic


def test_replaces_keeping_the_mode_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "feed.xml"
    target.write_bytes(b"old")
    os.chmod(target, 0o600)
    atomic.write_bytes(target, b"new", new_mode=0o644)
    assert target.read_bytes() == b"new"
    assert target.stat().st_mode & 0o777 == 0o600  # new_mode is for new files only
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feed.xml"]


def test_a_new_file_takes_new_mode_or_the_umask(tmp_path: Path) -> None:
    atomic.write_bytes(tmp_path / "a", b"x", new_mode=0o640)
    assert (tmp_path / "a").stat().st_mode & 0o777 == 0o640
    umask = os.umask(0o027)
    try:
        atomic.write_bytes(tmp_path / "b", b"x")
    finally:
        os.umask(umask)
    assert (tmp_path / "b").stat().st_mode & 0o777 == 0o640


def test_an_error_midway_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "page.html"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic.replacing(target) as stream:
        stream.write(b"half")
        raise RuntimeError("disk full")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page.html"]


def test_a_missing_folder_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        atomic.write_bytes(tmp_path / "nowhere" / "x", b"x")

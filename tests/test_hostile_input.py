"""Hostile input: files, dates, aliases and options that must end in a clean error.

Every case here once ended in a traceback (exit 70), a hang or memory exhaustion.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import as_json, calendar, post
from tests.test_validate import diags, png, where


# ---------------------------------------------------------------------- media files
@pytest.fixture
def fifo(project: Any) -> Iterator[Path]:
    """A FIFO inside the project. If a regression opens it, a writer unblocks it later."""
    if not hasattr(os, "mkfifo"):
        pytest.skip("needs FIFOs")
    path = project.root / "calendars" / "pipe.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)
    done = threading.Event()

    def unblock() -> None:
        if not done.wait(15):
            fd = os.open(path, os.O_RDWR)  # a writer: the blocked reader sees EOF
            os.close(fd)

    thread = threading.Thread(target=unblock, daemon=True)
    thread.start()
    yield path
    done.set()
    thread.join()


def test_media_fifo_is_refused_without_blocking(project: Any, run: Any, fifo: Path) -> None:
    project.calendar(calendar(post("a", media=[{"path": "pipe.png", "alt": "x"}])))
    started = time.monotonic()
    code, d = diags(run)
    assert time.monotonic() - started < 10
    assert code == 1
    [problem] = [x for x in d if x["rule"] == "media-path"]
    assert "not a regular file" in problem["message"]
    # every other command too (plan compiles the media digests)
    assert run("plan").exit_code == 1


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_media_device_is_refused_before_any_read(project: Any, run: Any) -> None:
    # /dev/zero is outside the project; through a link inside it, it is not a regular file
    os.symlink("/dev/zero", project.root / "zero.png")
    project.calendar(calendar(post("a", media=[{"path": "/dev/zero", "alt": "x"}]),
                              post("b", media=[{"path": "../zero.png", "alt": "x"}])))
    code, d = diags(run)
    assert code == 1
    assert [x["rule"] for x in d] == ["media-path", "media-path"]


@pytest.mark.parametrize("name", ["x" * 300 + ".png", "a\0b.png", "a\x1b[31m.png",
                                  "d/" * 600 + "a.png"])
def test_media_names_cmctl_cannot_use_are_errors(project: Any, run: Any, name: str) -> None:
    project.calendar(calendar(post("a", media=[{"path": name, "alt": "x"}]),
                              post("ok", at="2026-12-02 10:00")))
    result = run("validate", "--format", "json")
    assert result.exit_code == 1, result.output
    d = as_json(result)["diagnostics"]
    assert [x["rule"] for x in d] == ["media-path"]
    assert where(d, "media-path")[0][0] == 8
    plan = run("plan", "--json")  # compiling (media digests) ends cleanly too
    assert plan.exit_code == 1
    assert "ok" in [j["post"] for j in as_json(plan)["jobs"]]


@pytest.mark.parametrize("target", [".env", "cmctl.yaml", ".cmctl/ledger.db", ".git/config"])
def test_media_never_names_dotfiles_config_or_state(project: Any, run: Any,
                                                     target: str) -> None:
    if target != "cmctl.yaml":
        project.write(target, png())  # even when it looks like an image
    project.calendar(calendar(post("a", media=[{"path": f"../{target}", "alt": "x"}])))
    code, d = diags(run)
    assert code == 1
    assert [x["rule"] for x in d] == ["media-path"]
    # nor through a link that looks harmless
    os.symlink(project.root / target, project.root / "calendars" / "cover.png")
    project.calendar(calendar(post("a", media=[{"path": "cover.png", "alt": "x"}])))
    code, d = diags(run)
    assert code == 1
    assert [x["rule"] for x in d] == ["media-path"]
    assert "symbolic link" in d[0]["message"]


def test_open_checked_refuses_what_it_must(tmp_path: Path) -> None:
    from cmctl.media import MediaProblem, inspect, open_checked, read_checked

    root = tmp_path / "project"
    (root / "img").mkdir(parents=True)
    image = root / "img" / "a.png"
    image.write_bytes(png())
    assert inspect(image, root).mime_type == "image/png"
    data, found = read_checked(image, root, 10_000)
    assert data == image.read_bytes() and found.size == len(data)
    with pytest.raises(MediaProblem, match="at most"):
        read_checked(image, root, 10)
    with pytest.raises(MediaProblem, match="not a regular file"):
        inspect(root / "img", root)
    with pytest.raises(MediaProblem, match="does not exist"):
        inspect(root / "nope.png", root)
    (tmp_path / "out.png").write_bytes(png())
    with pytest.raises(MediaProblem, match="outside"):
        inspect(tmp_path / "out.png", root)
    with pytest.raises(MediaProblem, match="control character"), \
            open_checked(root / "a\nb.png", root):
        pass


def _swap_for_env(root: Path, image: Path) -> None:
    (root / ".env").write_text("MASTO_TOKEN=s3cr3t-token-value\n")
    image.unlink()
    os.symlink(root / ".env", image)


def test_mastodon_does_not_upload_a_file_swapped_for_a_link(tmp_path: Path) -> None:
    """The daemon loaded the calendar; then the image became a link to .env."""
    import httpx

    from cmctl.calendar.model import Media, Pos
    from cmctl.networks.base import Permanent
    from cmctl.networks.http import Http
    from cmctl.networks.mastodon import Mastodon
    from tests.networks.helpers import Recorder, make_outgoing

    root = tmp_path / "project"
    root.mkdir()
    image = root / "a.png"
    image.write_bytes(png())
    item = Media("a.png", image, "alt", Pos("dec.yaml", 1, 1), root)
    _swap_for_env(root, image)
    server = Recorder(lambda request: httpx.Response(200, json={"id": "1", "url": "u"}))
    masto = Mastodon("masto", {"instance": "https://m.example", "token": "t0k"},
                     Http(transport=httpx.MockTransport(server)), tmp_path / "state")
    with pytest.raises(Permanent, match="hidden or configuration file"):
        masto.publish(make_outgoing("dec:launch@masto", "hi", media=(item,)))
    assert server.requests == []


def test_bluesky_does_not_upload_a_file_swapped_for_a_link(tmp_path: Path) -> None:
    from cmctl.calendar.model import Media, Pos
    from cmctl.networks.base import Permanent
    from cmctl.networks.bluesky import Bluesky

    root = tmp_path / "project"
    root.mkdir()
    image = root / "a.png"
    image.write_bytes(png())
    item = Media("a.png", image, "alt", Pos("dec.yaml", 1, 1), root)
    _swap_for_env(root, image)
    bsky = Bluesky.__new__(Bluesky)
    bsky.http = None  # type: ignore[assignment]  # never reached
    with pytest.raises(Permanent, match="hidden or configuration file"):
        bsky._upload(item, {})

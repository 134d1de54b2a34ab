"""Media a network fetches by URL: media_url, the URL of a file, and the served check."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from cmctl.calendar.model import Media, Pos
from cmctl.config import Account, Config
from cmctl.media_url import MediaUrlMissing, check_served, media_url_for
from tests.conftest import calendar, post
from tests.fakes.base import FakeServer, RecordedRequest, Reply

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8cfc0f01f0005000201e5270ede0000000049454e44ae426082"
)


def media(root: Path, relative: str) -> Media:
    return Media(relative, root / relative, None, Pos("dec.yaml", 1, 1), root)


def test_a_file_url_is_media_url_joined_with_one_slash_and_quoted(tmp_path: Path) -> None:
    config = Config(tmp_path / "cmctl.yaml", tmp_path, {}, media_url="https://cdn.example/brand/")
    own = Account("insta", "instagram", {"media_url": "https://other.example"})
    plain = Account("insta2", "instagram", {})
    item = media(tmp_path, "media/launch day #1é.png")
    assert media_url_for(config, plain, item) == (
        "https://cdn.example/brand/media/launch%20day%20%231%C3%A9.png"
    )
    assert (
        media_url_for(config, own, item)
        == "https://other.example/media/launch%20day%20%231%C3%A9.png"
    )
    with pytest.raises(MediaUrlMissing, match="needs media_url"):
        media_url_for(Config(tmp_path / "cmctl.yaml", tmp_path, {}), plain, item)


def test_validate_names_media_url_for_a_post_with_media_and_no_media_url(
    project: Any, run: Any
) -> None:
    project.config(
        "accounts:\n  insta:\n    network: instagram\n  tg:\n    network: telegram\n"
        "    token: ${TG_TOKEN}\n    chat: '@brand_news'\n"
    )
    project.write("media/a.png", PNG)
    media_list = [{"path": "../media/a.png", "alt": "a dot"}]
    project.calendar(calendar(post("a", media=media_list), accounts="[insta, tg]"))
    result = run("validate")
    assert result.exit_code == 1, result.output
    assert "account 'insta' needs media_url" in result.output
    assert "'tg' needs media_url" not in result.output
    project.config(
        "media_url: https://cdn.example\naccounts:\n  insta:\n    network: instagram\n"
        "  tg:\n    network: telegram\n    token: ${TG_TOKEN}\n    chat: '@brand_news'\n"
    )
    assert "needs media_url" not in run("validate").output


class Files(FakeServer):
    """Serves named byte strings; ``head`` False answers HEAD with 405."""

    name: ClassVar[str] = "fake-files"

    def __init__(self, files: dict[str, bytes], *, head: bool = True, ranges: bool = True) -> None:
        super().__init__()
        self.files, self.head, self.ranges = files, head, ranges

    def route(self, request: RecordedRequest) -> Reply:
        data = self.files.get(request.path)
        if request.method == "HEAD" and not self.head:
            return Reply(405)
        if data is None:
            return Reply(404, "not found")
        if request.method == "HEAD":
            return Reply(200, data)  # the fake sends the length, not the body
        if self.ranges and request.headers.get("range") == "bytes=0-0":
            return Reply(206, data[:1], {"Content-Range": f"bytes 0-0/{len(data)}"})
        return Reply(200, data)


@pytest.mark.parametrize(("head", "ranges"), [(True, True), (False, True), (False, False)])
def test_check_served_compares_the_size(head: bool, ranges: bool) -> None:
    with Files({"/m/a.png": PNG}, head=head, ranges=ranges) as server, httpx.Client() as http:
        assert check_served(f"{server.url}/m/a.png", len(PNG), http) is None
        wrong = check_served(f"{server.url}/m/a.png", len(PNG) + 1, http)
        assert wrong is not None and f"serves {len(PNG)} bytes" in wrong
        missing = check_served(f"{server.url}/m/b.png", 3, http)
        assert missing is not None and "404" in missing and "/m/b.png" in missing
        methods = [r.method for r in server.requests]
    assert methods[0] == "HEAD"
    assert ("GET" in methods) is (not head)


def test_check_served_says_when_the_host_cannot_be_reached() -> None:
    with Files({}) as server:
        url = f"{server.url}/m/a.png"
    with httpx.Client(timeout=2) as http:
        problem = check_served(url, 1, http)
    assert problem is not None and "cannot be reached" in problem

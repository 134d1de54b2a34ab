"""Media a network fetches by URL (``media_by_url``: a photo, a video, a cover image).

Such a network (``media_by_url = True`` in its declaration) does not take an upload:
it downloads each file from a public URL. ``media_url``, a top-level key of cmctl.yaml
that an account may override, is the public base URL where the project folder is
served; a file's URL is ``media_url`` joined with one slash to its path relative to the
folder of cmctl.yaml, each segment URL-quoted:

    media_url: https://cdn.example.com/brand
    media/launch day.png  ->  https://cdn.example.com/brand/media/launch%20day.png

``check`` is the `validate` rule (a post with media for such an account and no
``media_url`` is an error naming the key); ``check_served`` is what the publisher asks
before sending: does the URL serve the file, at the same size?
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cmctl.errors import CmctlError

if TYPE_CHECKING:
    from cmctl.calendar.model import Media
    from cmctl.compile import Job
    from cmctl.config import Account, Config
    from cmctl.diagnostics import Diagnostic

RULE = "media-url"


class MediaUrlMissing(CmctlError):
    """A network fetches media by URL and the account has no ``media_url``."""

    exit_code = 1


def base_for(config: Config, account: Account | None) -> str | None:
    """The account's ``media_url``, else the top-level one, else None."""
    own = account.options.get("media_url") if account is not None else None
    value = own if isinstance(own, str) and own.strip() else config.media_url
    return value.strip() if value else None


def join(base: str, root: Path, path: Path) -> str:
    """``base`` joined with one slash to ``path`` relative to ``root``, URL-quoted
    (the networks' own rule, ``cmctl.networks.base.served_at``).

    ValueError when ``path`` is not inside ``root`` (it has no URL there)."""
    from cmctl.networks.base import served_at

    return served_at(base, root, path)


def media_url_for(config: Config, account: Account | None, media: Media) -> str:
    """The public URL a network fetches ``media`` from (see the module docstring)."""
    base = base_for(config, account)
    name = account.name if account is not None else "?"
    if base is None:
        raise MediaUrlMissing(
            f"account '{name}' needs media_url: its network fetches media by URL",
            hint="set media_url: https://… (where this folder is served) in cmctl.yaml",
        )
    try:
        return join(base, config.root, media.path)
    except ValueError:
        raise MediaUrlMissing(
            f"media '{media.source}' is outside the project folder: media_url cannot serve it"
        ) from None


def check(jobs: Iterable[Job], config: Config) -> list[Diagnostic]:
    """`validate`'s rule: media for a network that fetches by URL needs ``media_url``.

    An error (a warning for a draft) at the post, once per post and account."""
    from cmctl.diagnostics import Diagnostic
    from cmctl.networks import registry

    found: list[Diagnostic] = []
    seen: set[tuple[str, str, str]] = set()
    for job in jobs:
        if not job.media or (job.calendar, job.post_id, job.account) in seen:
            continue
        network = registry.get(job.network)
        account = config.accounts.get(job.account)
        if not network.media_by_url or base_for(config, account) is not None:
            continue
        seen.add((job.calendar, job.post_id, job.account))
        draft = job.post.status == "draft"
        found.append(
            Diagnostic(
                job.pos.path,
                job.pos.line,
                job.pos.col,
                "warning" if draft else "error",
                f"{network.title} fetches media from a public URL: account "
                f"'{job.account}' needs media_url" + (" (draft)" if draft else ""),
                RULE,
                f"set media_url: https://… in {config.display_path} (top level, or on "
                "the account): the public URL where this project folder is served",
            )
        )
    return found


def check_served(url: str, size: int, http: Any) -> str | None:
    """Does ``url`` serve a file of ``size`` bytes? None when it does, else the problem.

    ``http`` is an httpx.Client (or anything with its ``head`` and ``stream``). HEAD
    first; when the server refuses HEAD (405, 501, or any 4xx/5xx other than 404/410),
    a GET of the first byte (``Range: bytes=0-0``), whose Content-Range gives the
    size without downloading the file. The problem names the URL, never a secret."""
    import httpx

    try:
        response = http.head(url, follow_redirects=True)
        if response.status_code in (404, 410):
            return f"{url} answers {response.status_code}: the file is not served there"
        if response.is_success:
            length = response.headers.get("content-length")
            if length is not None and length.isdigit():
                return _same(url, int(length), size)
        with http.stream(
            "GET", url, headers={"Range": "bytes=0-0"}, follow_redirects=True
        ) as ranged:
            if ranged.status_code == 206:
                total = ranged.headers.get("content-range", "").rpartition("/")[2]
                if total.isdigit():
                    return _same(url, int(total), size)
                return f"{url} does not say the file's size (Content-Range)"
            if ranged.is_success:  # the server ignored the range: its length
                length = ranged.headers.get("content-length")
                if length is not None and length.isdigit():
                    return _same(url, int(length), size)
                return f"{url} does not say the file's size (Content-Length)"
            return f"{url} answers {ranged.status_code}: the file is not served there"
    except httpx.HTTPError as exc:
        return f"{url} cannot be reached ({type(exc).__name__})"


def _same(url: str, served: int, size: int) -> str | None:
    if served == size:
        return None
    return f"{url} serves {served} bytes, the file has {size}: publish the current file there"

# DEV (dev.to): an article on the DEV Community, the Forem instance at https://dev.to,
# created with the Forem API v1: POST https://dev.to/api/articles with the header
# `api-key` and a JSON body {"article": {"title", "body_markdown", "published",
# "tags", "main_image", "canonical_url", "series", ...}}.
#
# Credentials (the adapter comes later; today a dev.to account takes only
# `network: devto`)
#   https://dev.to/settings/extensions → "DEV Community API Keys" → give it a
#   description → Generate API Key, and copy it. Send it as the `api-key` header
#   (with `Accept: application/vnd.forem.api-v1+json`). Revoke it on the same page.
#
# Sources for every limit below
#   - No length limit on `body_markdown` in the API reference:
#     https://developers.forem.com/api/v1#tag/articles/operation/createArticle
#   - No media attachments: the Forem API v1 has no endpoint to upload an image or a
#     video for an article; images are referenced by URL, inside the Markdown body or
#     as `main_image` (the cover). So cmctl refuses attached files for dev.to; link
#     images from the text instead.
#   - Threads: an article has no reply chain from its author.
#
# Articles (``article``): the title is required, and DEV allows at most 4 tags per
# article (https://dev.to/tags).

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from cmctl.networks.base import Network, Quota


class DevTo(Network):
    name: ClassVar[str] = "devto"
    title: ClassVar[str] = "DEV (dev.to)"
    docs_url: ClassVar[str] = "https://developers.forem.com/api/v1#tag/articles"
    api_base: ClassVar[str | None] = "https://dev.to/api"
    media_by_url: ClassVar[bool] = True  # main_image: Dev.to fetches the cover by URL

    # Forem API v0 (developers.forem.com/api): creating articles is limited to 10
    # requests per 30 s.
    quotas: ClassVar[tuple[Quota, ...]] = (Quota(10, timedelta(seconds=30)),)

    max_length: ClassVar[int | None] = None

    # An article: a title, the thread appended as paragraphs, the hashtags as its tags
    # (DEV takes at most 4: https://dev.to/tags).
    article: ClassVar[bool] = True
    max_tags: ClassVar[int | None] = 4
    threads: ClassVar[bool] = False

# WordPress: a blog post on a self-hosted WordPress site (or a WordPress.com site with
# REST API access), created with the core REST API: POST /wp-json/wp/v2/posts, images
# and videos uploaded first with POST /wp-json/wp/v2/media and used in the post body
# (or as `featured_media`).
#
# Credentials (the adapter comes later; today a WordPress account takes only
# `network: wordpress`)
#   In wp-admin: Users → Profile (your own user) → Application Passwords → type a name
#   ("cmctl") → Add New Application Password, and copy the 24-character password shown
#   once. It authenticates REST requests with HTTP Basic auth as `username:password`
#   over HTTPS (WordPress 5.6+). The user needs a role that can publish posts (Author,
#   Editor or Administrator) and upload files. A security plugin or the host may
#   disable Application Passwords; WordPress.com sites use OAuth2 instead
#   (https://developer.wordpress.com/docs/oauth2/).
#   Reference: https://make.wordpress.org/core/2020/11/05/application-passwords-integration-guide/
#
# Sources for every limit below
#   - No text limit: `content` of a post is stored in a LONGTEXT column and the REST
#     schema for posts sets no maximum length:
#     https://developer.wordpress.org/rest-api/reference/posts/#create-a-post
#   - Media types: what get_allowed_mime_types() allows by default (images JPEG, PNG,
#     GIF, WebP, AVIF; videos MP4, MOV, WebM among others):
#     https://developer.wordpress.org/reference/functions/get_allowed_mime_types/
#     and https://wordpress.org/documentation/article/accepted-file-types/
#   - Media size: the site's own PHP `upload_max_filesize`/`post_max_size` (shown in
#     Media → Add New as "Maximum upload file size"), reported by the REST media
#     endpoint when exceeded: https://developer.wordpress.org/rest-api/reference/media/
#   - Threads: a blog post has no reply chain.
#
# Conservative choices
#   - Sizes and counts: the real limits belong to each site and cmctl cannot know them
#     before publishing, so the declared ceilings are generous (100 MB per image, 2 GB
#     per video, 50 files per post) and the site has the last word.

from __future__ import annotations

from typing import ClassVar

from cmctl.networks.base import OPEN_MEDIA, OPEN_MEDIA_MAX, MediaKind, Network


class WordPress(Network):
    name: ClassVar[str] = "wordpress"
    title: ClassVar[str] = "WordPress"
    docs_url: ClassVar[str] = "https://developer.wordpress.org/rest-api/reference/posts/"
    # Self-hosted: the site's own https://SITE/wp-json (an account field, when the
    # adapter comes); no public default.
    api_base: ClassVar[str | None] = None
    abbreviation: ClassVar[str | None] = "wp"

    max_length: ClassVar[int | None] = None

    media_kinds: ClassVar[tuple[MediaKind, ...]] = OPEN_MEDIA
    max_media: ClassVar[int] = OPEN_MEDIA_MAX
    mixed_media: ClassVar[bool] = True

    # A blog post is an article: a title, the thread appended as paragraphs, the
    # hashtags as tags.
    article: ClassVar[bool] = True
    threads: ClassVar[bool] = False

# Webhook: cmctl POSTs each post as JSON to a URL you run (your own service, a
# Zapier/Make/n8n hook, a chat bridge...). It is the escape hatch for networks cmctl
# does not know: the receiver decides what to do with the post.
#
# Credentials
#   None are needed beyond the URL. To let the receiver check that a request really
#   comes from cmctl, give a signing secret in the Standard Webhooks format: `whsec_`
#   followed by base64 of 24 to 64 random bytes, e.g.
#       python -c "import base64,os; print('whsec_' + base64.b64encode(os.urandom(32)).decode())"
#   Each request then carries the headers `webhook-id`, `webhook-timestamp` and
#   `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, which
#   the receiver verifies with any Standard Webhooks library. In cmctl.yaml:
#       network: webhook
#       url: https://hooks.example.com/cmctl
#       secret: ${CMCTL_WEBHOOK_SECRET}
#   Spec: https://www.standardwebhooks.com/ and
#   https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
#
# Limits
#   - None of the network's own: cmctl sets no text limit (max_length None); a
#     receiver with limits should validate on its side.
#   - Media: common web image and video types with generous ceilings (100 MB per image,
#     2 GB per video, 50 files), chosen by cmctl rather than any outside document.
#   - Threads: yes. Follow-up parts are delivered in order, each naming the part it
#     replies to, so the receiver can rebuild the chain.

from __future__ import annotations

from typing import ClassVar

from cmctl.networks.base import MB, AccountField, MediaKind, Network


class Webhook(Network):
    name: ClassVar[str] = "webhook"
    title: ClassVar[str] = "Webhook"
    docs_url: ClassVar[str] = "https://www.standardwebhooks.com/"

    max_length: ClassVar[int | None] = None

    media_kinds: ClassVar[tuple[MediaKind, ...]] = (
        MediaKind(
            "image",
            frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/avif"}),
            max_bytes=100 * MB,
            max_count=50,
        ),
        MediaKind(
            "video",
            frozenset({"video/mp4", "video/quicktime", "video/webm"}),
            max_bytes=2048 * MB,
            max_count=50,
        ),
    )
    max_media: ClassVar[int] = 50
    mixed_media: ClassVar[bool] = True

    threads: ClassVar[bool] = True

    account_fields: ClassVar[tuple[AccountField, ...]] = (
        AccountField("url", required=True, help="the https URL cmctl POSTs each post to"),
        AccountField(
            "secret",
            secret=True,
            help="Standard Webhooks signing secret (whsec_ followed by base64); "
            "when set, every request is signed",
        ),
    )

# Slack: a message in a Slack channel, sent by a Slack app's bot with chat.postMessage
# (POST https://slack.com/api/chat.postMessage, `channel` and `text`, Bearer token).
#
# Credentials (the adapter comes later; today a Slack account takes only
# `network: slack`)
#   https://api.slack.com/apps → Create New App → From scratch, pick the workspace.
#   OAuth & Permissions → Bot Token Scopes: add `chat:write` (and `chat:write.public`
#   to post in public channels the bot has not joined). Install to Workspace and copy
#   the "Bot User OAuth Token" (xoxb-...). Invite the bot to a private channel with
#   /invite @yourapp. The channel is named by its id (right-click the channel → View
#   channel details → the id at the bottom, C0123...).
#
# Sources for every limit below
#   - 40,000 characters: chat.postMessage, argument `text`: "we'll truncate messages
#     containing more than 40,000 characters", https://docs.slack.dev/reference/methods/chat.postMessage
#     (formerly https://api.slack.com/methods/chat.postMessage) and the changelog
#     https://api.slack.com/changelog/2018-04-truncating-really-long-messages
#     Slack truncates rather than rejects, which is why cmctl reports it as an error:
#     a truncated post is a broken post. (Slack recommends staying under 4,000.)
#   - No media: chat.postMessage takes no files. Files are shared through a separate
#     flow (files.getUploadURLExternal, then files.completeUploadExternal,
#     https://docs.slack.dev/messaging/working-with-files) that the adapter does not
#     implement yet, so attachments are refused for now.
#
# Conservative choices
#   - Counting: Slack does not say what its "characters" are; cmctl counts UTF-16 code
#     units (an emoji counts 2), never less than code points.
#   - Replies in a thread (`thread_ts`) exist in Slack, but cmctl does not declare
#     threads for Slack until the adapter publishes them.

from __future__ import annotations

from typing import ClassVar

from cmctl.networks.base import Answers, Network


class Slack(Network):
    name: ClassVar[str] = "slack"
    title: ClassVar[str] = "Slack"
    docs_url: ClassVar[str] = "https://docs.slack.dev/reference/methods/chat.postMessage"
    api_base: ClassVar[str | None] = "https://slack.com/api"

    # Slack answers 200 with {"ok": false, "error": "<code>"} (docs.slack.dev, "Web API
    # basics": errors); rate limits are 429 + Retry-After. fatal_error / internal_error:
    # "It's possible some aspect of the operation succeeded before the error was raised".
    answers: ClassVar[Answers | None] = Answers(
        ok="ok",
        message=("error",),
        code=("error",),
        expired=frozenset(
            {"not_authed", "invalid_auth", "account_inactive", "token_revoked", "token_expired"}
        ),
        later=frozenset({"ratelimited", "rate_limited", "service_unavailable"}),
        maybe=frozenset({"fatal_error", "internal_error"}),
    )

    max_length: ClassVar[int | None] = 40_000
    length_unit: ClassVar[str] = "characters"

    threads: ClassVar[bool] = False

    @classmethod
    def count(cls, text: str) -> int:
        """UTF-16 code units (conservative: Slack does not document its count)."""
        from cmctl.text.units import utf16_length

        return utf16_length(text)

"""Meta's Graph API error object, as Facebook Pages, Instagram and Threads answer it.

``{"error": {"message", "type", "code", "error_subcode", "error_user_title",
"error_user_msg", "fbtrace_id"}}`` (https://developers.facebook.com/docs/graph-api/
guides/error-handling). Each of the three networks maps the codes its own way; this
reads the object once, the same way for all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cmctl.networks.answers import Answers

# How the Graph API says "no" or "slow down" (cmctl/networks/answers.py): 190 (and 102)
# an expired or revoked token; 1, 2 passing outages; 4, 9 (a publishing limit), 17, 32,
# 341, 613 and the business use case codes 80001-80014 rate limits. Usage headers (JSON
# percentages call_count / total_cputime / total_time, estimated_time_to_regain_access
# in minutes): developers.facebook.com/docs/graph-api/overview/rate-limiting
ANSWERS = Answers(
    message=("error.message",),
    code=("error.code",),
    expired=frozenset({"102", "190"}),
    later=frozenset(
        {"1", "2", "4", "9", "17", "32", "341", "613"} | {str(c) for c in range(80001, 80015)}
    ),
    usage=("x-app-usage", "x-business-use-case-usage", "x-page-usage"),
)


@dataclass(frozen=True, slots=True)
class GraphError:
    code: str  # "" when absent
    subcode: str
    # "METHOD /path: STATUS message (code N, subcode M)", redacted: the head of a message
    head: str


def read(
    response: Any,
    body: Any,
    redact: Callable[[str], str],
    *,
    user_fields: tuple[str, ...] = ("error_user_msg",),
) -> GraphError | None:
    """The Graph error in ``body`` (the answer's JSON), or None when there is none. The
    message is Graph's ``message`` followed by the ``user_fields`` that add to it."""
    error = body.get("error") if isinstance(body, Mapping) else None
    if not isinstance(error, Mapping):
        return None
    code = str(error.get("code") or "")
    subcode = str(error.get("error_subcode") or "")
    where = f"{response.request.method} {response.request.url.path}"
    said = str(error.get("message") or "").strip()
    for key in user_fields:
        extra = error.get(key)
        if isinstance(extra, str) and extra.strip() and extra.strip() not in said:
            said = f"{said} ({extra.strip()})" if said else extra.strip()
    said = redact(said)[:300]
    head = f"{where}: {response.status_code} {said} (code {code}"
    head += f", subcode {subcode})" if subcode else ")"
    return GraphError(code, subcode, head)

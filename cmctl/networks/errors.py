"""How a send fails: the typed errors every adapter raises and the publisher reads.

A leaf of the network contract: cmctl/networks/http.py maps transport failures and
status codes to these, adapters raise them, and the publisher decides from them what
happens to a job (retry, ``unknown``, ``failed``). They import nothing of cmctl, so
both the contract (base.py) and the HTTP helper can use them without a circle.
"""

from __future__ import annotations

__all__ = [
    "Ambiguous",
    "AuthExpired",
    "Duplicate",
    "NotReady",
    "Permanent",
    "SendError",
    "Transient",
]


class SendError(Exception):
    """A send did not succeed. ``message`` is safe to show: no secret in it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Transient(SendError):
    """Nothing was published and a later attempt may succeed (network down, 5xx, 429)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Permanent(SendError):
    """The network refused the post; sending it again will not help."""


class Ambiguous(SendError):
    """The network may or may not have published it (e.g. a timeout after sending)."""


class AuthExpired(SendError):
    """The session expired: refresh it once, then send again."""


class Duplicate(SendError):
    """The network refused the post as a duplicate (X 403 "duplicate content", LinkedIn
    422 DUPLICATE_POST, Facebook error 506, Dev.to 422). Not proof by itself: after an
    earlier attempt of the same job, the publisher looks it up (published when the
    look-up finds this job's post, unknown otherwise), never ``failed``."""


class NotReady(SendError):
    """Not a failure: the network is still working (a media file being processed, a
    container not published yet). Come back in ``retry_in`` seconds; the job's
    checkpoint (saved with ``Outgoing.save``) is handed back then. Bounded by the
    job's deadline."""

    def __init__(self, message: str, retry_in: float) -> None:
        super().__init__(message)
        self.retry_in = retry_in

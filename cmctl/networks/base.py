"""The network contract: what every network declares, and the checks the base class derives.

A network file (one per network, next to this one) declares its limits and abilities
as class attributes at the top of its class, and overrides ``count`` when the network
does not count plain code points. Everything that follows from the declaration
(length checks, media checks, account field checks) lives here once.

The publishing side: an adapter is an instance of the declaration bound to one
account. It implements ``publish`` (and ``check``) with the HTTP helper of
cmctl/networks/http.py, which maps transport failures and status codes to the typed
errors below; the publisher (cmctl/publish.py) owns claims, retries and the ledger.
Declarations never import httpx at module level, so `cmctl validate` stays light.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

# The send errors live in errors.py (http.py raises them too); they are named here as
# well, so ``from cmctl.networks.base import Permanent`` keeps working.
from cmctl.media import MediaFacts
from cmctl.networks.answers import Answers
from cmctl.networks.errors import (
    Ambiguous,
    AuthExpired,
    Duplicate,
    NotReady,
    Permanent,
    SendError,
    Transient,
)
from cmctl.quota import Quota

if TYPE_CHECKING:
    from cmctl.networks.credentials import Credential
    from cmctl.networks.http import Http
    from cmctl.networks.oauth import OAuthApp

__all__ = [
    "MB",
    "OPEN_MEDIA",
    "OPEN_MEDIA_MAX",
    "SCHEDULE",
    "AccountField",
    "Ambiguous",
    "Answers",
    "Attachment",
    "AuthExpired",
    "Duplicate",
    "Idempotency",
    "MediaFacts",
    "MediaKind",
    "Network",
    "NotReady",
    "Outgoing",
    "Permanent",
    "Quota",
    "SendError",
    "Sent",
    "Transient",
    "attachments",
]

MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class MediaKind:
    """One kind of attachment a network accepts ("image", "gif" or "video")."""

    kind: str
    mime_types: frozenset[str]
    max_bytes: int
    max_count: int
    # True when an item of this kind must be the post's only attachment even though
    # the network lets other kinds share a post (a Telegram GIF cannot join an album).
    alone: bool = False


# Destinations that store files as they are (a feed, a webhook receiver, a blog) set
# no limits of their own: these generous ones are cmctl's, to catch obvious mistakes.
OPEN_MEDIA: tuple[MediaKind, ...] = (
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
OPEN_MEDIA_MAX = 50


@dataclass(frozen=True, slots=True)
class AccountField:
    """A key an account of this network may (or must) set in cmctl.yaml."""

    name: str
    required: bool = False
    secret: bool = False
    default: str | None = None
    help: str = ""
    type: str = "string"  # JSON Schema type of the value: "string" or "integer"
    example: str | None = None  # a value `cmctl init` writes in its commented stanza
    # The value is an http(s) base URL, checked like ``api_url`` (no user:password@,
    # no query): a bad one is a `validate` error.
    url: bool = False
    # Why this URL needs HTTPS: set, a plain http:// URL to a host other than
    # localhost (127.0.0.1, ::1) is a `validate` warning that says it.
    https: str = ""
    # The only values the field takes (a JSON-schema enum): anything else is a config
    # error naming them. Empty: any value of its ``type``.
    choices: tuple[str, ...] = ()


# Keys every account of every network accepts, whatever the network declares.
API_URL = AccountField(
    "api_url",
    help="base URL the account's API calls go to, instead of the network's public one "
    "(tests, proxies, regional endpoints); an http(s) URL without user:password@",
)
MEDIA_URL = AccountField(
    "media_url",
    help="public base URL where the project folder's files are served, for networks "
    "that fetch media by URL (overrides the top-level media_url)",
)
COMMON_FIELDS: tuple[AccountField, ...] = (API_URL, MEDIA_URL)
# Declared by the networks that can hold a post for its time (``Network.schedules``).
SCHEDULE = AccountField(
    "schedule",
    choices=("cmctl", "network"),
    default="cmctl",
    help="who publishes at the post's time: `cmctl` (default: cmctl sends it then) or "
    "`network` (handed over early, the network publishes it even when cmctl is off; "
    "kept in step with the calendar)",
)


# ------------------------------------------------------------------------ publishing
@dataclass(frozen=True, slots=True)
class Sent:
    """What the network answered for one published part."""

    remote_id: str
    url: str | None = None
    ref: dict[str, Any] = field(default_factory=dict)  # what a reply to it needs
    # Published, but not quite as written (a tag the account may not create): said
    # beside the outcome, never a failure.
    warnings: tuple[str, ...] = ()


class _MediaFile(Protocol):
    """What an attachment is made from: anything with a file, its alt text and its folder."""

    @property
    def path(self) -> Path: ...
    @property
    def alt(self) -> str | None: ...
    @property
    def root(self) -> Path | None: ...


@dataclass(frozen=True, slots=True)
class Attachment:
    """One media file as an adapter sees it (the calendar's positions left behind).

    Adapters read the file only through cmctl.media (``open_checked``, ``read_checked``,
    ``facts``) with ``path`` and ``root``, so a file swapped after validation is refused.
    """

    path: Path  # absolute
    alt: str | None = None
    # The project folder the file must stay in; None only for attachments built by hand.
    root: Path | None = None

    @property
    def fingerprint(self) -> str:
        """The attachment as uploaded: its path, alt text and file version. Adapters key
        an upload saved in a checkpoint by it, so a changed file (or alt text) is
        uploaded again, never attached from an older checkpoint."""
        import os

        try:
            st = os.stat(self.path)
            version = f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"
        except OSError:
            version = "missing"
        return f"{self.path}\0{self.alt or ''}\0{version}"

    @classmethod
    def from_media(cls, item: _MediaFile) -> Attachment:
        """The attachment of one calendar media item (``cmctl.calendar.model.Media``)."""
        return cls(item.path, item.alt, item.root)


def served_at(base: str, root: Path, path: Path) -> str:
    """Where ``base`` (a project's ``media_url``) serves ``path``: joined with one slash
    to its path relative to ``root``, URL-quoted. ValueError when ``path`` is not
    inside ``root`` (it has no URL there)."""
    import os
    from urllib.parse import quote

    relative = Path(os.path.abspath(path)).relative_to(Path(os.path.abspath(root)))
    return base.rstrip("/") + "/" + quote(relative.as_posix(), safe="/")


def attachments(items: Iterable[_MediaFile]) -> tuple[Attachment, ...]:
    """A job's media as the adapters take them: ``Outgoing(media=attachments(job.media))``."""
    return tuple(Attachment.from_media(item) for item in items)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One job as an adapter sees it: the content, its identity and its place in a thread."""

    key: str  # calendar:post@account[#part]
    idempotency_key: str  # derived from the key: the same on every retry
    calendar: str
    post_id: str
    part: int
    text: str
    media: tuple[Attachment, ...]
    lang: tuple[str, ...]
    scheduled_at: datetime  # aware, UTC
    reply_to: Sent | None = None  # the previous part, for part >= 1
    root: Sent | None = None  # part 0, for part >= 1
    # The post's title, link and hashtags (without '#') as written, for every network.
    # For an article (``Network.article``) ``text`` is the body alone, thread parts
    # appended; elsewhere ``text`` already ends with the link and the hashtags.
    title: str | None = None
    link: str | None = None
    tags: tuple[str, ...] = ()
    # Multi-step publishing: what an earlier attempt of this job saved (an uploaded
    # media id, a container id), and how to save progress before the next risky step.
    checkpoint: Mapping[str, Any] | None = None
    save_checkpoint: Callable[[dict[str, Any]], None] | None = None

    def save(self, checkpoint: dict[str, Any]) -> None:
        """Record progress in the ledger now (kept for the next attempt of this job)."""
        if self.save_checkpoint is not None:
            self.save_checkpoint(checkpoint)


class Idempotency(StrEnum):
    """How a network lets cmctl send a job exactly once, as each network declares it.

    The publisher never names a network: it decides from this declaration (and
    ``idempotency_window`` for KEY) whether a job whose earlier attempt may have reached
    the network can be sent again, or must be looked up, or is ``unknown``.
    """

    # The network honours an idempotency key for a while (Mastodon's Idempotency-Key,
    # about an hour): a resend within ``idempotency_window`` returns the first post.
    KEY = "key"
    # cmctl chooses the post's identifier (a Bluesky record key, a feed entry id, a
    # webhook-id, a WordPress slug): a resend finds or overwrites the same post, forever.
    CHOSEN_ID = "chosen-id"
    # No key, but the adapter can find what an earlier attempt published
    # (``find(out, since)``): the publisher looks before it resends.
    LOOKUP = "lookup"
    # Nothing (Telegram, Discord webhooks): after an ambiguous failure the job is
    # ``unknown`` and a human settles it.
    NONE = "none"


class Network:
    """Declaration of one social network. Subclasses set the class attributes."""

    # --- identity -------------------------------------------------------------
    name: ClassVar[str]  # the value of `network:` in cmctl.yaml
    title: ClassVar[str]  # how humans write it
    docs_url: ClassVar[str] = ""  # where the limits below come from
    # A short name where space is scarce (`cmctl agenda`'s cells); None: the name itself.
    abbreviation: ClassVar[str | None] = None

    # --- API --------------------------------------------------------------------
    # Public base URL of the network's API, or None when an account field gives it
    # (``api_base_field``: Mastodon's instance, Bluesky's service) or there is none.
    # An account's ``api_url`` overrides both (see ``api_url``).
    api_base: ClassVar[str | None] = None
    api_base_field: ClassVar[str | None] = None

    # --- text -----------------------------------------------------------------
    max_length: ClassVar[int | None]  # None: the network sets no limit (feed, webhook)
    length_unit: ClassVar[str] = "characters"  # word used in messages
    max_bytes: ClassVar[int | None] = None  # UTF-8 byte ceiling, when the network has one
    caption_max_length: ClassVar[int | None] = None  # limit when media is attached
    # Name of the account field that overrides max_length (e.g. a Mastodon instance
    # configured for 5000 characters), or None when the limit is fixed.
    length_field: ClassVar[str | None] = None

    # --- media ----------------------------------------------------------------
    media_kinds: ClassVar[tuple[MediaKind, ...]] = ()
    max_media: ClassVar[int] = 0  # attachments per post, all kinds together
    mixed_media: ClassVar[bool] = False  # may images and videos share a post?
    media_required: ClassVar[bool] = False  # e.g. Instagram
    # True when the network fetches media from a public URL instead of taking an
    # upload (the post then needs `media_url`, see cmctl/media_url.py).
    media_by_url: ClassVar[bool] = False

    # --- other per-field limits ------------------------------------------------
    alt_max_length: ClassVar[int | None] = None  # characters of a media's alt text
    # Name of the account field that overrides alt_max_length (an instance's own value).
    alt_length_field: ClassVar[str | None] = None

    # --- abilities ------------------------------------------------------------
    threads: ClassVar[bool] = False  # can a post have follow-up parts as replies?
    # A blog network: a post is one article. It needs a `title`; its thread parts are
    # appended to the body as paragraphs, in order; its hashtags are the article's tags
    # (not a last line of text) and its link a field of its own (``Outgoing.tags`` and
    # ``.link``); the adapter decides where the link goes.
    article: ClassVar[bool] = False
    title_max_length: ClassVar[int | None] = None  # characters of an article's title
    max_tags: ClassVar[int | None] = None  # tags an article may have; None: no limit

    # --- posting quotas ---------------------------------------------------------
    # Posts an account may publish in any rolling window (cmctl.quota): `validate` and
    # `plan` warn when a calendar goes over one, the sender waits for the window.
    quotas: ClassVar[tuple[Quota, ...]] = ()

    # --- accounts -------------------------------------------------------------
    account_fields: ClassVar[tuple[AccountField, ...]] = ()
    # Account fields that name a local file or folder, written relative to the folder of
    # cmctl.yaml: the adapter receives them resolved (see ``local_options``).
    local_paths: ClassVar[tuple[str, ...]] = ()

    # --- publishing -----------------------------------------------------------
    publishes: ClassVar[bool] = False  # False until the network's adapter exists
    # How long after a first attempt a resend with the same idempotency key is
    # harmless: None = forever (Bluesky record keys, the local feed), a duration when
    # the network forgets keys (Mastodon: 1 hour), timedelta(0) when it has none.
    idempotency_window: ClassVar[timedelta | None] = timedelta(0)
    # The strategy the publisher follows after an ambiguous answer (see Idempotency).
    idempotency: ClassVar[Idempotency] = Idempotency.NONE
    # True when ``find`` is implemented (required by LOOKUP, possible for any network:
    # the publisher then always looks before it resends or gives up as unknown).
    finds: ClassVar[bool] = False

    # --- scheduling on the network (`schedule: network`) ------------------------
    # True when the network can hold a post and publish it itself at a set time: the
    # network then declares the SCHEDULE account field and implements ``schedule``,
    # ``reschedule``, ``unschedule`` and ``confirm`` (cmctl/publish/handover.py calls
    # them). Only part 0 of a post is handed over; later parts go out by cmctl once it
    # is confirmed published.
    schedules: ClassVar[bool] = False
    # How far ahead of its time a post must be handed over at least (closer: cmctl
    # sends it itself at its time), and at most (None: no limit; further ahead: handed
    # over once it comes within the horizon).
    schedule_lead: ClassVar[timedelta] = timedelta(0)
    schedule_horizon: ClassVar[timedelta | None] = None
    # Why a held post may still be unpublished after its time, in the network's words
    # (a WordPress "missed schedule"): said when cmctl gives up waiting for it.
    schedule_missed_hint: ClassVar[str] = ""

    def __init__(
        self, account: Any, options: Mapping[str, Any], http: Http, state_dir: Path
    ) -> None:
        """Bind the declaration to one account. ``options`` has secrets filled in."""
        self.account = account
        self.options = options
        self.http = http
        self.state_dir = state_dir
        self._token: str | None = None  # this run's OAuth access token (``access_token``)
        if self.answers is not None and getattr(http, "answers", None) is None:
            http.answers = self.answers  # every answer is read through the declaration

    @property
    def api_url(self) -> str:
        """Base URL of this account's API calls, without a final slash: the account's
        ``api_url``, else its ``api_base_field`` (https:// added when written without a
        scheme), else the declared ``api_base``."""
        for key in ("api_url", self.api_base_field):
            value = str(self.options.get(key) or "").strip().rstrip("/") if key else ""
            if value:
                return value if "://" in value else "https://" + value
        if self.api_base is None:
            raise Permanent(f"the account sets no API URL for {self.title}")
        return self.api_base.rstrip("/")

    @classmethod
    def local_options(cls, options: Mapping[str, Any], root: Path) -> dict[str, Any]:
        """``options`` with the ``local_paths`` fields resolved against ``root``.

        Whoever binds an adapter calls it first: ``network(account,
        network.local_options(options, config.root), http, state_dir)``.
        """
        resolved = dict(options)
        for name in cls.local_paths:
            value = resolved.get(name)
            if isinstance(value, str):
                resolved[name] = str((root / value).resolve())
        return resolved

    @classmethod
    def short_name(cls) -> str:
        """The ``abbreviation``, or the name when the network declares none."""
        return cls.abbreviation or cls.name

    def publish(self, out: Outgoing) -> Sent:
        """Publish one part; raise a SendError subclass when it did not go out."""
        raise Permanent(f"cmctl cannot publish to {self.title} yet")

    def check(self) -> str:
        """Prove the credentials with a harmless call; return who the account is."""
        raise Permanent(f"cmctl cannot check {self.title} accounts yet")

    # --- scheduling on the network (``schedules``) ------------------------------------
    def schedule(self, out: Outgoing) -> Sent:
        """Hand ``out`` over, for the network to publish at ``out.scheduled_at``.

        A creating call: it may fail ambiguously, so ``find`` must see held posts too."""
        raise Permanent(f"cmctl cannot schedule posts on {self.title}")

    def reschedule(self, sent: Sent, out: Outgoing) -> Sent:
        """Update the held post ``sent`` to ``out``'s content and time."""
        raise Permanent(f"cmctl cannot schedule posts on {self.title}")

    def unschedule(self, sent: Sent) -> None:
        """Take the held post ``sent`` back (it must never go out). Already gone: fine."""
        raise Permanent(f"cmctl cannot schedule posts on {self.title}")

    def confirm(self, sent: Sent, out: Outgoing | None) -> Sent | None:
        """After its time: the published post (its public URL), or None while the
        network still holds it. ``Permanent`` when it is gone (deleted on the network).
        ``out``: the job as the calendar has it now (None when it left the calendar)."""
        raise Permanent(f"cmctl cannot schedule posts on {self.title}")

    def schedule_problem(self, out: Outgoing, now: datetime) -> str | None:
        """Why the network would refuse to hold ``out`` now, or None (the declared lead
        and horizon are checked by the publisher; a network with more rules adds them)."""
        return None

    # --- login (OAuth 2.0): networks whose accounts log in through a browser -------
    # The declaration `cmctl accounts login` follows (cmctl/networks/oauth.py); None:
    # the network's credentials are written in cmctl.yaml and never expire.
    oauth: ClassVar[OAuthApp | None] = None

    @property
    def account_name(self) -> str:
        """The name of the account this adapter is bound to (as in cmctl.yaml)."""
        return str(getattr(self.account, "name", self.account))

    def authorization_url(self, state: str, challenge: str | None, redirect_uri: str) -> str:
        """The address of the browser step of a login (``oauth`` networks)."""
        from cmctl.networks import oauth

        return oauth.authorization_url(self, self._oauth(), state, challenge, redirect_uri)

    def exchange_code(self, code: str, verifier: str | None, redirect_uri: str) -> Credential:
        """The credential a login's authorization ``code`` is worth (RFC 6749 §4.1.3).
        A network with a second step (a long-lived token, the user's id) overrides it."""
        from cmctl.networks import oauth

        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        if verifier is not None:
            form["code_verifier"] = verifier
        return oauth.token_request(self, self._oauth(), form, account=self.account_name)

    def renew(self, current: Credential) -> Credential:
        """A fresh credential from ``current`` (RFC 6749 §6: its refresh token, spent
        once; the store saves the new one before it is used), or ``LoginRequired``.
        Called through ``CredentialStore.refresh``, under the store's lock."""
        from cmctl.networks import oauth
        from cmctl.networks.credentials import LoginRequired

        if current.refresh is None:
            raise LoginRequired(self.account_name, f"the {self.title} login has expired")
        form = {"grant_type": "refresh_token", "refresh_token": current.refresh}
        return oauth.token_request(self, self._oauth(), form, account=self.account_name)

    def _oauth(self) -> OAuthApp:
        if self.oauth is None:
            raise Permanent(f"{self.title} accounts do not log in through a browser")
        return self.oauth

    def access_token(self) -> str:
        """The account's OAuth access token (``oauth`` networks), for its API calls.

        From the credential store (cmctl/networks/credentials.py), renewed first by
        ``renew`` under the store's lock when it expires within a few minutes; seeded
        from the account's ``access_token`` / ``refresh_token`` when it sets them (and
        again whenever those values change). ``LoginRequired`` when there is none and
        only a login helps. After the network refuses the token, ``refresh()``."""
        if self._token is None:
            self._token = self._stored_credential(refused=None).access
        return self._token

    def refresh(self) -> bool:
        """After the network refused the access token: renew it under the store's lock.

        Another process may have renewed it meanwhile: its token is used as it is, so
        a refresh token is never spent twice. False for networks without ``oauth``
        (and for those that override this with a session of their own)."""
        if self.oauth is None:
            return False
        self._stored_credential(refused=self._token or "")
        return True

    def seeded_credential(self, tokens: Mapping[str, str], digest: str) -> Credential:
        """The credential of tokens seeded in cmctl.yaml. Their expiry is unknown here:
        a network that can ask (a debug or introspection endpoint) overrides this;
        by default the access token is taken as issued now."""
        from cmctl import clock
        from cmctl.networks.credentials import Credential

        lifetime = self.oauth.access_lifetime if self.oauth is not None else None
        return Credential(
            access=tokens["access_token"],
            refresh=tokens.get("refresh_token") or None,
            expires_at=clock.now() + lifetime if lifetime is not None else None,
            extra={"seed": digest},
        )

    def _stored_credential(self, refused: str | None) -> Credential:
        from dataclasses import replace

        from cmctl.errors import ConfigError
        from cmctl.networks import oauth
        from cmctl.networks.credentials import CredentialStore, LoginRequired

        name = self.account_name
        digest = oauth.seed_digest(self.options)
        tokens = {f: str(self.options.get(f) or "") for f in oauth.SEED_FIELDS}
        for value in tokens.values():
            self.http.add_secret(value or None)

        def renewed(current: Credential | None) -> Credential:
            if digest is not None and (current is None or current.extra.get("seed") != digest):
                if not tokens["access_token"]:
                    raise LoginRequired(
                        name, "the account seeds a refresh_token without access_token"
                    )
                return self.seeded_credential(tokens, digest)
            if current is None:
                raise LoginRequired(name, f"it has not logged in to {self.title} yet", again=False)
            new = self.renew(current)
            seed = current.extra.get("seed")
            return replace(new, extra={**new.extra, "seed": seed}) if seed else new

        store = CredentialStore(self.state_dir)
        try:
            stored = store.get(name)
            force = digest is not None and (stored is None or stored.extra.get("seed") != digest)
            cred = store.refresh(name, renewed, refused=refused, force=force)
        except ConfigError as exc:  # a store that fails mid-run (a full disk): retry later
            raise Transient(str(exc)) from None
        self.http.add_secret(cred.access)
        self.http.add_secret(cred.refresh)
        self._token = cred.access
        return cred

    def served_url(self, item: Attachment) -> str:
        """The public URL a ``media_by_url`` network fetches ``item`` from: the
        account's ``media_url`` (the project's, handed over by binding) and the file's
        path in the project folder; ``Permanent`` when there is none."""
        base = str(self.options.get("media_url") or "").strip()
        if not base or item.root is None:
            raise Permanent(
                f"{self.title} fetches media from a public URL: set media_url in cmctl.yaml"
            )
        try:
            return served_at(base, item.root, item.path)
        except ValueError:
            raise Permanent(
                f"media {item.path.name} is outside the project folder: media_url cannot serve it"
            ) from None

    def find(self, out: Outgoing, since: datetime) -> Sent | None:
        """What an earlier attempt of ``out`` published at or after ``since``, if any.

        Read-only. Called after an ambiguous answer, a duplicate refusal, or when a
        dead sender's claim is recovered, before the publisher resends or gives up as
        unknown. None: nothing of this job is online. Raise ``Transient`` when the
        network cannot be asked now (the publisher asks again later)."""
        raise Permanent(f"cmctl cannot look posts up on {self.title}")

    def reference(self, url: str) -> Sent | None:
        """The network's reference to a post a human says is online at ``url``.

        `cmctl resolve JOB --published URL` asks for it when later parts of the thread
        still have to go out as replies to that post: the answer holds what the
        publisher needs to reply (``remote_id``, the post's ``url``, and ``ref``, the
        same data ``publish`` returns for a part it sent). Read-only: it never posts.

        None: this network cannot find a post from a link (the default), so cmctl
        cannot reply to a part settled by hand. Raise ``Permanent`` when ``url`` is not
        a link to a post of this account, or the network does not find it (the message
        says which link is expected), ``Transient`` when the network cannot be reached.
        """
        return None

    def close(self) -> None:
        """Release what the adapter holds (sessions, files, its HTTP client)."""
        self.http.close()

    # ---------------------------------------------------------------------------
    @classmethod
    def count(cls, text: str) -> int:
        """Length of ``text`` the way this network counts it (default: code points)."""
        return len(text)

    @classmethod
    def length_limit(
        cls, *, has_media: bool, account: Mapping[str, Any] | None = None
    ) -> int | None:
        if cls.length_field and account:
            override = account.get(cls.length_field)
            if isinstance(override, int) and not isinstance(override, bool) and override > 0:
                return override
        if has_media and cls.caption_max_length is not None:
            return cls.caption_max_length
        return cls.max_length

    @classmethod
    def alt_limit(cls, account: Mapping[str, Any] | None = None) -> int | None:
        """Characters an alt text may have (the account's override first), or None."""
        if cls.alt_length_field and account:
            override = account.get(cls.alt_length_field)
            if isinstance(override, int) and not isinstance(override, bool) and override > 0:
                return override
        return cls.alt_max_length

    @classmethod
    def check_text(
        cls, text: str, *, has_media: bool, account: Mapping[str, Any] | None = None
    ) -> tuple[int, int | None, list[str]]:
        """Return (counted length, limit or None, problems) for one piece of text."""
        problems: list[str] = []
        limit = cls.length_limit(has_media=has_media, account=account)
        length = cls.count(text)
        if limit is not None and length > limit:
            what = "caption" if has_media and limit == cls.caption_max_length else "text"
            problems.append(f"{what} is {length}/{limit} {cls.length_unit} for {cls.name}")
        if cls.max_bytes is not None:
            size = len(text.encode("utf-8"))
            if size > cls.max_bytes:
                problems.append(f"text is {size}/{cls.max_bytes} UTF-8 bytes for {cls.name}")
        return length, limit, problems

    @classmethod
    def shown_text(cls, text: str) -> str:
        """``text`` as the network will display it, when it rewrites what was written
        (Bluesky shows a long link shortened, the full URL kept in its link facet).
        compile counts this text and `plan` shows it; the adapter still receives the
        text as written (``Outgoing.text``), makes the same rewrite and keeps what it
        needs (each full URL) for itself. Default: the text unchanged."""
        return text

    @classmethod
    def check_article(cls, title: str | None, tags: Sequence[str]) -> list[tuple[str, str]]:
        """Problems with an article's title and tags, each with its hint (``article``
        networks only). A network with rules of its own for tags extends this."""
        if not cls.article:
            return []
        problems: list[tuple[str, str]] = []
        if title is None or not title.strip():
            problems.append(
                (
                    f"{cls.title} publishes articles: the post needs a 'title'",
                    f"give the post (or its '{cls.name}' variant) a 'title:'",
                )
            )
        elif cls.title_max_length is not None and len(title) > cls.title_max_length:
            problems.append(
                (
                    f"title is {len(title)}/{cls.title_max_length} characters for {cls.name}",
                    f"shorten it, or give the '{cls.name}' variant a shorter 'title:'",
                )
            )
        if cls.max_tags is not None and len(tags) > cls.max_tags:
            problems.append(
                (
                    f"{len(tags)} hashtags; {cls.name} takes at most {cls.max_tags} tags",
                    f"give the '{cls.name}' variant its own 'hashtags:'",
                )
            )
        return problems

    @classmethod
    def media_kind(cls, mime_type: str | None) -> MediaKind | None:
        for kind in cls.media_kinds:
            if mime_type in kind.mime_types:
                return kind
        return None

    @classmethod
    def check_media(cls, items: Sequence[MediaFacts]) -> list[tuple[int | None, str]]:
        """Problems with a post's attachments: (index of the item or None, message)."""
        problems: list[tuple[int | None, str]] = []
        if not items:
            if cls.media_required:
                problems.append((None, f"{cls.name} requires at least one image or video"))
            return problems
        if cls.max_media == 0:
            problems.append((None, f"{cls.name} does not accept media attachments"))
            return problems
        if len(items) > cls.max_media:
            problems.append((None, f"{len(items)} attachments; {cls.name} accepts {cls.max_media}"))
        counts: dict[str, int] = {}
        for index, item in enumerate(items):
            kind = cls.media_kind(item.mime_type)
            if kind is None:
                accepted = ", ".join(sorted({t for k in cls.media_kinds for t in k.mime_types}))
                found = item.mime_type or "an unrecognised file type"
                problems.append((index, f"{found} is not accepted by {cls.name} ({accepted})"))
                continue
            counts[kind.kind] = counts.get(kind.kind, 0) + 1
            if item.size > kind.max_bytes:
                problems.append(
                    (
                        index,
                        f"{kind.kind} is {_size(item.size)}; {cls.name} accepts at most "
                        f"{_size(kind.max_bytes)}",
                    )
                )
        for kind in cls.media_kinds:
            n = counts.get(kind.kind, 0)
            if n > kind.max_count and len(items) <= cls.max_media:
                problems.append((None, f"{n} {kind.kind}s; {cls.name} accepts {kind.max_count}"))
        if len(items) > 1:
            for kind in cls.media_kinds:
                if kind.alone and counts.get(kind.kind):
                    problems.append(
                        (None, f"a {kind.kind} must be the only attachment of a {cls.name} post")
                    )
        if not cls.mixed_media and len(counts) > 1:
            problems.append(
                (None, f"{cls.name} cannot mix {' and '.join(sorted(counts))} in one post")
            )
        return problems

    @classmethod
    def field(cls, name: str) -> AccountField | None:
        for f in (*cls.account_fields, *COMMON_FIELDS):
            if f.name == name:
                return f
        return None

    # --- answers that are errors in disguise -----------------------------------------
    # How the network says "no" or "slow down" inside its answers: a 200 with
    # ``"ok": false``, a delay in the JSON body, an expired token named by an error
    # code, usage headers near the limit (cmctl.networks.answers.Answers). The HTTP
    # helper reads every answer of this adapter through it, 2xx ones too, and raises
    # the typed error. None: the status codes say it all.
    answers: ClassVar[Answers | None] = None


def _size(n: int) -> str:
    """Human size; exact bytes when rounding would hide a difference against a limit."""
    if n >= MB and n % MB == 0:
        return f"{n // MB} MB"
    if n >= 1000:
        return f"{n:,} bytes"
    return f"{n} bytes"

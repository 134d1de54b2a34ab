"""Human decisions on jobs: resolve (published / not published / skip) and retry.

A human decision is final until a human reopens it with `cmctl retry`: every row it
sets carries ``decided_by`` (ledger migration 2): ``'human'`` for the job named,
``'human via KEY'`` for what follows from a decision on job KEY (the later parts of
its thread). The plan sync leaves such rows as they are.

Threads: a part goes out as a reply to the previous one, so
- retrying (or `--not-published`) a part requeues its thread from the first part
  that is not published, and the later parts that stopped with it; a part before it
  that a human must look at first (unknown, skipped) is named and nothing changes;
- skipping a part skips the later parts (nothing to reply to);
- `--published URL` on a part with later parts asks the network for its reference
  to that post (``Network.reference``), so that the later parts reply to it; where
  the network cannot tell, the later parts fail, saying why. A URL is never taken
  for a remote id.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cmctl.errors import CmctlError, UsageError
from cmctl.ledger.store import Ledger, Row, iso
from cmctl.publish import RETRY_GRACE

if TYPE_CHECKING:
    from cmctl.config import Config
    from cmctl.networks.base import Sent

HUMAN = "human"
SETTLEABLE = ("unknown", "failed", "missed")
STOPPED = ("failed", "missed")  # cmctl gave up on it: a human may queue it again
MAX_URL = 2048

# (job row, the link a human gave) -> the network's reference to that post, or None
# when the network cannot find a post from a link. Raises CmctlError.
Lookup = Callable[[Row, str], "Sent | None"]


def decided_by(ledger: Ledger, key: str) -> str | None:
    """Who set the job's state: None (cmctl), 'human' or 'human via KEY'."""
    r = ledger.db.execute("SELECT decided_by FROM jobs WHERE key = ?", (key,)).fetchone()
    return r[0] if r else None


def _by_hand(ledger: Ledger, row: Row) -> bool:
    return (decided_by(ledger, row.key) or "").startswith(HUMAN)


def _matches(row: Row, spec: str) -> bool:
    return spec in (row.key, row.post_key, f"{row.calendar}:{row.post_id}", row.post_id)


def find(ledger: Ledger, spec: str, states: Iterable[str] | None = None) -> list[Row]:
    """Rows named by a job key, calendar:post@account, calendar:post or a post id.

    A job key names that job only, even when it is also the post key every part of
    its thread shares (the first part's key is ``calendar:post@account``)."""
    rows = ledger.rows(states=tuple(states) if states is not None else None)
    exact = [r for r in rows if r.key == spec]
    found = exact or [r for r in rows if _matches(r, spec)]
    if not found:
        attention = [r.key for r in ledger.rows(states=SETTLEABLE)][:10]
        raise UsageError(
            f"no job matches '{spec}'",
            hint=("jobs to look at: " + ", ".join(attention))
            if attention
            else "see `cmctl status` or `cmctl plan` for job keys",
        )
    return found


def thread(ledger: Ledger, row: Row) -> list[Row]:
    """Every part of ``row``'s post on its account, in order."""
    return sorted((r for r in ledger.rows() if r.post_key == row.post_key), key=lambda r: r.part)


@dataclass(slots=True)
class _Change:
    """One row to write: its new state and columns, and the line that reports it."""

    row: Row
    state: str
    event: str
    line: str
    values: dict[str, Any]
    detail: str | None = None


def _apply(ledger: Ledger, now: datetime, changes: list[_Change]) -> list[str]:
    """All the changes in one transaction, each only if its row is still as it was read."""

    def op(db: sqlite3.Connection) -> bool:
        for change in changes:
            done = ledger.update(
                db,
                now,
                change.row.key,
                expect=(change.row.state,),
                state=change.state,
                **change.values,
            )
            if not done:
                raise _Raced(change.row.key)
            ledger.log(
                db, now, change.row.key, change.event, change.detail or change.values.get("reason")
            )
        return True

    try:
        ledger.write(op)
    except _Raced as exc:
        raise CmctlError(
            f"{exc.key} changed while it was being settled (a publish is "
            "running?); nothing was changed",
            hint="see `cmctl status`, then run the command again",
        ) from None
    return [c.line for c in changes]


class _Raced(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _queued(
    row: Row,
    now: datetime,
    by: str,
    *,
    line: str,
    event: str = "retry by hand",
    not_published: bool = False,
) -> _Change:
    values: dict[str, Any] = {
        "reason": None,
        "attempts": 0,
        "next_attempt_at": iso(now),
        # an explicit attempt: the catch-up window does not cancel it, the grace ends it
        "deadline": iso(now + RETRY_GRACE),
        "decided_by": by,
    }
    if not_published:  # a human looked: no earlier attempt is online
        values["maybe_sent_at"] = None
    return _Change(row, "pending", event, line, values)


def _requeue_thread(
    ledger: Ledger,
    target: Row,
    now: datetime,
    *,
    event: str,
    target_line: str,
    not_published: bool = False,
) -> list[_Change]:
    """``target`` queued again with what its thread needs: the parts before it that
    are not published (queued first, or the part to settle first is named) and the
    parts after it that stopped."""
    parts = thread(ledger, target)
    changes: list[_Change] = []
    via = f"{HUMAN} via {target.key}"
    for part in parts:
        if part.part >= target.part:
            break
        if part.state == "published":
            if part.remote_id is None:
                raise UsageError(
                    f"{target.key} replies to part #{part.part} ({part.key}), which was "
                    "resolved by hand with a link cmctl cannot reply to",
                    hint=f"publish it by hand, then `cmctl resolve {target.key} "
                    "--published URL`, or `--skip` it",
                )
            continue
        if part.state in (*STOPPED, "pending"):
            changes.append(
                _queued(
                    part,
                    now,
                    via,
                    event=event,
                    line=f"{part.key}: queued again first (part "
                    f"#{part.part} of the thread, {target.key} replies "
                    "to it)",
                )
            )
            continue
        raise UsageError(
            f"{target.key} replies to part #{part.part} ({part.key}), which is "
            f"{_describe(ledger, part)}: settle that part first",
            hint=_what_to_do(ledger, part),
        )
    changes.append(
        _queued(target, now, HUMAN, event=event, line=target_line, not_published=not_published)
    )
    for part in parts:
        if part.part <= target.part:
            continue
        if part.state in STOPPED or (
            part.state == "skipped" and decided_by(ledger, part.key) == via
        ):
            changes.append(
                _queued(
                    part,
                    now,
                    via,
                    event=event,
                    line=f"{part.key}: queued again too (part #{part.part} of the same thread)",
                )
            )
    return changes


def _later(ledger: Ledger, row: Row) -> list[Row]:
    """The later parts of ``row``'s thread that may still go out."""
    via = f"{HUMAN} via {row.key}"
    return [
        r
        for r in thread(ledger, row)
        if r.part > row.part
        and (
            r.state in ("pending", *STOPPED)
            or (r.state == "skipped" and decided_by(ledger, r.key) == via)
        )
    ]


def _describe(ledger: Ledger, row: Row) -> str:
    if row.state == "skipped":
        if _by_hand(ledger, row):
            return "skipped by hand"
        return f"skipped ({row.reason or 'a draft or removed from the calendar'})"
    if row.state == "unknown":
        return "unknown: it may already be online"
    if row.state == "sending":
        return "being sent right now"
    return row.state


def _what_to_do(ledger: Ledger, row: Row) -> str:
    if row.state == "unknown":
        return (
            f"check the account, then `cmctl resolve {row.key} --published URL` or "
            "`--not-published`"
        )
    if row.state == "skipped" and _by_hand(ledger, row):
        return f"`cmctl retry {row.key}` reopens it"
    if row.state == "skipped":
        return "edit the calendar (a draft goes out once it is no longer a draft)"
    if row.state == "sending":
        return "wait for that publish to finish, then see `cmctl status`"
    if row.state == "published":
        return "cmctl never sends a post twice"
    return "see `cmctl status`"


def _check_url(url: str) -> str:
    link = url.strip()
    if (
        not link
        or len(link) > MAX_URL
        or any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in link)
    ):
        raise UsageError(
            "--published takes the post's link, e.g. https://mastodon.social/@you/123456789",
            hint="copy it from the post itself (one line, no spaces)",
        )
    return link


# ---------------------------------------------------------------------------- resolve
def resolve(
    ledger: Ledger,
    spec: str,
    now: datetime,
    *,
    url: str | None = None,
    not_published: bool = False,
    skip: bool = False,
    lookup: Lookup | None = None,
) -> list[str]:
    """Settle one job by hand. ``lookup`` finds the network's reference for
    ``--published URL`` when later parts must reply to it (None: none can)."""
    if sum((url is not None, not_published, skip)) != 1:
        raise UsageError("say one of --published URL, --not-published or --skip")
    rows = find(ledger, spec)
    if len(rows) > 1:
        raise UsageError(
            f"'{spec}' names {len(rows)} jobs; give one job key",
            hint="candidates: " + ", ".join(r.key for r in rows),
        )
    row = rows[0]
    if row.state not in SETTLEABLE and not (row.state == "skipped" and _by_hand(ledger, row)):
        raise UsageError(
            f"{row.key} is {_describe(ledger, row)}: nothing to settle "
            "(resolve settles unknown, failed and missed jobs)",
            hint=_what_to_do(ledger, row),
        )
    if url is not None:
        return _published(ledger, row, _check_url(url), now, lookup)
    if skip:
        return _skipped(ledger, row, now)
    changes = _requeue_thread(
        ledger,
        row,
        now,
        event="resolved: not published",
        not_published=True,
        target_line=f"{row.key}: not published; the next `cmctl publish` sends it",
    )
    return _apply(ledger, now, changes)


def _published(
    ledger: Ledger, row: Row, url: str, now: datetime, lookup: Lookup | None
) -> list[str]:
    later = _later(ledger, row)
    sent = lookup(row, url) if later and lookup is not None else None
    values: dict[str, Any] = {
        "url": (sent.url if sent is not None and sent.url else url),
        # the network's own id, or nothing: a URL is never a remote id
        "remote_id": sent.remote_id if sent is not None else None,
        "remote_ref": json.dumps(sent.ref, sort_keys=True) if sent and sent.ref else None,
        "reason": None,
        "sent_hash": row.content_hash,
        "published_at": iso(now),
        "next_attempt_at": None,
        "decided_by": HUMAN,
    }
    changes = [
        _Change(
            row,
            "published",
            "resolved: published",
            f"{row.key}: recorded as published ({values['url']}); it will never be sent again",
            values,
            detail=values["url"],
        )
    ]
    via = f"{HUMAN} via {row.key}"
    if sent is not None:
        for part in later:
            changes.append(
                _queued(
                    part,
                    now,
                    via,
                    event="resolved: thread continues",
                    line=f"{part.key}: queued; the next `cmctl publish` "
                    f"sends it as a reply to {values['url']}",
                )
            )
    elif later:
        from cmctl.networks import registry

        try:
            title = registry.get(row.network).title
        except KeyError:
            title = row.network
        reason = f"part #{row.part} was resolved by hand; cmctl cannot reply to it on {title}"
        for part in later:
            changes.append(
                _Change(
                    part,
                    "failed",
                    "failed: thread resolved by hand",
                    f"{part.key}: failed: {reason} (publish it by hand, then `cmctl resolve "
                    f"{part.key} --published URL`, or `--skip` it)",
                    {"reason": reason, "next_attempt_at": None, "decided_by": via},
                )
            )
    return _apply(ledger, now, changes)


def _skipped(ledger: Ledger, row: Row, now: datetime) -> list[str]:
    changes = [
        _Change(
            row,
            "skipped",
            "resolved: skip",
            f"{row.key}: skipped; it will never be sent",
            {"reason": "skipped by hand", "next_attempt_at": None, "decided_by": HUMAN},
        )
    ]
    reason = f"part #{row.part} was skipped by hand; there is nothing to reply to"
    for part in _later(ledger, row):
        changes.append(
            _Change(
                part,
                "skipped",
                "skipped: thread skipped by hand",
                f"{part.key}: skipped too ({reason})",
                {"reason": reason, "next_attempt_at": None, "decided_by": f"{HUMAN} via {row.key}"},
            )
        )
    return _apply(ledger, now, changes)


# ---------------------------------------------------------------------------- retry
def retry(
    ledger: Ledger, specs: Iterable[str], now: datetime, *, all_failed: bool = False
) -> list[str]:
    """Queue failed, missed or skipped-by-hand jobs again (and what their threads need).

    An ``unknown`` job is refused: it may be online, and only a human who looked can
    say (`cmctl resolve`). A draft, a post removed from the calendar, a published job
    are refused, saying why."""
    targets: dict[str, Row] = {}
    if all_failed:
        targets.update((r.key, r) for r in ledger.rows(states=("failed",)))
    for spec in specs:
        rows = find(ledger, spec)
        for row in rows:
            if row.state in ("unknown", "sending"):
                raise UsageError(
                    f"{row.key} is {_describe(ledger, row)}; not retried",
                    hint=_what_to_do(ledger, row),
                )
        retryable = [r for r in rows if _retryable(ledger, r)]
        if not retryable:
            row = rows[0]
            raise UsageError(
                f"{row.key} is {_describe(ledger, row)}: nothing to retry",
                hint=_what_to_do(ledger, row),
            )
        targets.update((r.key, r) for r in retryable)
    if not targets:
        return ["nothing to retry"]
    changes: dict[str, _Change] = {}
    for row in sorted(targets.values(), key=lambda r: (r.post_key, r.part)):
        if row.key in changes:
            continue  # already queued with an earlier part of its thread
        fresh = ledger.get(row.key)
        if fresh is None or not _retryable(ledger, fresh):
            continue
        for change in _requeue_thread(
            ledger, fresh, now, event="retry by hand", target_line=f"{row.key}: queued again"
        ):
            changes.setdefault(change.row.key, change)
    for key in targets.keys() & changes.keys():  # named by the human, not a consequence
        changes[key].values["decided_by"] = HUMAN
        changes[key].line = f"{key}: queued again"
    ordered = sorted(changes.values(), key=lambda c: (c.row.post_key, c.row.part))
    return _apply(ledger, now, ordered)


def _retryable(ledger: Ledger, row: Row) -> bool:
    return row.state in (*STOPPED, "pending") or (row.state == "skipped" and _by_hand(ledger, row))


# ---------------------------------------------------------------------------- lookups
def network_lookup(config: Config, *, transport: Any = None) -> Lookup:
    """A Lookup that asks the job's network, with the account's credentials."""

    def lookup(row: Row, url: str) -> Sent | None:
        from cmctl.networks.base import Permanent, SendError

        account = config.accounts.get(row.account)
        if account is None or account.network != row.network:
            raise UsageError(
                f"account '{row.account}' is not the {row.network} account it was in "
                "cmctl.yaml: cmctl cannot look the post up",
                hint="restore the account, or settle each part by hand (`--published "
                "URL` or `--skip`)",
            )
        from cmctl.binding import bind

        adapter = bind(config, account, transport=transport)
        http = adapter.http
        network = type(adapter)
        try:
            return adapter.reference(url)
        except Permanent as exc:
            raise UsageError(
                f"{row.key}: {http.redact(exc.message)}; nothing was recorded",
                hint=f"give the link of the post as {network.title} shows it, "
                f"or `cmctl resolve {row.key} --skip`",
            ) from None
        except SendError as exc:
            raise CmctlError(
                f"{row.key}: could not ask {network.title} about {url}: "
                f"{http.redact(exc.message)}; nothing was recorded",
                hint="try again later",
            ) from None
        finally:
            adapter.close()

    return lookup

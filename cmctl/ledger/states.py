"""The job state machine: the states, and the one table of transitions allowed.

Every change of a job's state goes through the ledger (``Ledger.set_state``,
``finish``, ``record_late_publication``, the sync), which checks it against
``TRANSITIONS`` and records its event in the ``events`` table. A transition that is not
in the table is a bug in cmctl: it raises, and the transaction is rolled back.
"""

from __future__ import annotations

from enum import StrEnum

from cmctl.errors import CmctlError


class State(StrEnum):
    PENDING = "pending"  # planned, not sent yet (or waiting for its next attempt)
    SENDING = "sending"  # claimed by a process that is sending it
    PUBLISHED = "published"  # the network has it: never sent again
    FAILED = "failed"  # the network said no, or retries ran out
    UNKNOWN = "unknown"  # may or may not be online: a human settles it
    MISSED = "missed"  # too late to go out: reported, never sent late
    SKIPPED = "skipped"  # a draft, removed from the calendar, or dropped by hand
    # handed over early (``schedule: network``): the network holds it for its time
    SCHEDULED = "scheduled"


P, S, PUB, F, U, M, SK, SCH = (
    State.PENDING,
    State.SENDING,
    State.PUBLISHED,
    State.FAILED,
    State.UNKNOWN,
    State.MISSED,
    State.SKIPPED,
    State.SCHEDULED,
)

# (from, to) -> what causes it. A new job enters as pending, or skipped (a draft), or,
# when it is the same post as one sent under another identity, as published or unknown.
TRANSITIONS: dict[tuple[State, State], str] = {
    (P, S): "claimed by a sender",
    (P, SK): "drafted, removed from the calendar, or cancelled by hand",
    (P, U): "removed or drafted after an attempt that may have been published; "
    "gave up after such an attempt",
    (P, F): "gave up (deadline or attempts), or a part that cannot follow the one before",
    (P, M): "past its catch-up window before it could go out, or its thread's start was",
    (P, PUB): "a send whose claim was taken over went out (recorded late)",
    (S, PUB): "published (or a post the network held, confirmed published)",
    (S, P): "a retry is planned, or a dead sender's claim is recovered (resend is safe); "
    "taken back from the network to be sent by cmctl at its time",
    (S, F): "the network refused it",
    (S, U): "an ambiguous answer without a safe resend, or a dead sender without one",
    (F, P): "edited or moved (reopened), or retried / settled `--not-published` by hand",
    (F, PUB): "resolved by hand as published, or a late record of a send",
    (F, SK): "drafted, or skipped or cancelled by hand",
    (F, U): "drafted after an attempt that may have been published",
    (M, P): "moved, sent on purpose (`--post`), or retried by hand",
    (M, PUB): "resolved by hand as published, or a late record of a send",
    (M, SK): "drafted, or skipped or cancelled by hand",
    (M, U): "drafted after an attempt that may have been published",
    (U, PUB): "resolved by hand as published, or a late record of a send",
    (U, P): "resolved by hand as not published",
    (U, SK): "skipped by hand after checking the account",
    (SK, P): "restored (draft approved, post back in the calendar) or retried by hand",
    (SK, PUB): "resolved by hand as published, or a late record of a send",
    # `schedule: network` (cmctl/publish/handover.py): the network holds the post
    (S, SCH): "handed over to the network for its time, or kept in step with the calendar",
    (SCH, S): "claimed to keep it in step, confirm it or take it back",
    (S, SK): "taken back from the network (removed, drafted or cancelled)",
    (SCH, U): "not confirmed long after its time, or a take-back that may have failed",
}


class IllegalTransition(CmctlError):
    exit_code = 70  # a bug in cmctl, never the user's doing


def check(old: str, new: str, key: str = "") -> None:
    """Raise IllegalTransition unless ``old`` → ``new`` is in the table. An update that
    keeps the state (a new content hash, a retry time) is not a transition."""
    try:
        pair = (State(old), State(new))
    except ValueError:
        raise IllegalTransition(f"{key}: unknown state {old!r} or {new!r}") from None
    if pair[0] != pair[1] and pair not in TRANSITIONS:
        raise IllegalTransition(f"{key}: {old} → {new} is not a transition cmctl makes")

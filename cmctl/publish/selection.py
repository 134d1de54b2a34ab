"""What to send now: the due jobs, or the one post `--post` names."""

from __future__ import annotations

from datetime import datetime

from cmctl import brake
from cmctl.errors import UsageError
from cmctl.ledger.store import Row, iso
from cmctl.publish.context import Context
from cmctl.publish.policy import RETRY_GRACE, matches
from cmctl.publish.result import PublishResult


class Selection(Context):
    def _targets(self, only: str) -> set[str]:
        """The job keys `--post SPEC` names: one post, on one or every account.

        SPEC is a post id, `calendar:post`, `calendar:post@account` or a job key. A
        post id used in several calendars is ambiguous: refused, with the candidates."""
        keys = {r.key for r in self.ledger.rows() if matches(r, only)}
        keys |= {j.key for j in self._jobs.values() if matches(j, only)}
        posts = sorted({key.split("@", 1)[0] for key in keys})
        if len(posts) > 1:
            raise UsageError(
                f"'{only}' names {len(posts)} posts: " + ", ".join(posts[:10]),
                hint="name one as calendar:post (or calendar:post@account)",
            )
        return keys

    def select(
        self, now: datetime, only: str | None, targets: set[str] | None, result: PublishResult
    ) -> list[Row]:
        """Due rows, in time order; with ``only``, that post's unsent rows, whatever time."""
        self._on_purpose = only is not None
        pauses = brake.active(self.ledger)
        if only is not None and targets is not None:
            matched = self.ledger.rows(keys=sorted(targets))
            self._refuse_paused(only, matched, pauses)
            rows = [r for r in matched if r.state in ("pending", "missed") and r.key in self._jobs]
            done = [r for r in matched if r.state == "published"]
            for row in done:  # never twice: say so, and succeed
                self._emit(
                    result,
                    self._outcome(
                        row, "already", url=row.url, message="already published; never sent twice"
                    ),
                )
            if not rows and done:
                return []
            if not rows:
                other = sorted({f"{r.key} is {r.state}" for r in matched})
                held = sorted(k for k in self.project_held(targets))
                raise UsageError(
                    f"no unsent post matches '{only}'"
                    + (f" ({'; '.join(other[:5])})" if other else "")
                    + (f"; held: {'; '.join(held)}" if held else ""),
                    hint="see `cmctl plan` or `cmctl status` for post ids; `cmctl retry` "
                    "queues a failed or missed job again",
                )
            for row in rows:
                if row.state == "missed" or row.next_attempt_at is None:
                    self.ledger.set_state(
                        row.key,
                        now,
                        "pending",
                        expect=("missed", "pending"),
                        event="sent on purpose (--post)",
                        reason=None,
                        attempts=0 if row.state == "missed" else row.attempts,
                        next_attempt_at=iso(now),
                        deadline=iso(now + RETRY_GRACE),
                    )
            return self.ledger.rows(keys=[r.key for r in rows])
        due = []
        for row in self.ledger.rows(states=("pending",), due_by=now):
            if row.key not in self._jobs:
                continue  # its calendar is held back by errors, or its post is held
            if row.scheduled_at <= now and (
                row.next_attempt_at is None or row.next_attempt_at <= now
            ):
                due.append(row)
        return self.hold_paused(self.hold_blackout(due, result), pauses, result)

    def hold_blackout(self, rows: list[Row], result: PublishResult) -> list[Row]:
        """A due post on a blackout day (declared after its post was checked) is held,
        never sent: missed once past its catch-up window, like any held post."""
        blackouts = self.config.blackouts
        if not blackouts:
            return rows
        going = []
        for row in rows:
            found = blackouts.find(self._jobs[row.key].local.date())
            if found is None:
                going.append(row)
            else:
                message = f"not sent: its day is inside the {found.describe()}"
                self._emit(result, self._outcome(row, "held", message=message))
        return going

    def hold_paused(
        self, rows: list[Row], pauses: list[brake.Pause], result: PublishResult
    ) -> list[Row]:
        """The emergency brake: the due rows of a paused account are held (reported,
        not sent, not missed); the others go on."""
        if not pauses:
            return rows
        going = []
        for row in rows:
            pause = brake.holding(pauses, row.account)
            if pause is None:
                going.append(row)
            else:
                self._emit(result, self._outcome(row, "held", message=held_message(pause)))
        return going

    def _refuse_paused(self, only: str, rows: list[Row], pauses: list[brake.Pause]) -> None:
        """`publish --post` never goes through the brake: the pause must be lifted."""
        unsent = [r for r in rows if r.state != "published"]
        for row in unsent:
            pause = brake.holding(pauses, row.account)
            if pause is not None:
                scope = "" if pause.whole_project else f" {pause.scope}"
                raise brake.Paused(
                    f"'{only}' is not sent: {pause.what} is {pause.describe()}",
                    hint=f"`cmctl resume{scope}` lifts the pause, then send it again",
                )

    def project_held(self, keys: set[str]) -> list[str]:
        return [
            f"{key}: {why}"
            for key, why in self._held_posts.items()
            if any(k.split("#")[0] == key for k in keys)
        ]


def held_message(pause: brake.Pause) -> str:
    scope = "" if pause.whole_project else f" {pause.scope}"
    return f"held: {pause.describe()}; `cmctl resume{scope}` lifts it"

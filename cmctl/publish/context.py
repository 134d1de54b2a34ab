"""The state the publisher's collaborators share, and how they report an outcome."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cmctl import clock as clock_mod
from cmctl.ledger import owner as owner_mod
from cmctl.publish.policy import DRY_NAMES
from cmctl.publish.result import Listener, Outcome, PublishResult
from cmctl.redact import scrub

if TYPE_CHECKING:
    from cmctl.compile import Job
    from cmctl.config import Config
    from cmctl.ledger.store import Ledger, Row
    from cmctl.project import Project


class Context:
    """What every collaborator of the publisher shares: the project and its jobs, the
    ledger, the clock, the listener; and how an outcome is reported."""

    def __init__(
        self,
        project: Project,
        ledger: Ledger,
        *,
        clock: Any = clock_mod,
        listener: Listener | None = None,
        transport: Any = None,
        should_stop: Callable[[], bool] | None = None,
        dry_run: bool = False,
    ) -> None:
        self.project = project
        self.dry_run = dry_run  # decide as for real, on a scratch ledger; send nothing
        self.config: Config = project.config
        self.ledger = ledger
        self.clock = clock
        self.listener = listener
        self.transport = transport  # an httpx transport, for tests and benchmarks
        self.should_stop = should_stop or (lambda: False)  # the daemon's SIGTERM
        self.owner = owner_mod.current()
        self.rng = random.Random()
        self._lock = threading.Lock()
        self._jobs: Mapping[str, Job] = {}  # publisher.py: built when asked for
        self._held_posts: dict[str, str] = {}
        self._sent_by_account: dict[str, list[tuple[datetime, int]]] = {}  # for quotas
        self._on_purpose = False  # --post: send whatever its time

    def _job_outcome(self, job: Job, state: str, **extra: Any) -> Outcome:
        return Outcome(
            job.key, job.account, job.network, job.post_id, job.part, state, job.at, **extra
        )

    def _emit(self, result: PublishResult, outcome: Outcome) -> None:
        if self.dry_run:
            outcome.state = DRY_NAMES.get(outcome.state, outcome.state)
        outcome.message = scrub(outcome.message)  # whatever an adapter forgot to redact
        outcome.url = scrub(outcome.url)
        with self._lock:
            result.outcomes.append(outcome)
        if self.listener is not None:
            self.listener(outcome)

    def _outcome(self, row: Row, state: str, **extra: Any) -> Outcome:
        return Outcome(
            row.key,
            row.account,
            row.network,
            row.post_id,
            row.part,
            state,
            row.scheduled_at,
            **extra,
        )

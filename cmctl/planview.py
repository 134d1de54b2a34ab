"""What `cmctl plan` writes: the jobs in range, filtered, each with its ledger state.

The jobs stream in plan order as their packed rows (``project.Packed``: no ``Job``
built), a file unpacked when its time comes, never the whole plan held.

A large plan (``SPLIT_MIN`` jobs in range or more) is written in time slices on as many
processes as there are CPUs (``cmctl.fanout``): each slice merges only the files it
spans and asks the ledger for its own jobs' states. The text is byte for byte what one
process writes (``-j 1``).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cmctl import fanout, output

if TYPE_CHECKING:
    from cmctl.diagnostics import Diagnostic
    from cmctl.ledger.store import JobState, Ledger
    from cmctl.project import Jobs, Packed, Project

SPLIT_MIN = 20_000  # jobs in range below which one process writes the plan
MOST_SLICES = 64  # past a few per CPU, more slices only cost (`-j 20000`)
STATE_BATCH = 999  # keys per query of the ledger's states (SQLite's oldest limit)

# Opens the project's ledger (None: cmctl never published here): once per process.
Opener = Callable[[], "Ledger | None"]


@dataclass(frozen=True, slots=True)
class Filters:
    lower: datetime | None = None  # at or after
    upper: datetime | None = None  # before
    accounts: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()
    drafts: bool = False  # shown too


def rows(
    jobs: Jobs, filters: Filters, ledger: Ledger | None, *, hidden: list[int]
) -> Iterator[tuple[Any, JobState | None]]:
    """The jobs of ``jobs`` that pass ``filters`` (the time bounds are ``jobs``'s own),
    each with its ledger state; drafts left out are counted in ``hidden[0]``."""
    found: Iterator[Packed] = jobs.packed()
    if filters.accounts:
        found = (j for j in found if j.account in filters.accounts)
    if filters.networks:
        found = (j for j in found if j.network in filters.networks)
    if not filters.drafts:
        found = _no_drafts(found, hidden)
    return with_states(found, ledger)


def _no_drafts(jobs: Iterator[Any], hidden: list[int]) -> Iterator[Any]:
    for job in jobs:
        if job.status == "draft":
            hidden[0] += 1
        else:
            yield job


def with_states(
    jobs: Iterator[Any], ledger: Ledger | None
) -> Iterator[tuple[Any, JobState | None]]:
    """Each job with its ledger state, read for a batch of jobs at a time."""
    if ledger is None:
        for job in jobs:
            yield job, None
        return
    batch: list[Any] = []
    for job in jobs:
        batch.append(job)
        if len(batch) >= STATE_BATCH:
            states = ledger.states([j.key for j in batch])
            for one in batch:
                yield one, states.get(one.key)
            batch = []
    states = ledger.states([j.key for j in batch])
    for one in batch:
        yield one, states.get(one.key)


def slice_count(jobs: Jobs, workers: int | None) -> int:
    """How many processes write the plan of ``jobs``: one per CPU for a large one."""
    from cmctl.project import worker_count

    if jobs.spanned() < SPLIT_MIN and workers is None:
        return 1
    return min(worker_count(workers), MOST_SLICES, _most_slices())


def _most_slices() -> int:
    """As many slices as the open-file limit leaves room for: each holds a temporary
    file and a pipe in every process (a child inherits them all), and each process
    still opens the ledger (three files) and what Python needs."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):
        return 1 << 30
    if soft == resource.RLIM_INFINITY:
        return 1 << 30
    return max(1, (soft - 64) // 3)


def _ranges(jobs: Jobs, count: int) -> list[tuple[datetime | None, datetime | None]]:
    cuts: list[datetime | None] = list(jobs.cuts(count))
    return list(zip([None, *cuts], [*cuts, None], strict=True))


@contextlib.contextmanager
def _ledger(open_ledger: Opener) -> Iterator[Ledger | None]:
    ledger = open_ledger()
    try:
        yield ledger
    finally:
        if ledger is not None:
            ledger.close()


def write_json(
    jobs: Jobs,
    filters: Filters,
    open_ledger: Opener,
    project: Project,
    notices: Callable[[], list[dict[str, Any]]],
    workers: int | None = None,
) -> None:
    """`plan --json`: the jobs, the drafts hidden, the calendars' error and warning
    counts and the ledger's ``notices()``, made once the jobs are out (a sliced plan
    makes them in the process of the checks that span files, beside the slices). The
    caller holds no ledger connection."""
    ranges = _ranges(jobs, slice_count(jobs, workers))
    hidden = [0]
    # A sliced plan checks what spans files (every file's sightings read) in a process of
    # its own, beside the slices: the one that writes the first slice has the most to do.
    checks = len(ranges) if len(ranges) > 1 else -1

    # drafts hidden, the errors found meanwhile (a file compiled again), warnings, and
    # (the checks' process) the ledger's notices
    def share(index: int) -> tuple[int, list[Diagnostic], int, Any]:
        mark = project.said()
        if index == checks:
            warnings = project.report.warnings
            return 0, project.errors_since(mark), warnings, notices()
        mine = [0]
        with _ledger(open_ledger) as ledger:
            found = rows(jobs.between(*ranges[index]), filters, ledger, hidden=mine)
            output.write_items((output.PlanPacked(j, r) for j, r in found), output.NESTED_ITEM)
        return mine[0], project.errors_since(mark), 0, None

    with (
        fanout.Slices(len(ranges) + (checks > 0), share) as slices,
        _started(slices, ranges),
        _ledger(open_ledger) as ledger,
    ):

        def items() -> Iterator[Any]:
            first = jobs.between(*ranges[0])
            found = rows(first, filters, ledger, hidden=hidden)
            yield from (output.PlanPacked(j, r) for j, r in found)
            for index in range(1, len(ranges)):
                drafts, errors, _, _ = slices.result(index)
                hidden[0] += drafts
                project.absorb(errors)  # its child's: this process's exit code says them
                if slices.size(index):
                    yield output.Spliced(functools.partial(slices.copy, index))

        @functools.cache
        def counts() -> tuple[int, int, Any]:  # once the jobs are out (a lazy project checks then)
            if 0 < checks < slices.count:
                _, errors, warnings, told = slices.result(checks)
                project.absorb(errors)
                return len(project.errors), warnings, told  # the checks only warn
            return project.report.errors, project.report.warnings, notices()

        output.echo_json(
            {
                "jobs": items(),
                "drafts_hidden": output.Later(lambda: hidden[0]),
                "errors": output.Later(lambda: counts()[0]),
                "warnings": output.Later(lambda: counts()[1]),
                "notices": output.Later(lambda: counts()[2]),
            }
        )


def write_text(
    jobs: Jobs,
    filters: Filters,
    open_ledger: Opener,
    project: Project,
    notices: Callable[[], list[Diagnostic]],
    workers: int | None = None,
) -> tuple[int, list[Diagnostic]]:
    """`plan`: the jobs as a table, or as lines above ``output.STREAM_ROWS``; how many
    drafts it left out, and the ledger's ``notices()`` (a sliced plan makes them in a
    process of their own, beside the slices). The caller holds no ledger connection. A
    plan filtered by account or network may be small enough for a table: one process
    writes it. The errors a slice's process found (a file compiled again) join
    ``project``'s."""
    count = 1 if filters.accounts or filters.networks else slice_count(jobs, workers)
    ranges = _ranges(jobs, count)
    told = len(ranges) if len(ranges) > 1 else -1
    show_utc, narrow = output.plan_layout()
    hidden = [0]

    # lines, posts, drafts, the errors found meanwhile (a file compiled again), notices
    def share(
        index: int,
    ) -> tuple[int, set[tuple[str, str]], int, list[Diagnostic], list[Diagnostic]]:
        mark = project.said()
        if index == told:
            return 0, set(), 0, project.errors_since(mark), notices()
        mine = [0]
        posts: set[tuple[str, str]] = set()
        with _ledger(open_ledger) as ledger:
            found = rows(jobs.between(*ranges[index]), filters, ledger, hidden=mine)
            lines, _ = output.write_plan_lines(found, show_utc=show_utc, narrow=narrow, posts=posts)
        return lines, posts, mine[0], project.errors_since(mark), []

    def again(index: int) -> Iterator[tuple[Any, JobState | None]]:
        with _ledger(open_ledger) as ledger:
            yield from rows(jobs.between(*ranges[index]), filters, ledger, hidden=[0])

    with fanout.Slices(len(ranges) + (told > 0), share) as slices, _started(slices, ranges):
        shares = [_Share(slices, index, again) for index in range(1, len(ranges))]
        with _ledger(open_ledger) as ledger:
            first = rows(jobs.between(*ranges[0]), filters, ledger, hidden=hidden)
            output.render_plan_text(first, shares=shares, layout=(show_utc, narrow))
        made = [slices.result(index) for index in range(1, slices.count)]  # (told's last)
        for _, _, _, errors, _ in made:
            project.absorb(errors)
        found = made[-1][4] if 0 < told < slices.count else notices()
        return hidden[0] + sum(m[2] for m in made), found


@contextlib.contextmanager
def _started(
    slices: fanout.Slices[Any], ranges: list[tuple[datetime | None, datetime | None]]
) -> Iterator[None]:
    if not slices.start():  # no temporary file for the other slices: all of it here
        ranges[:] = [(None, None)]
    yield


class _Share:
    """Slice ``index`` of a human plan, as ``output.render_plan_text`` asks for it."""

    def __init__(
        self,
        slices: fanout.Slices[
            tuple[int, set[tuple[str, str]], int, list[Diagnostic], list[Diagnostic]]
        ],
        index: int,
        again: Callable[[int], Iterable[tuple[Any, JobState | None]]],
    ) -> None:
        self._slices = slices
        self._index = index
        self._again = again

    def counts(self) -> tuple[int, set[tuple[str, str]]]:
        lines, posts, _, _, _ = self._slices.result(self._index)
        return lines, posts

    def copy(self) -> None:
        self._slices.copy(self._index)

    def again(self) -> Iterable[tuple[Any, JobState | None]]:
        return self._again(self._index)

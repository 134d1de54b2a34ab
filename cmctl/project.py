"""A project = cmctl.yaml + its calendars, loaded, compiled and checked.

The work is done per calendar file (load → compile → rules), which is independent
from file to file: the same function runs in-process, or on a pool of forked workers
when the project is large and the caller only needs the diagnostics (validate).
"""

from __future__ import annotations

import contextlib
import heapq
import os
import pickle
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from cmctl import cache as cache_mod
from cmctl import config as config_mod
from cmctl import gcpause, queues
from cmctl.cache import FileCache
from cmctl.calendar.model import Calendar, Content, Pos, Post
from cmctl.compile import Job, compile_jobs
from cmctl.config import Config, display
from cmctl.diagnostics import Diagnostic, Report, Severity, Sink
from cmctl.errors import UsageError

# Below this many bytes of calendars, starting workers costs more than it saves.
PARALLEL_MIN_BYTES = 512 * 1024
KEEP_BATCH = 16  # files per task when the jobs come back


@dataclass(slots=True)
class Project:
    config: Config
    files: list[Path]
    calendars: list[Calendar] = field(default_factory=list)
    jobs: Jobs = field(default_factory=lambda: Jobs([]))
    post_count: int = 0
    job_count: int = 0
    _report: Report = field(default_factory=Report)
    # The checks that span files, when they were left until the report is first read
    # (``open_project(lazy=True)``).
    _later: Callable[[], None] | None = None

    @property
    def report(self) -> Report:
        """Every diagnostic of the calendars (the checks left for later run now)."""
        later, self._later = self._later, None
        if later is not None:
            later()
        return self._report

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return self.report.sorted()

    @property
    def errors(self) -> list[Diagnostic]:
        """The calendars' errors. The checks that span files only ever warn (same post
        twice, quotas, min_gap), so a lazy project does not run them for this: a human
        `plan`, which shows only the error count, never reads every file's sightings."""
        return [d for d in self._report.items if d.severity == "error"]

    def said(self) -> int:
        """A mark in the report: ``errors_since`` it tells what was added after."""
        return len(self._report.items)

    def errors_since(self, mark: int) -> list[Diagnostic]:
        """The errors added since ``mark`` (a file compiled again because its entry
        changed after its head was read): what a forked slice of the plan sends back,
        for ``absorb`` in the process whose exit code says them."""
        return [d for d in self._report.items[mark:] if d.severity == "error"]

    def absorb(self, found: Iterable[Diagnostic]) -> None:
        """Errors another process found (``errors_since``); those already here are not
        counted twice (the report drops what it holds)."""
        self._report.extend(list(found))


# A job's place in the plan: time, calendar, post id, account, part.
Order = tuple[datetime, str, str, str, int]


class Rows:
    """One file's jobs, packed: a pickle of plain tuples (texts as UTF-8), in plan order.

    Held as bytes, or read from the cache each time they are wanted (``load``: a lazy
    project holds only each file's first and last place and its count)."""

    __slots__ = ("_data", "_load", "count", "first", "last")

    def __init__(
        self,
        first: Order,  # the first job's place
        last: Order,  # the last one's
        count: int,
        data: bytes | None = None,
        load: Callable[[], bytes] | None = None,
    ) -> None:
        self.first = first
        self.last = last
        self.count = count
        self._data = data
        self._load = load

    @property
    def data(self) -> bytes:
        if self._data is not None:
            return self._data
        assert self._load is not None
        return self._load()

    def held(self) -> Rows:
        """These rows with their bytes read now, and kept."""
        return Rows(self.first, self.last, self.count, self.data)

    def jobs(self) -> Iterator[tuple[Order, Job]]:
        """(place, job), the jobs built one at a time (the file's posts at once)."""
        post_rows, job_rows = pickle.loads(self.data)
        made = [
            Post(
                c,
                i,
                at,
                lo,
                acc,
                _NO_CONTENT,
                {},
                st,
                cu,
                lang,
                Pos(*p),
                Pos(*ap),
                Pos(*tp),
                q,
                after,
                moved,
            )
            for c, i, at, lo, acc, st, cu, lang, p, ap, tp, q, after, moved in post_rows
        ]
        del post_rows
        for k, i, a, n, part, parts, text, media, length, limit, h, pos, *rest in job_rows:
            post = made[i]
            job = Job(k, post, a, n, part, parts, text, media, length, limit, h, Pos(*pos), *rest)
            yield (post.at, post.calendar, post.id, a, part), job

    def packed(self) -> Iterator[tuple[Order, Packed]]:
        """(place, the job as its packed rows): no ``Job``, ``Post`` or ``Pos`` built."""
        post_rows, job_rows = pickle.loads(self.data)
        for row in job_rows:
            post = post_rows[row[1]]
            yield (post[2], post[0], post[1], row[2], row[4]), Packed(post, row)

    def facts(self) -> Iterator[tuple[Order, JobFacts]]:
        """(place, what the ledger needs of the job): no ``Job`` built."""
        post_rows, job_rows = pickle.loads(self.data)
        for k, i, a, n, part, _parts, _text, _media, _len, _lim, h, *_ in job_rows:
            c, pid, at, _lo, _acc, st, cu, _lang, _p, _ap, _tp, q, *_ = post_rows[i]
            yield (at, c, pid, a, part), JobFacts(k, c, pid, a, part, n, h, at, cu, st, q)


class Packed:
    """A job as its packed rows (``Jobs.packed``): `plan` writes its text from them
    (``output``). The fields `plan` reads are named as on ``Job``; ``post`` and ``row``
    are ``_rows``'s tuples."""

    __slots__ = ("post", "row")

    def __init__(self, post: tuple[Any, ...], row: tuple[Any, ...]) -> None:
        self.post = post
        self.row = row

    key = property(lambda self: self.row[0])
    account = property(lambda self: self.row[2])
    network = property(lambda self: self.row[3])
    part = property(lambda self: self.row[4])
    text = property(lambda self: self.row[6])
    length = property(lambda self: self.row[8])
    limit = property(lambda self: self.row[9])
    content_hash = property(lambda self: self.row[10])
    calendar = property(lambda self: self.post[0])
    post_id = property(lambda self: self.post[1])
    at = property(lambda self: self.post[2])
    local = property(lambda self: self.post[3])
    status = property(lambda self: self.post[5])
    queue = property(lambda self: self.post[11])
    moved_from = property(lambda self: self.post[13])


class JobFacts(NamedTuple):
    """What the ledger plans of a job (``Jobs.facts``): fields named as on ``Job``."""

    key: str
    calendar: str
    post_id: str
    account: str
    part: int
    network: str
    content_hash: str
    at: datetime
    catch_up: timedelta
    status: str
    queue: str | None = None


T = TypeVar("T")


class Jobs:
    """The project's jobs in plan order (time, calendar, post, account, part).

    Kept packed, file by file (``Rows``); each pass builds the ``Job`` objects as it
    goes, so a pass holds the jobs of the files whose time has come, never the whole
    plan (106,000 jobs: ~40 MB packed instead of ~290 MB built). Each pass builds new
    objects: a caller that needs a job twice keeps it.

    ``between(lower, upper)``: the jobs of a stretch of time, without unpacking the
    files outside it (`plan --from/--to`, and the slices `plan` writes in parallel).
    """

    __slots__ = ("_count", "_files", "_lower", "_upper")

    def __init__(
        self, files: list[Rows], lower: datetime | None = None, upper: datetime | None = None
    ) -> None:
        self._files = [
            f
            for f in files
            if f.count
            and (lower is None or f.last[0] >= lower)
            and (upper is None or f.first[0] < upper)
        ]
        self._lower = lower
        self._upper = upper
        bounded = lower is not None or upper is not None
        self._count = -1 if bounded else sum(f.count for f in self._files)

    def __len__(self) -> int:
        if self._count < 0:  # bounded: counted once
            self._count = sum(1 for _ in self._merge(_places))
        return self._count

    def __bool__(self) -> bool:
        if self._count >= 0:
            return self._count > 0
        return next(self._merge(_places), None) is not None  # bounded: the first job will do

    def __iter__(self) -> Iterator[Job]:
        return map(itemgetter(1), self._merge(Rows.jobs))

    def __getitem__(self, index: int) -> Job:
        return list(self)[index]

    def between(self, lower: datetime | None, upper: datetime | None) -> Jobs:
        """The jobs at or after ``lower`` and before ``upper`` (None: no bound)."""
        if self._lower is not None:
            lower = self._lower if lower is None else max(lower, self._lower)
        if self._upper is not None:
            upper = self._upper if upper is None else min(upper, self._upper)
        return Jobs(self._files, lower, upper)

    def spanned(self) -> int:
        """The jobs of the files that have some in range: an upper bound of ``len``."""
        return sum(f.count for f in self._files)

    def cuts(self, count: int) -> list[datetime]:
        """Up to ``count - 1`` increasing times that cut the jobs into ``count`` slices
        of about as many jobs (``between`` each two), each file's jobs taken as spread
        evenly between its first and its last."""
        if count < 2 or not self._files:
            return []
        base = min(f.first[0] for f in self._files)
        spans = []
        for f in self._files:  # seconds from base, clamped to the bounds
            start = (max(f.first[0], self._lower or f.first[0]) - base).total_seconds()
            end = (min(f.last[0], self._upper or f.last[0]) - base).total_seconds()
            spans.append((start, max(start, end), f.count))
        total = sum(c for _, _, c in spans)
        high = max(end for _, end, _ in spans)

        def before(t: float) -> float:  # about how many jobs are before t
            n = 0.0
            for start, end, c in spans:
                if t > end:
                    n += c
                elif t > start:
                    n += c * (t - start) / (end - start)
            return n

        found: list[datetime] = []
        for k in range(1, count):
            lo, hi = 0.0, high
            for _ in range(60):
                mid = (lo + hi) / 2
                if before(mid) < total * k / count:
                    lo = mid
                else:
                    hi = mid
            cut = base + timedelta(seconds=round(hi))
            if (not found or cut > found[-1]) and (self._upper is None or cut < self._upper):
                found.append(cut)
        return found

    def numbered(self) -> Iterator[tuple[int, Job]]:
        """(the job's file number, the job), in plan order."""
        return self._merge(Rows.jobs)

    def packed(self) -> Iterator[Packed]:
        """The jobs as their packed rows (``Packed``), in plan order."""
        return map(itemgetter(1), self._merge(Rows.packed))

    def facts(self) -> Iterator[tuple[int, JobFacts]]:
        """(the job's file number, what the ledger needs of it), file by file (each
        file's in plan order): the sync needs no plan order, and merging 1,000 files'
        streams into it costs more than reading them."""
        stream = self._within(Rows.facts)
        for number, rows in enumerate(self._files):
            for _, fact in stream(rows):
                yield number, fact

    def of_file(self, number: int) -> Iterator[Job]:
        """The jobs of one file, by its number as ``numbered`` gives it."""
        return map(itemgetter(1), self._within(Rows.jobs)(self._files[number]))

    def _within(
        self, stream: Callable[[Rows], Iterator[tuple[Order, T]]]
    ) -> Callable[[Rows], Iterator[tuple[Order, T]]]:
        """``stream``, less the jobs out of bounds."""
        lower, upper = self._lower, self._upper
        if lower is None and upper is None:
            return stream

        def bounded(rows: Rows) -> Iterator[tuple[Order, T]]:
            for place in stream(rows):
                at = place[0][0]
                if upper is not None and at >= upper:
                    return
                if lower is None or at >= lower:
                    yield place

        return bounded

    def _merge(
        self, stream: Callable[[Rows], Iterator[tuple[Order, T]]]
    ) -> Iterator[tuple[int, T]]:
        """A k-way merge of the files' ordered streams; a file is unpacked when the merge
        reaches its first job, and let go when its last one is out (ties: file order)."""
        stream = self._within(stream)
        waiting = sorted(((f.first, n) for n, f in enumerate(self._files)), reverse=True)
        heap: list[tuple[Order, int, T, Iterator[tuple[Order, T]]]] = []
        while heap or waiting:
            while waiting and (not heap or waiting[-1][0] <= heap[0][0]):
                _, n = waiting.pop()
                items = stream(self._files[n])
                first = next(items, None)
                if first is not None:
                    heapq.heappush(heap, (first[0], n, first[1], items))
            if not heap:
                break
            _, n, item, items = heap[0]
            following = next(items, None)
            if following is None:
                heapq.heappop(heap)
            else:
                heapq.heapreplace(heap, (following[0], n, following[1], items))
            del items
            yield n, item


def _text(name: str) -> bool:
    """Valid Unicode text (no lone surrogate, as a file name that is not UTF-8 gives)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _places(rows: Rows) -> Iterator[tuple[Order, None]]:
    """(place, nothing) of each job of ``rows``: to count them."""
    post_rows, job_rows = pickle.loads(rows.data)
    for row in job_rows:
        post = post_rows[row[1]]
        yield (post[2], post[0], post[1], row[2], row[4]), None


# (account, part, UTC time, content hash) -> (the post's line and column, the job key,
# the line and column of its `at`): what the checks that span files need of a job.
Twin = tuple[tuple[str, int, datetime, str], tuple[int, int, str, int, int]]


@dataclass(slots=True)
class _FileResult:
    calendar: Calendar | None
    name: str | None
    display: str
    rows: Rows | None
    diagnostics: list[Diagnostic]
    posts: int
    job_count: int
    # (account, part, UTC time, content hash) -> where: to find one post in two places
    twins: list[Twin] = field(default_factory=list)  # and the job key: one post in two
    # places, two keys
    # The file's queued posts (in file order) and their jobs, until placement times them.
    waiting: list[queues.Waiting] = field(default_factory=list)
    queued: Rows | None = None
    # Where ``twins`` are read from when they are wanted (a lazy project's cached file).
    sightings: Callable[[], list[Twin]] | None = None

    def sighted(self) -> list[Twin]:
        """``twins``, read first when they were left in the cache."""
        if self.sightings is not None:
            self.twins, self.sightings = self.sightings(), None
        return self.twins


def load_config(explicit: str | None = None) -> Config:
    return config_mod.load(config_mod.find(explicit=explicit))


def open_project(
    config: Config,
    paths: tuple[str, ...] = (),
    *,
    now: datetime,
    keep: bool = True,
    workers: int | None = None,
    memory: Memory | None = None,
    instead: dict[Path, bytes] | None = None,
    lazy: bool = False,
) -> Project:
    """Load, compile and check the calendars (all of them, or those under ``paths``).

    Large projects are checked by ``workers`` forked processes (None = one per CPU).
    ``keep=False``: only diagnostics and counts are wanted (no calendars or jobs).
    Kept calendars and jobs are light: a calendar without its posts, and jobs kept
    packed per file (``Jobs``: built one at a time, in plan order, by whoever iterates
    them), whose post keeps its identity, times, status and positions but not its YAML
    content (each job carries its own text and media).

    ``lazy``: for a view of the plan (`plan`): of each file found in the cache, only
    the head of its entry is read; its jobs are read each time a pass over the plan
    reaches them, and the checks that span files run when the report is first read. A
    file whose entry changed in between is compiled again (its errors join the report).
    Not for what publishes: two passes over a lazy project may see two versions of a
    file edited in between.

    ``instead``: files read from these bytes, not from disk, and added to the project when
    they do not exist yet (`cmctl add` checks a file before writing it): no cache, no workers.
    """
    with gcpause.paused():
        return _open(
            config,
            paths,
            now=now,
            keep=keep,
            workers=workers,
            memory=memory,
            instead=instead,
            lazy=lazy,
        )


# What the ledger has of queued posts' jobs, by job key (cmctl.ledger.memory).
Memory = Callable[[list[str]], Mapping[str, queues.Remembered]]


def _open(
    config: Config,
    paths: tuple[str, ...],
    *,
    now: datetime,
    keep: bool,
    workers: int | None,
    memory: Memory | None,
    instead: dict[Path, bytes] | None = None,
    lazy: bool = False,
) -> Project:
    files = _select(config, paths) if not instead or config.calendar_files() else []
    project = Project(config=config, files=files)
    report = project._report
    report.extend(config.warnings)
    if instead:
        files += [path for path in instead if path not in files]
        results = [_compile(config, p, now, keep, None, instead.get(p))[0] for p in files]
    else:
        store = FileCache.open(config)  # None without a state folder: nothing is created
        lazy = lazy and keep and store is not None
        results = []
        try:
            results = _run(config, files, now, keep, workers, store, lazy, report)
            if store is not None and not paths:
                store.prune(files)
        finally:
            if store is not None and all(r.sightings is None for r in results):
                store.close()  # else the sections left to read close it when they go
    # The checks that span files read every file's sightings (left in the cache until
    # then): they run when the report is first read. Queued posts need them at once.
    deferred = not any(r.waiting for r in results)
    if not deferred:
        for result in results:
            result.sighted()
    _place_queued(project, results, now, memory)  # queued posts get their times first
    seen: dict[str, str] = {}
    for result in results:
        report.extend(result.diagnostics)
        project.post_count += result.posts
        project.job_count += result.job_count
        if result.calendar is not None:
            project.calendars.append(result.calendar)
        if result.name is not None and not _text(result.name):
            report.add(
                Diagnostic(
                    result.display,
                    1,
                    1,
                    "error",
                    "the calendar's name is not valid text (a file name that is not "
                    "UTF-8?): the ledger could not record its posts",
                    "calendar-name",
                    "rename the file, or give the calendar a name with 'calendar:'",
                )
            )
        elif result.name is not None:
            first = seen.setdefault(result.name, result.display)
            if first != result.display:  # job identities would collide
                report.add(
                    Diagnostic(
                        result.display,
                        1,
                        1,
                        "error",
                        f"calendar name '{result.name}' is already used by {first}",
                        "duplicate-calendar",
                        "set a distinct 'calendar:' in one of them",
                    )
                )

    def spanning() -> None:  # the checks that need every file's sightings: warnings only
        _same_post_twice(report, results)
        from cmctl import rules

        report.extend(rules.check_quotas(config, ((r.display, r.sighted()) for r in results)))
        report.extend(rules.check_gaps(config, ((r.display, r.sighted()) for r in results), now))
        results.clear()  # their sightings are let go

    if keep:
        project.jobs = Jobs([r.rows for r in results if r.rows is not None])
    if deferred:
        project._later = spanning
    else:
        spanning()
    return project


def _job_order(job: Job) -> Order:
    return (job.post.at, job.post.calendar, job.post.id, job.account, job.part)


def _process(config: Config, path: Path, now: datetime, keep: bool) -> _FileResult:
    return _compile(config, path, now, keep, None)[0]


def _cached(config: Config, path: Path, now: datetime, store: FileCache) -> Any:
    """``path``'s packed result (keep=True), computed and stored unless it was cached."""
    key = store.key(path)
    started = store.clock()
    result, found = _compile(config, path, now, True, started)
    packed = _pack(result)
    if found is not None and not cache_mod.recent(key, started):
        store.put(path, key, found, *_entry(packed))
    return packed


def _entry(packed: Any) -> tuple[tuple[object, ...], list[bytes]]:
    """A packed result as a cache entry: a head (all but the jobs and the sightings),
    and those two as sections (a lazy project reads each when it is wanted)."""
    head, name, shown, diagnostics, posts, job_count, twins, rows, waiting, queued = packed
    span = None
    data = b""
    if rows is not None:
        first, last, count, data = rows
        span = (first, last, count)
    meta = (head, name, shown, diagnostics, posts, job_count, span, waiting, queued)
    return meta, [data, pickle.dumps(twins, protocol=5)]


class _Again:
    """A lazily read file whose entry no longer holds what its head promised (rewritten
    by another run since, removed, damaged): compiled again, once, when first wanted.
    Its errors join ``report`` (the file may have been saved broken meanwhile: its rows
    are gone, and the report says why, as a full load would)."""

    __slots__ = ("_args", "_report", "_result")

    def __init__(
        self, config: Config, path: Path, now: datetime, store: FileCache, report: Report
    ) -> None:
        self._args = (config, path, now, store)
        self._report = report
        self._result: _FileResult | None = None

    def result(self) -> _FileResult:
        if self._result is None:
            self._result = _unpack(_cached(*self._args))
            self._report.extend([d for d in self._result.diagnostics if d.severity == "error"])
        return self._result

    def data(self) -> bytes:
        rows = self.result().rows
        return _NO_ROWS if rows is None else rows.data

    def twins(self) -> list[Twin]:
        return self.result().twins


_NO_ROWS = pickle.dumps(([], []), protocol=5)


def _peeked(
    config: Config,
    path: Path,
    now: datetime,
    store: FileCache,
    report: Report,
    meta: Any,
    sections: Any,
) -> _FileResult:
    """A file's result from the head of its entry: its jobs and sightings read from the
    entry when they are wanted (compiled again if it no longer holds them)."""
    head, name, shown, diagnostics, posts, job_count, span, waiting, queued = meta
    rows_at, twins_at = sections
    again = _Again(config, path, now, store, report)

    def data() -> bytes:
        found = rows_at.read()
        return again.data() if found is None else found

    rows = None
    if span is not None:
        first, last, count = span
        rows = Rows(first, last, count, load=data)
    result = _FileResult(
        Calendar(*head) if head is not None else None,
        name,
        shown,
        rows,
        diagnostics,
        posts,
        job_count,
        sightings=_sightings(twins_at, again),
    )
    result.waiting = [queues.Waiting(*w) for w in waiting]
    result.queued = _rows_of(queued)
    return result


def _sightings(section: cache_mod.Section, again: _Again) -> Callable[[], list[Twin]]:
    """A file's sightings read from its entry when wanted (compiled again if it no
    longer holds them)."""

    def read() -> list[Twin]:
        found = section.read()
        if found is not None:
            with contextlib.suppress(Exception):
                return list(pickle.loads(found))
        return again.twins()

    return read


def _compile(
    config: Config,
    path: Path,
    now: datetime,
    keep: bool,
    started: int | None,
    data: bytes | None = None,
) -> tuple[_FileResult, cache_mod.Facts | None]:
    """The file's result, and what the cache needs to know of it (when ``started``);
    ``data``: the file's bytes, not read from disk."""
    sink = Sink(display(path))
    # Imported here: a project read from the cache compiles nothing (`plan`'s first rows)
    from cmctl.calendar import loader
    from cmctl.rules import check

    calendar = loader.load_calendar(path, config, sink, now, data)
    # Media and zone files are stamped before compiling reads them (content hashes).
    found = cache_mod.facts(calendar, now, started) if started is not None else None
    if calendar is None:
        return _FileResult(None, None, sink.path, None, sink.items, 0, 0), found
    jobs = compile_jobs([calendar], config)
    diagnostics = sink.items + check([calendar], jobs, config, now)
    posts = len(calendar.posts)
    waiting = [
        queues.Waiting(p.calendar, p.id, p.queue, p.accounts, p.after, p.status == "draft")
        for p in calendar.posts
        if p.queue is not None
    ]
    queued: list[Job] = []
    if waiting:  # timed once every file is read (_place_queued)
        queued = [j for j in jobs if j.post.queue is not None]
        jobs = [j for j in jobs if j.post.queue is None]
    twins = _twins(jobs)
    if not keep:
        result = _FileResult(
            None, calendar.name, sink.path, None, diagnostics, posts, len(jobs), twins
        )
    else:
        light = Calendar(calendar.name, calendar.path, calendar.display, calendar.timezone)
        result = _FileResult(
            light, calendar.name, sink.path, _rows(jobs), diagnostics, posts, len(jobs), twins
        )
    result.waiting = waiting
    result.queued = _rows(queued)
    return result, found


def _twins(jobs: Iterable[Job]) -> list[Twin]:
    return [
        (
            (j.account, j.part, j.at, j.content_hash),
            (j.post.pos.line, j.post.pos.col, j.key, j.post.at_pos.line, j.post.at_pos.col),
        )
        for j in jobs
        if j.status != "draft"
    ]


def _place_queued(
    project: Project, results: list[_FileResult], now: datetime, memory: Memory | None
) -> None:
    """Give each queued post its slot (cmctl.queues), then its jobs their place in the
    plan: with its file's other jobs, in time order, and in the same-post and quota
    checks. A post that finds no slot is an error and leaves the plan."""
    waiting = [w for r in results for w in r.waiting]
    if not waiting:
        return
    keys = [queues.post_key(w.calendar, w.post_id, a) for w in waiting for a in w.accounts]
    remembered = memory(keys) if memory is not None else {}
    wanted = {a for w in waiting for a in w.accounts}
    others: dict[str, list[datetime]] = {}
    for result in results:
        for (account, part, at, _digest), _where in result.twins:
            if part == 0 and account in wanted:
                others.setdefault(account, []).append(at)
    config = project.config
    placed = queues.place(
        waiting,
        config.queues,
        remembered,
        now,
        others=others,
        min_gap=config.min_gap_for,
        blackout=config.blackouts.find,
    )
    # A post cancelled for all its accounts takes no slot: no min_gap with it either.
    cancelled = {k for k, w in placed.items() if isinstance(w, queues.Placed) and w.cancelled}
    for result in results:
        if result.queued is None:
            continue
        timed, unplaced = _timed(result.queued, placed)
        for pos, severity, message, rule, hint in unplaced:  # and DST-gap slots (warnings)
            result.diagnostics.append(
                Diagnostic(result.display, pos.line, pos.col, severity, message, rule, hint)
            )
        if timed is None:
            continue
        queued = list(timed.jobs())
        result.job_count += len(queued)
        result.twins.extend(
            _twins(j for _, j in queued if (j.post.calendar, j.post.id) not in cancelled)
        )
        if result.calendar is not None:  # kept: the jobs join their file's, in plan order
            result.rows = _joined(result.rows, timed)


def _timed(
    rows: Rows, placed: Mapping[tuple[str, str], queues.Placed | queues.Unplaced]
) -> tuple[Rows | None, list[tuple[Pos, Severity, str, str, str]]]:
    """Queued jobs with their posts' slots (those placed), and the diagnostics of the posts
    not placed (errors) or placed at a slot a DST gap moved (warnings)."""
    post_rows, job_rows = pickle.loads(rows.data)
    unplaced: list[tuple[Pos, Severity, str, str, str]] = []
    keep: set[int] = set()
    for index, row in enumerate(post_rows):
        c, i, _at, lo, acc, st, cu, lang, p, ap, tp, q, after, _moved = row
        where = placed.get((c, i))
        if not isinstance(where, queues.Placed):
            reason = where.reason if where is not None else f"post '{i}' has no slot"
            hint = "add slots to the queue, or give the post an 'after:' or an 'at:'"
            unplaced.append((Pos(*tp), "error", reason, "queue-full", hint))
            continue
        local = where.at.astimezone(lo.tzinfo)
        if where.gap is not None:
            hint = "pick a slot time outside the DST gap if that matters"
            note = queues.gap_message(i, local, where.gap)
            unplaced.append((Pos(*tp), "warning", note, "dst-gap", hint))
        post_rows[index] = (
            c,
            i,
            where.at,
            local,
            acc,
            st,
            cu,
            lang,
            p,
            ap,
            tp,
            q,
            after,
            where.moved_from,
        )
        keep.add(index)
    job_rows = [r for r in job_rows if r[1] in keep]
    if not job_rows:
        return None, unplaced
    return _repack(post_rows, job_rows), unplaced


def _joined(dated: Rows | None, queued: Rows) -> Rows:
    """One file's jobs and its queued ones, in plan order."""
    if dated is None:
        return queued
    posts, jobs = pickle.loads(dated.data)
    more_posts, more_jobs = pickle.loads(queued.data)
    shift = len(posts)
    posts.extend(more_posts)
    jobs.extend((r[0], r[1] + shift, *r[2:]) for r in more_jobs)
    return _repack(posts, jobs)


def _repack(post_rows: list[Any], job_rows: list[Any]) -> Rows:
    """Rows from post and job rows, the jobs sorted in plan order."""

    def order(r: Any) -> Order:
        post = post_rows[r[1]]
        return (post[2], post[0], post[1], r[2], r[4])

    job_rows.sort(key=order)
    data = pickle.dumps((post_rows, job_rows), protocol=5)
    return Rows(order(job_rows[0]), order(job_rows[-1]), len(job_rows), data)


def _drop(result: _FileResult) -> _FileResult:
    """keep=False's form of a kept result: no calendar, no jobs."""
    return _FileResult(
        None,
        result.name,
        result.display,
        None,
        result.diagnostics,
        result.posts,
        result.job_count,
        result.twins,
        result.waiting,
        result.queued,
        result.sightings,
    )


_NO_CONTENT = Content()  # shared by every kept post: nothing reads it after the rules


def _rows(jobs: list[Job]) -> Rows | None:
    """The jobs (in plan order), packed: their posts keep identity, times, status and
    positions, not their YAML content and variants (each job has its text and media).
    Plain tuples are pickled by C code, unlike slotted dataclasses."""
    if not jobs:
        return None
    posts: dict[int, int] = {}
    post_rows: list[tuple[object, ...]] = []
    job_rows: list[tuple[object, ...]] = []
    for job in jobs:
        post = job.post
        index = posts.get(id(post))
        if index is None:
            index = posts[id(post)] = len(post_rows)
            post_rows.append(
                (
                    post.calendar,
                    post.id,
                    post.at,
                    post.local,
                    post.accounts,
                    post.status,
                    post.catch_up,
                    post.lang,
                    tuple(post.pos),
                    tuple(post.accounts_pos),
                    tuple(post.at_pos),
                    post.queue,
                    post.after,
                    post.moved_from,
                )
            )
        job_rows.append(
            (
                job.key,
                index,
                job.account,
                job.network,
                job.part,
                job.parts,
                job.text,
                job.media,
                job.length,
                job.limit,
                job.content_hash,
                tuple(job.pos),
                job.problems,
                job.title,
                job.link,
                job.tags,
                job.source,
            )
        )
    data = pickle.dumps((post_rows, job_rows), protocol=5)
    return Rows(_job_order(jobs[0]), _job_order(jobs[-1]), len(jobs), data)


# A result crosses from a worker, and is cached, as plain tuples (its jobs as ``Rows``).
def _pack(result: _FileResult) -> tuple[object, ...]:
    calendar = result.calendar
    head = None
    if calendar is not None:
        head = (calendar.name, calendar.path, calendar.display, calendar.timezone)
    rows = result.rows
    return (
        head,
        result.name,
        result.display,
        result.diagnostics,
        result.posts,
        result.job_count,
        result.twins,
        None if rows is None else _flat(rows),
        result.waiting,
        None if result.queued is None else _flat(result.queued),
    )


def _flat(rows: Rows) -> tuple[Order, Order, int, bytes]:
    return (rows.first, rows.last, rows.count, rows.data)


def _unpack(packed: Any) -> _FileResult:
    head, name, shown, diagnostics, posts, job_count, twins, rows, waiting, queued = packed
    calendar = Calendar(*head) if head is not None else None
    result = _FileResult(
        calendar, name, shown, _rows_of(rows), diagnostics, posts, job_count, twins
    )
    result.waiting = [queues.Waiting(*w) for w in waiting]
    result.queued = _rows_of(queued)
    return result


def _rows_of(flat: Any) -> Rows | None:
    if flat is None:
        return None
    first, last, count, data = flat
    if not isinstance(data, bytes):
        raise TypeError("rows")
    return Rows(first, last, count, data)


def _same_post_twice(report: Report, results: list[_FileResult]) -> None:
    """The same text at the same time on the same account, from two posts (a file
    copied, a post pasted twice): each has its own identity, so both would go out."""
    seen = [what for result in results for what, _ in result.sighted()]
    if len(set(seen)) == len(seen):  # no sighting twice: the usual case, told at once
        return
    del seen
    first: dict[tuple[str, int, datetime, str], tuple[str, int, int, str]] = {}
    warned: set[tuple[str, int, int]] = set()
    for result in results:
        for what, (line, col, key, _, _) in result.twins:
            other = first.setdefault(what, (result.display, line, col, key))
            if other[3] == key:
                continue  # itself, or the same identity twice (duplicate-calendar says it)
            if (result.display, line, col) in warned:
                continue
            warned.add((result.display, line, col))
            report.add(
                Diagnostic(
                    result.display,
                    line,
                    col,
                    "warning",
                    f"{key.split('#')[0]} has the same text, time and account as "
                    f"{other[3].split('#')[0]} ({other[0]}:{other[1]}): both would be published",
                    "same-post-twice",
                    "remove one of them, or change its time or text",
                )
            )


def _process_many(
    config: Config, paths: list[Path], now: datetime, keep: bool, store: FileCache | None = None
) -> list[Any]:
    if store is not None:  # stored and sent back in their packed form, kept or not
        return [_cached(config, p, now, store) for p in paths]
    if keep:
        return [_pack(_process(config, p, now, keep=True)) for p in paths]
    return [_process(config, p, now, keep=False) for p in paths]


def _run(
    config: Config,
    files: list[Path],
    now: datetime,
    keep: bool,
    workers: int | None,
    store: FileCache | None,
    lazy: bool,
    report: Report,
) -> list[_FileResult]:
    if store is None:
        return _compute(config, files, now, keep, workers, None)
    found: dict[Path, _FileResult] = {}
    missing: list[Path] = []
    for path in files:
        result = None
        with contextlib.suppress(Exception):  # a well-formed entry of another shape
            peeked = store.peek(path, now)
            if peeked is not None:
                result = _peeked(config, path, now, store, report, *peeked)
                if not lazy and keep and result.rows is not None:
                    result.rows = result.rows.held()  # one version for every pass (publish)
        if result is None:
            missing.append(path)
        else:
            found[path] = result if keep else _drop(result)
    if missing:
        computed = _compute(config, missing, now, keep, workers, store)
        for path, result in zip(missing, computed, strict=True):
            # Its sightings were just stored: read from there when wanted, not held
            # meanwhile (a first publish never wants them: 42 MB for 106,000 jobs).
            with contextlib.suppress(Exception):
                stored = store.peek(path, now)
                if stored is not None and not result.waiting:
                    again = _Again(config, path, now, store, report)
                    result.twins, result.sightings = [], _sightings(stored[1][1], again)
            found[path] = result
    return [found[path] for path in files]


def _compute(
    config: Config,
    files: list[Path],
    now: datetime,
    keep: bool,
    workers: int | None,
    store: FileCache | None,
) -> list[_FileResult]:
    """Each file's result, computed (and stored in ``store``, when given)."""
    count = worker_count(workers)
    if count < 2 or len(files) < 2 or _size(files) < PARALLEL_MIN_BYTES:
        if store is not None:
            results = [_unpack(_cached(config, path, now, store)) for path in files]
            return results if keep else [_drop(r) for r in results]
        return [_process(config, path, now, keep) for path in files]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    groups = _balance(files, count)
    packed = keep or store is not None
    if packed:  # small batches: each one's pickled jobs are freed once unpacked (peak memory)
        batches = [
            group[i : i + KEEP_BATCH] for group in groups for i in range(0, len(group), KEEP_BATCH)
        ]
    else:
        batches = groups
    context = multiprocessing.get_context("fork")
    by_path: dict[Path, _FileResult] = {}
    with ProcessPoolExecutor(len(groups), mp_context=context) as pool:
        futures = {pool.submit(_process_many, config, b, now, keep, store): b for b in batches}
        for future in as_completed(futures):
            batch = futures.pop(future)
            results = future.result()
            if packed:
                results = [_unpack(one) for one in results]
                if not keep:
                    results = [_drop(one) for one in results]
            by_path.update(zip(batch, results, strict=True))
            del future, results
    return [by_path[path] for path in files]


def worker_count(workers: int | None) -> int:
    """Processes for a parallel pass: ``workers``, or one per CPU (at most 8) where
    processes can be forked."""
    if workers is not None:
        return max(1, workers)
    if "fork" not in _start_methods():
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    return min(cpus, 8)


def _start_methods() -> list[str]:
    import multiprocessing

    return multiprocessing.get_all_start_methods()


def _size(files: list[Path]) -> int:
    total = 0
    for path in files:
        with contextlib.suppress(OSError):  # unreadable files are reported by the loader
            total += path.stat().st_size
    return total


def _balance(files: list[Path], count: int) -> list[list[Path]]:
    """Split files into ``count`` groups of about equal size (largest first)."""
    groups: list[tuple[int, int, list[Path]]] = [(0, i, []) for i in range(count)]
    sized = sorted(((_size([p]), p) for p in files), key=lambda s: -s[0])
    for size, path in sized:
        total, index, members = heapq.heappop(groups)
        members.append(path)
        heapq.heappush(groups, (total + size, index, members))
    return [members for _, _, members in sorted(groups, key=lambda g: g[1]) if members]


def _select(config: Config, paths: tuple[str, ...]) -> list[Path]:
    if not paths:
        files = config.calendar_files()
        if not files:  # a typo in `calendars:` must never look like "no posts"
            raise UsageError(
                f"no calendar file matches {', '.join(repr(g) for g in config.calendar_globs)}"
                f" under {config.root}",
                hint="check `calendars:` in cmctl.yaml (globs are relative to its folder)",
            )
        if config.calendar_globs != config_mod.DEFAULT_GLOBS:
            for pattern in config.calendar_globs:
                if not any(p.is_file() for p in config.root.glob(pattern)):
                    config.warnings.append(
                        Diagnostic(
                            config.display_path,
                            1,
                            1,
                            "warning",
                            f"calendars: '{pattern}' matches no file",
                            "calendars-glob",
                            "a typo here hides calendars: their scheduled posts are kept, "
                            "not sent, and `cmctl status` says so",
                            frame=False,
                        )
                    )
        return files
    chosen: dict[Path, None] = {}
    for given in paths:
        path = Path(given)
        try:
            path.stat()
        except (OSError, ValueError) as exc:  # missing, name too long, NUL...
            raise UsageError(
                f"{given[:100]!r}: no such file or folder"
                + (
                    f" ({getattr(exc, 'strerror', '')})"
                    if getattr(exc, "strerror", None) and not isinstance(exc, FileNotFoundError)
                    else ""
                )
            ) from None
        if path.is_dir():
            for pattern in ("**/*.yaml", "**/*.yml"):
                for found in sorted(path.glob(pattern)):
                    if config.is_calendar_file(found):
                        chosen.setdefault(found, None)
        elif path.is_file():
            if not config.is_calendar_file(path):
                raise UsageError(
                    f"{given} is not a calendar file (cmctl never reads "
                    "cmctl.yaml, dotfiles or the state folder as calendars)"
                )
            chosen.setdefault(path, None)
        else:
            raise UsageError(f"{given}: no such file or folder")
    return list(chosen)

"""The ledger: the source of truth of what was sent (SQLite, WAL, one row per job).

Every state change is one transaction, so a crash leaves the ledger as it was before
or after the change, never half-written. A job is claimed (pending → sending) by a
single conditional UPDATE inside ``BEGIN IMMEDIATE``: of two processes racing for the
same job, exactly one sees its update applied.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from cmctl.errors import CmctlError
from cmctl.ledger.reconcile import Known, Planned, Reconciliation, reconcile
from cmctl.ledger.schema import MIGRATIONS

LEDGER_NAME = "ledger.sqlite3"
# Rows written by an older cmctl may hold any catch-up; read them within what cmctl
# accepts today (a year) plus a margin, so that date arithmetic never overflows.
MAX_CATCH_UP_S = 400 * 86400
T = TypeVar("T")


class LedgerError(CmctlError):
    exit_code = 2


def iso(moment: datetime) -> str:
    """UTC, fixed width: string order is time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)  # aware: ends in Z


@dataclass(slots=True, eq=False)
class Row:
    key: str
    calendar: str
    post_id: str
    account: str
    part: int
    network: str
    content_hash: str
    sent_hash: str | None
    scheduled_at: datetime
    catch_up: timedelta
    state: str
    reason: str | None
    attempts: int
    next_attempt_at: datetime | None
    maybe_sent_at: datetime | None
    deadline: datetime | None  # set when sent on purpose; else derived from the schedule
    idempotency_key: str
    remote_id: str | None
    url: str | None
    remote_ref: dict[str, Any] | None
    claim_owner: str | None
    claimed_at: datetime | None
    claim_expires_at: datetime | None
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime
    decided_by: str | None = None  # 'human': a person decided; plan edits never undo it

    @property
    def post_key(self) -> str:
        return f"{self.calendar}:{self.post_id}@{self.account}"

    @property
    def changed_since_published(self) -> bool:
        return self.state == "published" and self.sent_hash != self.content_hash

    @classmethod
    def from_sql(cls, r: sqlite3.Row) -> Row:
        return cls(
            key=r["key"], calendar=r["calendar"], post_id=r["post_id"], account=r["account"],
            part=r["part"], network=r["network"], content_hash=r["content_hash"],
            sent_hash=r["sent_hash"], scheduled_at=parse_iso(r["scheduled_at"]),  # type: ignore[arg-type]
            catch_up=timedelta(seconds=min(r["catch_up_s"], MAX_CATCH_UP_S)),
            state=r["state"], reason=r["reason"],
            attempts=r["attempts"], next_attempt_at=parse_iso(r["next_attempt_at"]),
            maybe_sent_at=parse_iso(r["maybe_sent_at"]),
            deadline=parse_iso(r["deadline"]),
            idempotency_key=r["idempotency_key"], remote_id=r["remote_id"], url=r["url"],
            remote_ref=json.loads(r["remote_ref"]) if r["remote_ref"] else None,
            claim_owner=r["claim_owner"], claimed_at=parse_iso(r["claimed_at"]),
            claim_expires_at=parse_iso(r["claim_expires_at"]),
            published_at=parse_iso(r["published_at"]),
            created_at=parse_iso(r["created_at"]),  # type: ignore[arg-type]
            updated_at=parse_iso(r["updated_at"]),  # type: ignore[arg-type]
            decided_by=r["decided_by"],
        )


def idempotency_key(job_key: str) -> str:
    """Derived from the job's identity only: the same on every retry, forever."""
    return hashlib.sha256(f"cmctl:{job_key}".encode()).hexdigest()[:32]


def planned_job(job: Any) -> Planned:
    """A compiled job as reconciliation sees it (its time as the ledger writes it)."""
    return Planned(key=job.key, calendar=job.calendar, post_id=job.post_id,
                   account=job.account, part=job.part, network=job.network,
                   content_hash=job.content_hash, scheduled_at=iso(job.at),
                   catch_up_s=int(job.catch_up.total_seconds()),
                   draft=job.status == "draft")


def _busy(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def connect(path: Path, *, patience: float = 30.0) -> sqlite3.Connection:
    """A connection in WAL mode with a busy timeout.

    Switching a new file to WAL needs an exclusive lock and may answer "database is
    locked" at once, without waiting, when another process opens the same new ledger
    at that instant (two cron runs on a first run): retry, up to ``patience`` seconds.
    """
    import time

    deadline = time.monotonic() + patience
    while True:
        conn = None
        try:
            conn = sqlite3.connect(path, timeout=patience, isolation_level=None,
                                   check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(patience * 1000)}")
            # When it cannot switch, SQLite answers with the old mode instead of an
            # error: the connection would then run in rollback mode, where a write
            # can fail at once ("locked") instead of waiting.
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise sqlite3.OperationalError(f"database is locked (journal mode {mode})")
            conn.execute("PRAGMA synchronous = FULL")
            return conn
        except sqlite3.OperationalError as exc:
            if conn is not None:
                conn.close()
            if not _busy(exc) or time.monotonic() > deadline:
                raise LedgerError(f"{path} is not a usable cmctl ledger: {exc}",
                                  hint="restore it from a backup; never delete it while "
                                  "posts are scheduled") from None
            time.sleep(0.05)
        except sqlite3.DatabaseError as exc:
            if conn is not None:
                conn.close()
            raise LedgerError(f"{path} is not a usable cmctl ledger: {exc}",
                              hint="restore it from a backup; never delete it while posts "
                              "are scheduled") from None


@contextlib.contextmanager
def writing(path: Path) -> Iterator[None]:
    """A write the disk refuses (full, read-only, I/O error) is a clean error, exit 2.

    The transaction was rolled back: the ledger is as it was before. A job claimed
    before the failure is recovered by the next run, like after a crash."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        text = str(exc).lower()
        if _busy(exc) and "full" not in text:
            raise
        raise LedgerError(f"cannot write the ledger {path}: {exc}",
                          hint="free some space (or fix the permissions) in that folder; "
                          "nothing was lost: what was being sent is recovered by the next "
                          "run") from None
    except OSError as exc:
        raise LedgerError(f"cannot write the ledger {path}: {exc.strerror or exc}",
                          hint="free some space (or fix the permissions) in that folder") \
            from None


class Ledger:
    """One ledger file. Thread-safe: each thread gets its own SQLite connection."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._committer: _GroupCommitter | None = None
        self._migrate()

    @classmethod
    def open(cls, state_dir: Path) -> Ledger:
        try:
            state_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LedgerError(f"cannot create the state folder {state_dir}: {exc.strerror}") \
                from None
        return cls(state_dir / LEDGER_NAME)

    # ------------------------------------------------------------------ connection
    @property
    def db(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path)
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._all.clear()
        self._local = threading.local()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT: takes the write lock first, so reads inside are fresh.

        Threads of this process queue on a Python lock first: SQLite's own busy handler
        would make them sleep in growing steps (up to 100 ms) each time they collide.
        """
        db = self.db
        with self._write_lock, writing(self.path):
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
                raise
            else:
                db.execute("COMMIT")

    def write(self, op: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``op`` in a write transaction of its own; return when it is committed.

        Inside ``group_commit()``, ops from many threads are committed together by one
        writer thread (each in a savepoint, so each stays all-or-nothing)."""
        committer = self._committer
        if committer is not None:
            with writing(self.path):
                return committer.submit(op)
        with self.transaction() as db:
            return op(db)

    @contextlib.contextmanager
    def group_commit(self) -> Iterator[None]:
        """While many threads write (a burst of sends): one writer, batched commits.

        Threads writing one by one would each hold SQLite's write lock across an fsync
        and then wait for the GIL with the lock held: the others queue behind it (a lock
        convoy). Batching keeps every op's durability (it returns after its COMMIT)."""
        committer = _GroupCommitter(self.path)
        self._committer = committer
        try:
            yield
        finally:
            self._committer = None
            committer.stop()

    def _migrate(self) -> None:
        try:
            with self.transaction() as db:
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if version > len(MIGRATIONS):
                    raise LedgerError(
                        f"{self.path} was written by a newer cmctl (schema {version})",
                        hint="upgrade cmctl")
                for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                    for statement in script.split(";"):
                        if statement.strip():
                            db.execute(statement)
                    db.execute(f"PRAGMA user_version = {number}")
        except sqlite3.OperationalError as exc:
            if _busy(exc):
                raise LedgerError(f"{self.path} stayed locked by another process",
                                  hint="is a cmctl stuck? see `cmctl status`") from None
            raise LedgerError(f"{self.path} is not a usable cmctl ledger: {exc}",
                              hint="restore it from a backup; never delete it while posts "
                              "are scheduled") from None
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"{self.path} is not a usable cmctl ledger: {exc}",
                              hint="restore it from a backup; never delete it while posts "
                              "are scheduled") from None

    # ------------------------------------------------------------------ reading
    def rows(self, *, states: Iterable[str] | None = None,
             keys: Iterable[str] | None = None) -> list[Row]:
        sql = "SELECT * FROM jobs"
        args: list[Any] = []
        where = []
        if states is not None:
            states = list(states)
            where.append(f"state IN ({','.join('?' * len(states))})")
            args += states
        if keys is not None:
            keys = list(keys)
            where.append(f"key IN ({','.join('?' * len(keys))})")
            args += keys
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY scheduled_at, calendar, post_id, account, part"
        return [self._row(r) for r in self.db.execute(sql, args)]

    def get(self, key: str) -> Row | None:
        r = self.db.execute("SELECT * FROM jobs WHERE key = ?", (key,)).fetchone()
        return self._row(r) if r else None

    def _row(self, r: sqlite3.Row) -> Row:
        try:
            return Row.from_sql(r)
        except (ValueError, TypeError, OverflowError, KeyError) as exc:
            raise LedgerError(f"{self.path} is damaged: job {r['key']!r} cannot be read "
                              f"({exc})", hint="restore the ledger from a backup") from None

    def orphaned_parts(self) -> list[tuple[Row, Row]]:
        """(pending part, the earliest part before it that will not go out) pairs: a
        failed, missed, unknown or skipped part with pending parts after it. Indexed:
        cheap on a ledger of 100,000 jobs."""
        sql = (
            "SELECT later.key AS later_key, stop.key AS stop_key FROM jobs AS stop "
            "JOIN jobs AS later ON later.calendar = stop.calendar AND later.post_id = "
            "stop.post_id AND later.account = stop.account AND later.part > stop.part "
            "AND later.state = 'pending' "
            "WHERE stop.state IN ('failed', 'missed', 'unknown', 'skipped') "
            "AND COALESCE(stop.reason, '') != 'removed from the calendar' "
            "ORDER BY later.key, stop.part")
        pairs: dict[str, str] = {}
        for r in self.db.execute(sql):
            pairs.setdefault(r["later_key"], r["stop_key"])
        if not pairs:
            return []
        rows = {r.key: r for r in self.rows(keys=set(pairs) | set(pairs.values()))}
        return [(rows[later], rows[stop]) for later, stop in sorted(pairs.items())]

    def counts(self) -> dict[str, int]:
        return {r[0]: r[1] for r in
                self.db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state")}

    def next_wakeup(self, after: datetime | None = None) -> datetime | None:
        """The earliest moment a pending job becomes due (strictly after ``after``)."""
        due = "COALESCE(MAX(next_attempt_at, scheduled_at), scheduled_at)"
        sql = f"SELECT MIN({due}) FROM jobs WHERE state = 'pending'"
        args: tuple[str, ...] = ()
        if after is not None:
            sql += f" AND {due} > ?"
            args = (iso(after),)
        r = self.db.execute(sql, args).fetchone()
        return parse_iso(r[0]) if r and r[0] else None

    def has_work(self, now: datetime) -> bool:
        """Is any job due (or past due), or any claim to look at? One indexed query."""
        r = self.db.execute(
            "SELECT 1 FROM jobs WHERE state = 'sending' OR (state = 'pending' AND "
            "COALESCE(MAX(next_attempt_at, scheduled_at), scheduled_at) <= ?) LIMIT 1",
            (iso(now),)).fetchone()
        return r is not None

    def events(self, key: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        sql = "SELECT at, key, event, detail FROM events"
        args: tuple[Any, ...] = ()
        if key:
            sql += " WHERE key = ?"
            args = (key,)
        sql += " ORDER BY id DESC LIMIT ?"
        return [dict(r) for r in self.db.execute(sql, (*args, limit))][::-1]

    def meta(self, name: str) -> str | None:
        r = self.db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return r[0] if r else None

    def set_meta(self, name: str, value: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO meta (name, value) VALUES (?, ?) "
                       "ON CONFLICT(name) DO UPDATE SET value = excluded.value", (name, value))

    # ------------------------------------------------------------------ writing
    @staticmethod
    def log(db: sqlite3.Connection, now: datetime, key: str, event: str,
            detail: str | None = None) -> None:
        db.execute("INSERT INTO events (at, key, event, detail) VALUES (?, ?, ?, ?)",
                   (iso(now), key, event, detail))

    def insert(self, db: sqlite3.Connection, now: datetime, **values: Any) -> None:
        values.setdefault("created_at", iso(now))
        values.setdefault("updated_at", iso(now))
        cols = ", ".join(values)
        db.execute(f"INSERT INTO jobs ({cols}) VALUES ({', '.join('?' * len(values))})",
                   tuple(values.values()))

    def update(self, db: sqlite3.Connection, now: datetime, key: str, *,
               expect: Iterable[str] | None = None, **values: Any) -> bool:
        """Set ``values`` on job ``key`` (only if its state is in ``expect``)."""
        values["updated_at"] = iso(now)
        sets = ", ".join(f"{c} = ?" for c in values)
        sql = f"UPDATE jobs SET {sets} WHERE key = ?"
        args: list[Any] = [*values.values(), key]
        if expect is not None:
            expect = list(expect)
            sql += f" AND state IN ({','.join('?' * len(expect))})"
            args += expect
        return db.execute(sql, args).rowcount == 1

    # ------------------------------------------------------------------ the plan
    def sync(self, planned: Iterable[Planned], now: datetime, *, present: set[str],
             held: set[str] | frozenset[str] = frozenset()) -> Reconciliation:
        """Bring the ledger in line with the compiled plan, in one transaction.

        The decisions are cmctl/ledger/reconcile.py's (pure, tested without SQLite);
        this applies them. ``present``: every calendar name that was read; ``held``:
        calendars left out because they have errors (their rows stay as they are).
        """
        stamp = iso(now)
        with self.transaction() as db:
            known = [Known(
                key=r["key"], calendar=r["calendar"], post_id=r["post_id"],
                account=r["account"], part=r["part"], network=r["network"],
                state=r["state"], content_hash=r["content_hash"], sent_hash=r["sent_hash"],
                scheduled_at=r["scheduled_at"], catch_up_s=r["catch_up_s"],
                maybe_sent_at=r["maybe_sent_at"], decided_by=r["decided_by"],
                remote_id=r["remote_id"], url=r["url"], remote_ref=r["remote_ref"],
                published_at=r["published_at"]) for r in db.execute(
                "SELECT key, calendar, post_id, account, part, network, state, "
                "content_hash, sent_hash, scheduled_at, catch_up_s, maybe_sent_at, "
                "decided_by, remote_id, url, remote_ref, published_at FROM jobs")]
            result = reconcile(known, planned, present=present, held=held)
            for change in result.updates:
                self.update(db, now, change.key, **change.values)
                if change.event:
                    self.log(db, now, change.key, change.event)
            if result.inserts:
                columns = ("key", "calendar", "post_id", "account", "part", "network",
                           "content_hash", "scheduled_at", "catch_up_s", "idempotency_key",
                           "created_at", "updated_at")
                extra = ("state", "reason", "remote_id", "url", "remote_ref", "sent_hash",
                         "published_at", "maybe_sent_at")
                sql = (f"INSERT INTO jobs ({', '.join(columns + extra)}) VALUES "
                       f"({', '.join('?' * (len(columns) + len(extra)))})")
                db.executemany(sql, [
                    (j.key, j.calendar, j.post_id, j.account, j.part, j.network,
                     j.content_hash, j.scheduled_at, j.catch_up_s, idempotency_key(j.key),
                     stamp, stamp, *(values.get(c) for c in extra))
                    for j, values, _ in result.inserts])
                db.executemany("INSERT INTO events (at, key, event) VALUES (?, ?, ?)",
                               [(stamp, j.key, event) for j, _, event in result.inserts])
        return result

    # ------------------------------------------------------------------ sending
    def claim(self, key: str, owner: str, now: datetime, lease: timedelta, *,
              content_hash: str | None = None, due_by: datetime | None = None) -> Row | None:
        """pending → sending for ``owner``: the claimed row, or None when another process
        got it first, or when the job changed since it was selected (``content_hash``:
        the text about to be sent is still the plan's; ``due_by``: still due then).
        One conditional UPDATE: of two racing claims, exactly one matches."""
        stamp = iso(now)
        sql = ("UPDATE jobs SET state = 'sending', claim_owner = ?, claimed_at = ?, "
               "claim_expires_at = ?, attempts = attempts + 1, updated_at = ? "
               "WHERE key = ? AND state = 'pending'")
        args: list[Any] = [owner, stamp, iso(now + lease), stamp, key]
        if content_hash is not None:
            sql += " AND content_hash = ?"
            args.append(content_hash)
        if due_by is not None:
            sql += (" AND scheduled_at <= ? AND (next_attempt_at IS NULL OR "
                    "next_attempt_at <= ?)")
            args += [iso(due_by), iso(due_by)]

        def op(db: sqlite3.Connection) -> sqlite3.Row | None:
            r: sqlite3.Row | None = db.execute(sql + " RETURNING *", args).fetchone()
            if r is not None:
                self.log(db, now, key, "claimed", owner)
            return r

        r = self.write(op)
        return Row.from_sql(r) if r is not None else None

    def finish(self, key: str, owner: str, now: datetime, state: str, *,
               event: str, detail: str | None = None, **values: Any) -> bool:
        """Record the outcome of a claimed job (only by the process that claimed it)."""
        values.update(state=state, claim_owner=None, claimed_at=None, claim_expires_at=None,
                      updated_at=iso(now))
        sets = ", ".join(f"{c} = ?" for c in values)

        def op(db: sqlite3.Connection) -> bool:
            done: bool = db.execute(
                f"UPDATE jobs SET {sets} WHERE key = ? AND state = 'sending' "
                "AND claim_owner = ?", (*values.values(), key, owner)).rowcount == 1
            if done:
                self.log(db, now, key, event, detail)
            return done

        return self.write(op)

    def record_late_publication(self, key: str, now: datetime, **values: Any) -> bool:
        """A send this process made went out after its claim was taken over: record it
        as published whatever the job's state became (unless already published)."""
        values.update(state="published", claim_owner=None, claimed_at=None,
                      claim_expires_at=None, reason=None, next_attempt_at=None,
                      published_at=iso(now))

        def op(db: sqlite3.Connection) -> bool:
            done = self.update(db, now, key, expect=("pending", "sending", "unknown",
                                                     "failed", "missed", "skipped"),
                               **values)
            if done:
                self.log(db, now, key, "published (after its claim was taken over)",
                         values.get("url"))
            return done

        return self.write(op)

    def set_state(self, key: str, now: datetime, state: str, *, expect: Iterable[str],
                  event: str, detail: str | None = None, **values: Any) -> bool:
        """A transition outside a claim (missed, recovered, resolved by a human...)."""

        def op(db: sqlite3.Connection) -> bool:
            done = self.update(db, now, key, expect=expect, state=state, **values)
            if done:
                self.log(db, now, key, event, detail)
            return done

        return self.write(op)


class _GroupCommitter:
    """One thread, one connection: runs queued write ops in shared transactions."""

    def __init__(self, path: Path) -> None:
        import queue

        self.path = path
        self.failure: BaseException | None = None
        self.queue: queue.SimpleQueue[tuple[Callable[[sqlite3.Connection], Any], Any] | None]
        self.queue = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name="cmctl-ledger", daemon=True)
        self.thread.start()

    def submit(self, op: Callable[[sqlite3.Connection], T]) -> T:
        from concurrent.futures import Future

        if self.failure is not None:
            raise self.failure
        future: Future[T] = Future()
        self.queue.put((op, future))
        return future.result()

    def stop(self) -> None:
        self.queue.put(None)
        self.thread.join()

    def _run(self) -> None:
        try:
            self._serve()
        except BaseException as exc:  # never leave a sender waiting forever
            self.failure = exc
            while True:
                item = self.queue.get()
                if item is None:
                    return
                item[1].set_exception(exc)

    def _serve(self) -> None:
        import queue

        db = connect(self.path)
        try:
            while True:
                item = self.queue.get()
                if item is None:
                    return
                batch = [item]
                stop = False
                while True:
                    try:
                        more = self.queue.get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        stop = True
                        break
                    batch.append(more)
                self._commit(db, batch)
                if stop:
                    return
        finally:
            db.close()

    @staticmethod
    def _commit(db: sqlite3.Connection, batch: list[Any]) -> None:
        outcomes: list[tuple[Any, Any, BaseException | None]] = []
        try:
            db.execute("BEGIN IMMEDIATE")
            for op, future in batch:
                db.execute("SAVEPOINT op")
                try:
                    value = op(db)
                except Exception as exc:  # this op only: undo it, keep the others
                    db.execute("ROLLBACK TO op")
                    db.execute("RELEASE op")
                    outcomes.append((future, None, exc))
                else:
                    db.execute("RELEASE op")
                    outcomes.append((future, value, None))
            db.execute("COMMIT")
        except BaseException as exc:  # the transaction itself failed: nothing is committed
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            for _, future in batch:
                future.set_exception(exc)
            return
        for future, value, error in outcomes:
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(value)


def scratch_copy(source: Path, folder: Path) -> Ledger:
    """A private copy of the ledger at ``source`` (or a new empty one) in ``folder``.

    The dry run runs the real decision procedure on it: it can write whatever it
    likes there, and the real ledger is only ever read (opened read-only)."""
    dest = folder / LEDGER_NAME
    if source.exists():
        try:
            src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
            try:
                with contextlib.closing(sqlite3.connect(dest)) as copy:
                    src.backup(copy)
            finally:
                src.close()
        except sqlite3.Error as exc:
            raise LedgerError(f"{source} is not a usable cmctl ledger: {exc}",
                              hint="restore it from a backup; never delete it while posts "
                              "are scheduled") from None
    return Ledger(dest)

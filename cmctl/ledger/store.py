"""The ledger: the source of truth of what was sent (SQLite, WAL, one row per job).

Every state change is one transaction, so a crash leaves the ledger as it was before
or after the change, never half-written. A job is claimed (pending → sending) by a
single conditional UPDATE inside ``BEGIN IMMEDIATE``: of two processes racing for the
same job, exactly one sees its update applied.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import sqlite3
import stat
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from cmctl import atomic
from cmctl.errors import CmctlError
from cmctl.ledger import states
from cmctl.ledger.schema import MIGRATIONS, RETRIED_SQL, STATES
from cmctl.redact import scrub

if TYPE_CHECKING:  # loaded where used: `status` and the cron tick never reconcile
    from cmctl.ledger.reconcile import Known, Planned, Reconciliation

LEDGER_NAME = "ledger.sqlite3"
# Rows written by an older cmctl may hold any catch-up; read them within what cmctl
# accepts today (a year) plus a margin, so that date arithmetic never overflows.
MAX_CATCH_UP_S = 400 * 86400
T = TypeVar("T")


class LedgerError(CmctlError):
    exit_code = 2


# The ledger's lineage: ``ledger.id`` beside it holds the id also stored in its meta table.
# It is written (atomically) as soon as the ledger exists, so a ledger that goes missing or
# empty later is noticed instead of being taken for a first run.
MARKER_NAME = "ledger.id"
# Files that exist only in a state folder that a ledger was used in (the daemon's lock and
# the publish stamp are written after the ledger was opened; SQLite's WAL files beside it).
IN_USE_EVIDENCE = (
    MARKER_NAME,
    f"{LEDGER_NAME}-wal",
    f"{LEDGER_NAME}-shm",
    "plan.stamp",
    "daemon.lock",
)
APPLICATION_ID = 0x636D6374  # "cmct", in the SQLite header of every ledger since 0.x
_TABLES = frozenset({"jobs", "events", "meta"})
_SQLITE_MAGIC = b"SQLite format 3\x00"
# The emergency brake (cmctl/brake.py): a pause is a row of the meta table named
# ``pause:*`` (the whole project) or ``pause:ACCOUNT``, its value JSON (reason, by, since).
PAUSE_PREFIX = "pause:"
PAUSE_ALL = "*"
# True for a jobs row whose account is paused (used inside queries on ``jobs``). Both
# subqueries are uncorrelated: SQLite evaluates them once per query, not once per row.
PAUSED_SQL = (
    "(EXISTS (SELECT 1 FROM meta WHERE name = 'pause:*') OR jobs.account IN "
    "(SELECT substr(name, 7) FROM meta WHERE substr(name, 1, 6) = 'pause:'))"
)
_SQLITE_CORRUPT, _SQLITE_NOTADB = 11, 26


def afresh_hint(state_dir: Path) -> str:
    """How to recover, and the one explicit step that starts a new ledger on purpose."""
    return (
        f"restore {LEDGER_NAME} from a backup (cmctl never repairs or replaces it); to "
        f"start afresh on purpose, move the state folder aside: `mv {state_dir} "
        f"{state_dir}.old` (posts already published that are still within their "
        "catch-up window would then go out again)"
    )


def unusable(path: Path, why: str) -> LedgerError:
    return LedgerError(f"{path} is not a usable cmctl ledger: {why}", hint=afresh_hint(path.parent))


def _file_kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a device"),
        (stat.S_ISBLK, "a device"),
        (stat.S_ISLNK, "a broken link"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def inspect(path: Path) -> bool:
    """Is there a ledger file at ``path`` worth opening? False when there is none.

    Raises LedgerError for what SQLite would take for an empty database (a 0-byte file:
    cmctl never leaves one, see ``_create``) or would hang on (a FIFO), and for a file
    that is visibly not a whole SQLite database. Never opens anything but a regular
    file, never writes."""
    try:
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            st = os.stat(path)  # a ledger moved to another disk and linked: fine
    except FileNotFoundError:
        if os.path.lexists(path):
            raise unusable(path, "it is a broken link") from None
        return False
    except OSError as exc:
        raise unusable(path, exc.strerror or str(exc)) from None
    if not stat.S_ISREG(st.st_mode):
        raise unusable(path, f"it is {_file_kind(st.st_mode)}")
    if st.st_size == 0:
        raise unusable(path, "the file is empty (0 bytes)")
    for suffix in ("-wal", "-shm", "-journal"):  # SQLite opens these too: never a FIFO
        try:
            mode = os.stat(f"{path}{suffix}").st_mode
        except OSError:
            continue
        if not stat.S_ISREG(mode):
            raise unusable(path, f"{path.name}{suffix} beside it is {_file_kind(mode)}")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped since the lstat
                raise unusable(path, "it is not a regular file")
            header = os.pread(fd, 100, 0)
        finally:
            os.close(fd)
    except OSError as exc:
        raise unusable(path, exc.strerror or str(exc)) from None
    if len(header) < 100 or not header.startswith(_SQLITE_MAGIC):
        raise unusable(path, "the file is not an SQLite database")
    # Decided from the header, before SQLite opens it (connect would switch a rollback-
    # journal file to WAL mode, a write): every cmctl ledger is in WAL mode (18-19 = 2).
    if header[18:20] != b"\x02\x02":
        raise unusable(path, "it is an SQLite database, but not a cmctl ledger")
    if int.from_bytes(header[68:72], "big") not in (0, APPLICATION_ID):  # application_id
        raise unusable(path, "it is another application's SQLite database")
    if int.from_bytes(header[60:64], "big") > len(MIGRATIONS):  # user_version
        raise _newer(path, int.from_bytes(header[60:64], "big"))
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    if page_size < 512 or page_size & (page_size - 1):
        raise unusable(path, "its header is damaged")
    pages = int.from_bytes(header[28:32], "big")
    valid = pages > 0 and header[24:28] == header[92:96]
    try:  # a non-empty WAL may hold pages the file does not have yet (a checkpoint cut)
        wal = os.stat(f"{path}-wal").st_size
    except OSError:
        wal = 0
    if valid and wal == 0 and st.st_size < pages * page_size:
        raise unusable(
            path, f"the file is truncated ({st.st_size} bytes, its header says {pages * page_size})"
        )
    return True


def _newer(path: Path, version: int) -> LedgerError:
    return LedgerError(
        f"{path} is not a usable ledger for this cmctl: it was written by a "
        f"newer cmctl (schema {version}, this one knows {len(MIGRATIONS)})",
        hint="upgrade cmctl",
    )


def in_use(state_dir: Path) -> str | None:
    """The name of a file showing that a ledger was used in ``state_dir``, if any."""
    for name in IN_USE_EVIDENCE:
        if os.path.lexists(state_dir / name):
            return name
    return None


def _read_marker(state_dir: Path) -> str | None:
    """The ledger id in ``ledger.id``, or None when it is missing or unreadable."""
    try:
        fd = os.open(state_dir / MARKER_NAME, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        text = os.read(fd, 200).decode("ascii", "replace").split()
    except OSError:
        return None
    finally:
        os.close(fd)
    return text[2] if len(text) == 3 and text[:2] == ["cmctl", "ledger"] else None


def _write_marker(state_dir: Path, ledger_id: str) -> None:
    """Write ``ledger.id`` atomically (best effort: a read-only folder still reads)."""
    path = state_dir / MARKER_NAME
    tmp = state_dir / f".{MARKER_NAME}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
    try:
        with open(tmp, "w", encoding="ascii") as handle:
            handle.write(f"cmctl ledger {ledger_id}\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        _fsync_dir(state_dir)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _fsync_dir(folder: Path) -> None:
    atomic.fsync_dir(folder)


def _apply_migrations(db: sqlite3.Connection, version: int) -> None:
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        for statement in script.split(";"):
            if statement.strip():
                db.execute(statement)
        db.execute(f"PRAGMA user_version = {number}")


def _create(path: Path) -> None:
    """Create a new ledger at ``path`` all at once: built beside it, then linked in.

    So the ledger file never exists empty or half-made (a crash leaves a stray temp
    file, never a 0-byte ledger), and of two first runs at once, one ledger wins and the
    other run uses it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.new")
    try:
        db = connect(tmp)
        try:
            db.execute("BEGIN IMMEDIATE")
            _apply_migrations(db, 0)
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute(
                "INSERT INTO meta (name, value) VALUES ('ledger_id', ?)", (str(uuid.uuid4()),)
            )
            db.execute("COMMIT")
        finally:
            db.close()  # the last connection: SQLite checkpoints and removes the WAL
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another run created it first: use that one
        except OSError:  # a file system without hard links
            if not os.path.lexists(path):
                os.rename(tmp, path)
        _fsync_dir(path.parent)
    except OSError as exc:
        raise LedgerError(f"cannot create the ledger {path}: {exc.strerror or exc}") from None
    except sqlite3.Error as exc:
        raise LedgerError(f"cannot create the ledger {path}: {exc}") from None
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(OSError):
                os.unlink(f"{tmp}{suffix}")


def _checked(exc: sqlite3.DatabaseError, conn: Any) -> Exception:
    """A damaged-file error from SQLite as LedgerError; any other error unchanged."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return unusable(getattr(conn, "ledger_path", Path(LEDGER_NAME)), str(exc))
    return exc


class _Cursor(sqlite3.Cursor):
    """Damage found while reading rows (a page cut off) is a LedgerError, not a crash."""

    def __next__(self) -> Any:
        try:
            return super().__next__()
        except sqlite3.DatabaseError as exc:
            raise _checked(exc, self.connection) from None

    def fetchone(self) -> Any:
        try:
            return super().fetchone()
        except sqlite3.DatabaseError as exc:
            raise _checked(exc, self.connection) from None

    def fetchall(self) -> list[Any]:
        try:
            return super().fetchall()
        except sqlite3.DatabaseError as exc:
            raise _checked(exc, self.connection) from None


class _Connection(sqlite3.Connection):
    def cursor(self, factory: Any = _Cursor) -> Any:
        return super().cursor(factory)

    def execute(self, *args: Any) -> Any:
        try:
            return super().execute(*args)
        except sqlite3.DatabaseError as exc:
            raise _checked(exc, self) from None

    def executemany(self, *args: Any) -> Any:
        try:
            return super().executemany(*args)
        except sqlite3.DatabaseError as exc:
            raise _checked(exc, self) from None


def iso(moment: datetime) -> str:
    """UTC, fixed width: string order is time order."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    if moment.year < 1000:  # strftime does not pad the year
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # the same text as strftime("%Y-%m-%dT%H:%M:%S.%fZ"), twice as fast: the UTC offset
    # isoformat writes ("+00:00") replaced by the Z
    return moment.isoformat(timespec="microseconds")[:-6] + "Z"


def parse_iso(text: str | None) -> datetime | None:
    return None if text is None else _parse_iso(text)


@lru_cache(maxsize=4096)  # a ledger repeats its moments: every job of a post, every sync stamp
def _parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text)  # aware: ends in Z


# The columns of a Row, in its field order: read as plain tuples, not by name.
ROW_COLUMNS = (
    "key, calendar, post_id, account, part, network, content_hash, sent_hash, scheduled_at, "
    "catch_up_s, state, reason, attempts, next_attempt_at, maybe_sent_at, deadline, "
    "idempotency_key, remote_id, url, remote_ref, claim_owner, claimed_at, claim_expires_at, "
    "published_at, created_at, updated_at, decided_by"
)
# The columns reconciliation knows a row by, in Known's field order.
KNOWN_COLUMNS = (
    "key, calendar, post_id, account, part, network, state, content_hash, sent_hash, "
    "scheduled_at, catch_up_s, maybe_sent_at, decided_by, remote_id, url, remote_ref, "
    "published_at"
)


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
    checkpoint: dict[str, Any] | None = None  # saved by a multi-step attempt

    @property
    def post_key(self) -> str:
        return f"{self.calendar}:{self.post_id}@{self.account}"

    @property
    def changed_since_published(self) -> bool:
        return self.state == "published" and self.sent_hash != self.content_hash

    @classmethod
    def from_tuple(cls, r: tuple[Any, ...]) -> Row:
        """From the values of ``ROW_COLUMNS``, in that order."""
        (
            key,
            calendar,
            post_id,
            account,
            part,
            network,
            content_hash,
            sent_hash,
            scheduled_at,
            catch_up_s,
            state,
            reason,
            attempts,
            next_attempt_at,
            maybe_sent_at,
            deadline,
            idem,
            remote_id,
            url,
            remote_ref,
            claim_owner,
            claimed_at,
            claim_expires_at,
            published_at,
            created_at,
            updated_at,
            decided_by,
        ) = r
        return cls(
            key,
            calendar,
            post_id,
            account,
            part,
            network,
            content_hash,
            sent_hash,
            _parse_iso(scheduled_at),
            timedelta(seconds=min(catch_up_s, MAX_CATCH_UP_S)),
            state,
            reason,
            attempts,
            None if next_attempt_at is None else _parse_iso(next_attempt_at),
            None if maybe_sent_at is None else _parse_iso(maybe_sent_at),
            None if deadline is None else _parse_iso(deadline),
            idem,
            remote_id,
            url,
            json.loads(remote_ref) if remote_ref else None,
            claim_owner,
            None if claimed_at is None else _parse_iso(claimed_at),
            None if claim_expires_at is None else _parse_iso(claim_expires_at),
            None if published_at is None else _parse_iso(published_at),
            _parse_iso(created_at),
            _parse_iso(updated_at),
            decided_by,
        )

    @classmethod
    def from_sql(cls, r: sqlite3.Row) -> Row:
        return cls(
            key=r["key"],
            calendar=r["calendar"],
            post_id=r["post_id"],
            account=r["account"],
            part=r["part"],
            network=r["network"],
            content_hash=r["content_hash"],
            sent_hash=r["sent_hash"],
            scheduled_at=parse_iso(r["scheduled_at"]),  # type: ignore[arg-type]
            catch_up=timedelta(seconds=min(r["catch_up_s"], MAX_CATCH_UP_S)),
            state=r["state"],
            reason=r["reason"],
            attempts=r["attempts"],
            next_attempt_at=parse_iso(r["next_attempt_at"]),
            maybe_sent_at=parse_iso(r["maybe_sent_at"]),
            deadline=parse_iso(r["deadline"]),
            idempotency_key=r["idempotency_key"],
            remote_id=r["remote_id"],
            url=r["url"],
            remote_ref=json.loads(r["remote_ref"]) if r["remote_ref"] else None,
            claim_owner=r["claim_owner"],
            claimed_at=parse_iso(r["claimed_at"]),
            claim_expires_at=parse_iso(r["claim_expires_at"]),
            published_at=parse_iso(r["published_at"]),
            created_at=parse_iso(r["created_at"]),  # type: ignore[arg-type]
            updated_at=parse_iso(r["updated_at"]),  # type: ignore[arg-type]
            decided_by=r["decided_by"],
            checkpoint=json.loads(r["checkpoint"]) if r["checkpoint"] else None,
        )


class JobState(NamedTuple):
    """What `plan` says of a job the ledger knows (attribute names as on Row)."""

    state: str
    sent_hash: str | None
    attempts: int
    url: str | None
    reason: str | None


def read_known(db: sqlite3.Connection) -> list[Known]:
    """Every job as reconciliation knows it: one query, tuples in Known's field order."""
    from cmctl.ledger.reconcile import Known

    cursor = db.cursor()
    cursor.row_factory = None
    return [Known(*r) for r in cursor.execute(f"SELECT {KNOWN_COLUMNS} FROM jobs")]


def reconcile_by_calendar(
    db: sqlite3.Connection,
    planned: Iterable[Planned],
    *,
    present: set[str] | frozenset[str],
    held: set[str] | frozenset[str],
    then: Callable[[Reconciliation], object] | None = None,
) -> Reconciliation:
    """``reconcile`` of every row of the ledger, the rows read one calendar at a time
    (106,000 rows are never all held): first the rows that may be online (the heirs of
    new identities), then each calendar's rows, in ``reconcile``'s order. ``then`` is
    given each calendar's changes before the next calendar is read (the sync writes
    them); the result holds them all."""
    from cmctl.ledger.reconcile import (
        STARTED_SQL,
        Known,
        Reconciling,
        by_calendar,
        calendars,
        inheritable,
    )

    jobs = planned if isinstance(planned, list) else list(planned)
    cursor = db.cursor()
    cursor.row_factory = None
    started = (
        Known(*r)
        for r in cursor.execute(
            f"SELECT {KNOWN_COLUMNS} FROM jobs WHERE {STARTED_SQL} ORDER BY rowid"
        )
    )
    run = Reconciling(inheritable(started, {job.key for job in jobs}), present=present, held=held)
    jobs_of = by_calendar(jobs)
    known = [
        r[0]
        for r in cursor.execute("SELECT calendar FROM jobs GROUP BY calendar ORDER BY MIN(rowid)")
    ]
    # Rows whose key is not what their columns make (``compile.job_key``; a ledger edited
    # by hand) go with the job that has their key, as ``reconcile`` has them: never
    # inserted twice.
    misfiled = {
        r[1]: r
        for r in cursor.execute(
            f"SELECT rowid, {KNOWN_COLUMNS} FROM jobs WHERE key != calendar || ':' || post_id "
            "|| '@' || account || CASE WHEN part != 0 THEN '#' || part ELSE '' END"
        )
    }
    moved: dict[str, list[tuple[Any, ...]]] = {}
    if misfiled:
        owner = {job.key: job.calendar for job in jobs if job.key in misfiled}
        for key, r in misfiled.items():
            moved.setdefault(owner.get(key, r[2]), []).append(r)
    for calendar in calendars(jobs_of, known):
        rows = cursor.execute(
            f"SELECT rowid, {KNOWN_COLUMNS} FROM jobs WHERE calendar = ? ORDER BY rowid",
            (calendar,),
        ).fetchall()
        if misfiled:
            rows = sorted([r for r in rows if r[1] not in misfiled] + moved.get(calendar, []))
        part = run.calendar([Known(*r[1:]) for r in rows], jobs_of.get(calendar, ()))
        if then is not None:
            then(part)
    return run.out


def _scrub_text(values: dict[str, Any]) -> None:
    """Free text that reaches the ledger (reasons, URLs) never carries a secret."""
    for name in ("reason", "url"):
        if isinstance(values.get(name), str):
            values[name] = scrub(values[name])


# A new job's columns (Ledger.sync), then those a reconciliation may set on it.
_INSERT_COLUMNS = (
    "key",
    "calendar",
    "post_id",
    "account",
    "part",
    "network",
    "content_hash",
    "scheduled_at",
    "catch_up_s",
    "idempotency_key",
    "created_at",
    "updated_at",
)
_INSERT_EXTRA = (
    "state",
    "reason",
    "remote_id",
    "url",
    "remote_ref",
    "sent_hash",
    "published_at",
    "maybe_sent_at",
)


def _drop_indexes(db: sqlite3.Connection) -> list[str]:
    """Drop the secondary indexes of jobs and events (inside the caller's transaction);
    the statements that create them again, exactly as the schema has them."""
    found = db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        "AND tbl_name IN ('jobs', 'events') ORDER BY name"
    ).fetchall()
    for name, _ in found:
        db.execute(f'DROP INDEX "{name}"')
    return [statement for _, statement in found]


def idempotency_key(job_key: str) -> str:
    """Derived from the job's identity only: the same on every retry, forever."""
    return hashlib.sha256(b"cmctl:" + job_key.encode()).hexdigest()[:32]


def planned_job(job: Any) -> Planned:
    """A compiled job as reconciliation sees it (its time as the ledger writes it)."""
    from cmctl.ledger.reconcile import Planned

    if not isinstance(job, tuple):  # a Job (or a test's double); JobFacts is a tuple
        job = (
            job.key,
            job.calendar,
            job.post_id,
            job.account,
            job.part,
            job.network,
            job.content_hash,
            job.at,
            job.catch_up,
            job.status,
            getattr(job, "queue", None),  # (test doubles may have none)
        )
    # One C unpacking per job (106,000 on a first sync), then the Planned positionally.
    key, calendar, post_id, account, part, network, content_hash, at, catch_up, status, queue = job
    return Planned(
        key,
        calendar,
        post_id,
        account,
        part,
        network,
        content_hash,
        iso(at),
        int(catch_up.total_seconds()),
        status == "draft",
        queue is not None,
    )


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
            conn = sqlite3.connect(
                path,
                timeout=patience,
                isolation_level=None,
                check_same_thread=False,
                factory=_Connection,
            )
            conn.ledger_path = path  # type: ignore[attr-defined]
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
                raise unusable(path, str(exc)) from None
            time.sleep(0.05)
        except sqlite3.DatabaseError as exc:
            if conn is not None:
                conn.close()
            raise unusable(path, str(exc)) from None
        except LedgerError:
            if conn is not None:
                conn.close()
            raise


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
        raise LedgerError(
            f"cannot write the ledger {path}: {exc}",
            hint="free some space (or fix the permissions) in that folder; "
            "nothing was lost: what was being sent is recovered by the next "
            "run",
        ) from None
    except OSError as exc:
        raise LedgerError(
            f"cannot write the ledger {path}: {exc.strerror or exc}",
            hint="free some space (or fix the permissions) in that folder",
        ) from None


class Ledger:
    """One ledger file. Thread-safe: each thread gets its own SQLite connection."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        """Open the ledger at ``path``; create it when this state folder was never used.

        A ledger that is missing, empty or damaged beside a folder that was in use is
        an error (LedgerError, exit 2), never a fresh start: see ``inspect`` and
        ``in_use``. The damaged file is left exactly as it is."""
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._committer: _GroupCommitter | None = None
        if not inspect(path):
            evidence = in_use(path.parent)
            if evidence is not None:
                raise LedgerError(
                    f"{path} is missing, but {path.parent} was in use ({evidence} is there)",
                    hint=afresh_hint(path.parent),
                )
            if not create:
                raise LedgerError(f"there is no ledger at {path}")
            _create(path)
            inspect(path)
        try:
            self._migrate()
        except BaseException:
            self.close()
            raise

    @classmethod
    def open(cls, state_dir: Path) -> Ledger:
        """The ledger of ``state_dir``, created on first use."""
        try:
            state_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LedgerError(
                f"cannot create the state folder {state_dir}: {exc.strerror}"
            ) from None
        if not os.path.isdir(state_dir):
            raise LedgerError(f"the state folder {state_dir} is not a folder")
        return cls(state_dir / LEDGER_NAME)

    @classmethod
    def existing(cls, state_dir: Path) -> Ledger | None:
        """The ledger of ``state_dir``, or None when cmctl never used that folder.

        For commands that only read (status, log, plan, a dry run, the cron fast path):
        they never create a ledger, and a damaged or missing one is the same error as for
        the commands that write."""
        path = state_dir / LEDGER_NAME
        if not inspect(path):
            evidence = in_use(state_dir) if os.path.isdir(state_dir) else None
            if evidence is None:
                return None
            raise LedgerError(
                f"{path} is missing, but {state_dir} was in use ({evidence} is there)",
                hint=afresh_hint(state_dir),
            )
        return cls(path, create=False)

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
        """Check that the file is a cmctl ledger this cmctl can use; apply new migrations;
        check it against ``ledger.id`` (and write that marker when it is missing)."""
        try:
            with self.transaction() as db:
                version = db.execute("PRAGMA user_version").fetchone()[0]
                app = db.execute("PRAGMA application_id").fetchone()[0]
                tables = {
                    r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                }
                if app not in (0, APPLICATION_ID):
                    raise unusable(self.path, "it is another application's SQLite database")
                if version > len(MIGRATIONS):
                    raise _newer(self.path, version)
                if version == 0 or not _TABLES.issubset(tables):
                    raise unusable(self.path, "it is an SQLite database without cmctl's tables")
                _apply_migrations(db, version)
                row = db.execute("SELECT value FROM meta WHERE name = 'ledger_id'").fetchone()
                ledger_id: str | None = row[0] if row else None
                marker = _read_marker(self.path.parent)
                if ledger_id is None:  # a ledger from before ledger.id: adopt it
                    ledger_id = marker or str(uuid.uuid4())
                    db.execute(
                        "INSERT INTO meta (name, value) VALUES ('ledger_id', ?)", (ledger_id,)
                    )
                    if app == 0:
                        db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        except sqlite3.OperationalError as exc:
            if _busy(exc):
                raise LedgerError(
                    f"{self.path} stayed locked by another process",
                    hint="is a cmctl stuck? see `cmctl status`",
                ) from None
            raise unusable(self.path, str(exc)) from None
        except sqlite3.DatabaseError as exc:
            raise unusable(self.path, str(exc)) from None
        if marker is None:
            _write_marker(self.path.parent, ledger_id)
        elif marker != ledger_id:
            raise LedgerError(
                f"{self.path} is not the ledger this state folder was using ({MARKER_NAME} "
                f"names ledger {marker}, the file is ledger {ledger_id})",
                hint=f"put this project's own ledger back (from a backup); to use this one "
                f"on purpose, delete {self.path.parent / MARKER_NAME}",
            )

    # ------------------------------------------------------------------ reading
    def rows(
        self,
        *,
        states: Iterable[str] | None = None,
        keys: Iterable[str] | None = None,
        due_by: datetime | None = None,
    ) -> list[Row]:
        """Rows in time order. ``due_by``: only those scheduled at or before it, or whose
        deadline (set when sent on purpose) is: all that a run at that moment can send,
        miss or give up (a job of next month is none of these). Indexed."""
        sql = f"SELECT {ROW_COLUMNS} FROM jobs"
        args: list[Any] = []
        where = []
        if due_by is not None:
            where.append("(scheduled_at <= ? OR deadline <= ?)")
            args += [iso(due_by)] * 2
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
        return self._rows(sql, args)

    def _rows(self, sql: str, args: Iterable[Any] = ()) -> list[Row]:
        """Rows of a query on ``ROW_COLUMNS``: read as tuples (no name lookups)."""
        cursor = self.db.cursor()
        cursor.row_factory = None
        try:
            return [Row.from_tuple(r) for r in cursor.execute(sql, list(args))]
        except (ValueError, TypeError, OverflowError, KeyError):
            pass  # a damaged row: find it and say which
        return [self._row(r) for r in self.db.execute(sql.replace(ROW_COLUMNS, "*", 1), list(args))]

    def states(self, keys: Sequence[str] | None = None) -> dict[str, JobState]:
        """Every job's state as `plan` shows it (or those of ``keys``, at most 999), by
        key: five columns, no dates parsed."""
        query = "SELECT key, state, sent_hash, attempts, url, reason FROM jobs"
        if keys is None:
            rows = self.db.execute(query).fetchall()
        elif not keys:
            return {}
        else:
            where = f"{query} WHERE key IN ({','.join('?' * len(keys))})"
            # sorted: SQLite then walks its key index in order (1.5x faster at 999 keys)
            rows = self.db.execute(where, sorted(keys)).fetchall()
        return {r[0]: JobState(r[1], r[2], r[3], r[4], r[5]) for r in rows}

    def published_since(self, account: str, since: datetime) -> list[tuple[datetime, int]]:
        """(when, part) of what ``account`` published at or after ``since`` (quotas)."""
        return [
            (parse_iso(r[0]), r[1])  # type: ignore[misc]
            for r in self.db.execute(
                "SELECT published_at, part FROM jobs WHERE state = 'published' AND "
                "account = ? AND published_at >= ?",
                (account, iso(since)),
            )
        ]

    def retrying(self) -> list[Row]:
        """Pending jobs that were tried already (waiting for their next attempt)."""
        return self._rows(
            f"SELECT {ROW_COLUMNS} FROM jobs WHERE state = 'pending' AND {RETRIED_SQL} "
            "AND attempts > 0 ORDER BY scheduled_at, calendar, post_id, account, part"
        )

    def get(self, key: str) -> Row | None:
        r = self.db.execute("SELECT * FROM jobs WHERE key = ?", (key,)).fetchone()
        return self._row(r) if r else None

    def _row(self, r: sqlite3.Row) -> Row:
        try:
            return Row.from_sql(r)
        except (ValueError, TypeError, OverflowError, KeyError) as exc:
            raise LedgerError(
                f"{self.path} is damaged: job {r['key']!r} cannot be read ({exc})",
                hint="restore the ledger from a backup",
            ) from None

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
            "ORDER BY later.key, stop.part"
        )
        pairs: dict[str, str] = {}
        for r in self.db.execute(sql):
            pairs.setdefault(r["later_key"], r["stop_key"])
        if not pairs:
            return []
        rows = {r.key: r for r in self.rows(keys=set(pairs) | set(pairs.values()))}
        return [(rows[later], rows[stop]) for later, stop in sorted(pairs.items())]

    def counts(self) -> dict[str, int]:
        """Jobs by state (the states that have some, in name order). One count per state
        on ``jobs_due``: half the time of a GROUP BY over 100,000 rows."""
        sql = " UNION ALL ".join(
            f"SELECT '{state}', COUNT(*) FROM jobs WHERE state = '{state}'"
            for state in sorted(STATES)
        )
        return {r[0]: r[1] for r in self.db.execute(sql) if r[1]}

    def next_wakeup(self, after: datetime | None = None) -> datetime | None:
        """The earliest moment a pending job becomes due, or a post a network holds
        (``scheduled``) is to be confirmed (strictly after ``after``). The jobs of a
        paused account wake nobody: the resume does.

        Two indexed reads, never a scan of every pending row: the jobs without a retry
        time in time order (``jobs_due``, the first one that counts), and those with one
        (due at the later of both times) through migration 5's ``jobs_retry``."""
        found: list[str] = []
        for state in ("pending", "scheduled"):
            paused = f" AND NOT {PAUSED_SQL}" if state == "pending" else ""
            first = (
                f"SELECT scheduled_at FROM jobs WHERE state = ? AND next_attempt_at IS NULL{paused}"
            )
            retried = (
                "SELECT MIN(MAX(next_attempt_at, scheduled_at)) FROM jobs WHERE state = ? "
                f"AND {RETRIED_SQL} AND next_attempt_at IS NOT NULL{paused}"
            )
            args: tuple[str, ...] = (state,)
            if after is not None:
                first += " AND scheduled_at > ?"
                retried += " AND MAX(next_attempt_at, scheduled_at) > ?"
                args = (state, iso(after))
            for sql in (first + " ORDER BY scheduled_at LIMIT 1", retried):
                r = self.db.execute(sql, args).fetchone()
                if r and r[0]:
                    found.append(r[0])
        return parse_iso(min(found)) if found else None

    def mark(self) -> list[Any]:
        """Where the jobs stand, in three numbers that any change to them moves: the last
        event, how many jobs there are, the latest update (a job never changes without
        its ``updated_at``). One scan of the jobs: asked only when a run needed a human."""
        last = self.db.execute("SELECT MAX(id) FROM events").fetchone()[0]
        count, updated = self.db.execute("SELECT COUNT(*), MAX(updated_at) FROM jobs").fetchone()
        return [last, count, updated]

    def has_work(self, now: datetime) -> bool:
        """Is any job due (or past due), or any claim to look at? One indexed query."""
        r = self.db.execute(
            "SELECT 1 FROM jobs WHERE state = 'sending' OR (state IN ('pending', 'scheduled') AND "
            "scheduled_at <= ? AND "  # implied by the next term: it lets jobs_due answer
            "COALESCE(MAX(next_attempt_at, scheduled_at), scheduled_at) <= ?) LIMIT 1",
            (iso(now), iso(now)),
        ).fetchone()
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

    def metas(self, prefix: str) -> dict[str, str]:
        """Every meta row whose name starts with ``prefix`` (name -> value)."""
        rows = self.db.execute(
            "SELECT name, value FROM meta WHERE substr(name, 1, ?) = ? ORDER BY name",
            (len(prefix), prefix),
        )
        return {r[0]: r[1] for r in rows}

    def delete_meta(self, names: Iterable[str]) -> list[str]:
        """Delete these meta rows; the names that were there."""
        names = list(names)
        if not names:
            return []
        with self.transaction() as db:
            marks = ",".join("?" * len(names))
            rows = db.execute(f"DELETE FROM meta WHERE name IN ({marks}) RETURNING name", names)
            return sorted(r[0] for r in rows)

    def set_meta(self, name: str, value: str) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO meta (name, value) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                (name, value),
            )

    # ------------------------------------------------------------------ writing
    @staticmethod
    def log(
        db: sqlite3.Connection, now: datetime, key: str, event: str, detail: str | None = None
    ) -> None:
        # The last line of defence: no secret this process has seen is ever written.
        db.execute(
            "INSERT INTO events (at, key, event, detail) VALUES (?, ?, ?, ?)",
            (iso(now), key, scrub(event), scrub(detail)),
        )

    def insert(self, db: sqlite3.Connection, now: datetime, **values: Any) -> None:
        values.setdefault("created_at", iso(now))
        values.setdefault("updated_at", iso(now))
        cols = ", ".join(values)
        db.execute(
            f"INSERT INTO jobs ({cols}) VALUES ({', '.join('?' * len(values))})",
            tuple(values.values()),
        )

    def update(
        self,
        db: sqlite3.Connection,
        now: datetime,
        key: str,
        *,
        expect: Iterable[str] | None = None,
        **values: Any,
    ) -> bool:
        """Set ``values`` on job ``key`` (only if its state is in ``expect``). A change of
        state must be a transition of the state machine (cmctl/ledger/states.py)."""
        _scrub_text(values)
        if "state" in values:
            current = db.execute("SELECT state FROM jobs WHERE key = ?", (key,)).fetchone()
            if (
                current is not None
                and current[0] != values["state"]
                and (expect is None or current[0] in (expect := list(expect)))
            ):
                states.check(current[0], values["state"], key)
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
    def sync(
        self,
        planned: Iterable[Planned],
        now: datetime,
        *,
        present: set[str],
        held: set[str] | frozenset[str] = frozenset(),
    ) -> Reconciliation:
        """Bring the ledger in line with the compiled plan, in one transaction.

        The decisions are cmctl/ledger/reconcile.py's (pure, tested without SQLite);
        this applies them. ``present``: every calendar name that was read; ``held``:
        calendars left out because they have errors (their rows stay as they are).
        """
        from cmctl import gcpause

        with gcpause.paused(), self.transaction() as db:
            if db.execute("SELECT 1 FROM jobs LIMIT 1").fetchone() is None:
                from cmctl.ledger.reconcile import reconcile

                first = reconcile([], planned, present=present, held=held)
                self._apply(db, now, first, first=True)
                return first
            # each calendar's changes written before the next calendar is read
            return reconcile_by_calendar(
                db,
                planned,
                present=present,
                held=held,
                then=lambda part: self._apply(db, now, part, first=False),
            )

    def _apply(
        self, db: sqlite3.Connection, now: datetime, result: Reconciliation, *, first: bool
    ) -> None:
        """Write reconciliation's changes; ``first``: into an empty ledger."""
        stamp = iso(now)
        for change in result.updates:
            self.update(db, now, change.key, **change.values)
            if change.event:
                self.log(db, now, change.key, change.event)
        if not result.inserts:
            return
        # A first sync fills an empty ledger: its secondary indexes are built once, after
        # the rows, instead of row by row (same transaction: a crash leaves the ledger as
        # it was, indexes included).
        deferred = _drop_indexes(db) if first and len(result.inserts) >= 1_000 else []
        # Each insert names only the columns it sets (an omitted column takes its
        # default, NULL or 0, as a bound NULL would, and costs SQLite less); the inserts
        # go in in their order, one statement per run of one shape.
        shapes: dict[int, tuple[str, tuple[str, ...]]] = {}

        def shape(values: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
            made = shapes.get(id(values))
            if made is None:
                extra = tuple(c for c in _INSERT_EXTRA if values.get(c) is not None)
                names = _INSERT_COLUMNS + extra
                sql = (
                    f"INSERT INTO jobs ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
                )
                made = shapes[id(values)] = (sql, tuple(values[c] for c in extra))
            return made

        runs = itertools.groupby(result.inserts, key=lambda insert: shape(insert[1]))
        for (sql, tail), run in runs:
            db.executemany(  # rows made as SQLite takes them: never all at once
                sql,
                (
                    (
                        j.key,
                        j.calendar,
                        j.post_id,
                        j.account,
                        j.part,
                        j.network,
                        j.content_hash,
                        j.scheduled_at,
                        j.catch_up_s,
                        idempotency_key(j.key),
                        stamp,
                        stamp,
                        *tail,
                    )
                    for j, _, _ in run
                ),
            )
        db.executemany(
            "INSERT INTO events (at, key, event) VALUES (?, ?, ?)",
            ((stamp, j.key, event) for j, _, event in result.inserts),
        )
        for statement in deferred:
            db.execute(statement)

    # ------------------------------------------------------------------ sending
    def claim(
        self,
        key: str,
        owner: str,
        now: datetime,
        lease: timedelta,
        *,
        content_hash: str | None = None,
        due_by: datetime | None = None,
    ) -> Row | None:
        """pending → sending for ``owner``: the claimed row, or None when another process
        got it first, or when the job changed since it was selected (``content_hash``:
        the text about to be sent is still the plan's; ``due_by``: still due then), or
        when its account is paused (cmctl/brake.py): a pause committed before the claim
        holds the job; a send claimed before the pause finishes.
        One conditional UPDATE: of two racing claims, exactly one matches."""
        stamp = iso(now)
        # Once cmctl sends a job (even one a human queued), its outcome is cmctl's.
        sql = (
            "UPDATE jobs SET state = 'sending', claim_owner = ?, claimed_at = ?, "
            "claim_expires_at = ?, attempts = attempts + 1, updated_at = ?, "
            "decided_by = NULL "
            f"WHERE key = ? AND state = 'pending' AND NOT {PAUSED_SQL}"
        )
        args: list[Any] = [owner, stamp, iso(now + lease), stamp, key]
        if content_hash is not None:
            sql += " AND content_hash = ?"
            args.append(content_hash)
        if due_by is not None:
            sql += " AND scheduled_at <= ? AND (next_attempt_at IS NULL OR next_attempt_at <= ?)"
            args += [iso(due_by), iso(due_by)]

        def op(db: sqlite3.Connection) -> sqlite3.Row | None:
            r: sqlite3.Row | None = db.execute(sql + " RETURNING *", args).fetchone()
            if r is not None:
                self.log(db, now, key, "claimed", owner)
            return r

        r = self.write(op)
        return Row.from_sql(r) if r is not None else None

    def finish(
        self,
        key: str,
        owner: str,
        now: datetime,
        state: str,
        *,
        event: str,
        detail: str | None = None,
        **values: Any,
    ) -> bool:
        """Record the outcome of a claimed job (only by the process that claimed it)."""
        states.check("sending", state, key)
        _scrub_text(values)
        values.update(
            state=state,
            claim_owner=None,
            claimed_at=None,
            claim_expires_at=None,
            updated_at=iso(now),
        )
        sets = ", ".join(f"{c} = ?" for c in values)

        def op(db: sqlite3.Connection) -> bool:
            done: bool = (
                db.execute(
                    f"UPDATE jobs SET {sets} WHERE key = ? AND state = 'sending' "
                    "AND claim_owner = ?",
                    (*values.values(), key, owner),
                ).rowcount
                == 1
            )
            if done:
                self.log(db, now, key, event, detail)
            return done

        return self.write(op)

    def save_checkpoint(
        self, key: str, owner: str, now: datetime, checkpoint: dict[str, Any]
    ) -> bool:
        """Keep what an attempt achieved so far (only while ``owner`` holds the claim),
        committed before the adapter takes its next risky step."""
        text = json.dumps(checkpoint, sort_keys=True)

        def op(db: sqlite3.Connection) -> bool:
            done: bool = (
                db.execute(
                    "UPDATE jobs SET checkpoint = ?, updated_at = ? WHERE key = ? AND "
                    "state = 'sending' AND claim_owner = ?",
                    (text, iso(now), key, owner),
                ).rowcount
                == 1
            )
            if done:
                self.log(db, now, key, "checkpoint", text)
            return done

        return self.write(op)

    def record_late_publication(self, key: str, now: datetime, **values: Any) -> bool:
        """A send this process made went out after its claim was taken over: record it
        as published whatever the job's state became (unless already published)."""
        values.update(
            state="published",
            claim_owner=None,
            claimed_at=None,
            claim_expires_at=None,
            reason=None,
            next_attempt_at=None,
            published_at=iso(now),
        )

        def op(db: sqlite3.Connection) -> bool:
            done = self.update(
                db,
                now,
                key,
                expect=("pending", "sending", "unknown", "failed", "missed", "skipped"),
                **values,
            )
            if done:
                self.log(
                    db, now, key, "published (after its claim was taken over)", values.get("url")
                )
            return done

        return self.write(op)

    def set_state(
        self,
        key: str,
        now: datetime,
        state: str,
        *,
        expect: Iterable[str],
        event: str,
        detail: str | None = None,
        **values: Any,
    ) -> bool:
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


def scratch_copy(state_dir: Path, folder: Path) -> Ledger:
    """A private copy of the ledger of ``state_dir`` (or a new empty one) in ``folder``.

    The dry run runs the real decision procedure on it: it can write whatever it
    likes there, and the real ledger is only ever read (checked by ``inspect``, then
    opened read-only: not even a migration touches it)."""
    source = state_dir / LEDGER_NAME
    dest = folder / LEDGER_NAME
    if inspect(source):
        try:
            src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
            try:
                with contextlib.closing(sqlite3.connect(dest)) as copy:
                    src.backup(copy)
            finally:
                src.close()
        except sqlite3.Error as exc:
            raise unusable(source, str(exc)) from None
    elif os.path.isdir(state_dir) and (evidence := in_use(state_dir)) is not None:
        raise LedgerError(
            f"{source} is missing, but {state_dir} was in use ({evidence} is there)",
            hint=afresh_hint(state_dir),
        )
    return Ledger(dest)

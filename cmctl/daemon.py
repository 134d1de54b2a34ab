"""cmctl daemon: an alarm clock around publish_due (APScheduler 3.x).

One job, "tick", runs the publisher and sets the alarm for the next moment something
becomes due (a post's time, a retry, the lease expiry of another machine's claim);
between alarms the process sleeps. The daemon never holds the calendars: each tick forks
a process that loads the project, syncs it into the ledger and publishes what is due,
then exits (its memory goes back to the system). The daemon learns the next due moment
from the ledger, and the tick's outcome from a pipe and the exit status; the tick process
logs its events on the same stream. A tick process that dies is logged, never kills the
daemon; its claims are recovered like any dead owner's.

Around it, a monitor thread whose intervals are measured on the monotonic clock
(cmctl.clock.monotonic), so that a wall-clock step (NTP, a VM restore) never stops it:
- a heartbeat in the ledger every 30 s, which `cmctl status` shows;
- every few seconds, a cheap look at the files, the claims and the alarm:
  - a change to cmctl.yaml, .env or a calendar file re-reads cmctl.yaml (also on
    SIGHUP) and ticks at once (the tick reads the calendars afresh); a reload that fails
    keeps the previous cmctl.yaml, and `cmctl status` says so;
  - a claim whose owner died on this machine (a `cmctl publish` killed mid-send) wakes
    the publisher at once, whose recovery resends it or marks it `unknown`;
  - something due that the alarm did not fire for (the wall clock jumped ahead, another
    process queued a retry) wakes the publisher;
  - a wall-clock step (the two clocks disagree) is logged and the alarm re-evaluated;
- twice a second, the emergency brake (cmctl/brake.py): a pause is logged (the claim
  that starts each send checks it too, so a running tick starts no new send once
  `cmctl pause` returned); a pause lifted wakes the publisher at once;
- a held calendar or a broken account is retried a minute later (monotonic);
- a lock: one daemon per state folder (a second one exits 2);
- SIGTERM / SIGINT: no new send starts (the signal is passed on to a running tick
  process), sends in flight finish, the process exits 0.

The wall clock only answers "what time is it for the calendar".
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import IO, TYPE_CHECKING, Any

from cmctl import clock
from cmctl.errors import CmctlError
from cmctl.ledger import owner as owner_mod
from cmctl.ledger.store import PAUSE_PREFIX, Ledger, iso, parse_iso

if TYPE_CHECKING:
    from cmctl.config import Config

HEARTBEAT_SECONDS = 30.0
WATCH_SECONDS = 2.0
PAUSE_SECONDS = 0.5  # how often the emergency brake is looked at (one indexed read)
RETRY_PROBLEMS_SECONDS = 60.0  # re-check held calendars / broken accounts
RETRY_PROBLEMS = timedelta(seconds=RETRY_PROBLEMS_SECONDS)
CLOCK_STEP_SECONDS = 2.0  # the wall clock moved this much more (or less) than the monotonic one
ALARM_SLACK = timedelta(seconds=1)  # an alarm this late has not fired: wake by hand
TICK_CRASHED = 70  # a tick process's exit status when it could not even report


@dataclass(frozen=True, slots=True)
class Claim:
    """A job in `sending`: who holds it and until when."""

    key: str
    owner: str
    expires_at: datetime | None

    def alive(self) -> bool | None:
        """True/False for a process of this machine; None for another machine's."""
        return owner_mod.alive(self.owner)

    def recoverable(self, now: datetime) -> bool:
        """Would the publisher's recovery take it over now?"""
        alive = self.alive()
        return alive is False or (
            alive is None and (self.expires_at is None or self.expires_at <= now)
        )


def claims(ledger: Ledger) -> list[Claim]:
    """Every claim in the ledger (one indexed query: cheap enough every few seconds)."""
    rows = ledger.db.execute(
        "SELECT key, claim_owner, claim_expires_at FROM jobs WHERE state = 'sending'"
    )
    return [Claim(r["key"], r["claim_owner"] or "", parse_iso(r["claim_expires_at"])) for r in rows]


def next_claim_expiry(ledger: Ledger, after: datetime) -> datetime | None:
    """The earliest lease expiry (after ``after``) of a claim whose owner this machine
    cannot judge (another machine's): the moment its recovery becomes possible."""
    moments = [
        c.expires_at
        for c in claims(ledger)
        if c.expires_at is not None and c.expires_at > after and c.alive() is None
    ]
    return min(moments) if moments else None


def next_expiry(ledger: Ledger, after: datetime) -> datetime | None:
    """The earliest moment (after ``after``) a pending job whose time has come is to be
    judged (``Housekeeping.expire``): missed once past its catch-up window, given up past
    its deadline. A post held at its time (a blackout declared since, its file broken)
    is then said missed when that comes, not at whatever tick comes next, days later
    perhaps. The jobs of a paused account wait for the resume."""
    from cmctl import brake
    from cmctl.publish.policy import deadline, window

    pauses = brake.active(ledger)
    moments = []
    for row in ledger.rows(states=("pending",), due_by=after):
        if pauses and brake.holding(pauses, row.account) is not None:
            continue
        explicit = row.next_attempt_at is not None
        if row.part == 0 and row.attempts == 0 and not explicit:
            at = row.scheduled_at + window(row)
        elif row.attempts > 0 or explicit:
            at = deadline(row)
        else:
            continue  # a later part: it stops with the part before it
        at += JUDGED_AFTER  # judged once strictly past it
        if at > after:
            moments.append(at)
    return min(moments) if moments else None


JUDGED_AFTER = timedelta(seconds=1)


class DaemonRunning(CmctlError):
    exit_code = 2


@dataclass(slots=True)
class Log:
    """One line per event on a stream: human text or JSON lines."""

    stream: IO[str]
    json_lines: bool = False
    # Held while a line is written, and across a fork: a tick process never inherits a
    # stream another thread was writing to (its buffer's lock would be held for ever).
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)

    def __call__(self, event: str, **fields: Any) -> None:
        now = clock.now()
        if self.json_lines:
            record = {"ts": now.isoformat(), "event": event, **fields}
            line = json.dumps(record, ensure_ascii=False, default=str)
        else:
            details = " ".join(f"{k}={v}" for k, v in fields.items() if v is not None)
            line = f"{now:%Y-%m-%dT%H:%M:%SZ} {event} {details}".rstrip()
        with self.lock, contextlib.suppress(OSError, ValueError):
            self.stream.write(line + "\n")
            self.stream.flush()


@dataclass(frozen=True, slots=True)
class TickOutcome:
    """What a tick (in a forked process or in this one) tells the daemon."""

    status: str  # ok | attention | error | load-failed
    message: str | None = None
    hint: str | None = None


class Daemon:
    def __init__(self, load_config: Callable[[], Config], log: Log, *, fork: bool = True) -> None:
        """``load_config()`` reads cmctl.yaml afresh. ``fork=False`` runs each tick in
        this process (for tests that drive ``tick()`` by hand)."""
        self.load_config = load_config
        self.log = log
        self.fork = fork
        self.config = load_config()
        self.ledger = Ledger.open(self.config.state_dir)
        self.stopping = threading.Event()
        self.started = clock.now()
        self._tick_lock = threading.Lock()
        # Every use of self.ledger by this process's threads, and each fork, hold it: a
        # tick process never inherits a connection in use (SQLite's locks would lie).
        self._db_lock = threading.RLock()
        self._child: int | None = None  # the running tick process
        self._snapshot = self._files_snapshot()
        self._reload_requested = False
        self._reloading = False  # the next tick reads a cmctl.yaml just reloaded
        self._previous: Config | None = None  # the last cmctl.yaml a tick loaded with
        self._reload_error: str | None = None  # the last reload that failed, for status
        self._again = False  # woken while a tick ran: tick again when it ends
        self.scheduler: Any = None
        self._lock_file: IO[str] | None = None
        # Every call into the scheduler goes through this lock, and none is made once
        # stopping began: shutdown holds the scheduler's own locks while it waits.
        self._arm_lock = threading.Lock()
        self._alarm: datetime | None = None
        self._last_tick: datetime | None = None  # wall time the last tick started
        # The monitor's timers, all on the monotonic clock.
        mono = clock.monotonic()
        self._last_beat: float | None = None
        self._last_watch = mono
        self._retry_at: float | None = None  # held calendars / account problems
        self._offset = self.started.timestamp() - mono  # wall minus monotonic
        self._claims_seen: set[tuple[str, str]] = set()
        self._monitor: threading.Thread | None = None
        self._last_brake = mono
        self._pauses = self._read_pauses() or {}

    # ------------------------------------------------------------------ lifecycle
    def run(self) -> int:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.blocking import BlockingScheduler

        # Imported once here: each tick process finds them loaded (code only, no data).
        import cmctl.project
        import cmctl.publish  # noqa: F401

        self._acquire_lock()
        self._route_scheduler_logs()
        self.scheduler = BlockingScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(2)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self.scheduler.add_job(self.tick, "date", run_date=clock.now(), id="tick")
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_hup)
        with self._db_lock:
            pending = self.ledger.db.execute(
                "SELECT COUNT(*) FROM jobs WHERE state = 'pending'"
            ).fetchone()[0]
        self.log(
            "started",
            pid=os.getpid(),
            state_dir=str(self.config.state_dir),
            pending=pending,
        )
        self._monitor = threading.Thread(
            target=self._monitor_loop, name="cmctl-monitor", daemon=True
        )
        self._monitor.start()
        try:
            self.scheduler.start()  # blocks until shutdown
        finally:
            self.stopping.set()
            self._monitor.join(timeout=10)
            with self._db_lock:
                self._write_heartbeat("stopped")
                self.ledger.close()
            self.log("stopped", pid=os.getpid())
            if self._lock_file is not None:
                self._lock_file.close()
        return 0

    def _acquire_lock(self) -> None:
        import fcntl
        import stat

        path = self.config.state_dir / "daemon.lock"
        try:  # never follow a link, never block on a FIFO put in its place
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
        except OSError as exc:
            raise DaemonRunning(
                f"cannot use {path}: {exc.strerror}", hint="it must be a regular file (or absent)"
            ) from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise DaemonRunning(f"{path} is not a regular file", hint="remove it; cmctl creates it")
        handle = os.fdopen(fd, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise DaemonRunning(
                f"a cmctl daemon already runs for {self.config.state_dir} ({holder})",
                hint="stop it first, or use another state folder",
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        handle.flush()
        self._lock_file = handle

    def _route_scheduler_logs(self) -> None:
        """APScheduler's own warnings, in this daemon's log format (text or JSON)."""
        import logging

        daemon = self

        class Forward(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                daemon.log("scheduler", level=record.levelname.lower(), message=record.getMessage())

        logger = logging.getLogger("apscheduler")
        logger.handlers[:] = [Forward(logging.WARNING)]
        logger.propagate = False

    def _on_stop(self, signum: int, _frame: Any) -> None:
        if self.stopping.is_set():
            return
        with self._arm_lock:
            self.stopping.set()
        self.log("stopping", signal=signal.Signals(signum).name)
        child = self._child
        if child is not None:  # its sends in flight finish, it starts no new one
            with contextlib.suppress(OSError):
                os.kill(child, signal.SIGTERM)
        # Runs in the main thread, which the blocking scheduler is parked in; the
        # shutdown waits for a tick in flight, whose publisher stops between sends.
        threading.Thread(target=self.scheduler.shutdown, kwargs={"wait": True}, daemon=True).start()

    def _on_hup(self, _signum: int, _frame: Any) -> None:
        self.log("reload requested", signal="SIGHUP")
        self._reload_requested = True
        self._wake()

    # ------------------------------------------------------------------ jobs
    def tick(self) -> None:
        """Publish what is due (recovering dead claims first), then set the alarm."""
        if self.stopping.is_set():
            return
        with self._tick_lock:
            self._again = False
            if self._reload_requested:
                self._reload()
            started = clock.now()
            self._last_tick = started
            self._retry_at = None
            outcome = self._run_tick(self.config)
            if outcome.status == "load-failed" and self._reloading and self._previous:
                # keep the previous plan: a broken config never stops posting; and say so
                # where `cmctl status` looks
                self.log("reload-failed", message=outcome.message, hint=outcome.hint)
                self.config = self._previous
                self._reloading = False
                self._reload_failed(outcome.message or "the calendars could not be read")
                outcome = self._run_tick(self.config)
            if outcome.status == "load-failed":
                self.log("error", message=outcome.message, hint=outcome.hint)
                # nothing to fall back on (e.g. at start): `cmctl status` says so too
                self._reload_failed(outcome.message or "the calendars could not be read")
            elif self._reloading and self._reload_error is not None:
                self._reload_error = None
                self._write_heartbeat("running")
            if outcome.status != "load-failed":
                self._reloading = False
                self._previous = self.config
            if outcome.status != "ok":
                self._retry_problems()
            if outcome.status in ("error", "load-failed"):
                self._arm(self._safe_next_alarm(started))
            elif self._reload_requested or self._again:  # woken while this tick ran
                self._arm(clock.now())
            else:
                self._arm(self._safe_next_alarm(started))

    def _run_tick(self, config: Config) -> TickOutcome:
        if not self.fork:
            return self._work(config, self.ledger, self.stopping.is_set)
        try:
            return self._fork_tick(config)
        except OSError as exc:  # no process could be started (memory, limits)
            self.log("internal-error", message=f"cannot start a tick process: {exc}")
            return TickOutcome("error")

    def _work(self, config: Config, ledger: Ledger, should_stop: Callable[[], bool]) -> TickOutcome:
        """One tick's heavy work: load the calendars, sync, publish what is due."""
        from cmctl.ledger.memory import queue_memory
        from cmctl.project import open_project
        from cmctl.publish import Publisher

        try:
            project = open_project(config, now=clock.now(), memory=queue_memory(config.state_dir))
        except CmctlError as exc:
            return TickOutcome("load-failed", exc.message, exc.hint)
        if self._reloading:
            self.log("reloaded", jobs=len(project.jobs), errors=len(project.errors) or None)
        try:
            publisher = Publisher(project, ledger, listener=self._outcome, should_stop=should_stop)
            result = publisher.run()
        except CmctlError as exc:
            self.log("error", message=exc.message)
            return TickOutcome("error", exc.message)
        except Exception as exc:  # never let one bad tick kill the daemon
            self.log("internal-error", message=f"{type(exc).__name__}: {exc}")
            return TickOutcome("error", str(exc))
        lines = result.attention()
        for line in lines:
            self.log("needs-human", message=line)
        return TickOutcome("attention" if lines else "ok")

    def _fork_tick(self, config: Config) -> TickOutcome:
        """Run ``_work`` in a forked process; wait for it; read its outcome."""
        stops = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
        read_end, write_end = os.pipe()
        # A clean point: no thread of ours is in SQLite or writing the log, and this
        # process holds no connection to the ledger (the tick process opens its own).
        with self._db_lock, self.log.lock:
            self.ledger.close()
            mask = signal.pthread_sigmask(signal.SIG_BLOCK, stops)
            try:
                pid = os.fork()
            except OSError:
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)
                os.close(read_end)
                os.close(write_end)
                raise
            if pid == 0:  # the tick process: never returns
                os.close(read_end)
                self._child_main(config, write_end, mask)
            self._child = pid
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        os.close(write_end)
        if self.stopping.is_set():  # a stop that came as it started
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)
        try:
            _, status = os.waitpid(pid, 0)
            self._child = None
            # What it wrote fits in the pipe; a worker it forked may still hold the
            # pipe open: read what is there, do not wait for the end.
            os.set_blocking(read_end, False)
            chunks = []
            with contextlib.suppress(BlockingIOError):
                while chunk := os.read(read_end, 65536):
                    chunks.append(chunk)
        finally:
            os.close(read_end)
        try:
            return TickOutcome(**json.loads(b"".join(chunks)))
        except (ValueError, TypeError):
            pass
        if os.WIFSIGNALED(status):
            how = f"was killed by {signal.Signals(os.WTERMSIG(status)).name}"
        else:
            how = f"exited with status {os.waitstatus_to_exitcode(status)}"
        self.log("internal-error", message=f"the tick process {pid} {how}")
        return TickOutcome("error", f"the tick process {how}")

    def _child_main(self, config: Config, write_end: int, mask: set[int | signal.Signals]) -> None:
        """The tick process: publish, write the outcome on the pipe, exit."""
        code = TICK_CRASHED
        # The locks held across the fork stay held here: this process's threads get
        # fresh ones.
        self.log.lock = threading.RLock()
        self._db_lock = threading.RLock()
        try:
            if self._lock_file is not None:  # the daemon's lock stays the daemon's
                os.close(self._lock_file.fileno())
            parent = os.getppid()
            stop = threading.Event()
            if self.stopping.is_set():
                stop.set()
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
            signal.signal(signal.SIGINT, lambda *_: stop.set())
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            ledger = Ledger.open(config.state_dir)
            try:
                # the daemon gone (SIGKILL): finish what is in flight, start nothing new
                outcome = self._work(
                    config, ledger, lambda: stop.is_set() or os.getppid() != parent
                )
            finally:
                ledger.close()
            short = {k: v[:2000] if isinstance(v, str) else v for k, v in asdict(outcome).items()}
            os.write(write_end, json.dumps(short).encode())
            code = 0
        except BaseException as exc:
            with contextlib.suppress(BaseException):
                self.log("internal-error", message=f"tick: {type(exc).__name__}: {exc}")
        finally:
            with contextlib.suppress(BaseException):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)

    def _retry_problems(self) -> None:
        self._retry_at = clock.monotonic() + RETRY_PROBLEMS_SECONDS

    def _outcome(self, outcome: Any) -> None:
        self.log(
            outcome.state,
            key=outcome.key,
            network=outcome.network,
            url=outcome.url,
            message=outcome.message,
            next_attempt=outcome.next_attempt_at.isoformat() if outcome.next_attempt_at else None,
        )

    def _next_alarm(self, started: datetime) -> datetime | None:
        """The next moment something is due: a pending job, the end of a held job's
        catch-up window, or the lease expiry of a claim only that expiry lets us recover.
        Counted from when the tick *started*: a post that fell due while it ran (a slow
        send on another account) is due now."""
        now = clock.now()
        with self._db_lock:
            moments = [
                m
                for m in (
                    self.ledger.next_wakeup(after=started),
                    next_claim_expiry(self.ledger, after=started),
                    next_expiry(self.ledger, after=started),
                )
                if m
            ]
        return max(min(moments), now) if moments else None

    def _safe_next_alarm(self, started: datetime) -> datetime | None:
        try:
            return self._next_alarm(started)
        except Exception:  # the ledger itself is the problem: the retry timer comes back
            return None

    def _arm(self, when: datetime | None) -> None:
        with self._arm_lock:
            if self.stopping.is_set():
                return
            self._alarm = when
            if when is None:
                job = self.scheduler.get_job("tick")
                if job is not None:
                    job.remove()
            else:
                self.scheduler.add_job(
                    self.tick, "date", run_date=when, id="tick", replace_existing=True
                )
        retry = round(self._retry_at - clock.monotonic()) if self._retry_at is not None else None
        if when is None and retry is None:
            self.log("idle", reason="nothing scheduled")
        else:
            self.log("sleeping", until=when.isoformat() if when else None, retry_in_s=retry)

    def _wake(self, reason: str | None = None) -> None:
        """Tick now (or, if a tick is running, again as soon as it ends)."""
        self._again = True
        if reason is not None:
            self.log("waking", reason=reason)
        if self.scheduler is None or self.stopping.is_set() or self._tick_lock.locked():
            return
        self._arm(clock.now())

    # ------------------------------------------------------------------ the monitor
    def _monitor_loop(self) -> None:
        """pulse() every so often; waits are on the monotonic clock (Event.wait)."""
        self.pulse()
        while not self.stopping.wait(self._pulse_wait()):
            try:
                self.pulse()
            except Exception as exc:  # keep watching whatever one look ran into
                self.log("internal-error", message=f"monitor: {type(exc).__name__}: {exc}")

    def _pulse_wait(self) -> float:
        mono = clock.monotonic()
        timers = [self._last_watch + WATCH_SECONDS, self._last_brake + PAUSE_SECONDS]
        if self._last_beat is not None:
            timers.append(self._last_beat + HEARTBEAT_SECONDS)
        if self._retry_at is not None:
            timers.append(self._retry_at)
        return min(max(min(timers) - mono, 0.05), WATCH_SECONDS)

    def pulse(self) -> None:
        """One look: heartbeat, watch and timers, each when its monotonic interval is up."""
        if self.stopping.is_set():
            return
        mono = clock.monotonic()
        wall = clock.now()
        offset = wall.timestamp() - mono
        step = offset - self._offset
        self._offset = offset
        stepped = abs(step) >= CLOCK_STEP_SECONDS
        if stepped:
            self.log(
                "clock-step", seconds=round(step, 1), direction="forward" if step > 0 else "back"
            )
        if stepped or self._last_beat is None or mono - self._last_beat >= HEARTBEAT_SECONDS:
            self._last_beat = mono
            self.heartbeat()
        if stepped or mono - self._last_watch >= WATCH_SECONDS:
            self._last_watch = mono
            self.watch()
        if mono - self._last_brake >= PAUSE_SECONDS:
            self._last_brake = mono
            self.watch_brake()
        if stepped:
            self._wake("the wall clock stepped: re-evaluating what is due")
        elif self._retry_at is not None and mono >= self._retry_at:
            self._retry_at = None
            self._wake("retrying held calendars and account problems")
        elif (
            self._again
            and self.scheduler is not None
            and not self._tick_lock.locked()
            and (self._alarm is None or self._alarm > wall)
        ):
            self._wake()  # a wake that came as a tick was ending: not lost

    def heartbeat(self) -> None:
        self._write_heartbeat("running")

    def _reload_failed(self, message: str) -> None:
        self._reload_error = message
        self._write_heartbeat("running")

    def _write_heartbeat(self, state: str) -> None:
        with self._db_lock, contextlib.suppress(Exception):
            wake = self._alarm.isoformat() if self._alarm else None
            self.ledger.set_meta(
                "daemon",
                json.dumps(
                    {
                        "pid": os.getpid(),
                        "host": socket.gethostname(),
                        "state": state,
                        "started": self.started.isoformat(),
                        "heartbeat": iso(clock.now()),
                        "next_wakeup": wake,
                        "reload_error": self._reload_error,
                    }
                ),
            )

    def watch(self) -> None:
        """Files changed? A claim to recover? Something due the alarm missed?"""
        snapshot = self._files_snapshot()
        if snapshot != self._snapshot:
            self._snapshot = snapshot
            self.log("reload requested", reason="files changed")
            self._reload_requested = True
            self._wake()
            return
        if self._last_tick is None or self._tick_lock.locked():
            return  # the first tick, or the one running, looks at everything anyway
        now = clock.now()
        try:
            with self._db_lock:
                current = claims(self.ledger)
                upcoming = self.ledger.next_wakeup(after=self._last_tick)
        except Exception as exc:
            self.log("error", message=f"cannot read the ledger: {exc}")
            return
        # Each dead claim wakes the publisher once: if its recovery fails, the retry
        # timer comes back to it, not a wake every few seconds.
        ids = {(c.key, c.owner) for c in current}
        self._claims_seen &= ids
        dead = [
            c for c in current if (c.key, c.owner) not in self._claims_seen and c.recoverable(now)
        ]
        if dead:
            self._claims_seen |= {(c.key, c.owner) for c in dead}
            self._wake(
                f"recovering {len(dead)} claim(s) whose owner died: "
                + ", ".join(c.key for c in dead[:5])
            )
            return
        alarm = self._alarm
        if (
            upcoming is not None
            and upcoming <= now
            and (alarm is None or alarm > now or alarm < now - ALARM_SLACK)
        ):
            self._wake(f"{upcoming.isoformat()} is due and the alarm did not fire")

    def _read_pauses(self) -> dict[str, str] | None:
        """The pauses in force (meta name -> value); None when the ledger cannot say."""
        try:
            with self._db_lock:
                return self.ledger.metas(PAUSE_PREFIX)
        except Exception as exc:
            self.log("error", message=f"cannot read the ledger: {exc}")
            return None

    def watch_brake(self) -> None:
        """A pause pulled or lifted since the last look: say so; a lift wakes the
        publisher (what is still within its catch-up window goes out now)."""
        current = self._read_pauses()
        if current is None or current == self._pauses:
            return
        from cmctl import brake

        before, self._pauses = self._pauses, current
        for name in sorted(current.keys() - before.keys()):
            scope = name[len(PAUSE_PREFIX) :]
            found = brake.active_from({name: current[name]})
            text = found[0].describe() if found else "paused"
            self.log("paused", scope="all" if scope == "*" else scope, message=text)
        lifted = sorted(before.keys() - current.keys())
        for name in lifted:
            scope = name[len(PAUSE_PREFIX) :]
            self.log("resumed", scope="all" if scope == "*" else scope)
        if lifted:
            self._wake("a pause was lifted")

    def _files_snapshot(self) -> dict[str, tuple[int, int]]:
        files = [self.config.path, self.config.root / ".env", *self.config.calendar_files()]
        snapshot = {}
        for path in files:
            with contextlib.suppress(OSError):
                st = path.stat()
                snapshot[str(path)] = (st.st_mtime_ns, st.st_size)
        return snapshot

    def _reload(self) -> None:
        """Re-read cmctl.yaml (small); the tick then reads the calendars with it."""
        self._reload_requested = False
        try:
            config = self.load_config()
        except CmctlError as exc:
            self.log("reload-failed", message=exc.message, hint=exc.hint)
            # keep the previous cmctl.yaml: a broken config never stops posting; and say
            # so where `cmctl status` looks
            self._reload_failed(exc.message)
            return
        if config.state_dir != self.config.state_dir:
            self.log("reload-failed", message="the state folder changed; restart the daemon")
            self._reload_failed("the state folder changed; restart the daemon")
            return
        self.config = config
        self._reloading = True  # the tick says "reloaded", or falls back and says why not


def default_log(json_lines: bool) -> Log:
    return Log(sys.stderr, json_lines)

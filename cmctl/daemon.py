"""cmctl daemon: an alarm clock around publish_due (APScheduler 3.x).

One job, "tick", runs the publisher and sets the alarm for the next moment something
becomes due (a post's time, or a retry); between alarms the process sleeps. Around it:
- a lock: one daemon per state folder (a second one exits 2);
- a heartbeat in the ledger every 30 s, which `cmctl status` shows;
- reload: SIGHUP, or a change to cmctl.yaml, .env or a calendar file (checked by a
  cheap stat every few seconds), re-reads the calendars and re-arms the alarm;
- SIGTERM / SIGINT: no new send starts, sends in flight finish, the process exits 0.
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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from cmctl import clock
from cmctl.errors import CmctlError
from cmctl.ledger.store import Ledger, iso

HEARTBEAT_SECONDS = 30
WATCH_SECONDS = 2.0
RETRY_PROBLEMS = timedelta(seconds=60)  # re-check held calendars / broken accounts


class DaemonRunning(CmctlError):
    exit_code = 2


@dataclass(slots=True)
class Log:
    """One line per event on a stream: human text or JSON lines."""

    stream: IO[str]
    json_lines: bool = False

    def __call__(self, event: str, **fields: Any) -> None:
        now = clock.now()
        if self.json_lines:
            record = {"ts": now.isoformat(), "event": event, **fields}
            line = json.dumps(record, ensure_ascii=False, default=str)
        else:
            details = " ".join(f"{k}={v}" for k, v in fields.items() if v is not None)
            line = f"{now:%Y-%m-%dT%H:%M:%SZ} {event} {details}".rstrip()
        with contextlib.suppress(OSError, ValueError):
            self.stream.write(line + "\n")
            self.stream.flush()


class Daemon:
    def __init__(self, load: Callable[[], Any], log: Log) -> None:
        """``load()`` returns a fresh Project (config + calendars, compiled)."""
        self.load = load
        self.log = log
        self.project = load()
        self.config = self.project.config
        self.ledger = Ledger.open(self.config.state_dir)
        self.stopping = threading.Event()
        self.started = clock.now()
        self._tick_lock = threading.Lock()
        self._snapshot = self._files_snapshot()
        self._reload_requested = False
        self.scheduler: Any = None
        self._lock_file: IO[str] | None = None
        # Every call into the scheduler goes through this lock, and none is made once
        # stopping began: shutdown holds the scheduler's own locks while it waits.
        self._arm_lock = threading.Lock()
        self._alarm: datetime | None = None

    # ------------------------------------------------------------------ lifecycle
    def run(self) -> int:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.blocking import BlockingScheduler

        self._acquire_lock()
        self._route_scheduler_logs()
        self.scheduler = BlockingScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(2)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self.scheduler.add_job(self.tick, "date", run_date=clock.now(), id="tick")
        self.scheduler.add_job(self.heartbeat, "interval", seconds=HEARTBEAT_SECONDS,
                               id="heartbeat", next_run_time=clock.now())
        self.scheduler.add_job(self.watch, "interval", seconds=WATCH_SECONDS, id="watch")
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_hup)
        self.log("started", pid=os.getpid(), state_dir=str(self.config.state_dir),
                 jobs=len(self.project.jobs))
        try:
            self.scheduler.start()  # blocks until shutdown
        finally:
            self._write_heartbeat("stopped")
            self.ledger.close()
            self.log("stopped", pid=os.getpid())
            if self._lock_file is not None:
                self._lock_file.close()
        return 0

    def _acquire_lock(self) -> None:
        import fcntl

        path = self.config.state_dir / "daemon.lock"
        handle = path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise DaemonRunning(f"a cmctl daemon already runs for {self.config.state_dir} "
                                f"({holder})", hint="stop it first, or use another state "
                                "folder") from None
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
                daemon.log("scheduler", level=record.levelname.lower(),
                           message=record.getMessage())

        logger = logging.getLogger("apscheduler")
        logger.handlers[:] = [Forward(logging.WARNING)]
        logger.propagate = False

    def _on_stop(self, signum: int, _frame: Any) -> None:
        if self.stopping.is_set():
            return
        with self._arm_lock:
            self.stopping.set()
        self.log("stopping", signal=signal.Signals(signum).name)
        # Runs in the main thread, which the blocking scheduler is parked in; the
        # shutdown waits for a tick in flight, whose publisher stops between sends.
        threading.Thread(target=self.scheduler.shutdown, kwargs={"wait": True},
                         daemon=True).start()

    def _on_hup(self, _signum: int, _frame: Any) -> None:
        self.log("reload requested", signal="SIGHUP")
        self._reload_requested = True
        self._wake()

    # ------------------------------------------------------------------ jobs
    def tick(self) -> None:
        """Publish what is due, then set the alarm for the next due moment."""
        from cmctl.publish import Publisher

        if self.stopping.is_set():
            return
        with self._tick_lock:
            if self._reload_requested:
                self._reload()
            started = clock.now()
            try:
                publisher = Publisher(self.project, self.ledger, listener=self._outcome,
                                      should_stop=self.stopping.is_set)
                result = publisher.run()
            except CmctlError as exc:
                self.log("error", message=exc.message)
                self._arm(clock.now() + RETRY_PROBLEMS)
                return
            except Exception as exc:  # never let one bad tick kill the daemon
                self.log("internal-error", message=f"{type(exc).__name__}: {exc}")
                self._arm(clock.now() + RETRY_PROBLEMS)
                return
            for line in result.attention():
                self.log("needs-human", message=line)
            if self._reload_requested:  # asked for while this tick ran: go again now
                self._arm(clock.now())
            else:
                self._arm(self._next_alarm(started, bool(result.attention())))

    def _outcome(self, outcome: Any) -> None:
        self.log(outcome.state, key=outcome.key, network=outcome.network, url=outcome.url,
                 message=outcome.message,
                 next_attempt=outcome.next_attempt_at.isoformat()
                 if outcome.next_attempt_at else None)

    def _next_alarm(self, started: datetime, problems: bool) -> datetime | None:
        """The next moment something is due. Counted from when the tick *started*: a post
        that fell due while it ran (a slow send on another account) is due now."""
        now = clock.now()
        upcoming = self.ledger.next_wakeup(after=started)
        candidates = [max(upcoming, now)] if upcoming else []
        if problems:
            candidates.append(now + RETRY_PROBLEMS)
        return min(candidates) if candidates else None

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
                self.scheduler.add_job(self.tick, "date", run_date=when, id="tick",
                                       replace_existing=True)
        if when is None:
            self.log("idle", reason="nothing scheduled")
        else:
            self.log("sleeping", until=when.isoformat())

    def _wake(self) -> None:
        if self.scheduler is None or self.stopping.is_set():
            return
        self._arm(clock.now())

    def heartbeat(self) -> None:
        self._write_heartbeat("running")

    def _write_heartbeat(self, state: str) -> None:
        with contextlib.suppress(Exception):
            wake = self._alarm.isoformat() if self._alarm else None
            self.ledger.set_meta("daemon", json.dumps({
                "pid": os.getpid(), "host": socket.gethostname(), "state": state,
                "started": self.started.isoformat(), "heartbeat": iso(clock.now()),
                "next_wakeup": wake,
            }))

    def watch(self) -> None:
        snapshot = self._files_snapshot()
        if snapshot != self._snapshot:
            self._snapshot = snapshot
            self.log("reload requested", reason="files changed")
            self._reload_requested = True
            self._wake()

    def _files_snapshot(self) -> dict[str, tuple[int, int]]:
        files = [self.config.path, self.config.root / ".env", *self.config.calendar_files()]
        snapshot = {}
        for path in files:
            with contextlib.suppress(OSError):
                st = path.stat()
                snapshot[str(path)] = (st.st_mtime_ns, st.st_size)
        return snapshot

    def _reload(self) -> None:
        self._reload_requested = False
        try:
            project = self.load()
        except CmctlError as exc:
            self.log("reload-failed", message=exc.message, hint=exc.hint)
            return  # keep the previous plan: a broken config never stops posting
        if project.config.state_dir != self.config.state_dir:
            self.log("reload-failed", message="the state folder changed; restart the daemon")
            return
        self.project = project
        self.config = project.config
        self.log("reloaded", jobs=len(project.jobs),
                 errors=project.report.errors or None)


def default_log(json_lines: bool) -> Log:
    return Log(sys.stderr, json_lines)

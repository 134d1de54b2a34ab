"""One output made in slices on forked processes, written in order.

`plan` of a large project spends its time per job (the merge of the files, the ledger's
states, the text): the jobs of different stretches of time are independent, so each
stretch can be made by a process of its own. The first slice is made here and written
as it comes (the first rows at once); each of the others is made meanwhile by a forked
child into an unlinked temporary file, whose bytes are copied out once the slices
before it are written. The output is byte for byte what one process writes.

A child that fails (an exception, a signal, an unreadable answer) has its slice made
here instead, into the same kind of file: slower, never different or missing. A child
ends with ``os._exit``: no exit handler, finaliser or buffer of the parent runs twice,
and it touches none of the parent's open files but its own temporary file and pipe.
The caller closes its database connections before ``start`` (SQLite connections must
not cross a fork) and opens new ones in each slice.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import os
import pickle
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable
from typing import IO, Generic, TypeVar

R = TypeVar("R")

FAILED = 70  # a child's exit status when its slice raised
PR_SET_PDEATHSIG = 1  # linux/prctl.h


class Slices(Generic[R]):
    """Slices ``1 … count - 1`` of an output, each made by ``make(index)`` (which writes
    it to ``sys.stdout`` and returns a small picklable result) in a forked child.

    Slice 0 is the caller's own. ``result(i)`` waits for slice ``i``; ``copy(i)``
    writes its text to ``sys.stdout`` where the caller's output has got to."""

    def __init__(self, count: int, make: Callable[[int], R]) -> None:
        self.count = count
        self.make = make
        self._files: dict[int, IO[bytes]] = {}
        self._pids: dict[int, int] = {}
        self._pipes: dict[int, int] = {}
        self._results: dict[int, R] = {}
        self._encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
        self._errors = getattr(sys.stdout, "errors", None) or "strict"
        # A byte order mark (utf-8-sig, utf-16) begins each slice's file: never copied,
        # the output has its own at its start.
        try:
            encoder = codecs.getincrementalencoder(self._encoding)(self._errors)
            self._bom = len(encoder.encode(""))
        except (LookupError, TypeError, ValueError):
            self._bom = 0

    def __enter__(self) -> Slices[R]:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def start(self) -> bool:
        """Fork a child for each slice but the first; a slice whose child cannot be
        started is made here when its turn comes. False (nothing started, ``count`` is
        1) when the temporary files cannot be made: the caller makes it all itself."""
        try:
            for index in range(1, self.count):
                self._files[index] = tempfile.TemporaryFile()  # noqa: SIM115 - see close()
        except OSError:  # no temporary folder, full, read-only...
            self.close()
            self.count = 1
            return False
        parent = os.getpid()
        for index in range(1, self.count):
            try:
                read, write = os.pipe()
            except OSError:
                continue
            try:
                pid = os.fork()
            except OSError:
                os.close(read)
                os.close(write)
                continue
            if pid == 0:  # pragma: no cover - the child's own coverage is not collected
                os.close(read)
                self._child(index, write, parent)
            os.close(write)
            self._pids[index] = pid
            self._pipes[index] = read
        return True

    def _child(self, index: int, pipe: int, parent: int) -> None:  # pragma: no cover
        code = FAILED
        try:
            signal.signal(signal.SIGINT, signal.SIG_DFL)  # the parent answers for ^C
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            _die_with(parent)
            answer = pickle.dumps(self._make_into(index))
            with open(pipe, "wb", closefd=True) as out:
                out.write(answer)
            code = 0
        except BaseException:  # any failure: the parent makes the slice
            pass
        finally:
            os._exit(code)

    def _make_into(self, index: int) -> R:
        """Slice ``index`` made with ``sys.stdout`` going to its file."""
        file = self._files[index]
        file.seek(0)
        file.truncate()
        text = io.TextIOWrapper(
            file, encoding=self._encoding, errors=self._errors, write_through=False
        )
        saved = sys.stdout
        sys.stdout = text
        try:
            result = self.make(index)
            text.flush()
        finally:
            sys.stdout = saved
            text.detach()
        return result

    def result(self, index: int) -> R:
        """Slice ``index``'s result, once it is made (here, if its child failed)."""
        if index in self._results:
            return self._results[index]
        answer = b""
        pid = self._pids.get(index)
        if pid is not None:  # in ``_pids`` until reaped: ``close`` stops it if this raises
            with open(self._pipes.pop(index), "rb", closefd=True) as pipe:
                answer = pipe.read()
            _, status = os.waitpid(pid, 0)
            del self._pids[index]
            if status != 0:
                answer = b""
        result: R
        try:
            result = pickle.loads(answer) if answer else self._make_into(index)
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError):
            result = self._make_into(index)
        self._results[index] = result
        return result

    def size(self, index: int) -> int:
        """How many bytes slice ``index`` wrote, once it is made (0: nothing to copy)."""
        self.result(index)
        return max(0, os.fstat(self._files[index].fileno()).st_size - self._bom)

    def copy(self, index: int) -> None:
        """Write slice ``index``'s text to ``sys.stdout`` (made first, if need be)."""
        if not self.size(index):
            return
        file = self._files[index]
        file.seek(self._bom)
        out = sys.stdout
        out.flush()
        buffer = getattr(out, "buffer", None)
        if buffer is not None:
            shutil.copyfileobj(file, buffer, 1 << 20)
            buffer.flush()
            return
        decoder = codecs.getincrementaldecoder(self._encoding)(self._errors)
        while block := file.read(1 << 20):
            out.write(decoder.decode(block))
        out.write(decoder.decode(b"", final=True))

    def close(self) -> None:
        """Stop the children still running, and let their files go."""
        for index, pid in list(self._pids.items()):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.waitpid(pid, 0)
            read = self._pipes.pop(index, None)
            if read is not None:
                with contextlib.suppress(OSError):
                    os.close(read)
        self._pids.clear()
        for file in self._files.values():
            file.close()
        self._files.clear()


def _die_with(parent: int) -> None:  # pragma: no cover - in the child
    """On Linux, end this child (SIGTERM) when the process that forked it dies, even by
    SIGKILL: no slice is made for nobody, seconds after `plan` was stopped. Elsewhere a
    child ends on the broken pipe of its answer."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # no libc, no prctl: as elsewhere
        return
    if os.getppid() != parent:  # it died before the call
        os._exit(FAILED)

"""The cyclic garbage collector, paused while a large plan is built.

Loading 100,000 jobs allocates millions of long-lived objects (jobs, posts, positions,
tuples) and no garbage cycles: each of the collector's full passes walks all of them
again, which made the collector most of a large `plan` or `publish`. Objects are still
freed by reference counting while it is paused; only cycles wait until it resumes.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """No automatic collection inside (nested uses are fine); the previous state after."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()

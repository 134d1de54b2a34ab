"""The hostile tester's chaos, small: a daemon and cron runs racing, SIGKILL at random
moments, ambiguous answers (stored, then 500 or no answer). benchmarks/chaos.py runs it
at any size; here a small fixed-seed run checks every invariant in CI."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.process import Processes, processes_fixture  # noqa: F401 (the fixture)

pytestmark = pytest.mark.e2e

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "chaos.py"


def load_chaos() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cmctl_chaos", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_chaos_small(tmp_path: Path, processes: Processes) -> None:
    """12 posts over a Mastodon, a Bluesky and a feed account, a daemon and up to two
    cron runs, 5 SIGKILLs; the run is well under 30 s (each ambiguous answer costs its
    job a 5 s backoff, so the small run has one per server)."""
    chaos = load_chaos()
    with processes.watching():  # its daemon and cron runs die with the test, whatever happens
        result = chaos.run_chaos(
            posts=12,
            accounts=3,
            ambiguous=50,
            max_ambiguous=1,
            seed=20,
            crons=2,
            kills=5,
            time_limit=60,
            root=tmp_path / "chaos",
        )
    summary = result.summary()
    print(summary)
    assert result.jobs == 12, summary
    assert not result.duplicates, summary  # never twice
    assert not result.violations, summary  # settled, shown by status, URLs match
    assert sum(result.kills.values()) == 5, summary
    # Seed 20 makes the first create request on each server ambiguous (a 500 after the
    # Mastodon commit, a held answer after the Bluesky one): the draws are per server.
    assert result.ambiguous == 2, summary

"""Large loads run with the cyclic collector paused, and give it back as they found it."""

from __future__ import annotations

import gc
from datetime import UTC, datetime
from typing import Any

import pytest

from cmctl import gcpause


def test_paused_restores_the_previous_state_even_on_error() -> None:
    assert gc.isenabled()
    with gcpause.paused():
        assert not gc.isenabled()
        with gcpause.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner one gives back what it found
    assert gc.isenabled()
    with pytest.raises(ValueError), gcpause.paused():
        raise ValueError
    assert gc.isenabled()
    gc.disable()
    try:
        with gcpause.paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_project_loads_and_the_ledger_syncs_with_the_collector_paused(
    project: Any, run: Any, monkeypatch: Any
) -> None:
    import cmctl.ledger.reconcile
    import cmctl.project
    from tests.conftest import calendar, post

    project.calendar(calendar(post("p", at="2027-03-01 09:30", text="A"), accounts="[feed]"))
    seen: list[tuple[str, bool]] = []
    select, reconcile = cmctl.project._select, cmctl.ledger.reconcile.reconcile

    def spy_select(*args: Any) -> Any:
        seen.append(("load", gc.isenabled()))
        return select(*args)

    def spy_reconcile(*args: Any, **kwargs: Any) -> Any:
        seen.append(("sync", gc.isenabled()))
        return reconcile(*args, **kwargs)

    monkeypatch.setattr(cmctl.project, "_select", spy_select)
    monkeypatch.setattr(cmctl.ledger.reconcile, "reconcile", spy_reconcile)
    assert run("publish").exit_code == 0
    assert ("load", False) in seen and ("sync", False) in seen
    assert gc.isenabled()
    loaded = cmctl.project.open_project(
        cmctl.project.load_config(), now=datetime(2026, 12, 1, tzinfo=UTC)
    )
    assert loaded.jobs and gc.isenabled()

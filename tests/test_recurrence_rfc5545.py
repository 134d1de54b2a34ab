"""RFC 5545's own recurrence examples (section 3.8.5.3), read from the conformance data.

Each example's RRULE string, with its DTSTART in America/New_York, goes through the
same code as a calendar's ``repeat: "FREQ=..."`` (cmctl.calendar.recurrence) and must
give the dates the RFC lists (the first ones, for rules with no end). Only Verified
errata change an expectation: the rule is then the erratum's corrected rule.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from cmctl.calendar import recurrence
from cmctl.timeutil import zone

REPO_ROOT = Path(__file__).resolve().parents[1]


def _examples() -> list[dict[str, Any]]:
    override = os.environ.get("CMCTL_CONFORMANCE")
    folder = Path(override) if override else REPO_ROOT / ".." / "shared" / "conformance"
    with (folder / "rfc5545" / "rrule-examples.yaml").open(encoding="utf-8") as f:
        data = yaml.safe_load(f)
    examples: list[dict[str, Any]] = data["examples"]
    assert len(examples) == data["count"] == 42
    return examples


@pytest.mark.parametrize("example", _examples(), ids=lambda e: e["id"])
def test_rfc5545_example(example: dict[str, Any]) -> None:
    tz = zone(example["tzid"])
    start = datetime.fromisoformat(example["dtstart"])
    erratum = example.get("erratum")
    text = erratum["corrected_rrule"] if erratum and erratum["status"] == "Verified" else None
    rule = recurrence.rrule_string(text or example["rrule"], start, tz)
    expected = [datetime.fromisoformat(v) for v in example["expected"]]
    excluded = {datetime.fromisoformat(v) for v in example.get("exdate") or ()}
    walls, _ = recurrence.wall_times(rule, start, expected[-1] if example["truncated"] else None)
    got = [w for w in walls if w not in excluded]
    assert got == expected


def test_the_rrule_prefix_is_optional() -> None:
    tz = zone("Europe/Paris")
    start = datetime(2027, 1, 4, 9, 30)  # noqa: DTZ001 - wall time
    one = recurrence.rrule_string("RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=3", start, tz)
    two = recurrence.rrule_string("FREQ=WEEKLY;BYDAY=MO;COUNT=3", start, tz)
    assert list(one) == list(two) == [start + timedelta(weeks=n) for n in range(3)]
    assert recurrence.split_id("tip~2027-01-04") == ("tip", date(2027, 1, 4))

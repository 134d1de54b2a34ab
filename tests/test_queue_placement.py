"""Queue placement against a naive reference: the stretches proven full that `place()`
remembers (to skip them) never change where a post goes."""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from cmctl.queues import Placed, Queue, Unplaced, Waiting, parse_slot, place
from cmctl.timeutil import zone as get_zone

NOW = datetime(2027, 3, 1, 7, 0, tzinfo=UTC)
QUEUES = {
    "a": Queue("a", "Europe/Paris", (parse_slot("mon-fri 09:00"), parse_slot("sun 02:30"))),
    "b": Queue("b", "UTC", (parse_slot("daily 12:00"), parse_slot("tue,thu 18:00"))),
}
ACCOUNT_SETS = [("x",), ("y",), ("x", "y")]


def reference(
    waiting: Sequence[Waiting],
    now: datetime,
    horizon: timedelta,
    gap: Mapping[str, timedelta],
    black: set[date],
    others: Mapping[str, list[datetime]],
) -> dict[tuple[str, str], Placed | Unplaced]:
    """Every post searches every slot from its own start (no memory of any kind)."""
    taken = {a: sorted(t) for a, t in others.items()}
    out: dict[tuple[str, str], Placed | Unplaced] = {}
    for post in [*(w for w in waiting if not w.draft), *(w for w in waiting if w.draft)]:
        queue = QUEUES[post.queue]
        start = now
        if post.after is not None:
            zone = get_zone(queue.timezone)
            start = max(start, datetime.combine(post.after, time(), zone).astimezone(UTC))
        chosen = None
        for moment in queue.times(start, start + horizon):
            mine = [taken.get(a, []) for a in post.accounts]
            if any(moment in t for t in mine):
                continue
            if moment.astimezone(get_zone(queue.timezone)).date() in black:
                continue
            if any(
                abs(other - moment) < gap[a]
                for a in post.accounts
                if a in gap
                for other in taken.get(a, [])
            ):
                continue
            chosen = moment
            break
        if chosen is None:
            out[(post.calendar, post.post_id)] = Unplaced("")
            continue
        out[(post.calendar, post.post_id)] = Placed(chosen, None, False, queue.in_gap(chosen))
        for a in post.accounts:
            bisect.insort(taken.setdefault(a, []), chosen)
    return out


posts = st.lists(
    st.tuples(
        st.sampled_from(sorted(QUEUES)),
        st.sampled_from(ACCOUNT_SETS),
        st.one_of(st.none(), st.integers(0, 8)),
        st.booleans(),
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(
    posts=posts,
    horizon_days=st.integers(1, 6),
    gap_hours=st.one_of(st.none(), st.integers(1, 30)),
    black_days=st.sets(st.integers(0, 20), max_size=4),
    other_hours=st.lists(st.integers(0, 24 * 60), max_size=10),
)
def test_placement_matches_a_search_from_each_posts_start(
    posts: list[tuple[str, tuple[str, ...], int | None, bool]],
    horizon_days: int,
    gap_hours: int | None,
    black_days: set[int],
    other_hours: list[int],
) -> None:
    first = NOW.date()
    waiting = [
        Waiting("c", f"p{i}", q, accounts, None if a is None else first + timedelta(days=a), draft)
        for i, (q, accounts, a, draft) in enumerate(posts)
    ]
    gap = {"x": timedelta(hours=gap_hours)} if gap_hours else {}
    black = {first + timedelta(days=d) for d in black_days}
    others = {"y": [NOW + timedelta(hours=h) for h in other_hours]}
    horizon = timedelta(days=horizon_days)
    got = place(
        waiting,
        QUEUES,
        {},
        NOW,
        others=others,
        min_gap=gap.get,
        blackout=lambda day: True if day in black else None,
        horizon=horizon,
    )
    want = reference(waiting, NOW, horizon, gap, black, others)
    assert {k: v if isinstance(v, Placed) else None for k, v in got.items()} == {
        k: v if isinstance(v, Placed) else None for k, v in want.items()
    }

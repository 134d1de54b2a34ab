"""cmctl queue: the coming slots of the queues, what fills them and which are free."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import click

from cmctl.cli.options import open_project


@click.command("queue")
@click.argument("name", required=False)
@click.option(
    "--days",
    type=click.IntRange(1, 366),
    default=14,
    show_default=True,
    help="How many days ahead to show.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def command(ctx: click.Context, name: str | None, days: int, as_json: bool) -> None:
    """Show the coming slots of queue NAME (or of every queue): for each slot and
    account, the post that takes it, or that it is free.

    Posts with `queue:` instead of `at:` take, in the order they appear across the
    calendars, the next slot free for each of their accounts (docs/calendar-format.md).
    `--json` prints a list of slots: time, queue, account, calendar and post id (null
    when free). Exits 1 when the calendars have errors.
    """
    from cmctl import clock, output, timeutil
    from cmctl.errors import UsageError
    from cmctl.ledger.memory import queue_memory

    project = open_project(ctx)
    queues = project.config.queues
    if name is not None and name not in queues:
        known = ", ".join(sorted(queues)) or "none (cmctl.yaml has no `queues:`)"
        raise UsageError(f"no queue named {name!r}", hint=f"the queues are: {known}")
    chosen = [queues[name]] if name is not None else [queues[n] for n in sorted(queues)]
    now = clock.now()
    end = now + timedelta(days=days)
    # A slot is filled for an account by its queued post, or by any post of the account
    # at that very minute (placement never puts a second one there).
    filled: dict[tuple[str, datetime], tuple[str, str]] = {}
    accounts: dict[str, dict[str, None]] = {q.name: dict.fromkeys(q.accounts) for q in chosen}
    # A job cancelled by hand (`cmctl cancel`) takes no slot: its slot shows free.
    shown = [j for j in project.jobs if j.part == 0 and now <= j.post.at <= end]
    remembered = queue_memory(project.config.state_dir)(
        [j.key for j in shown if j.post.queue is not None]
    )
    for job in shown:
        post = job.post
        if post.queue in accounts:
            accounts[post.queue].setdefault(job.account, None)
        memo = remembered.get(job.key)
        if memo is not None and memo.state == "skipped" and memo.cancelled:
            continue
        if post.status == "draft":  # a dated draft fills no slot; a queued one, what is left
            filled.setdefault((job.account, post.at), (post.calendar, post.id))
        else:
            filled[(job.account, post.at)] = (post.calendar, post.id)
    slots: list[dict[str, Any]] = []
    for queue in chosen:
        zone = timeutil.zone(queue.timezone)
        for moment in queue.times(now, end):
            for account in accounts[queue.name]:
                calendar, post_id = filled.get((account, moment), (None, None))
                slots.append(
                    {
                        "time": moment.astimezone(zone).isoformat(),
                        "utc": moment.isoformat(),
                        "timezone": queue.timezone,
                        "queue": queue.name,
                        "account": account,
                        "calendar": calendar,
                        "post": post_id,
                    }
                )
    if as_json:
        output.echo_json(slots)
    else:
        output.render_queue_text(slots, days=days)
    ctx.exit(1 if project.report.errors else 0)

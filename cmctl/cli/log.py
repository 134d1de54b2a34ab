"""cmctl log: what was published, when, where."""

from __future__ import annotations

from typing import Any

import click

from cmctl.cli.options import load_config


@click.command("log")
@click.option(
    "-n",
    "--limit",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="How many entries.",
)
@click.option("--events", is_flag=True, help="Every ledger event, not only publications.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.pass_context
def command(ctx: click.Context, limit: int, events: bool, as_json: bool) -> None:
    """What was published, when and where (URL), newest last.

    With --events: every change the ledger recorded (planned, claimed, retry,
    published, missed, resolved...), for auditing what happened to a post.
    """
    from cmctl import output
    from cmctl.cli.options import existing_ledger

    config = load_config(ctx)
    ledger = existing_ledger(config)
    if ledger is None:
        if as_json:
            output.echo_json({"entries": []})
        else:
            output.console().print("[dim]nothing published yet[/]")
        return
    held: list[dict[str, Any]] = []  # schedule: network: what the networks hold
    try:
        if events:
            entries = ledger.events(limit=limit)
        else:
            rows = [r for r in ledger.rows(states=("published",)) if r.published_at]
            rows.sort(key=lambda r: r.published_at)  # type: ignore[arg-type, return-value]
            entries = [
                {
                    "key": r.key,
                    "account": r.account,
                    "network": r.network,
                    "published_at": r.published_at.isoformat() if r.published_at else None,
                    "scheduled_at": r.scheduled_at.isoformat(),
                    "url": r.url,
                    "remote_id": r.remote_id,
                    "changed_since": r.changed_since_published,
                }
                for r in rows[-limit:]
            ]
            held = [
                {
                    "key": r.key,
                    "account": r.account,
                    "network": r.network,
                    "scheduled_at": r.scheduled_at.isoformat(),
                    "url": r.url,
                    "remote_id": r.remote_id,
                }
                for r in ledger.rows(states=("scheduled",))
            ]
    finally:
        ledger.close()
    if as_json:
        output.echo_json({"entries": entries, "scheduled": held})
        return
    from rich.markup import escape

    out = output.console()
    for e in entries:
        if events:
            out.print(
                f"{e['at']}  {escape(e['key'])}  [bold]{escape(e['event'])}[/]"
                + (f"  [dim]{escape(e['detail'])}[/]" if e.get("detail") else "")
            )
        else:
            changed = "  [yellow](changed since)[/]" if e["changed_since"] else ""
            out.print(
                f"{e['published_at']}  {escape(e['key'])} [dim]({e['network']})[/]  "
                f"{escape(e['url'] or e['remote_id'] or '')}{changed}"
            )
    for e in held:
        out.print(
            f"[blue]scheduled for {e['scheduled_at']}[/]  {escape(e['key'])} "
            f"[dim]({e['network']})[/]  {escape(e['url'] or e['remote_id'] or '')}"
        )
    if not entries and not held:
        out.print("[dim]nothing published yet[/]")

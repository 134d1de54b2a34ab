"""cmctl accounts: the accounts of cmctl.yaml, never showing a secret."""

from __future__ import annotations

from typing import Any

import click

from cmctl.cli.options import load_config


@click.group("accounts", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def command(ctx: click.Context, as_json: bool) -> None:
    """List the accounts configured in cmctl.yaml, with their network and limits.

    Secret fields are never shown: only whether they are set.
    `cmctl accounts check` checks each account's credentials without posting;
    `cmctl accounts login NAME` logs in an account whose network logs in through a
    browser (the login column says until when).
    """
    if ctx.invoked_subcommand is not None:
        return
    import os

    from cmctl import output
    from cmctl.accounts import login_states
    from cmctl.networks import registry

    config = load_config(ctx)
    logins = login_states(config)
    rows: list[dict[str, Any]] = []
    for name, account in sorted(config.accounts.items()):
        network = registry.get(account.network)
        missing = []
        for spec in network.account_fields:
            raw = account.options.get(spec.name)
            if isinstance(raw, str):
                for var in _vars(raw):
                    if var not in os.environ and var not in config.dotenv:
                        missing.append(var)
        rows.append(
            {
                "account": name,
                "network": account.network,
                "max_length": network.length_limit(has_media=False, account=account.options),
                "threads": network.threads,
                "missing_env": missing,
                "login": logins.get(name),
            }
        )
    if as_json:
        output.echo_json({"accounts": rows})
        return
    from rich.table import Table

    table = Table(box=None, header_style="bold", pad_edge=False)
    with_login = any(r["login"] is not None for r in rows)
    for col in ("account", "network", "max length", "threads", "secrets"):
        table.add_column(col)
    if with_login:
        table.add_column("login")
    for r in rows:
        secrets = (
            "[green]set[/]"
            if not r["missing_env"]
            else "[yellow]missing " + ", ".join(r["missing_env"]) + "[/]"
        )
        cells = [
            r["account"],
            r["network"],
            str(r["max_length"] or "—"),
            "yes" if r["threads"] else "no",
            secrets,
        ]
        if with_login:
            cells.append(_login_cell(r["login"]))
        table.add_row(*cells)
    output.console().print(table if rows else "[dim]no accounts in cmctl.yaml[/]")


def _login_cell(login: dict[str, Any] | None) -> str:
    if login is None:
        return "—"
    if login["state"] == "logged in" and login["expires_at"]:
        return f"until {login['expires_at'][:10]}"
    if login["state"] == "logged in" and login["renews_itself"]:
        return "renews itself"
    color = {"not logged in": "yellow", "expired": "red"}.get(login["state"])
    return f"[{color}]{login['state']}[/]" if color else str(login["state"])


def _vars(value: str) -> list[str]:
    import re

    return re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", value)


@command.command("check")
@click.argument("names", nargs=-1)
@click.option(
    "--send-test",
    "send_test",
    multiple=True,
    metavar="NAME",
    help="Also deliver a test event to this account (webhooks: a cmctl.ping "
    "event, which a receiver wired to a network may publish). Repeatable.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.pass_context
def check(
    ctx: click.Context, names: tuple[str, ...], send_test: tuple[str, ...], as_json: bool
) -> None:
    """Check each account's credentials without posting or sending anything.

    Mastodon and Bluesky: a read-only call proves the credentials. A webhook cannot be
    proved without delivering an event, and a receiver may publish whatever it gets, so
    by default nothing is sent to it: cmctl checks the URL, the signing secret's format
    and that the host answers a TCP/TLS handshake (no HTTP request), and says "not
    proved". `--send-test NAME` delivers one test event
    ({"type": "cmctl.ping", "data": {"account": NAME}}) to that account.

    Exit status 1 when any account fails.
    """
    from cmctl import output
    from cmctl.accounts import check_accounts

    config = load_config(ctx)
    if send_test and not as_json:
        import sys

        for name in dict.fromkeys(send_test):
            click.echo(
                f"{name}: sending a cmctl.ping test event (a receiver that publishes "
                "what it gets may publish it)",
                file=sys.stderr,
            )
    results = check_accounts(config, names, send_test=send_test)
    if as_json:
        output.echo_json({"accounts": results})
    else:
        from rich.markup import escape

        out = output.console()
        for r in results:
            mark = "[red]✗[/]" if not r["ok"] else "[green]✓[/]" if r["checked"] else "[yellow]~[/]"
            out.print(
                f"{mark} {escape(r['account'])} [dim]({r['network']})[/]  {escape(r['message'])}"
            )
    ctx.exit(0 if all(r["ok"] for r in results) else 1)


@command.command("login")
@click.argument("name")
@click.option(
    "--no-browser",
    is_flag=True,
    help="Do not open a browser (a server over SSH): open the printed address anywhere, "
    "then paste here the address the browser was sent to.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=300,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for the browser's answer.",
)
@click.pass_context
def login(ctx: click.Context, name: str, no_browser: bool, timeout: float) -> None:
    """Log account NAME in through the network's browser login (OAuth 2.0).

    Prints the address of the network's login page alone on a line, opens it in the
    browser when there is one, and waits for the browser to come back to the
    account's redirect_uri (default http://127.0.0.1:8765/callback). The tokens go to
    the credential store in the state folder, never to cmctl.yaml.
    CMCTL_NO_BROWSER=1 never opens a browser.
    """
    import sys

    from cmctl import clock
    from cmctl.login import login as run_login
    from cmctl.login import summary, system_browser

    config = load_config(ctx)
    result = run_login(
        config,
        name,
        show=lambda url: click.echo(url),
        say=lambda text: click.echo(text, err=True),
        browser=None if no_browser else system_browser(),
        paste=sys.stdin if no_browser else None,
        timeout=timeout,
    )
    for line in summary(result, clock.now()):
        click.echo(line)
    if result.check_error is not None:
        click.echo(
            f"cmctl: the login is saved, but checking the account failed: {result.check_error}",
            err=True,
        )
        ctx.exit(1)

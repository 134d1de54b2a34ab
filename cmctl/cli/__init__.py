"""The cmctl command line: a thin layer over the library.

Commands live one per module and are imported only when run, so `cmctl --help`
stays fast and imports neither httpx, apscheduler nor any network adapter.
Errors are mapped to exit codes here, at one boundary.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from cmctl import __version__

# name -> (module, one-line help shown by `cmctl --help` without importing the module);
# "module:name" when the module holds more than one command (else its `command`)
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("cmctl.cli.init", "Start a project: config, a week of posts, CI and hooks."),
    "validate": ("cmctl.cli.validate", "Check calendars the way each network will judge them."),
    "plan": ("cmctl.cli.plan", "Show the jobs the calendars compile to, in time order."),
    "import": ("cmctl.cli.import_", "Import a Buffer, Hootsuite or generic CSV as a calendar."),
    "add": ("cmctl.cli.add", "Append a post to a calendar, validated, comments kept."),
    "agenda": ("cmctl.cli.agenda", "Show the calendar as a week or month grid."),
    "queue": ("cmctl.cli.queue", "Show a queue's coming slots: what fills them, which are free."),
    "export": ("cmctl.cli.export", "Write the plan as CSV, ICS (calendar apps) or JSON."),
    "schema": ("cmctl.cli.schema", "Print the JSON Schema of calendar files."),
    "publish": ("cmctl.cli.publish", "Send what is due now, exactly once, and exit (cron)."),
    "daemon": ("cmctl.cli.daemon", "Run until stopped, publishing each post at its time."),
    "status": ("cmctl.cli.status", "Ledger counts, daemon heartbeat, jobs needing a human."),
    "log": ("cmctl.cli.log", "What was published, when and where."),
    "resolve": ("cmctl.cli.resolve", "Settle an unknown, failed or missed job by hand."),
    "retry": ("cmctl.cli.retry", "Queue failed or missed jobs again."),
    "cancel": ("cmctl.cli.cancel", "Cancel unsent jobs for good (a calendar, a post, a job)."),
    "pause": ("cmctl.cli.pause", "Emergency brake: stop publishing now (all, or some accounts)."),
    "resume": ("cmctl.cli.pause:resume", "Lift a pause: due posts go out, late ones are missed."),
    "accounts": (
        "cmctl.cli.accounts",
        "List the accounts; `accounts check` proves them, `accounts login` logs in.",
    ),
    "completion": ("cmctl.cli.completion", "Print the shell completion script (bash, zsh, fish)."),
}


class CmctlGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module, _, name = entry[0].partition(":")
        command: click.Command = getattr(importlib.import_module(module), name or "command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, text) for name, (_, text) in COMMANDS.items()])

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and name not in COMMANDS and not name.startswith("-"):
            import difflib

            close = difflib.get_close_matches(name, list(COMMANDS), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise click.UsageError(f"no command '{name}'.{hint}", ctx)
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        from cmctl.errors import CmctlError

        try:
            return super().invoke(ctx)
        except CmctlError as exc:
            _report(exc)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except BrokenPipeError:
            raise
        except Exception as exc:  # the boundary: never show a traceback to a user
            if os.environ.get("CMCTL_DEBUG"):
                raise
            from cmctl.redact import scrub

            click.echo(
                f"cmctl: internal error: {type(exc).__name__}: {scrub(str(exc))}\n"
                "  This is a bug in cmctl. Re-run with CMCTL_DEBUG=1 for details and report it.",
                err=True,
            )
            ctx.exit(70)


def _report(exc: Exception) -> None:
    from cmctl.errors import ConfigError

    if isinstance(exc, ConfigError) and exc.diagnostics:
        from cmctl.output import render_diagnostics_text

        render_diagnostics_text(exc.diagnostics, err=True)
    from cmctl.redact import scrub

    click.echo(f"cmctl: {scrub(str(exc))}", err=True)


@click.group(
    cls=CmctlGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "-V", "--version", prog_name="cmctl")
@click.option(
    "--config",
    "config_path",
    metavar="PATH",
    help="cmctl.yaml to use (default: $CMCTL_CONFIG, else the nearest one up from here).",
)
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """Editorial calendars as code.

    Write posts as YAML in calendars/, check them with `cmctl validate`, see what
    goes out when with `cmctl plan` or `cmctl agenda`.
    """
    ctx.obj = {"config_path": config_path}


def main() -> None:
    try:
        cli.main(prog_name="cmctl")
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        sys.exit(130)
    except BrokenPipeError:
        # `cmctl plan | head`: the reader left; say nothing more (as cat, git, ls do).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(141)

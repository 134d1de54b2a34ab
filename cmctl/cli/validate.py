"""cmctl validate: check calendars exactly as each network will judge them."""

from __future__ import annotations

import click

from cmctl.cli.options import load_config, open_project


@click.command("validate")
@click.argument("paths", nargs=-1)  # checked by the project loader (click.Path crashes on NUL)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="text for people, json for tools, github for GitHub Actions annotations.",
)
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@click.option(
    "-j",
    "--jobs",
    "workers",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes for large projects (default: one per CPU).",
)
@click.pass_context
def command(
    ctx: click.Context, paths: tuple[str, ...], fmt: str, strict: bool, workers: int | None
) -> None:
    """Check calendars the way each network will judge them.

    Checks every calendar of the project, or only the files and folders in PATHS.
    Each problem is reported as `path:line:col: error|warning: message [rule]`.

    Exit status: 0 valid (warnings allowed), 1 errors found, 2 usage or config error.
    """
    from cmctl import output
    from cmctl.ledger import preview

    # With a ledger, the jobs are compared with what was already sent (serially).
    config = load_config(ctx)
    has_ledger = not paths and preview.has_ledger(config)
    # lazy: a cached file's jobs are read only if the ledger's checks need them
    project = open_project(ctx, paths, keep=has_ledger, workers=workers, lazy=True)
    if has_ledger:
        project.report.extend(preview.diagnostics(project))
    diagnostics = project.diagnostics
    report = project.report
    failed = report.errors > 0 or (strict and report.warnings > 0)
    summary = {
        "valid": not failed,
        "errors": report.errors,
        "warnings": report.warnings,
        "files": len(project.files),
        "posts": project.post_count,
        "jobs": project.job_count,
    }
    if fmt == "json":
        output.echo_json({**summary, "diagnostics": [d.as_dict() for d in diagnostics]})
    elif fmt == "github":
        output.render_diagnostics_github(diagnostics)
    else:
        output.render_diagnostics_text(diagnostics)
        _summary(summary)
    ctx.exit(1 if failed else 0)


def _summary(s: dict[str, int | bool]) -> None:
    from cmctl.output import console

    counts = f"{s['files']} files, {s['posts']} posts, {s['jobs']} jobs"
    problems = f"{s['errors']} error(s), {s['warnings']} warning(s)"
    if s["valid"]:
        tail = f" ({problems})" if s["warnings"] else ""
        console().print(f"[green bold]✓ valid[/]: {counts}{tail}")
    else:
        console().print(f"[red bold]✗ invalid[/]: {problems} in {counts}")

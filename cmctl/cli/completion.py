"""cmctl completion SHELL: print the shell's completion script (click's shell completion)."""

from __future__ import annotations

import click

SHELLS = ("bash", "zsh", "fish")


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
def command(shell: str) -> None:
    """Print the completion script for SHELL (bash, zsh or fish).

    \b
    bash:  eval "$(cmctl completion bash)"          (in ~/.bashrc)
    zsh:   eval "$(cmctl completion zsh)"           (in ~/.zshrc)
    fish:  cmctl completion fish > ~/.config/fish/completions/cmctl.fish
    """
    from click.shell_completion import get_completion_class

    from cmctl.cli import cli

    completion = get_completion_class(shell)
    assert completion is not None  # the three SHELLS are click's own
    click.echo(completion(cli, {}, "cmctl", "_CMCTL_COMPLETE").source())

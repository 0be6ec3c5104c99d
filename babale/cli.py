"""`babale` console command.

Each part owns its subcommands in its own cli module, imported only when its command runs: the
scheduled harvest then starts without loading Flask or the form builder (a no-change harvest must
finish within a second, process start included).
"""

from __future__ import annotations

import importlib

import click

# Command name -> "module:attribute", in the order `babale --help` lists them.
COMMANDS = {
    "forms": "babale.commands.forms:forms",
    "db": "babale.commands.registry:db",
    "harvest": "babale.commands.harvest:harvest",
    "stats": "babale.commands.registry:stats",
    "quality": "babale.commands.quality:quality",
    "export": "babale.commands.registry:export",
    "users": "babale.commands.users:users",
    "serve": "babale.commands.serve:serve",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported when they are looked up."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attribute = target.partition(":")
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Babale: registri kesejahteraan sosial (PPKS/PSKS) Kabupaten Bengkayang."""

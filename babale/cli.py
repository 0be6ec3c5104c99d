"""`babale` console command.

Each part owns its subcommands in its own cli module; heavy imports happen inside the commands,
so that `babale --help` stays fast and the harvester never loads Flask.
"""

from __future__ import annotations

import click

from harvester.cli import harvest
from registry.cli import db, export, stats
from registry.users_cli import users
from webapp.cli import serve
from xlsforms.cli import forms


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Babale: registri kesejahteraan sosial (PPKS/PSKS) Kabupaten Bengkayang."""


for command in (forms, db, harvest, stats, export, users, serve):
    main.add_command(command)

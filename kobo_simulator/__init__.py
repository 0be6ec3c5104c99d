"""A Kobo API v2 server of our own, for tests and the demo (issue 3).

`KoboSimulator` serves assets, paged data with query/sort/fields, edits, deletes, validation
statuses, attachments, imports and deployments on 127.0.0.1, with switchable faults, in the exact
format of shared/kobo/API.md. Run it from the command line with `python -m kobo_simulator`.
"""

from kobo_simulator.core import DEFAULT_TOKEN, DEFAULT_USER, KoboSimulator
from kobo_simulator.faults import Fault, Faults
from kobo_simulator.server import LoggedRequest
from kobo_simulator.store import VALIDATION_LABELS

__all__ = [
    "DEFAULT_TOKEN",
    "DEFAULT_USER",
    "VALIDATION_LABELS",
    "Fault",
    "Faults",
    "KoboSimulator",
    "LoggedRequest",
]

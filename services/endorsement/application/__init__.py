"""Endorsement's event-sourced application: the organizing and recommending units'
decisions, the recommending units' quotas, their queues and history, and the
reactions to intake's, formal review's and expert review's events.

One class, `Endorsement`, composed of its parts, each a module to read on its own:
`commands` (the units' decisions), `queries` (queues, history, scans, the letter,
the quota), `reactions` (what other services' events change here), `read_model`
(the tables and their projections), `published` (domain event → integration event)
and `access` (finding aggregates and whether a unit is named)."""
from __future__ import annotations

from shared.eventstore import ServiceApplication
from services.endorsement.application.access import Access
from services.endorsement.application.commands import Commands
from services.endorsement.application.published import Published
from services.endorsement.application.queries import Queries
from services.endorsement.application.reactions import Reactions
from services.endorsement.application.read_model import ReadModel


class Endorsement(Commands, Queries, Reactions, ReadModel, Published, Access, ServiceApplication):
    name = "Endorsement"
    service = "endorsement"

"""Intake's event-sourced application: the registers, the applications and their
plans, the reactions to later stages, the queries of the portal, and the facts
intake publishes.

One class, `Intake`, composed of its parts, each a module to read on its own:
`commands` (what applicants and officers change), `queries` (what the portal
reads), `reactions` (what later stages' events change here), `read_model`
(the tables and their projections), `published` (domain event → integration
event) and `access` (finding aggregates and who may see them)."""
from __future__ import annotations

from shared.eventstore import ServiceApplication
from services.intake.application.access import Access
from services.intake.application.commands import Commands, _person
from services.intake.application.published import Published
from services.intake.application.queries import Queries
from services.intake.application.reactions import Reactions
from services.intake.application.read_model import ReadModel
from services.intake.domain import Application

__all__ = ["Intake", "_person"]  # _person: benchmarks/replay.py builds registrations with it


class Intake(Commands, Queries, Reactions, ReadModel, Published, Access, ServiceApplication):
    name = "Intake"
    service = "intake"
    # Commands reload an application on every call; the cache fast-forwards from the log,
    # so several instances stay correct.
    env = {"AGGREGATE_CACHE_MAXSIZE": "2000"}
    snapshotting_intervals = {Application: 50}
    application_aggregates = ("Application",)  # its id is the application's: auditors find its events

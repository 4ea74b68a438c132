"""Formal review's event-sourced application: cases opened by recommendations, the
officer's commands, the supplement deadline, and what the other services learn.

One class, `FormalReview`, composed of its parts, each a module to read on its own:
`commands` (the officer's), `queries`, `reactions` (what other services' events
change here), `read_model` (the tables and their projections), `published` (domain
event → integration event) and `access` (finding aggregates); the deadlines
themselves are `services.review.deadlines`."""
from __future__ import annotations

from shared.eventstore import ServiceApplication
from services.review.deadlines import DeadlineKeeper
from services.review.formal_review.application.access import Access
from services.review.formal_review.application.commands import Commands
from services.review.formal_review.application.published import Published
from services.review.formal_review.application.queries import Queries
from services.review.formal_review.application.reactions import Reactions
from services.review.formal_review.application.read_model import ReadModel


class FormalReview(Commands, Queries, Reactions, ReadModel, Published, Access, DeadlineKeeper, ServiceApplication):
    name = "FormalReview"
    service = "formal_review"

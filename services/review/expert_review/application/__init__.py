"""Expert review's event-sourced application: the expert register, panels, opinions,
conclusions and revisions, approval within the guide's limits, the construction plan,
and the deadlines of revisions and construction plans.

One class, `ExpertReview`, composed of its parts, each a module to read on its own:
`panels` (the register of experts and forming panels), `commands` (the panel's work
and SAC's decisions), `queries`, `reactions` (what other services' events change
here), `read_model` (the tables and their projections), `published` (domain event →
integration event) and `access` (finding aggregates and who may see them); the
deadlines themselves are `services.review.deadlines`."""
from __future__ import annotations

from shared.eventstore import ServiceApplication
from services.review.deadlines import DeadlineKeeper
from services.review.expert_review.application.access import Access
from services.review.expert_review.application.commands import Commands
from services.review.expert_review.application.panels import Panels
from services.review.expert_review.application.published import Published
from services.review.expert_review.application.queries import Queries
from services.review.expert_review.application.reactions import Reactions
from services.review.expert_review.application.read_model import ReadModel


class ExpertReview(Panels, Commands, Queries, Reactions, ReadModel, Published, Access, DeadlineKeeper,
                   ServiceApplication):
    name = "ExpertReview"
    service = "expert_review"

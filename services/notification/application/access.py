"""How notification finds its aggregates (parties, dossiers, notifications): what the
other parts share."""
from __future__ import annotations

from eventsourcing.application import AggregateNotFoundError


class Access:
    """Mixed into `Notification`: an aggregate by id, or None."""

    def _get(self, aggregate_id):
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

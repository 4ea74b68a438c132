"""Endorsement's nameko entrypoints: the units' queues, and the reaction to intake's events."""
import shared.process  # noqa: F401  (first: green psycopg2, the clock)
from services.endorsement import schemas
from services.endorsement.application import Endorsement
from shared.consumer import integration_events
from shared.rpc import command, service_base


class EndorsementService(service_base(Endorsement)):
    name = "endorsement"

    @integration_events("intake")
    def on_intake_event(self, event):
        return self.app.process(event)

    @command(schemas.QueueQuery)
    def organizing_queue(self, caller, data):
        return self.app.organizing_queue(caller, data["state"], data["limit"], data["offset"])

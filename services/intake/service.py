"""Intake's nameko entrypoints: applicants draft, submit and withdraw applications."""
import shared.process  # noqa: F401  (first: green psycopg2, the clock)
from services.intake import schemas
from services.intake.application import Intake
from shared.rpc import command, service_base


class IntakeService(service_base(Intake)):
    name = "intake"

    @command(schemas.CreateDraft)
    def create_draft(self, caller, data):
        return self.app.create_draft(caller, data)

    @command(schemas.ApplicationRef)
    def submit(self, caller, data):
        return self.app.submit(caller, data["application_id"])

    @command(schemas.Withdraw)
    def withdraw(self, caller, data):
        return self.app.withdraw(caller, data["application_id"], data["reason"])

    @command(schemas.ApplicationRef)
    def get_application(self, caller, data):
        return self.app.application(caller, data["application_id"])

    @command()
    def my_applications(self, caller, data):
        return self.app.my_applications(caller)

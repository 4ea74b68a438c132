"""A database restart costs latency, not an error to the caller (issue 18, item 2).

Every connection of the running intake service to its database is ended by the server, as a
restart ends them: its pooled connections (the library's sessions), the connections the event
store keeps in autocommit, its commit listener's and its outbox's. The next commands and reads
over RPC all succeed, and what they wrote is in the log."""
import pytest

from tests.support.applications import OverRpc, create_draft, prepare, sections
from tests.support.cluster import eventually, running, sql

pytestmark = pytest.mark.integration


def service_backends() -> list[int]:
    database = sql("intake", "SELECT current_database()")[0][0]
    return [pid for (pid,) in sql("intake", "SELECT pid FROM pg_stat_activity WHERE datname = %s"
                                            " AND pid <> pg_backend_pid()", database)]


def test_every_call_after_the_service_lost_its_database_connections_succeeds():
    over_rpc = OverRpc()
    with running("intake"):
        setup = prepare(over_rpc)
        with over_rpc.intake(setup.applicant) as intake:
            content = sections(setup, {}, [])
            draft = create_draft(intake, setup)
            application_id = draft["application_id"]
            intake.save_section(application_id=application_id, section="significance",
                                content=content["significance"])
            for round_ in range(2):  # twice: the connections made after the first loss are lost in turn
                ended = service_backends()
                assert ended
                for pid in ended:
                    sql("intake", "SELECT pg_terminate_backend(%s)", pid)
                eventually(lambda: not set(ended) & set(service_backends()))
                # reads and commands on what were stale connections: no error reaches the caller
                assert intake.get_application(application_id=application_id)["application_id"] == application_id
                intake.save_section(application_id=application_id, section="feasibility",
                                    content={**content["feasibility"], "work_foundation": f"第{round_}次：承担国家级标准化试点示范项目十余项。"})
                assert intake.my_applications()
        saved = sql("intake", "SELECT count(*) FROM intake_events WHERE originator_id = %s", application_id)[0][0]
        assert saved == 1 + 1 + 2  # drafted, significance, feasibility twice

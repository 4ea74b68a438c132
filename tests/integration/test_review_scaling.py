"""Two instances of formal_review and two of expert_review: both take work, no number is issued
twice, no assignment or opinion doubled, no event lost, and every reminder and miss recorded
exactly once — also after an instance is killed and replaced."""
import concurrent.futures
import time

import pytest

from shared.errors import ConcurrencyConflict
from services.review.errors import AlreadyAccepted, OpinionAlreadySubmitted, WrongStage
from tests.integration.test_review_support import (
    TEST_START,
    Application,
    after_days,
    expert_token,
    officer,
    opinion,
    register,
    wait_for_case,
    wait_for_review,
)
from tests.support.clock import set_time
from tests.support.cluster import Cluster, eventually, rpc, sql

pytestmark = pytest.mark.integration
APPLICATIONS = 20
GROUPS = 4
SERVICES = ("formal_review", "expert_review")


@pytest.fixture(scope="module")
def instances():
    set_time(TEST_START)
    cluster = Cluster()
    # instances that finish in random order spread the work and prove order does not matter
    started = {name: [cluster.start(name, faults="slow_reactions", INNOBASE_DEADLINE_SCAN_SECONDS="0.5")
                      for _ in range(2)] for name in SERVICES}
    yield cluster, started
    cluster.stop_all()
    set_time(TEST_START)


def parallel(function, items, workers=8):
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return list(pool.map(function, items))


def ids(applications):
    return [a.application_id for a in applications]


def processed_by(service, applications):
    """The instances that applied the upstream events of these applications."""
    rows = sql(service, "SELECT processed_by FROM processed_messages WHERE application_id::text = ANY(%s)",
               ids(applications))
    return {row[0].split(":")[1] for row in rows}


def pids(processes):
    return {str(p.pid) for p in processes}


def count_per_application(service_table, topic, applications):
    counts = {}
    for application_id in ids(applications):
        counts[application_id] = sql(
            "expert_review" if service_table.startswith("expert") else "formal_review",
            f"SELECT count(*) FROM {service_table} WHERE topic LIKE %s AND convert_from(state, 'UTF8') LIKE %s",
            f"%.{topic}", f"%{application_id}%")[0][0]
    return counts


def test_two_instances_of_each_review_service_share_the_work_and_lose_and_double_nothing(instances):
    cluster, started = instances
    applications = [Application("domain" if n % 2 else "international") for n in range(APPLICATIONS)]
    for application in applications:
        application.units_registered()
        application.submitted()
        application.recommended()
    for application in applications:
        wait_for_case(application.application_id, "received", timeout=60)
    assert processed_by("formal_review", applications) == pids(started["formal_review"])

    # every application accepted twice at once: one number each, none shared, none skipped
    def accept(application):
        with rpc(officer()) as services:
            try:
                return services.formal_review.accept(application_id=application.application_id)["number"]
            except AlreadyAccepted:
                return None

    numbers = [n for n in parallel(accept, applications + applications) if n]
    assert len(numbers) == APPLICATIONS == len(set(numbers))
    for prefix in ("CXJD-2026-LY-", "CXJD-2026-GJ-"):
        issued = [r[0] for r in sql("formal_review", "SELECT number FROM formal_cases WHERE number LIKE %s",
                                    prefix + "%")]
        assert sorted(int(n.rsplit("-", 1)[1]) for n in issued) == list(range(1, len(issued) + 1))

    def pass_review(application):
        with rpc(officer()) as services:
            return services.formal_review.pass_review(application_id=application.application_id)["state"]

    assert set(parallel(pass_review, applications)) == {"passed"}
    for application in applications:
        wait_for_review(application.application_id, "awaiting_panel", timeout=60)

    # no event lost: expert review applied every event formal review published for these applications
    published = sql("formal_review", "SELECT id FROM formalreview_events WHERE (topic LIKE %s OR topic LIKE %s"
                                     " OR topic LIKE %s) AND convert_from(state, 'UTF8') ~ %s ORDER BY id",
                    "%.Opened", "%.Accepted", "%.Passed", "|".join(ids(applications)))
    assert len(published) == 3 * APPLICATIONS
    eventually(lambda: sql("expert_review", "SELECT position FROM processed_messages WHERE source = 'formal_review'"
                                            " AND application_id::text = ANY(%s) ORDER BY position",
                           ids(applications)) == published, timeout=60)
    assert processed_by("expert_review", applications) == pids(started["expert_review"])

    # panels formed twice at once by two officers: one panel per application, each assignment once
    experts = [register() for _ in range(5)]
    groups = [applications[g::GROUPS] for g in range(GROUPS)]

    def form(group_and_request):
        group, request = group_and_request
        with rpc(officer()) as services:
            try:
                return services.expert_review.form_panel(
                    application_ids=ids(group), members=experts, chair=experts[0],
                    meeting_date=after_days(30).isoformat(), place="北京", request_id=request)["panel_id"]
            except (WrongStage, ConcurrencyConflict):
                return None

    formed = [p for p in parallel(form, [(g, f"officer-a-{n}") for n, g in enumerate(groups)]
                                  + [(g, f"officer-b-{n}") for n, g in enumerate(groups)]) if p]
    assert len(formed) == GROUPS
    assignments = sql("expert_review", "SELECT application_id::text, expert_id FROM assignments"
                                       " WHERE application_id::text = ANY(%s)", ids(applications))
    assert len(assignments) == len(set(assignments)) == 5 * APPLICATIONS
    assert set(count_per_application("expertreview_events", "ExpertAssigned", applications).values()) == {5}

    # every opinion submitted twice at once: each kept once, unchanged
    def submit(pair):
        application, expert_id = pair
        try:
            opinion(application, expert_id)
            return "submitted"
        except OpinionAlreadySubmitted:
            return "refused"

    pairs = [(a, e) for a in applications for e in experts]
    outcomes = parallel(submit, pairs + pairs, workers=10)
    assert outcomes.count("submitted") == len(pairs) and outcomes.count("refused") == len(pairs)
    assert sql("expert_review", "SELECT count(*) FROM opinions WHERE application_id::text = ANY(%s)",
               ids(applications)) == [(len(pairs),)]

    # revision deadlines watched by both instances: one reminder, one miss each
    def conclude(application):
        with rpc(expert_token(experts[0])) as services:
            return services.expert_review.conclude(
                application_id=application.application_id, conclusion="pass_with_revisions", text="需修改",
                revision={"sections": ["goals"], "reason": "量化考核指标", "deadline": after_days(10).isoformat()}
            )["state"]

    assert set(parallel(conclude, applications)) == {"revision_requested"}
    try:
        set_time(after_days(3.5))
        eventually(lambda: set(count_per_application("expertreview_events", "DeadlineReminded",
                                                     applications).values()) == {1}, timeout=60)
        set_time(after_days(11))
        for application in applications:
            wait_for_review(application.application_id, "revision_overdue", timeout=60)
        # one instance dies and another takes its place: nothing is recorded again
        cluster.kill(started["expert_review"][0])
        cluster.start("expert_review", INNOBASE_DEADLINE_SCAN_SECONDS="0.5")
        time.sleep(3)
        assert set(count_per_application("expertreview_events", "DeadlineMissed", applications).values()) == {1}
        assert set(count_per_application("expertreview_events", "DeadlineReminded", applications).values()) == {1}
    finally:
        set_time(TEST_START)

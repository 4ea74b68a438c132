"""Endorsement under concurrency: recommendations racing for one quota slot, the same
recommendation twice at once, and upstream messages redelivered to two instances.
Exactly one wins every race; nothing is queued or recommended twice."""
from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest

from services.endorsement.application import Endorsement
from services.endorsement.domain import QuotaSlot, quota_slot_id
from shared import contracts
from shared.auth import Caller
from shared.errors import ConcurrencyConflict
from services.endorsement.errors import QuotaExceeded, WrongStage
from tests.integration.test_endorsement_decisions import (
    KINDS,
    OPINION,
    Upstream,
    call,
    events_of,
    file,
    forwarded,
    item_of,
    recommender,
)
from tests.support.cluster import Cluster, eventually, sql
from tests.support.messages import submitted_payload
from innobase.samples import tiny_pdf

pytestmark = pytest.mark.integration
PDF = tiny_pdf("race")
LOST = (QuotaExceeded, ConcurrencyConflict)


# --- two application objects in two threads (no broker) -------------------------------------

class Direct:
    """Upstream events handed straight to application objects, as their consumers would."""

    def __init__(self, apps):
        self.apps = apps
        self.position = 300_000_000 + uuid.uuid4().int % 100_000 * 1_000

    def apply(self, event_type: str, payload: dict):
        self.position += 1
        event = contracts.build("intake", event_type, 1, payload, event_id=str(uuid.uuid4()),
                                position=self.position, application_id=payload.get("application_id"),
                                occurred_at="2026-06-01T10:00:00+08:00", actor=None, previous_position=None,
                                caused_by=None)
        return self.apps[0].process(event)

    def units(self) -> tuple[str, str]:
        ids = []
        for role, kind in zip(("organizing", "recommending"), KINDS["regional"]):
            unit_id = f"{role[:3].upper()}-{uuid.uuid4().hex[:8]}"
            self.apply("UnitRegistered", {"unit_id": unit_id, "name": unit_id, "role": role, "kind": kind,
                                          "credit_code": None, "region": None, "domain": None, "contact": None,
                                          "address": None, "postcode": None})
            ids.append(unit_id)
        return ids[0], ids[1]

    def forwarded(self, ou: str, ru: str) -> str:
        application_id = str(uuid.uuid4())
        self.apply("ApplicationSubmitted", submitted_payload(application_id, ou, recommending_unit_id=ru,
                                                             digest=uuid.uuid4().hex * 2))
        self.apps[0].forward(Caller("clerk", "organizing_unit", ou), {
            "application_id": uuid.UUID(application_id), "plan_version": None, "stamped_plan": None,
            "opinion": {**OPINION, "date": date(2026, 6, 1)}})
        return application_id


@pytest.fixture(scope="module")
def apps():
    return [Endorsement(), Endorsement()]


def race(functions):
    """Run the functions at the same instant, one thread each; their outcomes in order."""
    barrier = threading.Barrier(len(functions))

    def run(function):
        barrier.wait()
        try:
            return function()
        except Exception as error:  # the outcome is what is asserted
            return error

    with ThreadPoolExecutor(len(functions)) as pool:
        return list(pool.map(run, functions))


def test_two_first_claims_of_one_slot_racing_into_the_log_let_exactly_one_in(apps):
    unit = f"RU-{uuid.uuid4().hex[:8]}"
    actor = {"party_id": "r", "role": "recommending_unit", "organization": unit}
    slots = [QuotaSlot.open(unit, 2026, "regional", "320000") for _ in apps]
    for slot in slots:
        slot.claim(str(uuid.uuid4()), uuid.uuid4(), "国家技术标准创新基地（江苏）", actor)
    outcomes = race([lambda app=app, slot=slot: app.save(slot) for app, slot in zip(apps, slots)])
    assert sum(isinstance(o, ConcurrencyConflict) for o in outcomes) == 1, outcomes
    slot_id = quota_slot_id(unit, 2026, "regional", "320000")
    assert (events_of(slot_id, "SlotOpened"), events_of(slot_id, "SlotClaimed")) == (1, 1)


def test_two_claims_of_one_freed_slot_racing_into_the_log_let_exactly_one_in(apps):
    unit = f"RU-{uuid.uuid4().hex[:8]}"
    actor = {"party_id": "r", "role": "recommending_unit", "organization": unit}
    slot = QuotaSlot.open(unit, 2026, "regional", "320000")
    first = str(uuid.uuid4())
    slot.claim(first, uuid.uuid4(), "A", actor)
    slot.release(first, "recommendation withdrawn", actor=actor)
    apps[0].save(slot)
    loaded = [app.repository.get(slot.id) for app in apps]
    for copy in loaded:
        copy.claim(str(uuid.uuid4()), uuid.uuid4(), "B", actor)
    outcomes = race([lambda app=app, copy=copy: app.save(copy) for app, copy in zip(apps, loaded)])
    assert sum(isinstance(o, ConcurrencyConflict) for o in outcomes) == 1, outcomes
    assert events_of(slot.id, "SlotClaimed") == 2


@pytest.mark.parametrize("round_", range(4))
def test_two_recommendations_racing_for_one_slot_on_two_application_objects_exactly_one_wins(apps, round_):
    direct = Direct(apps)
    ou, ru = direct.units()
    applications = [direct.forwarded(ou, ru) for _ in apps]
    caller = Caller("recommender", "recommending_unit", ru)

    def recommending(app, application_id):
        return lambda: app.recommend(caller, {
            "application_id": uuid.UUID(application_id), "plan_version": None,
            "stamped_plan": {"name": "p.pdf", "content": PDF}, "recommendation_letter": {"name": "l.pdf",
                                                                                          "content": PDF}})

    outcomes = race([recommending(app, a) for app, a in zip(apps, applications)])
    won = [o for o in outcomes if isinstance(o, dict)]
    assert len(won) == 1 and all(isinstance(o, LOST) for o in outcomes if not isinstance(o, dict)), outcomes
    assert sorted(item_of(a) for a in applications) == ["forwarded", "recommended"]
    slot = quota_slot_id(ru, 2026, "regional", "320000")
    assert events_of(slot, "SlotClaimed") == 1
    assert sql("endorsement", "SELECT application_id::text FROM quota_slots WHERE slot_id = %s",
               str(slot)) == [(won[0]["application_id"],)]


# --- two service instances, through the broker and RPC ---------------------------------------

@pytest.fixture(scope="module")
def two_instances():
    cluster = Cluster()
    try:
        cluster.start("endorsement")
        cluster.start("endorsement")
        yield cluster
    finally:
        cluster.stop_all()


@pytest.fixture(scope="module")
def upstream(two_instances):
    return Upstream()


def test_redelivered_submissions_and_withdrawals_queue_each_version_once_and_close_it_once(upstream):
    ou, ru = upstream.units_for()
    submissions = [upstream.submit(ou, ru) for _ in range(10)]
    for application_id in submissions[::2]:
        upstream.withdraw(application_id)
    replay = [m for m in upstream.sent if m["application_id"] in submissions]
    for _ in range(2):  # every message again, twice, to whichever instance takes it
        for message in replay:
            upstream.deliver(message)
    positions = sorted(m["position"] for m in replay)
    eventually(lambda: sorted(r[0] for r in sql(
        "endorsement", "SELECT position FROM processed_messages WHERE source = 'intake' AND position = ANY(%s)",
        positions)) == positions, timeout=60)
    eventually(lambda: sql("endorsement", "SELECT count(*) FROM review_items WHERE organizing_unit_id = %s"
                                          " AND state = 'closed'", ou) == [(5,)])
    rows = sql("endorsement", "SELECT application_id::text, state FROM review_items WHERE organizing_unit_id = %s",
               ou)
    assert sorted(r[0] for r in rows) == sorted(submissions)
    assert sorted(r[1] for r in rows) == ["closed"] * 5 + ["queued"] * 5
    history = sql("endorsement", "SELECT type, count(*) FROM endorsement_history"
                                 " WHERE application_id = ANY(%s::uuid[]) GROUP BY type ORDER BY type", submissions)
    assert history == [("ReviewItemClosed", 5), ("ReviewItemQueued", 10)]


def test_recommendations_racing_for_one_slot_through_two_instances_exactly_one_wins(upstream):
    ou, ru = upstream.units_for()
    applications = [forwarded(upstream, ou, ru, name=f"国家技术标准创新基地（{n}）") for n in range(4)]
    token = recommender(ru)

    def recommending(application_id):
        return lambda: call(token, "recommend", application_id=application_id, stamped_plan=file("p.pdf"),
                            recommendation_letter=file("l.pdf", PDF))

    outcomes = race([recommending(a) for a in applications])
    won = [o for o in outcomes if isinstance(o, dict)]
    assert len(won) == 1 and all(isinstance(o, LOST) for o in outcomes if not isinstance(o, dict)), outcomes
    assert sorted(item_of(a) for a in applications) == ["forwarded"] * 3 + ["recommended"]
    assert events_of(quota_slot_id(ru, 2026, "regional", "320000"), "SlotClaimed") == 1
    [slot] = call(token, "recommending_quota")["slots"]
    assert slot["application_id"] == won[0]["application_id"]
    # a loser, told to reload and try again, is told who holds the slot
    loser = next(a for a in applications if a != won[0]["application_id"])
    with pytest.raises(QuotaExceeded) as error:
        call(token, "recommend", application_id=loser, stamped_plan=file("p.pdf"),
             recommendation_letter=file("l.pdf"))
    assert error.value.details["held_by"] == won[0]["application_id"]


def test_the_same_recommendation_sent_four_times_at_once_is_recommended_once(upstream):
    ou, ru = upstream.units_for()
    application_id = forwarded(upstream, ou, ru)
    token = recommender(ru)
    outcomes = race([lambda: call(token, "recommend", application_id=application_id, stamped_plan=file("p.pdf"),
                                  recommendation_letter=file("l.pdf", PDF))] * 4)
    assert sum(isinstance(o, dict) for o in outcomes) == 1, outcomes
    assert all(isinstance(o, (WrongStage, ConcurrencyConflict)) for o in outcomes if not isinstance(o, dict)), \
        [repr(o)[:300] for o in outcomes if not isinstance(o, dict)]
    assert sql("endorsement", "SELECT count(*) FROM endorsement_history WHERE application_id = %s"
                              " AND type = 'ApplicationRecommended'", application_id) == [(1,)]


def test_a_redelivered_end_of_the_application_frees_its_slot_once(upstream):
    ou, ru = upstream.units_for()
    first = forwarded(upstream, ou, ru)
    second = forwarded(upstream, ou, ru, name="国家技术标准创新基地（苏南）")
    call(recommender(ru), "recommend", application_id=first, stamped_plan=file("p.pdf"),
         recommendation_letter=file("l.pdf"))
    withdrawal = upstream.withdraw(first)
    upstream.deliver(withdrawal)
    upstream.deliver(withdrawal)
    eventually(lambda: item_of(first) == "closed")
    call(recommender(ru), "recommend", application_id=second, stamped_plan=file("p.pdf"),
         recommendation_letter=file("l.pdf"))
    upstream.deliver(withdrawal)  # late, again: the new holder keeps its slot
    marker = upstream.submit(ou, ru)
    eventually(lambda: item_of(marker) == "queued")
    slot = quota_slot_id(ru, 2026, "regional", "320000")
    assert (events_of(slot, "SlotClaimed"), events_of(slot, "SlotReleased")) == (2, 1)
    [held] = call(recommender(ru), "recommending_quota")["slots"]
    assert held["application_id"] == second and held["state"] == "held"

"""Replay of a service's whole log, in events per second: intake's log with 10,000 applications'
worth of events, read and applied to its aggregates in memory (the state auditors rebuild:
`replay_to_state`, what `innobase audit replay` runs, beside a plain loop of the library's calls
as the baseline of the same run), and projected again into every read model
(`rebuild_read_models`, what `innobase rebuild` runs). Target: 20,000 events/s or better.

The log is filled once, fast: each application's life is played on intake's domain aggregates in
memory (registration, draft, evidence, every section, submission, then the organizing unit's
return and resubmission, forwarding, recommendation or withdrawal, as the later stages report
them), and many applications are saved per `save` call, each batch in one transaction with its
read models, hash chain and files, exactly as the service writes them. A later run reuses the log
(`--fresh` drops and refills it). It lives in a database of its own, `<prefix>_intake_replay`, so
the intake benchmark's reset does not drop it and no running intake ever publishes it.

Run: `python -m benchmarks.replay [--applications 10000] [--fresh] [--batch 50] [--page 2000]`.
"""
from __future__ import annotations

import argparse
import os
import random
import time
import types
import uuid
from datetime import datetime, timedelta

from benchmarks import common  # noqa: F401  (first: isolated settings)
from shared import clock, settings

DATABASE = "intake_replay"
TARGET = 20_000  # events per second
WINDOW_OPENS = "2026-05-06T09:00:00+08:00"  # applications arrive across the submission window
SPREAD = timedelta(days=80)
PROVINCES = 12  # regional bases: one organizing and one recommending unit per province
DOMAINS = ("EI.01", "EQ.07", "NM.02", "BM.01")  # domain bases: an industry body pair per domain


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--applications", type=int, default=10_000, help="applications in the log")
    parser.add_argument("--fresh", action="store_true", help="drop the log and fill it again")
    parser.add_argument("--batch", type=int, default=50, help="applications saved per save() call")
    parser.add_argument("--page", type=int, default=2000, help="events read per page when replaying")
    args = parser.parse_args()

    if args.fresh:
        drop()
    app = open_log()
    have = applications_in(app)
    filled = None
    if have < args.applications:
        if have:  # a smaller or interrupted fill: start again rather than patch it
            print(f"the log holds {have} applications, fewer than {args.applications}: refilling")
            drop()
            app = open_log()
        filled = Filler(app).fill(args.applications, args.batch)
    else:
        print(f"reusing the log of {have} applications in {settings.get().database_name(DATABASE)}")
    plain = plain_loop(app, args.page)
    library = plain_loop(app, args.page, transcoder=library_transcoder(app))
    state = replay_to_state(app)
    if not state["versions"] == plain["versions"] == library["versions"]:
        raise AssertionError("replay_to_state() and the plain loop rebuilt different aggregates")
    rebuilt = rebuild(app)
    report(args, applications_in(app), filled, library, plain, state, rebuilt)


# --- the log ------------------------------------------------------------------------------


def open_log():
    from services.intake.application import Intake

    return Intake(settings.get().database_url(DATABASE))


def drop() -> None:
    import psycopg2

    admin = psycopg2.connect(host="127.0.0.1", dbname="postgres", user="root")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{settings.get().database_name(DATABASE)}" WITH (FORCE)')
    admin.close()


def applications_in(app) -> int:
    return app.query("SELECT count(*) AS n FROM applications")[0]["n"]


# --- filling it ---------------------------------------------------------------------------


class Filler:
    """Plays applications' lives on intake's aggregates, as its commands and reactions would."""

    def __init__(self, app):
        self.app = app
        self.officer = {"party_id": "officer-bench", "role": "officer", "organization": "SAC"}
        self.receipts = 0
        self.upstream = {"endorsement": 0, "formal_review": 0}  # positions of the reported events
        self.numbers = 0

    def fill(self, applications: int, batch: int) -> dict:
        from shared.clock import FakeClock

        started = time.perf_counter()
        fake = FakeClock(datetime.fromisoformat(WINDOW_OPENS))
        clock.install(fake)  # timestamps spread over the window, as a season's applications are
        step = SPREAD / max(applications, 1)
        try:
            self.pairs = self._register_units()
            done = 0
            while done < applications:
                aggregates, files = [], []
                for i in range(done, min(applications, done + batch)):
                    fake.set(max(fake.now(), datetime.fromisoformat(WINDOW_OPENS) + step * i))
                    aggregates.extend(self._one_application(i, files, fake))
                self._save(aggregates, files)
                done = min(applications, done + batch)
                if done % (batch * 20) == 0 or done == applications:
                    rate = self.app.log_position() / (time.perf_counter() - started)
                    print(f"\rfilled {done}/{applications} applications, {self.app.log_position()} events"
                          f" ({rate:,.0f} events/s)", end="", flush=True)
        finally:
            clock.install_from_settings(settings.get().clock_start)
        print()
        return {"seconds": time.perf_counter() - started, "events": self.app.log_position()}

    def _save(self, aggregates: list, files: list) -> None:
        from shared import blobs

        with self.app.transaction() as session:
            for attachment, content in files:
                blobs.store(session, attachment, content)
            self.app.save(*aggregates)

    def _register_units(self) -> list[dict]:
        """Unit pairs in the officer's register: regional ones by province, industry ones by domain."""
        from shared.reference import regions
        from innobase.samples import unit_details
        from services.intake.domain import Unit

        pairs, units = [], []
        provinces = [p for p in sorted(regions.provinces(), key=lambda r: r.code) if regions.regions_in(p.code)]
        scopes = [("regional", p.code, None) for p in provinces[:PROVINCES]]
        scopes += [("domain", None, code) for code in DOMAINS]
        for base_type, province, domain in scopes:
            pair = {"base_type": base_type, "province": province, "domain": domain}
            for role in ("organizing", "recommending"):
                unit_id = f"{role[:3].upper()}-{province or domain}"
                details = unit_details(base_type, role, unit_id, region=province or "320000",
                                       domain=domain or "EI.01")
                details = {"region": None, "domain": None, **details, "credit_code": None, "actor": self.officer}
                unit = Unit.register(**details)
                units.append(unit)
                pair[role] = unit
            pairs.append(pair)
        self.app.save(*units)
        return pairs

    def _one_application(self, i: int, files: list, fake) -> list:
        from services.intake import plan as plans
        from services.intake.application import _person
        from shared.reference.credit_code import ALPHABET, make_credit_code
        from services.intake.domain import ApplicantUnit, Application, draft_id, name_reads_as_a_base
        from services.intake.schemas import normalised_section
        from shared.reference import regions
        from shared import blobs
        from shared.auth import Caller
        from innobase.samples import CHECKLIST_SIZES, applicant_details, sections, tiny_pdf, tiny_png

        rng = random.Random(i)
        pair = self.pairs[i % len(self.pairs)]
        base_type = pair["base_type"]
        regional = base_type == "regional"
        places = regions.regions_in(pair["province"]) if regional else []
        base_region = places[i % len(places)].code if regional else None
        body = "".join(ALPHABET[(i // 31 ** k) % 31] for k in range(8))
        credit_code = make_credit_code("1", "2", base_region or "110000", body)
        caller = Caller(f"applicant-{i:05d}", "applicant", credit_code)
        actor = caller.as_actor()

        def tick():  # a person's next action, moments later
            fake.advance(seconds=rng.randint(5, 25))

        details = applicant_details(credit_code, region=base_region or "110000",
                                    category="standardization_institute" if regional else "research_institute")
        applicant = ApplicantUnit.register(
            credit_code=credit_code, name=details["name"], category=details["category"], region=details["region"],
            region_known=True, head=_person(details["head"]), contact=_person(details["contact"]),
            postcode=details["postcode"], address=details["address"], credit_code_override=None, actor=actor)
        tick()

        setup = types.SimpleNamespace(base_type=base_type, organizing_unit_id=pair["organizing"].unit_id,
                                      recommending_unit_id=pair["recommending"].unit_id, region=base_region,
                                      domain=pair["domain"])
        place = (regions.region_name(base_region) or "").strip("（）()") if regional else None
        name = f"国家技术标准创新基地（{place or pair['domain']}{i}）"
        basic = normalised_section("basic", {
            "name": name, "region": setup.region, "domain": setup.domain,
            "organizing_unit_id": setup.organizing_unit_id, "recommending_unit_id": setup.recommending_unit_id,
            "head": applicant.head, "contact": applicant.contact, "postcode": applicant.postcode,
            "address": applicant.address,
        })
        application = Application.draft(
            application_id=draft_id(credit_code, f"bench-{i}"), applicant_id=caller.party_id,
            applicant_organization=credit_code, base_type=base_type, basic=basic, actor=actor)

        # evidence: one PDF per qualification item, a letter of support and a photo
        def upload(file_name: str, content: bytes) -> str:
            tick()
            attachment = blobs.check(file_name, content, caller.party_id)
            application.attach(attachment.as_dict(), actor)
            files.append((attachment, content))
            return attachment.sha256

        evidence = {item: upload(f"资质证明{item}.pdf", tiny_pdf(f"{application.id} qualification {item}"))
                    for item in range(1, CHECKLIST_SIZES[base_type] + 1)}
        attachments = [("地方政府支持函", upload("支持函.pdf", tiny_pdf(f"{application.id} letter"))),
                       ("重点实验室照片", upload("实验室照片.png", tiny_png(i)))]
        content = sections(setup, evidence, attachments, name=name)
        for section, value in content.items():
            tick()
            application.save_section(section, normalised_section(section, value), actor)
        for section in rng.sample(["significance", "feasibility", "goals", "safeguards"], rng.randint(0, 3)):
            tick()  # second thoughts before submitting
            application.save_section(section, normalised_section(section, content[section]), actor)

        registers = {"applicant": applicant.as_dict(), "organizing_unit": pair["organizing"].as_dict(),
                     "recommending_unit": pair["recommending"].as_dict()}

        def submit() -> None:
            tick()
            found = plans.problems(base_type, application.sections, set(application.files),
                                   name_is_valid=name_reads_as_a_base, **registers)
            if found:
                raise AssertionError(f"application {i} is not complete: {plans.by_section(found)}")
            application.submit(at=clock.now(), frozen=plans.freeze(
                application_id=str(application.id), base_type=base_type, sections=application.sections,
                files=application.files, **registers), found=found, receipt_number=self._receipt, actor=actor)

        submit()
        fate = rng.random()
        if fate < 0.05:
            tick()
            application.withdraw("申报单位调整建设规划，撤回申报", actor)
            return [applicant, application]
        if fate < 0.25:  # the organizing unit returns it for correction; the applicant resubmits
            tick()
            application.reopen(kind="returned", sections=["goals"], reason="考核指标需量化", request_id=str(uuid.uuid4()),
                               requested_by="endorsement", deadline=None, caused_by=self._cause("endorsement"))
            tick()
            application.save_section("goals", normalised_section("goals", content["goals"]), actor)
            submit()
        tick()
        application.record_progress(reported="ApplicationForwarded", stage="forwarded",
                                    caused_by=self._cause("endorsement"),
                                    opinion={"text": "同意推荐", "head": "张华", "date": "2026-06-10"})
        if rng.random() < 0.6:
            tick()
            application.record_progress(reported="ApplicationRecommended", stage="recommended",
                                        caused_by=self._cause("endorsement"))
            if rng.random() < 0.5:
                tick()
                self.numbers += 1
                application.record_progress(reported="ApplicationAccepted", stage="formal_review",
                                            caused_by=self._cause("formal_review"),
                                            number=f"CXJD-2026-{self.numbers:05d}")
        return [applicant, application]

    def _receipt(self) -> str:
        self.receipts += 1
        return f"SB{clock.now().astimezone(clock.BEIJING):%Y%m%d}-{self.receipts:06d}"

    def _cause(self, source: str) -> dict:
        self.upstream[source] += 1
        return {"source": source, "position": self.upstream[source]}


# --- measuring ------------------------------------------------------------------------------


def replay_to_state(app) -> dict:
    """What `innobase audit replay` runs: `ServiceApplication.replay_to_state()`."""
    started = time.perf_counter()
    replayed = app.replay_to_state()
    seconds = time.perf_counter() - started
    return {"events": replayed["events"], "seconds": seconds, "aggregates": replayed["by_type"],
            "versions": versions(replayed["aggregates"])}


def library_transcoder(app):
    """The library's own JSON transcoder, with the application's transcodings."""
    from eventsourcing.persistence import JSONTranscoder

    transcoder = JSONTranscoder()
    app.register_transcodings(transcoder)
    return transcoder


def plain_loop(app, page: int, transcoder=None) -> dict:
    """The baselines: the library's calls one after the other (read a page, decode, apply), at
    Python's default garbage-collector thresholds, with the time of each step; with our
    transcoder, or with the library's (`transcoder`)."""
    mapper = app.mapper
    if transcoder is not None:
        mapper = type(mapper)(transcoder=transcoder, compressor=mapper.compressor, cipher=mapper.cipher)
    aggregates: dict = {}
    reading = decoding = applying = 0.0
    events, after = 0, 0
    started = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        notifications = app.recorder.select_notifications(after, page, inclusive_of_start=False)
        t1 = time.perf_counter()
        reading += t1 - t0
        if not notifications:
            break
        decoded = [mapper.to_domain_event(n) for n in notifications]
        t2 = time.perf_counter()
        decoding += t2 - t1
        for domain_event in decoded:
            aggregates[domain_event.originator_id] = domain_event.mutate(aggregates.get(domain_event.originator_id))
        applying += time.perf_counter() - t2
        events += len(notifications)
        after = notifications[-1].id
    seconds = time.perf_counter() - started
    return {"events": events, "seconds": seconds, "reading": reading, "decoding": decoding,
            "applying": applying, "versions": versions(aggregates)}


def versions(aggregates: dict) -> dict:
    return {key: aggregate.version for key, aggregate in aggregates.items()}


def rebuild(app) -> dict:
    tables = ("audit_index", *app.read_model_tables)
    before = {table: app.query(f"SELECT count(*) AS n FROM {table}")[0]["n"] for table in tables}
    started = time.perf_counter()
    events = app.rebuild_read_models()
    seconds = time.perf_counter() - started
    after = {table: app.query(f"SELECT count(*) AS n FROM {table}")[0]["n"] for table in tables}
    if after != before:
        raise AssertionError(f"the rebuilt read models hold other row counts: {before} before, {after} after")
    return {"events": events, "seconds": seconds, "rows": after}


def report(args, applications: int, filled: dict | None, library: dict, plain: dict, state: dict,
           rebuilt: dict) -> None:
    print()
    print(f"replay benchmark: intake's log in {settings.get().database_name(DATABASE)}, {applications:,} applications,"
          f" {state['events']:,} events, {os.cpu_count()} CPUs")
    if filled:
        print(f"fill: {filled['events']:,} events in {filled['seconds']:.0f} s"
              f" ({filled['events'] / filled['seconds']:,.0f} events/s, {args.batch} applications per save)")
    aggregates = ", ".join(f"{n:,} {kind}" for kind, n in sorted(state["aggregates"].items()))
    print(f"aggregates rebuilt in memory: {aggregates}")
    print(f"read models rebuilt: " + ", ".join(f"{table} {n:,}" for table, n in rebuilt["rows"].items()))
    print()
    print(f"{'replay':<52} {'events':>9} {'seconds':>8} {'events/s':>10}  target {TARGET:,}/s")
    for label, r in (("to state: replay_to_state() (innobase audit replay)", state),
                     ("to state: plain loop, our transcoder", plain),
                     ("to state: plain loop, library transcoder (baseline)", library),
                     ("rebuild_read_models() (innobase rebuild)", rebuilt)):
        rate = r["events"] / r["seconds"]
        verdict = "met" if rate >= TARGET else "NOT met"
        print(f"{label:<52} {r['events']:>9,} {r['seconds']:>8.2f} {rate:>10,.0f}  {verdict}")
    for label, r in (("our transcoder", plain), ("library transcoder", library)):
        print(f"  plain loop, {label}, by step (pages of {args.page}): "
              + ", ".join(f"{step} {r[step]:.2f} s ({r['events'] / r[step]:,.0f}/s)"
                          for step in ("reading", "decoding", "applying") if r[step]))


if __name__ == "__main__":
    main()

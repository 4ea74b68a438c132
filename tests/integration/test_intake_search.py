"""SAC's search of every application, on intake's own read model (an `Intake()` in this process):
found by name, applicant's name, credit code; filtered, sorted, counted; officers and auditors only."""
import pytest

from services.intake.application import Intake
from shared.auth import Caller
from shared.errors import InvalidInput, NotAuthorized
from tests.support.applications import OFFICER, Direct, create_draft, prepare

pytestmark = pytest.mark.integration
AUDITOR = Caller("auditor-tests", "auditor", "AUDIT")


@pytest.fixture(scope="module")
def round_():
    """Three drafts of two applicant units; their setups and ids by name."""
    via = Direct(Intake())
    first, second = prepare(via, "regional"), prepare(via, "domain", name="中国电子技术标准化研究院")
    drafts = {}
    for setup, name in ((first, "国家技术标准创新基地（苏州）"), (first, "国家技术标准创新基地（无锡）"),
                        (second, "国家技术标准创新基地（集成电路）")):
        with via.intake(setup.applicant) as intake:
            drafts[name] = create_draft(intake, setup, name=name)["application_id"]
    return via, first, second, drafts


def search(via, caller=OFFICER, **arguments):
    with via.intake(caller) as intake:
        return intake.search_applications(**arguments)


def names(found) -> list[str]:
    return [a["name"] for a in found["items"]]


def test_an_officer_finds_applications_by_name_applicant_and_credit_code(round_):
    via, first, second, drafts = round_
    by_name = search(via, text="无锡")
    assert names(by_name) == ["国家技术标准创新基地（无锡）"] and by_name["total"] == 1
    by_applicant = search(via, text="电子技术标准化")
    assert names(by_applicant) == ["国家技术标准创新基地（集成电路）"]
    assert by_applicant["items"][0]["applicant_name"] == "中国电子技术标准化研究院"
    by_code = search(via, text=first.credit_code.lower())  # a code typed in small letters still finds
    assert sorted(names(by_code)) == ["国家技术标准创新基地（无锡）", "国家技术标准创新基地（苏州）"]


def test_a_wildcard_typed_in_the_search_is_taken_literally(round_):
    via, *_ = round_
    assert search(via, text="%")["total"] == 0
    assert search(via, text="_")["total"] == 0


def test_filters_sort_and_pages_combine_and_the_total_counts_every_match(round_):
    via, first, _, drafts = round_
    regional = search(via, text=first.credit_code, base_type="regional", sort="-name", limit=1, offset=0)
    assert regional["total"] == 2 and names(regional) == ["国家技术标准创新基地（苏州）"]
    following = search(via, text=first.credit_code, base_type="regional", sort="-name", limit=1, offset=1)
    assert names(following) == ["国家技术标准创新基地（无锡）"]
    assert search(via, text=first.credit_code, stage="submitted")["total"] == 0
    assert search(via, text=first.credit_code, stage="draft", region=first.region)["total"] == 2


def test_the_counts_include_every_application_of_the_round(round_):
    via, *_ = round_
    with via.intake(OFFICER) as intake:
        counts = intake.application_counts()
    everything = search(via, limit=1000)["total"]
    assert counts["total"] == everything >= 3
    assert counts["by_stage"]["draft"] >= 3
    assert sum(counts["by_base_type"].values()) == sum(counts["by_area"].values()) == everything


def test_an_auditor_may_search_an_applicant_may_not_and_bad_input_is_named(round_):
    via, first, *_ = round_
    assert search(via, AUDITOR, text="苏州")["total"] == 1
    with pytest.raises(NotAuthorized):
        search(via, first.applicant, text="苏州")
    with pytest.raises(InvalidInput) as refused:
        search(via, sort="password")
    assert "sort" in str(refused.value.details)

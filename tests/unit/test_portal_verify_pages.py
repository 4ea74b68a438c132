"""核验纸质申报方案 as the holder of the paper meets it, signed in or not; and the recommending
unit's 发文字号 form, which refuses a malformed number beside its field."""
import pytest

from tests.support.portal import CSRF, Account, EdgeError, FakeEdge, client

pytestmark = pytest.mark.unit
DIGEST = "ab" * 32
FOUND = {"in_log": True, "digest": DIGEST, "application_id": "a-1", "number": "CXJD-2026-R-0007",
         "name": "国家技术标准创新基地（江苏）", "plan_version": 1, "current_plan_version": 2, "is_current": False,
         "submitted_at": "2026-06-01T10:00:00+08:00", "message": "submitted version 1, superseded by version 2"}


def text(response) -> str:
    return response.get_data(as_text=True)


def test_the_qr_codes_target_answers_without_sign_in_with_what_the_paper_carries():
    edge = FakeEdge().answer("intake", "verify_print", FOUND)
    response = client(edge).get(f"/verify?digest={DIGEST}")
    page = text(response)
    assert response.status_code == 200
    assert edge.called("intake", "verify_print") == [{"digest": DIGEST}]
    assert "该文本是系统记录的已提交版本（第 1 版），但已被第 2 版取代。" in page
    assert "国家技术标准创新基地（江苏）" in page and "CXJD-2026-R-0007" in page and "2026-06-01" in page


def test_a_digest_not_in_the_log_is_said_to_be_no_logged_version():
    edge = FakeEdge().answer("intake", "verify_print", {"in_log": False, "digest": DIGEST,
                                                        "reason": "digest_not_logged", "message": "…"})
    page = text(client(edge).get(f"/verify?digest={DIGEST}"))
    assert "该文本不是系统记录的版本" in page


def test_a_malformed_digest_is_named_beside_its_field():
    edge = FakeEdge().answer("intake", "verify_print", EdgeError(
        "InvalidInput", "invalid", {"fields": {"digest": ["A digest is 64 hex digits (摘要 SHA-256)."]}}, status=400))
    response = client(edge).get("/verify?digest=xyz")
    assert 'id="f-digest-error"' in text(response)


def test_without_a_digest_the_page_only_asks_for_one():
    edge = FakeEdge()
    page = text(client(edge).get("/verify"))
    assert edge.called("intake", "verify_print") == [] and 'name="digest"' in page


RECOMMENDER = Account(role="recommending_unit", organization="RU-1", party_id="ru-1")


def test_the_recommending_unit_saves_its_letters_reference_and_returns_to_the_application():
    edge = FakeEdge(RECOMMENDER).answer("endorsement", "number_recommendation_letter", {})
    response = client(edge).post("/units/applications/a-1/letter-reference",
                                 data={"reference": "苏政函〔2027〕12号", "plan_version": "1", "csrf_token": CSRF})
    assert response.status_code == 303 and response.headers["Location"].endswith("/units/applications/a-1#letter")
    assert edge.called("endorsement", "number_recommendation_letter") == [
        {"application_id": "a-1", "plan_version": 1, "reference": "苏政函〔2027〕12号"}]


FORWARDED = {"application_id": "a-1", "name": "国家技术标准创新基地（江苏）", "base_type": "regional",
             "stage": "forwarded", "plan_version": 1, "viewing": 1, "applicant_organization": "12320000466007437T",
             "late_exception": None, "sections": {}, "files": {}, "versions": []}


@pytest.mark.parametrize("typed, refusal", [(" ", None), ("12号", EdgeError(
    "InvalidInput", "invalid", {"fields": {"reference": ["A 发文字号 reads like 苏政函〔2027〕12号"]}}, status=400))])
def test_a_missing_or_malformed_reference_is_refused_beside_its_field(typed, refusal):
    edge = (FakeEdge(RECOMMENDER).answer("intake", "get_application", FORWARDED)
            .answer("endorsement", "endorsement_history", {"events": []})
            .answer("endorsement", "number_recommendation_letter", refusal))
    response = client(edge).post("/units/applications/a-1/letter-reference",
                                 data={"reference": typed, "csrf_token": CSRF})
    page = text(response)
    assert response.status_code in (400, 422)
    assert 'id="f-reference-error"' in page
    assert ("发文字号应形如" in page) if refusal else ("请填写发文字号" in page)
    assert len(edge.called("endorsement", "number_recommendation_letter")) == (1 if refusal else 0)

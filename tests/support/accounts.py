"""Accounts traffic that needs no e-mail: an administrator created by ops, signed in, with a
token; an invitation; an applicant registered, its role changed, deactivated and reactivated.
For tests that need every read model of accounts to hold rows (rebuild, replay)."""
from __future__ import annotations

import uuid

from shared.reference.credit_code import make_credit_code
from tests.support.cluster import rpc, token


def play_accounts() -> dict:
    tag = uuid.uuid4().hex[:8].upper()
    secret = f"Pw-{uuid.uuid4().hex}"
    with rpc(token("ops", "ops-cli", "ops"), timeout=30) as ops:
        admin = ops.accounts.create_admin(email=f"admin-{tag.lower()}@sac.test", name="管理员", password=secret)
    with rpc(token("gateway", "gateway-1", "gateway"), timeout=30) as gateway:
        session = gateway.accounts.sign_in(email=admin["email"], password=secret)
        applicant = gateway.accounts.register(
            credit_code=make_credit_code(org_body=tag), unit_name=f"申报单位{tag}", contact_name="张联系",
            email=f"zhang-{tag.lower()}@applicant.test", password=secret)
        gateway.accounts.resolve_session(session_id=session["session_id"])
    with rpc(token("officer", admin["party_id"], "SAC"), timeout=30) as own:
        administrator = own.accounts
        created = administrator.create_token(name="夜间导出", scope="read", expires_days=30)
        administrator.invite(email=f"clerk-{tag.lower()}@unit.test", name="王处长", role="organizing_unit",
                             organization=f"OU-{tag}")
        administrator.set_role(account_id=applicant["account_id"], role="auditor", organization="AUD")
        administrator.deactivate(account_id=applicant["account_id"], reason="测试")
        administrator.reactivate(account_id=applicant["account_id"])
    return {"admin": admin, "applicant": applicant, "token_id": created["token_id"]}

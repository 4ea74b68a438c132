"""What changes an account: an applicant unit registers and confirms its address, an
invitee accepts; passwords are reset and changed; an account creates and revokes its
personal access tokens; SAC administrators invite, deactivate, reactivate and grant
roles; ops create the first administrator."""
from __future__ import annotations

from datetime import timedelta

from shared import clock
from shared import settings as shared_settings
from shared.auth import Caller
from shared.reference import credit_code as credit_codes
from services.accounts.application.access import _verified
from services.accounts.domain import (
    ACCEPT_INVITATION,
    BOOTSTRAP,
    CONFIRM_EMAIL,
    INVITATION,
    PASSWORD_RESET,
    REGISTRATION,
    SAC,
    Account,
    Invitation,
    access_token_of,
    account_id_of,
    check_password_policy,
    digest,
    invitation_id_of,
    new_nonce,
    party_id_for,
    token_id_of,
)
from services.accounts.errors import AuthenticationFailed, InvalidCreditCode
from services.accounts.passwords import hash_password, verify_password


class Commands:
    """Mixed into `Accounts`: each command checks who calls, then saves the account's (or the
    invitation's) events."""

    # --- applicants register themselves (gateway) -----------------------------------------

    def register(self, caller: Caller, data: dict) -> dict:
        """注册账户: an applicant unit's contact person; unconfirmed until the e-mailed link is followed."""
        caller.require_role("gateway")
        code, email, password = data["credit_code"], data["email"], data["password"]
        problems = credit_codes.check_credit_code(code)
        if problems:
            raise InvalidCreditCode.of(
                "credit_code", "the unified social credit code fails GB 32100: "
                + "; ".join(p.message for p in problems), field="credit_code", credit_code=code,
                problems=[{"rule": p.rule, "message": p.message} for p in problems])
        check_password_policy(password, email)
        existing = self._get(account_id_of(email))
        if existing is not None:
            if (existing.origin == REGISTRATION and not existing.confirmed and existing.organization == code
                    and verify_password(existing.password_hash, password)):
                return existing.view()  # the same registration delivered again: the first answer
            raise self._email_taken(email)
        account = Account.open(
            email=email, name=data["contact_name"], role="applicant", organization=code, party_id=None,
            admin=False, confirmed=False, password_hash=hash_password(password), origin=REGISTRATION,
            details={"unit_name": data["unit_name"], "credit_code": code, "phone": data["phone"]},
        )
        account.request_confirmation(new_nonce(), clock.now(), self.limits)
        self._save_new(account, email=email)
        return account.view()

    def confirm_email(self, caller: Caller, token: str) -> dict:
        caller.require_role("gateway")
        account, nonce = self._linked(Account, _verified(token, CONFIRM_EMAIL))
        return self._change(account.id, lambda a: a.confirm_email(nonce, clock.now())).view()

    def resend_confirmation(self, caller: Caller, email: str) -> dict:
        """A new confirmation link (the older one no longer works) for an unconfirmed account; the
        answer never says whether there is one."""
        caller.require_role("gateway")
        account = self._get(account_id_of(email))
        if isinstance(account, Account) and not account.confirmed and not account.deactivated:
            self._change(account.id, lambda a: a.request_confirmation(new_nonce(), clock.now(), self.limits))
        return {"requested": True}

    # --- passwords (gateway, and the account itself) -----------------------------------

    def request_password_reset(self, caller: Caller, email: str) -> dict:
        """E-mail a reset link to an account's address; the answer never says whether there is one."""
        caller.require_role("gateway")
        account = self._get(account_id_of(email))
        if isinstance(account, Account) and not account.deactivated:
            self._change(account.id, lambda a: a.request_password_reset(new_nonce(), clock.now(), self.limits))
        return {"requested": True}

    def reset_password(self, caller: Caller, token: str, password: str) -> dict:
        caller.require_role("gateway")
        account, nonce = self._linked(Account, _verified(token, PASSWORD_RESET))
        check_password_policy(password, account.email)
        password_hash = hash_password(password)
        return self._change(account.id, lambda a: a.reset_password(nonce, password_hash, clock.now())).view()

    def change_password(self, caller: Caller, current_password: str, new_password: str) -> dict:
        account = self._account_of(caller)
        if not verify_password(account.password_hash, current_password):
            account.fail_sign_in(clock.now(), self.limits)  # guessing it counts as a failed sign-in
            self.save(account)
            raise AuthenticationFailed("the current password is wrong",
                                       {"rule": "credentials", "field": "current_password"})
        check_password_policy(new_password, account.email)
        password_hash = hash_password(new_password)
        return self._change(account.id, lambda a: a.change_password(password_hash, caller.as_actor())).view()

    # --- invitations (SAC administrators, then the invitee through the gateway) ----------

    def invite(self, caller: Caller, data: dict) -> dict:
        """Invite someone to an account; inviting the same address with the same terms while the
        invitation is pending answers that invitation (no second e-mail); other terms, or an
        expired invitation, send a new link."""
        admin = self._admin_of(caller)
        email, now = data["email"], clock.now()
        if self._get(account_id_of(email)) is not None:
            raise self._email_taken(email)
        terms = {"name": data["name"], "role": data["role"], "organization": data["organization"],
                 "party_id": data["party_id"], "admin": data["admin"]}
        party_id_for(terms["role"], terms["party_id"], account_id_of(email))  # an expert names the expert id
        self._require_party_free(terms["role"], terms["party_id"], None)
        invitation = self._get(invitation_id_of(email))
        if invitation is None:
            invitation = Invitation.issue(email=email, **terms, nonce=new_nonce(), now=now, limits=self.limits,
                                          actor=admin.actor)
        elif invitation.accepted_by is not None:
            raise self._email_taken(email)
        elif invitation.pending(now) and invitation.terms() == terms:
            return invitation.view(now)  # the same invitation delivered again
        else:
            invitation.reissue(**terms, nonce=new_nonce(), now=now, limits=self.limits, actor=admin.actor)
        self._save_new(invitation, email=email)
        return invitation.view(now)

    def accept_invitation(self, caller: Caller, token: str, password: str, name: str | None) -> dict:
        """The invitee sets the password: the account opens, active (the link proved the address)."""
        caller.require_role("gateway")
        invitation, nonce = self._linked(Invitation, _verified(token, ACCEPT_INVITATION))
        account_id = account_id_of(invitation.email)
        invitation.accept(nonce, clock.now(), account_id)
        if self._get(account_id) is not None:
            raise self._email_taken(invitation.email)
        check_password_policy(password, invitation.email)
        self._require_party_free(invitation.role, invitation.party_id, None)
        account = Account.open(
            email=invitation.email, name=name or invitation.name, role=invitation.role,
            organization=invitation.organization,
            party_id=party_id_for(invitation.role, invitation.party_id, account_id), admin=invitation.admin,
            confirmed=True, password_hash=hash_password(password), origin=INVITATION,
            details={"invitation_id": str(invitation.id), "invited_by": invitation.invited_by},
        )
        self._save_new(invitation, account, email=invitation.email)
        return account.view()

    # --- personal access tokens (the account itself) ------------------------------------

    def create_token(self, caller: Caller, data: dict) -> dict:
        """A personal access token for scripts: its plaintext (`inb_…`) is in this answer only."""
        account = self._account_of(caller)
        token_id = token_id_of(account.id, data["request_id"])
        plaintext = access_token_of(token_id, shared_settings.get().token_secret)
        token = account.tokens.get(str(token_id))
        if token is None:
            expires_at = clock.now() + timedelta(days=data["expires_days"]) if data["expires_days"] else None
            account.create_token(token_id, digest(plaintext), data["name"], data["scope"], expires_at,
                                 caller.as_actor())
            self.save(account)
            token = account.tokens[str(token_id)]
        return {"token_id": str(token_id), "token": plaintext, "name": token["name"], "scope": token["scope"],
                "expires_at": token["expires_at"].isoformat() if token["expires_at"] else None}

    def revoke_token(self, caller: Caller, token_id) -> dict:
        account = self._account_of(caller)
        self._change(account.id, lambda a: a.revoke_token(token_id, caller.as_actor()))
        return {"token_id": str(token_id), "revoked": True}

    # --- SAC administrators -----------------------------------------------------------

    def deactivate(self, caller: Caller, account_id, reason: str) -> dict:
        """停用: takes effect on the account's next request; its sessions end."""
        admin = self._admin_of(caller)
        self._not_yourself(admin, account_id, "an administrator does not deactivate their own account")
        return self._change(self._account(account_id).id, lambda a: a.deactivate(reason, caller.as_actor())).view()

    def reactivate(self, caller: Caller, account_id) -> dict:
        self._admin_of(caller)
        return self._change(self._account(account_id).id, lambda a: a.reactivate(caller.as_actor())).view()

    def set_role(self, caller: Caller, data: dict) -> dict:
        """Grant a role and the organization the account acts for (and the admin flag)."""
        admin = self._admin_of(caller)
        account = self._account(data["account_id"])
        role = data["role"]
        flag = data["admin"] if data["admin"] is not None else (account.admin and role == "officer")
        if account.id == admin.id and not (role == "officer" and flag):
            self._not_yourself(admin, account.id, "an administrator does not withdraw their own rights")
        kept_expert_id = account.party_id if role == account.role == "expert" else None
        party_id = party_id_for(role, data["party_id"] or kept_expert_id, account.id)
        self._require_party_free(role, party_id, account.id)
        return self._change(account.id, lambda a: a.change_role(role, data["organization"], party_id, flag,
                                                                caller.as_actor())).view()

    # --- ops --------------------------------------------------------------------------

    def create_admin(self, caller: Caller, email: str, name: str, password: str) -> dict:
        """The first SAC administrator (`innobase accounts create-admin`); never over an existing address."""
        caller.require_role("ops")
        if self._get(account_id_of(email)) is not None:
            raise self._email_taken(email)
        check_password_policy(password, email)
        account = Account.open(email=email, name=name, role="officer", organization=SAC, party_id=None,
                               admin=True, confirmed=True, password_hash=hash_password(password),
                               origin=BOOTSTRAP, actor=caller.as_actor())
        self._save_new(account, email=email)
        return account.view()

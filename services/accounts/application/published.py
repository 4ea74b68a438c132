"""The facts accounts publishes for the gateway and notification: each domain event they
hear of, as the integration event of its contract in `shared.contracts`."""
from __future__ import annotations

from services.accounts.domain import INVITATION, REGISTRATION, account_id_of, party_id_for


class Published:
    """Mixed into `Accounts`: the outbox asks `integration_event` of every domain event; None
    keeps an event inside accounts."""

    def integration_event(self, domain_event):
        name = type(domain_event).__name__
        e = domain_event
        account_id = {"account_id": e.originator_id}
        if name == "Opened":
            identity = {k: getattr(e, k) for k in ("role", "organization", "party_id", "admin")}
            common = {**account_id, **identity, "email": e.email, "name": e.name}
            if e.origin == REGISTRATION:
                return "AccountRegistered", 1, {**common, **{k: e.details[k] for k in ("unit_name", "credit_code",
                                                                                        "phone")}}
            if e.origin == INVITATION:
                return "InvitationAccepted", 1, {**common, "invitation_id": e.details["invitation_id"]}
            return "AdminCreated", 1, common
        if name in ("EmailConfirmationRequested", "PasswordResetRequested"):
            account = self.repository.get(e.originator_id, version=e.originator_version)
            return name, 1, {**account_id, "email": account.email, "name": account.name, "nonce": e.nonce,
                             "expires_at": e.expires_at}
        if name in ("Issued", "Reissued"):
            invitation = self.repository.get(e.originator_id, version=e.originator_version)
            return "Invited", 1, {
                "invitation_id": e.originator_id, "email": invitation.email, **invitation.terms(),
                "party_id": party_id_for(invitation.role, invitation.party_id, account_id_of(invitation.email)),
                "nonce": e.nonce, "expires_at": e.expires_at}
        if name == "EmailConfirmed":
            account = self.repository.get(e.originator_id, version=e.originator_version)
            return "AccountConfirmed", 1, {**account_id, "email": account.email}
        if name == "PasswordChanged":
            return "PasswordChanged", 1, {**account_id, "reason": e.reason}
        if name == "RoleChanged":
            return "RoleChanged", 1, {**account_id, "role": e.role, "organization": e.organization,
                                      "party_id": e.party_id, "admin": e.admin, "previous": e.previous}
        if name == "Locked":
            return "AccountLocked", 1, {**account_id, "until": e.until, "failures": e.failures}
        if name == "Deactivated":
            return "AccountDeactivated", 1, {**account_id, "reason": e.reason}
        if name == "Reactivated":
            return "AccountReactivated", 1, account_id
        if name == "SessionEnded":
            return "SessionEnded", 1, {**account_id, "session_digest": e.session_digest, "reason": e.reason}
        if name == "TokenRevoked":
            return "TokenRevoked", 1, {**account_id, "token_id": e.token_id, "token_digest": e.token_digest}
        return None

"""Accounts' nameko entrypoints: what the gateway calls for sign-up, sign-in, sessions and
tokens, what an account does for itself, what SAC administrators grant, and ops' bootstrap."""
import shared.process  # noqa: F401  (first: green psycopg2, the clock)
from services.accounts import schemas
from services.accounts.application import Accounts
from shared.rpc import command, query, service_base


class AccountsService(service_base(Accounts)):
    name = "accounts"

    # --- the gateway, on behalf of someone not signed in yet ----------------------------

    @command(schemas.Register)
    def register(self, caller, data):
        """Gateway. 注册账户: an applicant unit's contact person registers with the unit's credit code
        (GB 32100, `InvalidCreditCode`), unit name, their name, e-mail and password (at least 10
        characters, not all digits, not the e-mail: `WeakPassword` names the rule). The account is
        `unconfirmed` until the link of the confirmation e-mail is followed (`confirm_email`).
        Registering the same address again with the same password answers the same account; any other
        `EmailTaken`. Returns the account view."""
        return self.app.register(caller, data)

    @command(schemas.LinkToken)
    def confirm_email(self, caller, data):
        """Gateway. Confirms the address with the link token of the confirmation e-mail (once:
        `LinkInvalid` with rule `link_token_used`, `link_token_expired`, `link_token_invalid`).
        Returns the account view, now `active`."""
        return self.app.confirm_email(caller, data["token"])

    @command(schemas.EmailOnly)
    def resend_confirmation(self, caller, data):
        """Gateway. Sends a new confirmation e-mail to an unconfirmed account (the older link no
        longer works); the answer is the same whether or not there is one. Returns `{requested: true}`."""
        return self.app.resend_confirmation(caller, data["email"])

    @command(schemas.SignIn)
    def sign_in(self, caller, data):
        """Gateway. A new browser session for the right e-mail and password. A wrong password and an
        unknown address both answer `AuthenticationFailed` (rule `credentials`); after
        `INNOBASE_LOGIN_MAX_FAILURES` (5) failures within `INNOBASE_LOGIN_WINDOW_MINUTES` (15) the
        account is locked for `INNOBASE_LOCKOUT_MINUTES` (15): every sign-in until then, the right
        password too, answers `AccountLocked` with `details.until`.
        `AccountNotConfirmed`, `AccountDeactivated` for the right password of such an account.
        Returns `{account, session_id, expires_at}`: the session id is in this answer only."""
        return self.app.sign_in(caller, data["email"], data["password"])

    @command(schemas.SessionRef)
    def resolve_session(self, caller, data):
        """Gateway. The account behind a session id, if the session is live: not ended, within
        `INNOBASE_SESSION_HOURS` (8) of sign-in and used within `INNOBASE_SESSION_IDLE_MINUTES` (30)
        (activity recorded at most every 5 minutes), its account not deactivated; else
        `AuthenticationFailed` with rule `session`. Returns `{account, expires_at}`."""
        return self.app.resolve_session(caller, data["session_id"])

    @command(schemas.SessionRef)
    def sign_out(self, caller, data):
        """Gateway. Ends the session (`SessionEnded`); an unknown one changes nothing. Returns `{signed_out: true}`."""
        return self.app.sign_out(caller, data["session_id"])

    @command(schemas.EmailOnly)
    def request_password_reset(self, caller, data):
        """Gateway. E-mails a password-reset link (valid 1 h) if an active account has this address;
        the answer is the same either way. Returns `{requested: true}`."""
        return self.app.request_password_reset(caller, data["email"])

    @command(schemas.ResetPassword)
    def reset_password(self, caller, data):
        """Gateway. Sets a new password with the reset e-mail's link token (once); every session of
        the account ends. Returns the account view."""
        return self.app.reset_password(caller, data["token"], data["password"])

    @command(schemas.AcceptInvitation)
    def accept_invitation(self, caller, data):
        """Gateway. The invitee sets a password (and may correct the name) with the invitation e-mail's
        link token (once, within 72 h): the account opens, active, with the role, organization and
        party the invitation named. Returns the account view."""
        return self.app.accept_invitation(caller, data["token"], data["password"], data["name"])

    @query(schemas.AccessToken)
    def resolve_token(self, caller, data):
        """Gateway. The account behind a personal access token (`Authorization: Bearer inb_…`), if it
        is not revoked or expired and the account is active; else `AuthenticationFailed` with rule
        `token`. Returns `{account, token_id, scope}`."""
        return self.app.resolve_token(caller, data["token"])

    # --- the account itself (a token minted for its party, role and organization) --------

    @query()
    def me(self, caller, data):
        """The account itself. Returns its view: `{account_id, email, name, role, organization,
        party_id, admin, status, created_at}`."""
        return self.app.me(caller)

    @command(schemas.ChangePassword)
    def change_password(self, caller, data):
        """The account itself. A wrong current password counts as a failed sign-in. Every session of
        the account ends. Returns the account view."""
        return self.app.change_password(caller, data["current_password"], data["new_password"])

    @command(schemas.CreateToken)
    def create_token(self, caller, data):
        """The account itself. A personal access token for scripts, `read` or `write`, expiring after
        `expires_days` (none: until revoked). The same `request_id` again answers the same token.
        Returns `{token_id, token, name, scope, expires_at}`: the token is shown here only."""
        return self.app.create_token(caller, data)

    @query()
    def list_tokens(self, caller, data):
        """The account itself. Its tokens, without their values: `{items: [{token_id, name, scope,
        created_at, expires_at, revoked_at}]}`."""
        return self.app.list_tokens(caller)

    @command(schemas.TokenRef)
    def revoke_token(self, caller, data):
        """The account itself. Revokes one of its tokens (`TokenRevoked`); again changes nothing.
        Returns `{token_id, revoked: true}`."""
        return self.app.revoke_token(caller, data["token_id"])

    # --- SAC administrators (officer accounts with the admin flag) ------------------------

    @command(schemas.Invite)
    def invite(self, caller, data):
        """SAC administrator. Invites someone to an account with a role, the organization they act
        for, for an expert the `party_id` of expert review's register, and the admin flag (officers
        only): the invitation e-mail carries a link valid 72 h. The same terms again while pending
        answer the same invitation; other terms or an expired one send a new link. Returns
        `{invitation_id, email, name, role, organization, party_id, admin, expires_at, state}`."""
        return self.app.invite(caller, data)

    @query(schemas.ListAccounts)
    def list_accounts(self, caller, data):
        """SAC administrator. Accounts in e-mail order, filtered by `role`, `organization`, `status`;
        `limit` per page, `cursor` from the previous page. Returns `{items, next_cursor}`."""
        return self.app.list_accounts(caller, data)

    @query()
    def list_invitations(self, caller, data):
        """SAC administrator. Every invitation, newest first, `pending`, `accepted` or `expired`,
        with who invited. Returns `{items}`."""
        return self.app.list_invitations(caller)

    @command(schemas.Deactivate)
    def deactivate(self, caller, data):
        """SAC administrator. 停用: the account's sessions end and its tokens stop working at once,
        on its next request. Not one's own account. Returns the account view."""
        return self.app.deactivate(caller, data["account_id"], data["reason"])

    @command(schemas.AccountRef)
    def reactivate(self, caller, data):
        """SAC administrator. The account may sign in again (old sessions stay ended). Returns the view."""
        return self.app.reactivate(caller, data["account_id"])

    @command(schemas.SetRole)
    def set_role(self, caller, data):
        """SAC administrator. Sets the account's role, organization, party (an expert's id; else the
        account id) and admin flag (default: kept for an officer), recorded with who did it
        (`RoleChanged`). Returns the account view."""
        return self.app.set_role(caller, data)

    @query(schemas.AccountRef)
    def account_history(self, caller, data):
        """SAC administrator, auditor. Every event of the account and of its invitation, in log order, with
        time, actor and payload (no password hash or link nonce): who granted what, when. Returns
        `{account_id, events}`."""
        return self.app.account_history(caller, data["account_id"])

    # --- ops ------------------------------------------------------------------------------

    @command(schemas.CreateAdmin)
    def create_admin(self, caller, data):
        """Ops. The first SAC administrator: an active officer account of organization `SAC` with the
        admin flag (`innobase accounts create-admin`); an existing address is `EmailTaken`. Returns
        the account view."""
        return self.app.create_admin(caller, data["email"], data["name"], data["password"])

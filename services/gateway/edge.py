"""Who is calling over HTTP, and calling the services as them.

`Edge` is the dependency every HTTP entrypoint of the gateway uses. Per request
it identifies the caller (a browser's session cookie, or a script's
`Authorization: Bearer` personal access token, both resolved by the accounts
service), then calls the services' RPCs carrying a short-lived token minted for
that account: the services go on authorising every call themselves. The gateway
keeps no business rule.

A resolved session or token is trusted for `identity_cache_seconds`; the
accounts service's events (deactivation, sign-out, revocation, role or password
change) drop the account's entries in every gateway instance at once (a
broadcast queue per instance), and a change made through this instance drops
them before it answers.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import socket
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass

import eventlet
from kombu import Queue, binding
from nameko.exceptions import UnknownService
from nameko.extensions import DependencyProvider
from nameko.messaging import Consumer
from nameko.rpc import MethodProxy, ReplyListener

from services.gateway import settings as gateway_settings
from services.gateway.problems import EdgeError
from shared import auth, clock, commands, settings
from shared.outbox import events_exchange

log = logging.getLogger(__name__)

SESSION_COOKIE = "innobase_session"
CSRF_COOKIE = "innobase_csrf"       # the double-submit token of a browser not signed in yet
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
CALL_TOKEN_SECONDS = 300
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# Accounts' events after which what the gateway knows of an account is stale.
INVALIDATING_EVENTS = ("AccountDeactivated", "SessionEnded", "TokenRevoked", "RoleChanged",
                       "PasswordChanged", "AccountReactivated")


@dataclass(frozen=True)
class Account:
    account_id: str
    email: str
    name: str
    role: str
    organization: str
    party_id: str
    admin: bool
    status: str

    @classmethod
    def from_view(cls, view: dict) -> "Account":
        return cls(**{name: view.get(name) for name in cls.__dataclass_fields__})

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class Identity:
    account: Account
    via: str                 # "session" or "token"
    key: str                 # the digest it is cached under
    scope: str = "write"     # a token may be read-only
    session_digest: str = ""
    expires_at: str = ""


def digest(secret_value: str) -> str:
    return hashlib.sha256(secret_value.encode("utf-8", "surrogatepass")).hexdigest()


class IdentityCache:
    """Resolved sessions and tokens by digest, for a few seconds; dropped per account on its events."""

    def __init__(self, ttl: float):
        self.ttl = ttl
        self._entries: dict[str, tuple[float, Identity]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Identity | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, identity: Identity) -> None:
        with self._lock:
            if len(self._entries) > 50_000:
                self._entries.clear()
            self._entries[identity.key] = (time.monotonic() + self.ttl, identity)

    def drop(self, key: str) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def drop_account(self, account_id: str) -> int:
        with self._lock:
            stale = [key for key, (_, identity) in self._entries.items() if identity.account.account_id == account_id]
            for key in stale:
                del self._entries[key]
        return len(stale)


class AccountChanges(Consumer):
    """This instance's own queue of accounts' events (exclusive: it goes with the instance)."""

    def __init__(self, **kwargs):
        super().__init__(queue=None, **kwargs)

    def setup(self):
        self.queue = Queue(
            f"gateway.identity.{socket.gethostname()}.{uuid.uuid4().hex[:12]}",
            bindings=[binding(events_exchange(), routing_key="accounts.#")],
            exclusive=True, auto_delete=True, durable=False,
        )
        super().setup()

    def handle_message(self, body, message):
        """A copy of accounts' events for this instance's cache (the events themselves stay in
        accounts' log and the durable queues of the services that follow it). One it cannot read
        might have ended any session: then everything the instance knows is forgotten."""
        try:
            envelope = json.loads(body) if isinstance(body, (str, bytes)) else body
            if envelope.get("type") in INVALIDATING_EVENTS:
                account_id = (envelope.get("payload") or {}).get("account_id")
                if account_id:
                    Edge.cache.drop_account(str(account_id))
                else:
                    Edge.cache.clear()
        except Exception:
            log.warning("gateway: an accounts event it cannot read: every cached identity dropped", exc_info=True)
            Edge.cache.clear()
        self.queue_consumer.ack_message(message)


class Edge(DependencyProvider):
    """Per request: `identify`, `call`, `gateway_call`, sessions and CSRF (see the module's docstring)."""

    reply_listener = ReplyListener()
    cache = IdentityCache(30.0)
    _call_tokens: dict[tuple[str, str, str], tuple[float, float, str]] = {}

    def setup(self):
        auth.refuse_development_secret("gateway")
        self.settings = gateway_settings.get()
        Edge.cache.ttl = self.settings.identity_cache_seconds
        self.secret = settings.get().token_secret
        self.gateway_party = f"gateway-{socket.gethostname()}"

    def get_dependency(self, worker_ctx):
        return EdgeRequest(self, worker_ctx)

    def call_token(self, party_id: str, role: str, organization: str) -> str:
        """A token for the account's calls, minted once and reused for a while: renewed every
        30 s of real time, and sooner when the system's clock (which a test or an operator may
        move) says it would expire within a minute."""
        key = (party_id, role, organization)
        cached = self._call_tokens.get(key)
        now = time.monotonic()
        if cached and cached[0] > now and cached[1] > clock.now().timestamp() + 60:
            return cached[2]
        token = auth.mint(party_id, role, organization, ttl_seconds=CALL_TOKEN_SECONDS)
        if len(self._call_tokens) > 50_000:
            self._call_tokens.clear()
        expires = clock.now().timestamp() + CALL_TOKEN_SECONDS
        self._call_tokens[key] = (now + CALL_TOKEN_SECONDS / 10, expires, token)
        return token


class EdgeRequest:
    def __init__(self, edge: Edge, worker_ctx):
        self.edge = edge
        self.worker_ctx = worker_ctx
        self.identity: Identity | None = None

    # --- who calls -----------------------------------------------------------------

    @property
    def account(self) -> Account | None:
        return self.identity.account if self.identity else None

    def identify(self, request) -> Account | None:
        """The account behind the request, or None; a bad bearer token or session is refused (401)."""
        authorization = request.headers.get("Authorization", "")
        if authorization:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise EdgeError("AuthenticationFailed", "use Authorization: Bearer <token>",
                                {"rule": "authorization_scheme"})
            self.identity = self._resolve("token", token.strip())
        elif request.cookies.get(SESSION_COOKIE):
            self.identity = self._resolve("session", request.cookies[SESSION_COOKIE])
        return self.account

    def _resolve(self, via: str, secret_value: str) -> Identity:
        key = f"{via}:{digest(secret_value)}"
        identity = self.edge.cache.get(key)
        if identity is not None:
            return identity
        if via == "token":
            answer = self.gateway_call("resolve_token", token=secret_value)
            identity = Identity(Account.from_view(answer["account"]), "token", key, scope=answer.get("scope", "read"))
        else:
            answer = self.gateway_call("resolve_session", session_id=secret_value)
            identity = Identity(Account.from_view(answer["account"]), "session", key,
                                session_digest=digest(secret_value), expires_at=answer.get("expires_at", ""))
        self.edge.cache.put(identity)
        return identity

    def require_account(self) -> Account:
        if self.account is None:
            raise EdgeError("AuthenticationFailed", "sign in first", {"rule": "signed_out"})
        return self.account

    def require_write(self, method: str) -> None:
        """A read-only token may only read."""
        if method not in SAFE_METHODS and self.identity is not None and self.identity.scope != "write":
            raise EdgeError("TokenScope", "this token may only read", {"rule": "token_scope", "scope": self.identity.scope})

    def forget_account(self, account_id: str) -> None:
        """After a change of the account made through this instance: its next request asks accounts again."""
        self.edge.cache.drop_account(account_id)

    # --- calling the services ---------------------------------------------------------

    def call(self, service: str, method: str, **kwargs):
        """`service.method(**kwargs)` as the identified account (as the gateway when nobody signed in)."""
        if self.account is None:
            token = self.edge.call_token(self.edge.gateway_party, "gateway", "gateway")
        else:
            account = self.account
            token = self.edge.call_token(account.party_id, account.role, account.organization)
        return self._rpc(service, method, token, kwargs)

    def gateway_call(self, method: str, **kwargs):
        """An accounts RPC that only the gateway may make (sign-in, resolving sessions, links)."""
        token = self.edge.call_token(self.edge.gateway_party, "gateway", "gateway")
        return self._rpc("accounts", method, token, kwargs)

    @contextmanager
    def commanding(self, command_id: str):
        """The calls made inside carry this command id (an Idempotency-Key's), those after none."""
        self.worker_ctx.data[commands.COMMAND_ID] = command_id
        try:
            yield
        finally:
            self.worker_ctx.data.pop(commands.COMMAND_ID, None)

    def _rpc(self, service: str, method: str, token: str, kwargs: dict):
        self.worker_ctx.data[auth.CONTEXT_KEY] = token  # (context_data is a copy of data)
        proxy = MethodProxy(self.worker_ctx, service, method, self.edge.reply_listener)
        try:
            reply = proxy.call_async(**kwargs)
        except UnknownService:
            raise EdgeError("ServiceUnavailable", f"{service} is not running", {"service": service}) from None
        try:
            with eventlet.Timeout(self.edge.settings.rpc_timeout):
                body = reply.reply_event.wait()
        except eventlet.Timeout:
            raise EdgeError("UpstreamTimeout", f"{service}.{method} did not answer in time",
                            {"service": service}) from None
        if body.get("error"):
            raise EdgeError.from_remote(body["error"])
        return body["result"]

    # --- browser sessions ---------------------------------------------------------------

    def sign_in(self, email: str, password: str):
        answer = self.gateway_call("sign_in", email=email, password=password)
        account = Account.from_view(answer["account"])
        session_id = answer["session_id"]
        self.identity = Identity(account, "session", f"session:{digest(session_id)}",
                                 session_digest=digest(session_id), expires_at=answer.get("expires_at", ""))
        self.edge.cache.put(self.identity)
        return account, session_id, answer.get("expires_at")

    def sign_out(self, request) -> None:
        session_id = request.cookies.get(SESSION_COOKIE)
        if not session_id:
            return
        self.edge.cache.drop(f"session:{digest(session_id)}")
        try:
            self.gateway_call("sign_out", session_id=session_id)
        except EdgeError as exc:
            if exc.status >= 500:
                raise
        self.identity = None

    def set_session_cookie(self, response, session_id: str, expires_at: str | None = None) -> None:
        """A browser-session cookie (no Expires): the accounts service ends the session at its
        lifetime or idle timeout, by its own clock; the cookie goes when the browser closes."""
        response.set_cookie(SESSION_COOKIE, session_id, httponly=True, samesite="Lax",
                            secure=self.edge.settings.cookie_secure, path="/")

    def clear_session_cookie(self, response) -> None:
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="Lax",
                               secure=self.edge.settings.cookie_secure)

    # --- CSRF -----------------------------------------------------------------------------

    def csrf_token(self, request) -> str:
        """The token a form or a script with a session cookie sends back: tied to the session, or,
        before sign-in, to a random cookie of its own (double submit)."""
        session_id = request.cookies.get(SESSION_COOKIE)
        if session_id and self.identity is not None and self.identity.via == "session":
            return self._session_csrf(session_id)
        anonymous = request.cookies.get(CSRF_COOKIE) or getattr(request, "new_csrf_cookie", None)
        if not anonymous:
            anonymous = secrets.token_urlsafe(24)
            request.new_csrf_cookie = anonymous  # the response sets it (see `finish`)
        return self._session_csrf("anonymous:" + anonymous)

    def csrf_token_for_session(self, session_id: str) -> str:
        return self._session_csrf(session_id)

    def _session_csrf(self, value: str) -> str:
        return hmac.new(self.edge.secret.encode(), f"csrf:{value}".encode(), hashlib.sha256).hexdigest()[:40]

    def check_csrf(self, request, sent: str | None = None) -> None:
        """Every state-changing request a browser makes carries the token: one acting by its session
        cookie, and an anonymous one that carries cookies or an Origin (a browser, perhaps led by
        another site). A bearer-token script, or a script with no cookie at all, has nothing
        ambient to abuse and needs none."""
        if request.method in SAFE_METHODS or (self.identity is not None and self.identity.via == "token"):
            return
        by_session = self.identity is not None and self.identity.via == "session"
        if not by_session and not request.cookies and not request.headers.get("Origin"):
            return
        if sent is None:
            sent = request.headers.get(CSRF_HEADER) or (
                request.form.get(CSRF_FIELD) if request.mimetype in (
                    "application/x-www-form-urlencoded", "multipart/form-data") else None)
        expected = []
        if by_session:
            expected.append(self._session_csrf(request.cookies[SESSION_COOKIE]))
        elif request.cookies.get(CSRF_COOKIE):
            expected.append(self._session_csrf("anonymous:" + request.cookies[CSRF_COOKIE]))
        if not sent or not any(hmac.compare_digest(sent, token) for token in expected):
            raise EdgeError("CsrfRejected", "missing or wrong CSRF token", {"rule": "csrf"})

    def finish(self, request, response):
        """What every response of the edge carries."""
        new_cookie = getattr(request, "new_csrf_cookie", None)
        if new_cookie:
            response.set_cookie(CSRF_COOKIE, new_cookie, httponly=True, samesite="Lax",
                                secure=self.edge.settings.cookie_secure, path="/")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

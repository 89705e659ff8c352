"""A loopback Microsoft 365 over TLS: the sign-in (OpenID configuration, device code, token
endpoint) and the parts of Graph pdmail uses (``sendMail``, ``/me``, a Form's workbook).

MSAL insists on an https authority, so the server speaks TLS with a certificate from a
``trustme`` test CA; the tests point ``REQUESTS_CA_BUNDLE`` at that CA, the way a school
behind a TLS-inspecting proxy points it at its own. Tokens are JWT-shaped (unsigned), as
Microsoft's are, so a client can read their ``scp``/``roles`` claims.

Faults are queued for ``sendMail`` (or any path containing ``contains``): an error answer
(429 with Retry-After, 5xx), or a dropped connection after the request was read (and, with
``store_first``, after the message was stored: the unknown outcome).
"""

from __future__ import annotations

import base64
import email
import email.policy
import html
import itertools
import json
import ssl
import threading
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from fakes.loopback import KeepAliveHandler, LoopbackFake, LoopbackServer

TENANT = "school-tenant"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
USER = "librarian@school.example.org"


def jwt(claims: Mapping[str, Any]) -> str:
    """An unsigned JWT carrying ``claims``."""

    def part(value: Any) -> str:
        raw = json.dumps(value, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(dict(claims))}.sig"


@dataclass
class Stored:
    """One message Graph took: who sent it (the path's user) and its MIME bytes."""

    user: str
    mime: bytes

    def parsed(self) -> EmailMessage:
        message = email.message_from_bytes(self.mime, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        return message

    @property
    def to(self) -> str:
        return str(self.parsed()["To"].addresses[0].addr_spec)


@dataclass
class Fault:
    status: int = 0
    code: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    store_first: bool = False
    delay: float = 0.0  # seconds before answering (a hung server)
    contains: str = "/sendMail"


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class _Server(LoopbackServer):
    thread_name = "fake-microsoft-connection"

    def __init__(self, fake: FakeMicrosoft, context: ssl.SSLContext) -> None:
        super().__init__(_Handler)
        self.fake = fake
        self.socket = context.wrap_socket(self.socket, server_side=True)


class _Handler(KeepAliveHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(
            self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
        )
        fake = self.server.fake
        try:
            reply = fake.answer(request)
        except Exception as exc:  # a bug in the fake: say so in the test
            fake.errors.append(repr(exc))
            reply = (500, {}, b'{"error": {"code": "FakeBug"}}')
        if reply is None:  # drop the connection without an answer
            self.close_connection = True
            return
        status, headers, payload = reply
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def _json(status: int, body: Any, headers: Mapping[str, str] | None = None) -> tuple[
        int, dict[str, str], bytes]:  # fmt: skip
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(
        body).encode()  # fmt: skip


def _error(status: int, code: str, message: str) -> tuple[int, dict[str, str], bytes]:
    return _json(status, {"error": {"code": code, "message": message}})


class FakeMicrosoft(LoopbackFake):
    """``with FakeMicrosoft(cert) as ms:`` serves on ``ms.base_url`` (``https://127.0.0.1:P``):
    the sign-in at ``/<tenant>/...`` and Graph at ``/v1.0/...``."""

    def __init__(self, context: ssl.SSLContext, *, scopes: str = "Mail.Send") -> None:
        super().__init__("fake-microsoft", lambda: _Server(self, context))
        self.lock = threading.Lock()
        self.scopes = scopes  # what the device-code sign-in grants (scp)
        self.roles = ["Mail.Send"]  # what client credentials grant
        self.secret = "app-secret"
        self.requests: list[Request] = []
        self.stored: list[Stored] = []
        self.faults: list[Fault] = []
        self.errors: list[str] = []
        self.valid_tokens: set[str] = set()
        self.revoked = False  # refresh tokens refused (invalid_grant)
        self.token_outage = 0  # token requests answered 503
        self.me_forbidden = False
        self.expires_in = 3600  # below 300 s, MSAL refreshes before every use
        self.device_error = ""  # the device-code sign-in ends with this error
        self.nonce = ""  # of the browser sign-in under way
        self.authorize_scopes = ""
        self.user = USER
        self.workbook: dict[str, list[list[Any]]] = {}
        self.formats: dict[str, list[list[str]]] = {}
        self.share_url = "https://school-my.sharepoint.com/:x:/g/personal/lib/EaBcD"
        self._ids = itertools.count(1)

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    @property
    def sends(self) -> list[Request]:
        return [r for r in self.requests if r.path.endswith("/sendMail")]

    def fail_next(self, status: int = 0, *, count: int = 1, **kwargs: Any) -> None:
        with self.lock:
            self.faults += [Fault(status=status, **kwargs) for _ in range(count)]

    # -- routing ------------------------------------------------------------------------------

    def answer(self, request: Request) -> tuple[int, dict[str, str], bytes] | None:
        with self.lock:
            self.requests.append(request)
        path = urllib.parse.urlsplit(request.path).path
        if path.startswith(f"/{TENANT}/"):
            return self._login(request, path.removeprefix(f"/{TENANT}"))
        if not path.startswith("/v1.0/"):
            return _json(404, {"error": {"code": "NotFound", "message": path}})
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.valid_tokens:
            return _error(401, "InvalidAuthenticationToken", "Access token is empty or invalid.")
        fault = self._take_fault(request)
        if fault is not None:
            if fault.store_first:
                self._store(request, path)
            if fault.delay:
                self._stopping.wait(fault.delay)
            if fault.drop:
                return None
            return _json(
                fault.status,
                {"error": {"code": fault.code or "Fault", "message": "injected"}},
                fault.headers,
            )
        return self._graph(request, path.removeprefix("/v1.0"))

    def _take_fault(self, request: Request) -> Fault | None:
        with self.lock:
            for i, fault in enumerate(self.faults):
                if fault.contains in request.path:
                    return self.faults.pop(i)
        return None

    # -- the sign-in --------------------------------------------------------------------------

    def _login(self, request: Request, path: str) -> tuple[int, dict[str, str], bytes]:
        base = f"{self.base_url}/{TENANT}"
        if path == "/v2.0/.well-known/openid-configuration":
            return _json(200, {
                "issuer": f"{base}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            })  # fmt: skip
        form = dict(urllib.parse.parse_qsl(request.body.decode()))
        if path == "/oauth2/v2.0/authorize":
            # The browser sign-in: the librarian signs in and Microsoft sends the browser back
            # to MSAL's local server with a code.
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(request.path).query))
            self.nonce = query.get("nonce", "")
            self.authorize_scopes = query.get("scope", "")
            # MSAL asks for response_mode=form_post: a page that posts the code back.
            fields = {"code": "auth-code-1", "state": query.get("state", "")}
            inputs = "".join(
                f'<input type="hidden" name="{k}" value="{html.escape(v)}">'
                for k, v in fields.items()
            )
            page = (
                f'<html><body onload="document.forms[0].submit()"><form method="post" '
                f'action="{html.escape(query["redirect_uri"])}">{inputs}</form></body></html>'
            )
            return 200, {"Content-Type": "text/html"}, page.encode()
        if path == "/oauth2/v2.0/devicecode":
            return _json(200, {
                "device_code": "device-code-1", "user_code": "ABCD-EFGH",
                "verification_uri": "https://microsoft.com/devicelogin", "expires_in": 900,
                "interval": 1,
                "message": "To sign in, use a web browser to open the page "
                           "https://microsoft.com/devicelogin and enter the code ABCD-EFGH.",
            })  # fmt: skip
        if path == "/oauth2/v2.0/token":
            if self.token_outage:
                self.token_outage -= 1
                return _json(503, {"error": "temporarily_unavailable",
                                   "error_description": "AADSTS50000: try later"})  # fmt: skip
            grant = form.get("grant_type", "")
            if grant == "client_credentials":
                if form.get("client_secret") != self.secret:
                    said = "AADSTS7000215: Invalid client secret provided."
                    return _json(401, {"error": "invalid_client", "error_description": said})
                return _json(200, self._tokens("", roles=self.roles, refresh=False))
            if grant == "refresh_token" and self.revoked:
                return _json(400, {"error": "invalid_grant", "error_description":
                                   "AADSTS700082: The refresh token has expired due to "
                                   "inactivity."})  # fmt: skip
            if grant.endswith("device_code") and self.device_error:
                said = "AADSTS65001: The user or administrator has not consented."
                return _json(400, {"error": self.device_error, "error_description": said})
            if grant == "authorization_code" and form.get("code") != "auth-code-1":
                return _json(400, {"error": "invalid_grant"})
            if grant in (
                "refresh_token",
                "authorization_code",
                "urn:ietf:params:oauth:grant-type:device_code",
            ):
                asked = [s for s in form.get("scope", "").split()
                         if s not in ("openid", "profile", "offline_access")]  # fmt: skip
                scp = "SMTP.Send" if any("SMTP.Send" in s for s in asked) else self.scopes
                return _json(200, self._tokens(scp))
            return _json(400, {"error": "unsupported_grant_type"})
        return _json(404, {"error": "not_found"})

    def _tokens(self, scp: str, *, roles: list[str] | None = None, refresh: bool = True) -> dict[
            str, Any]:  # fmt: skip
        now = int(time.time())
        n = next(self._ids)
        claims: dict[str, Any] = {"aud": "https://graph.microsoft.com", "iat": now,
                                  "exp": now + self.expires_in, "n": n}  # fmt: skip
        if roles is not None:
            claims["roles"] = roles
        else:
            claims["scp"] = scp
        access = jwt(claims)
        with self.lock:
            self.valid_tokens.add(access)
        out: dict[str, Any] = {
            "token_type": "Bearer", "expires_in": self.expires_in, "access_token": access,
            # As Microsoft writes it: Graph's permissions by their short names, another
            # resource's by its URI.
            "scope": " ".join(s if s != "SMTP.Send" else "https://outlook.office.com/SMTP.Send"
                              for s in scp.split()),
        }  # fmt: skip
        if refresh:
            uid, utid = "user-oid-1", "tenant-id-1"
            out["refresh_token"] = f"refresh-{n}"
            out["client_info"] = base64.urlsafe_b64encode(
                json.dumps({"uid": uid, "utid": utid}).encode()).decode().rstrip("=")  # fmt: skip
            out["id_token"] = jwt({
                "iss": f"{self.base_url}/{TENANT}/v2.0", "aud": CLIENT_ID, "iat": now,
                "exp": now + 3600, "sub": "sub-1", "oid": uid, "tid": utid,
                "preferred_username": self.user, "name": "Lib Rarian",
                **({"nonce": self.nonce} if self.nonce else {}),
            })  # fmt: skip
        return out

    # -- Graph ---------------------------------------------------------------------------------

    def _graph(self, request: Request, path: str) -> tuple[int, dict[str, str], bytes]:
        if request.method == "POST" and path.endswith("/sendMail"):
            if request.headers.get("content-type") != "text/plain":
                return _json(415, {"error": {"code": "UnsupportedMediaType"}})
            try:
                base64.b64decode(request.body, validate=True)
            except ValueError:
                return _error(
                    400, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME."
                )
            self._store(request, path)
            return 202, {}, b""
        if path in ("/me", f"/users/{self.user}"):
            if self.me_forbidden:
                return _error(403, "ErrorAccessDenied", "Access is denied.")
            return _json(200, {"mail": self.user, "userPrincipalName": self.user})
        return self._workbook(path)

    def _store(self, request: Request, path: str) -> None:
        user = path.removeprefix("/v1.0").removesuffix("/sendMail")
        with self.lock:
            self.stored.append(Stored(user, base64.b64decode(request.body)))

    def _workbook(self, path: str) -> tuple[int, dict[str, str], bytes]:
        share = base64.urlsafe_b64encode(self.share_url.encode()).decode().rstrip("=")
        item = "/drives/b!drive1/items/ITEM1"
        if path == f"/shares/u!{share}/driveItem":
            return _json(200, {"id": "ITEM1", "name": "Library update.xlsx",
                               "parentReference": {"driveId": "b!drive1"}})  # fmt: skip
        if path == f"{item}/workbook/worksheets":
            return _json(200, {"value": [{"name": n, "position": i}
                                         for i, n in enumerate(self.workbook)]})  # fmt: skip
        prefix = f"{item}/workbook/worksheets/"
        if path.startswith(prefix) and path.endswith("/usedRange(valuesOnly=true)"):
            name = urllib.parse.unquote(path[len(prefix) :].split("/")[0])
            if name not in self.workbook:
                return _error(404, "ItemNotFound", "The requested resource doesn't exist.")
            values = self.workbook[name]
            formats = self.formats.get(name) or [["General"] * len(r) for r in values]
            return _json(200, {"address": f"{name}!A1", "values": values,
                               "numberFormat": formats})  # fmt: skip
        return _json(404, {"error": {"code": "ItemNotFound", "message": path}})

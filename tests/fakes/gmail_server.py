"""A loopback fake of the Gmail API v1 send path, for tests that drive the real googleapiclient.

What a test author gets:

* ``FakeGmail``: a threaded HTTP/1.1 server on ``127.0.0.1`` (port chosen by the OS).
  ``with FakeGmail() as fake:`` starts it; ``fake.base_url`` is ``http://127.0.0.1:PORT``, to
  put where ``https://gmail.googleapis.com`` was (the discovery document's ``rootUrl``).
* Endpoints: ``POST /gmail/v1/users/{userId}/messages/send`` with ``{"raw": base64url,
  "threadId"?}`` stores the decoded bytes and answers ``{"id", "threadId", "labelIds":
  ["SENT"]}`` (a new thread unless ``threadId`` names one the fake knows);
  ``GET /gmail/v1/users/{userId}/messages/{id}?format=raw`` returns the stored bytes.
  Anything else answers 404 naming the fake, so an unsupported call fails loudly.
* Authentication: ``Authorization: Bearer <token>`` is required (any non-empty token, or only
  ``token`` when given); otherwise 401 in Gmail's error envelope.
* State and instrumentation: ``stored`` (every message kept, in order), ``requests`` (every
  request received, with its answer's status, None when the connection was dropped),
  ``sends`` (the send requests only), ``count``, ``errors`` (bugs inside the fake itself).
* Fault injection on ``messages.send``: ``fail_next`` answers the next send(s) with a
  Gmail-shaped error, a ``Retry-After`` header, a delay, or a dropped connection, optionally
  after the message was stored (``store_first``): "Gmail kept it, the client never heard".

Error bodies use Gmail's older envelope, ``{"error": {"code", "message", "errors": [{"message",
"domain", "reason"}], "status"}}``; the messages and reasons are the ones Gmail documents for
its usage limits and errors. Known simplifications: no labels, drafts, history, search or
``format=full``/``metadata``; the message is not checked beyond being base64 of a message with
a recipient; an unknown ``threadId`` answers 404 (not checked against the live API).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import email
import email.policy
import itertools
import json
import socket
import threading
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from fakes.loopback import KeepAliveHandler, LoopbackFake, LoopbackServer

__all__ = ["FakeGmail", "RecordedRequest", "StoredMessage"]

_PREFIX = "/gmail/v1/users/"

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

# (message, domain) for each reason, as Gmail words them.
_REASONS = {
    "rateLimitExceeded": ("User-rate limit exceeded.", "usageLimits"),
    "userRateLimitExceeded": ("User Rate Limit Exceeded", "usageLimits"),
    "dailyLimitExceeded": ("Daily Limit Exceeded", "usageLimits"),
    "quotaExceeded": ("Quota exceeded for quota metric 'Daily sending'.", "usageLimits"),
    "insufficientPermissions": ("Request had insufficient authentication scopes.", "global"),
    "forbidden": ("Forbidden", "global"),
    "invalidArgument": ("Invalid To header", "global"),
    "failedPrecondition": ("Precondition check failed.", "global"),
    "notFound": ("Requested entity was not found.", "global"),
    "backendError": ("Backend Error", "global"),
    "authError": ("Invalid Credentials", "global"),
}
_DEFAULT_REASONS = {
    400: "invalidArgument",
    401: "authError",
    403: "insufficientPermissions",
    404: "notFound",
    429: "rateLimitExceeded",
    500: "backendError",
    503: "backendError",
}
_AUTH_MESSAGE = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)


@dataclass
class RecordedRequest:
    """One request as the fake received it: the path is decoded and has no query string;
    ``body`` is the parsed JSON (the text when not JSON, None when empty); ``status`` is the
    answer's status, None when the connection was dropped without one."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    status: int | None = None

    @property
    def line(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class StoredMessage:
    """A message the fake kept: its ids, the mailbox (``userId`` as sent) and the raw bytes."""

    id: str
    thread_id: str
    user_id: str
    raw: bytes
    label_ids: tuple[str, ...] = ("SENT",)

    def parsed(self) -> EmailMessage:
        """The stored bytes parsed with the standard library's default policy."""
        message = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        return message


@dataclass
class _Fault:
    status: int | None
    remaining: int
    reason: str | None
    message: str | None
    retry_after: float | str | None
    store_first: bool
    drop: bool
    delay: float | None


@dataclass
class _Reply:
    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)


class _ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str | None = None) -> None:
        default_message, domain = _REASONS.get(reason, (reason, "global"))
        self.code = code
        self.reason = reason
        self.domain = domain
        self.message = message or default_message
        super().__init__(self.message)

    def envelope(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "errors": [{"message": self.message, "domain": self.domain, "reason": self.reason}],
                "status": _STATUS_NAMES.get(self.code, "UNKNOWN"),
            }
        }


def _json_reply(status: int, payload: Any, headers: Iterable[tuple[str, str]] = ()) -> _Reply:
    body = (json.dumps(payload, indent=2) + "\n").encode("utf-8")
    return _Reply(status, body, [("Content-Type", "application/json; charset=UTF-8"), *headers])


# --------------------------------------------------------------------------------------------
# The server


class _Server(LoopbackServer):
    thread_name = "fake-gmail-connection"

    def __init__(self, fake: FakeGmail) -> None:
        super().__init__(_Handler)
        self.fake = fake


class _Handler(KeepAliveHandler):
    server: _Server

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        # The whole request is read before anything is decided, so a drop always comes after
        # the client has sent everything: the "stored, then the line died" case.
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        reply = self.server.fake._serve(self.command, self.path, dict(self.headers.items()), raw)
        if reply is None:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        with contextlib.suppress(ConnectionError):
            self.send_response(reply.status)
            for name, value in reply.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
            self.wfile.flush()


class FakeGmail(LoopbackFake):
    """A loopback Gmail v1 server for ``messages.send`` and ``messages.get(format=raw)``.

    ``token``: when given, only ``Authorization: Bearer <token>`` is accepted; otherwise any
    non-empty bearer token is. State may be read from the test thread while the server runs.
    """

    def __init__(self, *, token: str | None = None) -> None:
        self.token = token
        self.requests: list[RecordedRequest] = []
        self.errors: list[str] = []
        self._messages: list[StoredMessage] = []
        self._threads: set[str] = set()
        self._faults: list[_Fault] = []
        self._ids = itertools.count(0x18C2F0A1B2C3D000)
        self._lock = threading.RLock()
        super().__init__("FakeGmail", lambda: _Server(self))

    # -- state and instrumentation -------------------------------------------------------------

    @property
    def stored(self) -> list[StoredMessage]:
        """Every message kept, oldest first."""
        with self._lock:
            return list(self._messages)

    @property
    def sends(self) -> list[RecordedRequest]:
        """The ``messages.send`` requests received, oldest first."""
        with self._lock:
            return [r for r in self.requests if _is_send(r.method, r.path)]

    def message(self, message_id: str) -> StoredMessage:
        with self._lock:
            for stored in self._messages:
                if stored.id == message_id:
                    return stored
        raise KeyError(f"no message {message_id!r} in the fake")

    def count(self, method: str | None = None, contains: str | None = None) -> int:
        """How many recorded requests have this method and contain this text in
        ``"METHOD /decoded/path"``; both filters optional."""
        with self._lock:
            return sum(
                1
                for r in self.requests
                if (method is None or r.method == method.upper())
                and (contains is None or contains in r.line)
            )

    def fail_next(
        self,
        status: int | None = None,
        *,
        reason: str | None = None,
        message: str | None = None,
        retry_after: float | str | None = None,
        count: int = 1,
        store_first: bool = False,
        drop: bool = False,
        delay: float | None = None,
    ) -> None:
        """Make the next ``count`` ``messages.send`` requests fail (other calls pass).

        ``status``: answer with a Gmail-shaped error: ``reason`` (default by status: 429
        rateLimitExceeded, 403 insufficientPermissions, 400 invalidArgument, 500 and 503
        backendError) picks the wording, e.g. ``userRateLimitExceeded``,
        ``dailyLimitExceeded``; ``message`` replaces the wording. ``retry_after`` adds a
        ``Retry-After`` header. ``store_first``: keep the message before failing (a 5xx after
        Gmail accepted it). ``drop``: close the connection without any answer. ``delay``:
        wait this many seconds first (beyond the client's timeout); with no status and no drop
        the request is then answered normally. Authentication is checked first: a 401 does
        not consume a fault.
        """
        if status is None and not drop and delay is None:
            raise ValueError("fail_next needs a status, drop=True or a delay")
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._faults.append(
                _Fault(status, count, reason, message, retry_after, store_first, drop, delay)
            )

    def clear_faults(self) -> None:
        """Forget every fault still queued (the provider's limit was lifted)."""
        with self._lock:
            self._faults.clear()

    def pending_faults(self) -> int:
        with self._lock:
            return sum(f.remaining for f in self._faults)

    # -- request handling ----------------------------------------------------------------------

    def _serve(
        self, method: str, target: str, headers: dict[str, str], raw: bytes
    ) -> _Reply | None:
        split = urlsplit(target)
        body: Any = None
        if raw:
            text = raw.decode("utf-8", errors="replace")
            try:
                body = json.loads(text)
            except ValueError:
                body = text
        request = RecordedRequest(
            method=method.upper(),
            path=unquote(split.path),
            query=parse_qs(split.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in headers.items()},
            body=body,
        )
        with self._lock:
            self.requests.append(request)
        try:
            reply = self._answer(request)
        except Exception:
            trace = traceback.format_exc()
            with self._lock:
                self.errors.append(trace)
            reply = _json_reply(
                500, _ApiError(500, "backendError", f"fake bug:\n{trace}").envelope()
            )
        request.status = None if reply is None else reply.status
        return reply

    def _answer(self, request: RecordedRequest) -> _Reply | None:
        denied = self._check_auth(request)
        if denied is not None:
            return denied
        fault = self._take_fault(request) if _is_send(request.method, request.path) else None
        if fault is None:
            return self._dispatch(request)
        stored = self._dispatch(request) if fault.store_first else None
        if fault.delay and self._stopping.wait(fault.delay):
            return None  # shutting down: answer nothing
        if fault.drop:
            return None
        if fault.status is not None:
            headers = []
            if fault.retry_after is not None:
                headers.append(("Retry-After", str(fault.retry_after)))
            reason = fault.reason or _DEFAULT_REASONS.get(fault.status, "backendError")
            error = _ApiError(fault.status, reason, fault.message)
            return _json_reply(fault.status, error.envelope(), headers)
        return stored if stored is not None else self._dispatch(request)

    def _check_auth(self, request: RecordedRequest) -> _Reply | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() == "bearer" and token and self.token in (None, token):
            return None
        error = _ApiError(401, "authError", _AUTH_MESSAGE)
        envelope = error.envelope()
        envelope["error"]["errors"][0] |= {"location": "Authorization", "locationType": "header"}
        return _json_reply(
            401, envelope, [("WWW-Authenticate", 'Bearer realm="https://accounts.google.com/"')]
        )

    def _take_fault(self, request: RecordedRequest) -> _Fault | None:
        with self._lock:
            if not self._faults:
                return None
            fault = self._faults[0]
            fault.remaining -= 1
            if fault.remaining == 0:
                self._faults.pop(0)
            return fault

    def _dispatch(self, request: RecordedRequest) -> _Reply:
        try:
            with self._lock:
                return _json_reply(200, self._route(request))
        except _ApiError as error:
            return _json_reply(error.code, error.envelope())

    def _route(self, request: RecordedRequest) -> Any:
        path, method = request.path, request.method
        parts = path[len(_PREFIX) :].split("/") if path.startswith(_PREFIX) else []
        if method == "POST" and len(parts) == 3 and parts[1:] == ["messages", "send"]:
            return self._send(parts[0], request)
        if method == "GET" and len(parts) == 3 and parts[1] == "messages":
            return self._get(parts[0], parts[2], request)
        raise _ApiError(404, "notFound", f"The fake Gmail server has no route for {method} {path}")

    def _send(self, user_id: str, request: RecordedRequest) -> Any:
        body = request.body
        if isinstance(body, str):
            raise _ApiError(400, "invalidArgument", "Invalid JSON payload received.")
        if not isinstance(body, dict) or not body.get("raw"):
            raise _ApiError(
                400,
                "invalidArgument",
                "'raw' RFC822 payload message string or uploading message via /upload/* URL "
                "required",
            )
        encoded = str(body["raw"])
        try:
            data = base64.b64decode(
                encoded.replace("-", "+").replace("_", "/") + "=" * (-len(encoded) % 4),
                validate=True,
            )
        except (binascii.Error, ValueError):
            raise _ApiError(
                400, "invalidArgument", "Invalid value at 'message.raw' (TYPE_BYTES)"
            ) from None
        parsed = email.message_from_bytes(data, policy=email.policy.default)
        fields = [str(v) for h in ("To", "Cc", "Bcc") for v in parsed.get_all(h, [])]
        if not any(addr for _, addr in getaddresses(fields)):
            raise _ApiError(400, "invalidArgument", "Recipient address required")
        thread_id = body.get("threadId")
        if thread_id:
            if thread_id not in self._threads:
                raise _ApiError(404, "notFound")
        else:
            thread_id = self._new_id()
            self._threads.add(thread_id)
        stored = StoredMessage(
            id=self._new_id(), thread_id=str(thread_id), user_id=user_id, raw=data
        )
        self._messages.append(stored)
        return {"id": stored.id, "threadId": stored.thread_id, "labelIds": list(stored.label_ids)}

    def _get(self, user_id: str, message_id: str, request: RecordedRequest) -> Any:
        fmt = (request.query.get("format") or ["full"])[0]
        if fmt != "raw":
            raise _ApiError(
                400, "invalidArgument", f"format={fmt} is not supported by the fake Gmail server"
            )
        for stored in self._messages:
            if stored.id == message_id:
                return {
                    "id": stored.id,
                    "threadId": stored.thread_id,
                    "labelIds": list(stored.label_ids),
                    "sizeEstimate": len(stored.raw),
                    "historyId": "1",
                    "internalDate": str(int(time.time() * 1000)),
                    "raw": base64.urlsafe_b64encode(stored.raw).decode("ascii"),
                }
        raise _ApiError(404, "notFound")

    def _new_id(self) -> str:
        return f"{next(self._ids):x}"


def _is_send(method: str, path: str) -> bool:
    return method == "POST" and path.startswith(_PREFIX) and path.endswith("/messages/send")

"""Send mail through the Gmail API (``users.messages.send``), one API session per run.

:class:`GmailMailer` builds the Gmail service once in ``__enter__`` from the discovery document
that ships inside googleapiclient (no network), pointed at a configurable base URL, and hands
each message over as one ``messages.send`` call.

The transport is :class:`NoResendHttp`, not googleapiclient's default httplib2: httplib2 sends
a request again by itself, POSTs included, when the connection drops after the request went
out (it takes that for a stale keep-alive connection), and Gmail may already have stored the
message, so the teacher would get it twice. :class:`NoResendHttp` sends every request at most
once and leaves what happens after an ambiguous failure to pdmail's ledger.

What a failure means for the message:

* 429, or 403 with a rate-limit reason: Gmail refused it before accepting it. Wait (honouring
  ``Retry-After``) and try again, up to ``policy.attempts`` tries (two while the message
  before also gave up on it); then a definite :class:`~pdmail.errors.DeliveryError` with
  ``transient="throttled"``: held for the next run, and three in a row stop the run.
* The sending limit (``dailyLimitExceeded``, a "Daily" / ``quotaExceeded`` answer, "Mail
  sending" in the words, or a time to retry beyond what a run waits for): a definite
  :class:`~pdmail.errors.DeliveryError` with ``stop=True`` and, when Gmail said, when sending
  may resume; the run stops at once, without waiting.
* Any other 4xx (400 invalid message, 401, 403 forbidden or scope, 404): a definite
  :class:`~pdmail.errors.DeliveryError` with a hint.
* 5xx, a timeout, or a connection lost once the request may have gone out: the message may
  have been stored, so :class:`~pdmail.errors.DeliveryError` with ``definite=False`` (and a
  ``cause`` saying which); never tried again.
* A connection that could not be opened (refused, no route, connect timeout, untrusted
  certificate): nothing was sent, so ``definite=True``.
"""

from __future__ import annotations

import base64
import copy
import functools
import importlib.resources
import json
import logging
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar

from ...errors import BackendError, DeliveryError
from ...mail.wire import Sendable
from ...models import SendResult
from ..base import (
    SEND_TEST,
    SKIP,
    BuiltinMailKind,
    Check,
    MailerBackend,
    api_handover,
    recipients_of,
)
from ..transport import (
    Judgement,
    MailService,
    RetryPolicy,
    SendLoop,
    Throttled,
    TransportFailure,
    requests_failure,
)
from .api import (
    GMAIL_API,
    GMAIL_SCOPE,
    GOOGLE_GMAIL,
    HINT_SIGN_IN_LATER,
    ApiFailure,
    GoogleApiError,
    GoogleSignInError,
    google_errors,
    parse_failure,
)
from .doctor import GoogleAccount

if TYPE_CHECKING:
    from collections.abc import Callable

    import requests

    from ...config.records import Config
    from ..base import Mailer

__all__ = [
    "GMAIL_ROOT",
    "GmailBackend",
    "GmailMailer",
    "NoResendHttp",
    "TransportFailure",
    "discovery_document",
]

log = logging.getLogger(__name__)

GMAIL_ROOT = GOOGLE_GMAIL
API = GMAIL_API
_DISCOVERY = "discovery_cache/documents/gmail.v1.json"
# Gmail thread ids are short hex strings (the emulator's look like ``thr_AbC-12``). A value
# with "<", "@" or "." is a Message-ID, which pdmail uses as the thread of mail sent through
# another footing; Gmail would refuse it as a threadId, and threads by In-Reply-To anyway.
_THREAD_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_RATE_LIMITED = (429, 403)
_DAILY_REASONS = frozenset({"dailyLimitExceeded", "quotaExceeded"})
# Words Gmail uses when the account's mail-sending limit (not the per-minute API quota) is
# reached: "User-rate limit exceeded. Retry after 2026-12-01T18:00:00.000Z (Mail sending)",
# "Mail sending limit exceeded", "Daily Limit Exceeded".
_SENDING_LIMIT_WORDS = ("mail sending", "sending limit", "daily")
_RETRY_AT = re.compile(r"retry after (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)", re.I)

_HINT_RATE = (
    "Gmail's per-minute sending quota (about 60 messages a minute per user) was exceeded and "
    "pdmail gave up waiting; the message was not sent and goes out on the next run. "
    "Lower mail.per_minute in the config to stay under it"
)
_HINT_DAILY = (
    "Gmail's sending limit is reached (about 2,000 messages a day on Google Workspace, "
    "500 on consumer Gmail or a trial): this message was not sent, and nothing more can go "
    "today. Run again tomorrow; lower mail.daily_cap to stay under the limit"
)
_HINT_AUTH = (
    "Google refused the saved authorization: run 'pdmail auth' again (the token may have been "
    "revoked, or have expired if the OAuth app is in 'Testing' status)"
)
_HINT_SCOPE = (
    "the account may not send through the Gmail API: check that the authorization includes "
    "the gmail.send scope ('pdmail doctor' shows it; run 'pdmail auth' again to grant it) and, "
    "with a service account, its domain-wide delegation for google.delegated_user"
)
_HINT_REJECTED = (
    "Gmail rejected the message itself, so it was not sent: check the teacher's address in "
    "the roster and the templates (pdmail preview shows the message)"
)
_HINT_NOT_FOUND = (
    "Gmail did not find the mailbox or the thread: check librarian.email (and "
    "google.delegated_user) and google.endpoints.gmail"
)
_HINT_UNKNOWN = (
    "Gmail may or may not have stored and sent it; pdmail records it as unknown and will not "
    "resend it on its own. Look in the Sent folder of the sending account, then pass "
    "--resend if it is not there"
)
_HINT_NETWORK = (
    "nothing was sent; check the network and google.endpoints.gmail (or "
    "PDMAIL_GOOGLE_ENDPOINT), then run again"
)
_GMAIL = MailService(API, "Gmail", rate=_HINT_RATE, network=_HINT_NETWORK, unknown=_HINT_UNKNOWN)


# -- the transport ---------------------------------------------------------------------------


class NoResendHttp:
    """An httplib2-shaped transport that sends each request exactly once.

    googleapiclient accepts any object with httplib2's ``request(uri, method, body, headers,
    redirections, connection_type) -> (response, content)``. This one is a thin adapter over
    ``google.auth.transport.requests.AuthorizedSession`` with urllib3's retries turned off
    (``HTTPAdapter(max_retries=0)``), so a request whose connection drops is never sent again.
    The session still refreshes an expired token before a request, and after a 401 (which
    means the request was refused, so sending it again is safe).

    ``trust_env=False`` ignores proxy settings in the environment (for tests against a
    loopback server); the default keeps proxies working. ``calls`` counts the HTTP requests.
    """

    def __init__(self, credentials: Any, *, timeout: float = 60.0, trust_env: bool = True) -> None:
        from google.auth.transport.requests import AuthorizedSession
        from requests.adapters import HTTPAdapter

        self.credentials = credentials
        self.timeout = timeout
        self.calls = 0
        # The last error answer of the current request, even one the session acted on itself
        # (a 401 it answered with a token refresh that then failed).
        self.last_failure: ApiFailure | None = None
        self.session: Any = AuthorizedSession(credentials)  # type: ignore[no-untyped-call]
        self.session.trust_env = trust_env
        adapter = HTTPAdapter(max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

    def request(
        self,
        uri: str,
        method: str = "GET",
        body: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        redirections: int = 5,
        connection_type: Any = None,
    ) -> tuple[Any, bytes]:
        """Send one request; return ``(httplib2.Response, content)`` as httplib2 would.

        Raises :class:`TransportFailure` when no answer came back; never sends twice.
        """
        import httplib2  # type: ignore[import-untyped]
        import requests

        self.calls += 1
        self.last_failure = None
        method = method.upper()
        try:
            response = self.session.request(
                method,
                uri,
                data=body,
                headers=dict(headers or {}),
                timeout=self.timeout,
                hooks={"response": self._remember},
                # A POST is never replayed as the GET that requests makes of a redirect.
                allow_redirects=method in ("GET", "HEAD") and redirections > 0,
            )
        except requests.exceptions.RequestException as exc:
            raise requests_failure(exc, uri, self.timeout) from exc
        info = {k.lower(): v for k, v in response.headers.items()}
        # requests has already undone any gzip; say so, as httplib2 does.
        info.pop("content-encoding", None)
        info["status"] = str(response.status_code)
        return httplib2.Response(info), response.content

    def close(self) -> None:
        self.session.close()

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if response.status_code >= 400:
            self.last_failure = parse_failure(response.status_code, response.content)


# -- the discovery document ----------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _shipped_document() -> str:
    path = importlib.resources.files("googleapiclient") / _DISCOVERY
    return path.read_text(encoding="utf-8")


def discovery_document(base_url: str = GMAIL_ROOT) -> dict[str, Any]:
    """The Gmail v1 discovery document shipped in googleapiclient, pointed at ``base_url``.

    Setting ``rootUrl`` (and ``mtlsRootUrl``) redirects every call, which ``client_options``
    does not do for all of them.
    """
    doc: dict[str, Any] = copy.deepcopy(json.loads(_shipped_document()))
    root = base_url.rstrip("/") + "/"
    doc["rootUrl"] = doc["mtlsRootUrl"] = root
    return doc


# -- the mailer ------------------------------------------------------------------------------


class GmailMailer:
    """A :class:`~pdmail.backends.base.Mailer` that sends through the Gmail API as ``me``.

    ``credentials`` are google-auth credentials with the ``gmail.send`` scope; ``base_url``
    replaces ``https://gmail.googleapis.com`` (an emulator, a loopback test server);
    ``policy`` bounds the waits after a rate-limit answer; ``timeout`` is each request's time
    limit in seconds. ``trust_env=False`` ignores proxy settings (for tests).
    """

    name = "gmail"

    def __init__(
        self,
        credentials: Any,
        *,
        base_url: str = GMAIL_ROOT,
        policy: RetryPolicy | None = None,
        timeout: float = 60.0,
        trust_env: bool = True,
    ) -> None:
        self.credentials = credentials
        self.base_url = base_url.rstrip("/")
        self.policy = policy or RetryPolicy()
        self.timeout = timeout
        self.trust_env = trust_env
        self.http: NoResendHttp | None = None
        self._service: Any = None
        self._loop = SendLoop(_GMAIL)

    def __repr__(self) -> str:
        # Spelled out so that credentials never show up in a log or a traceback.
        return f"GmailMailer(base_url={self.base_url!r}, timeout={self.timeout!r})"

    def __enter__(self) -> GmailMailer:
        """Build the Gmail service for the run (no network: the discovery document ships)."""
        if self._service is not None:
            raise BackendError(f"{API}: the mailer is already open")
        from googleapiclient.discovery import build_from_document

        http = NoResendHttp(self.credentials, timeout=self.timeout, trust_env=self.trust_env)
        try:
            self._service = build_from_document(discovery_document(self.base_url), http=http)
        except Exception:
            http.close()
            raise
        self.http = http
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._service = None
        http, self.http = self.http, None
        if http is not None:
            http.close()

    def send(self, message: Sendable, *, thread_id: str | None = None) -> SendResult:
        """Hand ``message`` to Gmail with one ``messages.send`` call (more only after a
        rate-limit refusal); a Gmail ``thread_id`` files it in that thread.

        Returns the Message-ID, Gmail's threadId and Gmail's message id. Raises
        :class:`~pdmail.errors.DeliveryError` (``definite`` as the module docstring lists),
        or :class:`~pdmail.errors.BackendError` when the daily sending limit is reached or
        when called outside ``with``.
        """
        data, message_id = api_handover(
            message, API, "GmailMailer", opened=self._service is not None
        )
        shown = recipients_of(message) or "(no recipient)"
        body: dict[str, str] = {"raw": base64.urlsafe_b64encode(data).decode("ascii")}
        if thread_id and _THREAD_ID.fullmatch(thread_id):
            body["threadId"] = thread_id
        service = self._service

        def once() -> Any:
            request = service.users().messages().send(userId="me", body=body)
            with google_errors(API, f"message to {shown}"):
                return request.execute(num_retries=0)

        answer = self._loop.send(
            shown,
            once,
            functools.partial(self._judge, shown),
            policy=self.policy,
            timeout=self.timeout,
        )
        return _result(answer, message_id, thread_id)

    def _judge(self, shown: str, exc: Exception) -> Judgement:
        """What an error from one ``messages.send`` means for the message to ``shown``."""
        if isinstance(exc, GoogleApiError):
            failure, wait = exc.failure, exc.retry_after
            resume = _resume_at(failure, wait)
            if wait is None and resume is not None:
                # Gmail's words carry the time ("Retry after 2026-12-01T14:03:00Z").
                wait = max(0.0, (resume - datetime.now(timezone.utc)).total_seconds())
            if _daily_limit(failure) or _sending_limit(failure, resume, self.policy):
                return DeliveryError(
                    f"{API}: message to {shown} not sent: {_status(failure)}",
                    definite=True,
                    stop=True,
                    hint=_HINT_DAILY,
                    resume_after=resume,
                )
            if failure.code in _RATE_LIMITED and failure.retryable:
                return Throttled(_status(failure), wait)
            return _http_error(failure, shown)
        if isinstance(exc, json.JSONDecodeError):
            # A 2xx whose body is not Gmail's JSON: something answered, but not Gmail.
            return DeliveryError(
                f"{API}: outcome of the message to {shown} unknown: the answer was not "
                "JSON (is google.endpoints.gmail the Gmail API?)",
                definite=False,
                hint=_HINT_UNKNOWN,
                cause="something that is not Gmail answered after receiving the message",
            )
        if isinstance(exc, GoogleSignInError):
            answered = self.http.last_failure if self.http else None
            return _auth_error(exc, shown, answered)
        return None


def _status(failure: ApiFailure) -> str:
    """``429 rateLimitExceeded: User-rate limit exceeded.``: the status, reason and words."""
    reason = failure.reasons[0] if failure.reasons else failure.status
    text = f"{failure.code} {reason}".strip()
    return f"{text}: {failure.message}" if failure.message else text


def _daily_limit(failure: ApiFailure) -> bool:
    """The daily sending cap: no amount of waiting in this run will help."""
    if failure.code not in _RATE_LIMITED:
        return False
    words = failure.message.lower()
    if "per minute" in words:
        return False  # the API's per-minute quota, which waiting does help
    return bool(_DAILY_REASONS & set(failure.reasons)) or any(
        w in words for w in _SENDING_LIMIT_WORDS
    )


def _resume_at(failure: ApiFailure, wait: float | None) -> datetime | None:
    """When Gmail said sending may resume: the "Retry after <time>" in its words, or the
    Retry-After header."""
    found = _RETRY_AT.search(failure.message)
    if found:
        try:
            return datetime.fromisoformat(found.group(1).replace("Z", "+00:00"))
        except ValueError:
            pass
    if wait is not None:
        return datetime.now(timezone.utc) + timedelta(seconds=wait)
    return None


def _sending_limit(failure: ApiFailure, resume: datetime | None, policy: RetryPolicy) -> bool:
    """A rate-limit answer whose time to retry is further off than this run would wait: the
    account's sending limit, for all purposes of this run."""
    if failure.code not in _RATE_LIMITED or resume is None:
        return False
    return resume - datetime.now(timezone.utc) > timedelta(seconds=policy.longest)


def _http_error(failure: ApiFailure, shown: str) -> DeliveryError:
    code = failure.code
    if 400 <= code < 500:
        hint = {400: _HINT_REJECTED, 401: _HINT_AUTH, 403: _HINT_SCOPE, 404: _HINT_NOT_FOUND}.get(
            code, "Gmail refused the message, so it was not sent"
        )
        return DeliveryError(
            f"{API}: message to {shown} not sent: {_status(failure)}", definite=True, hint=hint
        )
    # 5xx (or anything else odd): Gmail may have stored the message before failing.
    return DeliveryError(
        f"{API}: outcome of the message to {shown} unknown: {_status(failure)}",
        definite=False,
        hint=_HINT_UNKNOWN,
        cause=f"Gmail answered {code} after receiving the message",
    )


def _auth_error(exc: GoogleSignInError, shown: str, answer: ApiFailure | None) -> DeliveryError:
    """google-auth failing to get a token: nothing was sent to Gmail, or Gmail refused it
    (``answer``, a 401) and the token could not be refreshed."""
    refused = f"{_status(answer)}; " if answer is not None else ""
    if exc.refresh:
        # An outage of Google's sign-in service (5xx) is not a dead authorization.
        return DeliveryError(
            f"{API}: message to {shown} not sent: {refused}the authorization could not be "
            f"refreshed: {exc.trouble}",
            definite=True,
            hint=HINT_SIGN_IN_LATER if exc.outage else _HINT_AUTH,
        )
    return DeliveryError(
        f"{API}: message to {shown} not sent: {refused}no answer from the token endpoint "
        f"({exc.detail})",
        definite=True,
        hint=_HINT_NETWORK,
    )


def _result(answer: Any, message_id: str, thread_id: str | None) -> SendResult:
    """The ids from Gmail's answer; an answer without them still means "sent"."""
    fields = answer if isinstance(answer, dict) else {}
    provider_id = str(fields.get("id") or "")
    gmail_thread = str(fields.get("threadId") or "")
    if not gmail_thread:
        log.warning("%s: the answer for %s carries no threadId", API, message_id)
    return SendResult(
        message_id=message_id,
        thread_id=gmail_thread or thread_id or message_id,
        provider_id=provider_id,
    )


class GmailBackend(MailerBackend):
    """``mail.kind: gmail``: the Gmail API as the librarian (or, with a service account, as
    ``google.delegated_user``), at ``google.endpoints.gmail``. Paced below Gmail's limits:
    about 60 sends a minute per user, 2,000 messages a day on Google Workspace."""

    kind: ClassVar[BuiltinMailKind] = "gmail"
    per_minute = 60
    daily_cap = 1500
    account = GoogleAccount
    google_scopes = (GMAIL_SCOPE,)
    provider_id_label = "Gmail id"

    @classmethod
    def build(cls, config: Config) -> GmailMailer:
        from .auth import load_credentials, scopes_for

        return GmailMailer(
            load_credentials(config, scopes_for(config)), base_url=config.google.endpoints.gmail
        )

    @classmethod
    def where_to_look(cls, message_id: str) -> str:
        bare = message_id.strip().strip("<>")
        return f"search the sending account's Gmail (Sent) for rfc822msgid:{bare}"

    @classmethod
    def doctor(cls, config: Config, *, connect: bool, new_mailer: Callable[[], Mailer]) -> Check:
        if not connect:
            return super().doctor(config, connect=connect, new_mailer=new_mailer)
        # With only the gmail.send scope, the one call that reaches Gmail is a send.
        return Check("mail", SKIP, f"Gmail not checked: {SEND_TEST}")

    @classmethod
    def sender_note(cls, config: Config) -> str:
        return (
            "the gmail.send scope cannot read the account's own address: this must be the "
            "authorized account or one of its 'Send mail as' addresses"
        )

    @classmethod
    def accepted_by(cls, config: Config) -> str:
        return "Gmail"

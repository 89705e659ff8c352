"""Send mail through Microsoft Graph (``sendMail``) as the librarian, one session per run.

Why pdmail hands Graph the MIME bytes it built rather than Graph's JSON message: the JSON form
of ``sendMail`` accepts custom headers only when they start with ``X-``, so it cannot carry
``In-Reply-To`` and ``References``, and a reminder would start a new conversation in every
mail program that threads by them (most besides Outlook). Graph also takes a whole message in
MIME format (``Content-Type: text/plain``, the RFC 5322 bytes base64-encoded, answered by
``202 Accepted``), and then keeps its headers. So the bytes are exactly those pdmail checked
(:func:`pdmail.mail.compose.wire_bytes`: one To, one From, no header a teacher's words could have
added), with pdmail's own Message-ID, In-Reply-To and References, and a reminder lands in the
request's thread everywhere, Outlook included (Exchange files a message in a conversation by
those headers). Replying through Graph (``createReply``) would also thread, but needs
``Mail.ReadWrite`` to find the request in Sent Items: more than pdmail should hold.

What a failure means for the message (as for Gmail):

* ``202`` (any 2xx): sent. Graph returns no id: the Message-ID is the handle.
* ``429``: Exchange turned it away before taking it. Wait (``Retry-After``) and try again, up
  to ``policy.attempts`` tries; then a definite error with ``transient="throttled"``. A wait
  longer than a run would make, or an answer that the mailbox may send no more
  (``ErrorExceededMessageLimit``, ``ErrorMessageSubmissionBlocked``, a full mailbox), stops
  the run (``stop=True``): the rest go on a later run.
* Any other 4xx (400 a message Exchange refuses, 401, 403 without ``Mail.Send``, 404 no such
  mailbox): definite, with a hint.
* 5xx, a timeout, or a connection lost once the request may have gone out: Exchange may have
  taken the message, so the outcome is unknown (``definite=False``); never sent again.
* A connection that could not be opened, or no token: nothing left, so definite.
"""

from __future__ import annotations

import base64
import functools
import logging
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
    RETRY_STATUSES,
    Judgement,
    MailService,
    RetryPolicy,
    SendLoop,
    Throttled,
    TransportFailure,
    requests_failure,
    retry_after,
)
from .api import (
    GRAPH_API,
    MAIL_SEND,
    MS_GRAPH,
    GraphError,
    GraphFailure,
    MicrosoftSignInError,
    graph_user,
    mailbox,
    parse_failure,
    require,
)
from .doctor import MicrosoftAccount

if TYPE_CHECKING:
    from collections.abc import Callable

    from ...config.reader import Reader
    from ...config.records import Config
    from ..base import Mailer
    from .auth import TokenSource

__all__ = ["GraphClient", "GraphMailer", "Microsoft365Backend"]

log = logging.getLogger(__name__)
API = GRAPH_API

# Graph's words for "this mailbox may send nothing more for now": its sending limits
# (10,000 recipients a day), a mailbox blocked for sending too much, a full mailbox (the copy
# for Sent Items cannot be saved).
_STOP_CODES = frozenset(
    {
        "ErrorExceededMessageLimit",
        "ErrorMessageSubmissionBlocked",
        "ErrorQuotaExceeded",
        "ErrorSubmissionQuotaExceeded",
    }
)

_HINT_RATE = (
    "Exchange Online throttled the mailbox (it takes about 30 messages a minute) and pdmail "
    "gave up waiting; the message was not sent and goes out on the next run. Lower "
    "mail.per_minute to stay under it"
)
_HINT_LIMIT = (
    "Exchange Online will take no more messages from this mailbox for now (its limit is "
    "10,000 recipients a day): this message was not sent, and the rest go on a later run. "
    "Lower mail.daily_cap to stay under the limit"
)
_HINT_AUTH = "Graph refused the token: run 'pdmail auth --microsoft' again"
_HINT_FORBIDDEN = (
    "the sign-in may not send mail: the app needs the Mail.Send permission, consented (by an "
    "admin in many schools: see the README, Microsoft 365); 'pdmail doctor' shows what the "
    "token carries. With application permissions, the mailbox must also be within the app's "
    "access policy"
)
_HINT_REJECTED = (
    "Exchange refused the message itself, so it was not sent: check the teacher's address in "
    "the roster and the templates (pdmail preview shows the message)"
)
_HINT_SEND_AS = (
    "Exchange will not send as the From address: librarian.email (or microsoft.mailbox) must be "
    "the mailbox that signed in, or one it has 'Send As' rights on"
)
_HINT_NOT_FOUND = "Graph found no such mailbox: check microsoft.mailbox (or librarian.email)"
_HINT_UNKNOWN = (
    "Exchange may or may not have taken and sent it; pdmail records it as unknown and will not "
    "resend it on its own. Look in the mailbox's Sent Items, then pass --resend if it is not "
    "there"
)
_HINT_NETWORK = "nothing was sent; check the network and microsoft.endpoints.graph, then run again"
_GRAPH = MailService(API, "Graph", rate=_HINT_RATE, network=_HINT_NETWORK, unknown=_HINT_UNKNOWN)


class GraphClient:
    """Requests to Graph with a token from ``tokens``, each sent at most once.

    urllib3's retries are off (``max_retries=0``), so a request whose connection drops is
    never sent again behind pdmail's back; what happens after an ambiguous failure is the
    caller's (the ledger's) decision. Raises :class:`~pdmail.backends.transport.TransportFailure`
    when no answer came, :class:`~pdmail.backends.microsoft.api.GraphError` for an error answer.
    """

    def __init__(
        self,
        tokens: TokenSource,
        scopes: list[str],
        *,
        base_url: str = MS_GRAPH,
        timeout: float = 60.0,
        session: Any = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.tokens = tokens
        self.policy = policy or RetryPolicy(attempts=4)
        self.scopes = scopes
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.calls = 0
        if session is None:
            import requests
            from requests.adapters import HTTPAdapter

            session = requests.Session()
            adapter = HTTPAdapter(max_retries=0)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
        self.session = session

    def __repr__(self) -> str:
        return f"GraphClient(base_url={self.base_url!r})"

    def request(
        self,
        method: str,
        path: str,
        *,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        what: str = "",
    ) -> Any:
        """One request to ``base_url + path``; the ``requests.Response`` of a 2xx."""
        import requests

        token = self.tokens.token(self.scopes)
        sent_headers = {"Authorization": f"Bearer {token}", **(headers or {})}
        self.calls += 1
        url = f"{self.base_url}{path}"
        try:
            response = self.session.request(
                method,
                url,
                data=data,
                headers=sent_headers,
                timeout=self.timeout,
                allow_redirects=method == "GET",
            )
        except requests.exceptions.RequestException as exc:
            raise requests_failure(exc, url, self.timeout) from exc
        if response.status_code >= 300:
            failure = parse_failure(response.status_code, response.content)
            where = f"{API}: {what}: " if what else f"{API}: "
            raise GraphError(
                f"{where}{failure}",
                failure=failure,
                retry_after=retry_after(response.headers),
                hint=_read_hint(failure),
            )
        return response

    def get_json(self, path: str, *, what: str) -> dict[str, Any]:
        """A GET whose answer is a JSON object; no answer is a BackendError."""
        # A read is safe to repeat: throttling (429) and a passing 5xx are waited out.
        policy = self.policy
        for attempt in range(policy.attempts):
            try:
                response = self.request("GET", path, what=what)
                break
            except GraphError as exc:
                if exc.failure.code not in RETRY_STATUSES or attempt == policy.attempts - 1:
                    raise
                policy.wait(attempt, exc.retry_after)
            except TransportFailure as exc:
                raise BackendError(f"{API}: {what}: {exc.detail}", hint=_HINT_NETWORK) from None
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise BackendError(
                f"{API}: {what}: the answer was not Graph's JSON",
                hint="check microsoft.endpoints.graph",
            )
        return data

    def close(self) -> None:
        self.session.close()


def _read_hint(failure: GraphFailure) -> str | None:
    return {
        401: _HINT_AUTH,
        403: "the sign-in lacks a permission this needs: 'pdmail doctor' shows what it "
        "carries (see the README, Microsoft 365, for the permissions and admin consent)",
        404: "Graph found nothing there: check the address in the config",
        429: "Microsoft Graph is throttling; run again later",
    }.get(failure.code)


class GraphMailer:
    """A :class:`~pdmail.backends.base.Mailer` sending through Graph's ``sendMail``.

    ``tokens`` hands out access tokens (:class:`~pdmail.backends.microsoft.auth.TokenSource`);
    ``user`` is ``/me`` or ``/users/<mailbox>``; ``policy`` bounds the waits after a 429.
    """

    name = "microsoft365"

    def __init__(
        self,
        tokens: TokenSource,
        *,
        user: str = "/me",
        base_url: str = MS_GRAPH,
        policy: RetryPolicy | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.tokens = tokens
        self.user = user
        self.base_url = base_url.rstrip("/")
        self.policy = policy or RetryPolicy()
        self.timeout = timeout
        self.client: GraphClient | None = None
        self._loop = SendLoop(_GRAPH)

    def __repr__(self) -> str:
        return f"GraphMailer(user={self.user!r}, base_url={self.base_url!r})"

    def __enter__(self) -> GraphMailer:
        if self.client is not None:
            raise BackendError(f"{API}: the mailer is already open")
        scopes = [MAIL_SEND]
        # A sign-in that is missing or refused fails the run before its first message, with
        # the command to run, rather than once per message.
        self.tokens.token(scopes)
        self.client = GraphClient(self.tokens, scopes, base_url=self.base_url, timeout=self.timeout)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        client, self.client = self.client, None
        if client is not None:
            client.close()

    def send(self, message: Sendable, *, thread_id: str | None = None) -> SendResult:
        """Hand ``message`` to Graph as MIME with one ``sendMail`` (more only after a 429).

        Returns the Message-ID as both ids (a reply's ``thread_id`` is kept). Raises
        :class:`~pdmail.errors.DeliveryError` as the module docstring lists.
        """
        client = self.client
        data, message_id = api_handover(message, API, "GraphMailer", opened=client is not None)
        assert client is not None  # api_handover refuses a mailer that is not open
        shown = recipients_of(message) or "(no recipient)"
        body = base64.b64encode(data)

        def once() -> None:
            client.request(
                "POST",
                f"{self.user}/sendMail",
                data=body,
                headers={"Content-Type": "text/plain"},
                what=f"message to {shown}",
            )

        self._loop.send(
            shown,
            once,
            functools.partial(self._judge, shown),
            policy=self.policy,
            timeout=self.timeout,
        )
        return SendResult(message_id=message_id, thread_id=thread_id or message_id)

    def _judge(self, shown: str, exc: Exception) -> Judgement:
        """What an error from one ``sendMail`` means for the message to ``shown``."""
        if isinstance(exc, MicrosoftSignInError):
            # No token, so nothing went to Graph; and no later message would get one.
            return DeliveryError(
                f"{API}: message to {shown} not sent: {exc.message}",
                definite=True,
                hint=exc.hint,
                stop=not exc.outage,
                transient="unreachable" if exc.outage else "",
            )
        if not isinstance(exc, GraphError):
            return None
        failure, wait = exc.failure, exc.retry_after
        if failure.error in _STOP_CODES or (
            failure.code == 429 and wait is not None and wait > self.policy.longest
        ):
            resume = (
                datetime.now(timezone.utc) + timedelta(seconds=wait) if wait is not None else None
            )
            return DeliveryError(
                f"{API}: message to {shown} not sent: {failure}",
                definite=True,
                stop=True,
                hint=_HINT_LIMIT,
                resume_after=resume,
            )
        if failure.code == 429:
            return Throttled(str(failure), wait)
        return _http_error(failure, shown)


def _http_error(failure: GraphFailure, shown: str) -> DeliveryError:
    code = failure.code
    if 400 <= code < 500:
        hint = {401: _HINT_AUTH, 403: _HINT_FORBIDDEN, 404: _HINT_NOT_FOUND}.get(
            code, _HINT_REJECTED
        )
        if failure.error == "ErrorSendAsDenied":
            hint = _HINT_SEND_AS
        # A refused token, a missing permission, a mailbox that is not there, a From address
        # the mailbox may not use: no later message would fare better, so the run stops and
        # they wait for the next one. A 400 is about this message alone.
        return DeliveryError(
            f"{API}: message to {shown} not sent: {failure}",
            definite=True,
            hint=hint,
            stop=code in (401, 403, 404),
        )
    return DeliveryError(
        f"{API}: outcome of the message to {shown} unknown: {failure}",
        definite=False,
        hint=_HINT_UNKNOWN,
        cause=f"Graph answered {code} after receiving the message",
    )


class Microsoft365Backend(MailerBackend):
    """``mail.kind: microsoft365``: Graph's ``sendMail`` as the signed-in librarian (or, for
    an app with application permissions, as ``microsoft.mailbox``). Paced below Exchange
    Online's limits: 30 messages a minute, 10,000 recipients a day."""

    kind: ClassVar[BuiltinMailKind] = "microsoft365"
    per_minute = 30
    daily_cap = 5000  # half of Exchange's 10,000 recipients a day: the librarian's own mail too
    account = MicrosoftAccount
    microsoft_scopes = (MAIL_SEND,)

    @classmethod
    def check(cls, r: Reader, root: Mapping[str, Any]) -> None:
        require(r, root, "mail.kind is microsoft365")

    @classmethod
    def build(cls, config: Config) -> GraphMailer:
        from .auth import TokenSource

        return GraphMailer(
            TokenSource(config),
            user=graph_user(config),
            base_url=config.microsoft.endpoints.graph,
        )

    @classmethod
    def where_to_look(cls, message_id: str) -> str:
        return (
            f"search the mailbox's Sent Items in Outlook for the message (its Message-ID is "
            f"{message_id}; Outlook on the web shows it under View message details)"
        )

    @classmethod
    def doctor(cls, config: Config, *, connect: bool, new_mailer: Callable[[], Mailer]) -> Check:
        if not connect:
            return super().doctor(config, connect=connect, new_mailer=new_mailer)
        # The mailbox and the permissions were checked with the account; only a send
        # proves that Exchange takes a message.
        return Check("mail", SKIP, f"microsoft365: sending not checked: {SEND_TEST}")

    @classmethod
    def sender_note(cls, config: Config) -> str:
        return (
            f"Exchange sends as the mailbox {mailbox(config)}: this must be that address (or "
            "one the mailbox may send as)"
        )

    @classmethod
    def accepted_by(cls, config: Config) -> str:
        return "Exchange Online (Microsoft Graph)"

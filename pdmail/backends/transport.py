"""What the mailers that speak HTTP (Gmail, Microsoft Graph) share, whatever the service.

* :class:`RetryPolicy` and :func:`retry_after`: how long to wait before trying again.
* :class:`TransportFailure` and :func:`requests_failure`: an exchange that ended without an
  answer, and whether the request can have left this machine.
* :class:`SendLoop`: the one loop that hands a message over, waits out a service that says
  "not now" and gives up after so many tries. A mailer gives it only what differs: the call
  that hands the message over once, and what an error of its service means
  (:class:`Throttled`, a :class:`~pdmail.errors.DeliveryError`, or not its business).

This module imports no service's library (nor requests, until a requests error is mapped), so
one backend loads nothing of another's.
"""

from __future__ import annotations

import logging
import random
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, TypeVar

from ..errors import DeliveryError

if TYPE_CHECKING:
    from requests.exceptions import RequestException

__all__ = [
    "RETRY_STATUSES",
    "MailService",
    "RetryPolicy",
    "SendLoop",
    "Throttled",
    "TransportFailure",
    "first_line",
    "requests_failure",
    "retry_after",
    "throttled_error",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

# Answers that say "not now" rather than "no", for requests that are safe to repeat.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


# -- waiting -----------------------------------------------------------------------------------


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from a ``Retry-After`` header (a number or an HTTP date), if there is one."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to try again. ``attempts`` counts the first try."""

    attempts: int = 5
    base: float = 1.0
    cap: float = 32.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)

    @property
    def longest(self) -> float:
        """The longest wait :meth:`wait` honours; a service asking for more is asking this
        run to stop rather than to wait."""
        return self.cap * 4

    def wait(self, attempt: int, hinted: float | None) -> None:
        """Sleep before try ``attempt + 1``: the server's hint, else full-jitter backoff."""
        if hinted is not None:
            delay = min(hinted, self.longest)
        else:
            delay = random.uniform(0, min(self.cap, self.base * 2**attempt))
        self.sleep(delay)


# -- an exchange without an answer ---------------------------------------------------------------


class TransportFailure(Exception):
    """An HTTP exchange that ended without an answer.

    ``sent`` is False only when the request certainly never left this machine (the connection
    could not be opened); ``timed_out`` says whether a time limit ended it. Deliberately not an
    ``OSError``: googleapiclient would take an ``OSError`` for a transient socket error.
    """

    def __init__(self, detail: str, *, sent: bool, timed_out: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        self.sent = sent
        self.timed_out = timed_out

    def delivery_error(
        self, api: str, service: str, shown: str, timeout: float, *, network: str, unknown: str
    ) -> DeliveryError:
        """What this failure means for the message to ``shown`` posted to ``service`` (Gmail,
        Graph): not sent when the request never left (no later message would reach the
        service either, so the run stops: hint ``network``); otherwise its outcome unknown
        (hint ``unknown``), never to be sent again."""
        if not self.sent:
            return DeliveryError(
                f"{api}: message to {shown} not sent: {self.detail}",
                definite=True,
                hint=network,
                transient="timeout" if self.timed_out else "unreachable",
            )
        cause = (
            f"{service} did not answer within {timeout:g} s after receiving the message"
            if self.timed_out
            else f"the connection to {service} dropped after the message was handed over"
        )
        return DeliveryError(
            f"{api}: outcome of the message to {shown} unknown: {self.detail}",
            definite=False,
            hint=unknown,
            cause=cause,
            transient="timeout" if self.timed_out else "",
        )


def requests_failure(exc: RequestException, url: str, timeout: float) -> TransportFailure:
    """What a ``requests`` error raised while sending to ``url`` (with a time limit of
    ``timeout`` seconds) means, as a :class:`TransportFailure`.

    Only a connection that could not be opened (refused, no route, connect timeout, an
    untrusted certificate) or an address that could not be used proves that nothing left.
    """
    import requests

    errors = requests.exceptions
    if isinstance(exc, errors.ConnectTimeout):
        return TransportFailure(
            f"could not connect within {timeout:g} s ({first_line(exc, 300)})",
            sent=False,
            timed_out=True,
        )
    if isinstance(exc, errors.Timeout):
        return TransportFailure(f"no answer within {timeout:g} s", sent=True, timed_out=True)
    if isinstance(exc, (errors.InvalidURL, errors.MissingSchema, errors.InvalidSchema)):
        return TransportFailure(f"bad address {url!r} ({exc})", sent=False)
    if isinstance(exc, errors.ConnectionError):
        never = _never_connected(exc)
        what = "could not connect" if never else "connection lost before an answer"
        return TransportFailure(f"{what} ({_reason(exc)})", sent=not never)
    return TransportFailure(f"the answer could not be read ({first_line(exc, 300)})", sent=True)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, the exceptions in its args (requests wraps urllib3's), causes and contexts."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend(a for a in current.args if isinstance(a, BaseException))
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                todo.append(linked)


def _never_connected(exc: BaseException) -> bool:
    """True when the connection was never made, so the request cannot have been sent."""
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

    return any(
        isinstance(e, (NewConnectionError, ConnectTimeoutError, ssl.SSLCertVerificationError))
        for e in _chain(exc)
    )


def _reason(exc: BaseException) -> str:
    """The innermost useful words of a requests error (not its long wrapper text)."""
    for e in _chain(exc):
        if isinstance(e, ssl.SSLCertVerificationError):
            return f"TLS certificate not trusted: {e.verify_message or e}"
        if isinstance(e, ConnectionRefusedError):
            return "connection refused"
        if type(e).__name__ == "RemoteDisconnected":
            return "the server closed the connection without answering"
        if isinstance(e, ConnectionResetError):
            return "connection reset by the server"
    return first_line(exc, 300)


def first_line(exc: BaseException, limit: int = 200) -> str:
    """The first line of an exception's text (its type's name when it has none), cut short."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:limit]


# -- the send loop -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Throttled:
    """The service turned the message away before taking it ("too many requests"): it may be
    tried again after ``wait`` seconds (None: the policy's backoff). ``status`` is the answer
    in words, for the log and for the error if the loop gives up."""

    status: str
    wait: float | None = None


# What a service's error means for the message: try again later in this run, a final error,
# or None when the error is not the service's to judge (it then propagates unchanged).
Judgement = Throttled | DeliveryError | None


def throttled_error(api: str, shown: str, status: str, attempt: int, hint: str) -> DeliveryError:
    """The message to ``shown`` not sent: the API still said it was too busy (``status``) after
    ``attempt + 1`` tries; the message waits for the next run."""
    tries = f"{attempt + 1} time{'s' * (attempt > 0)}"
    return DeliveryError(
        f"{api}: message to {shown} not sent: {status} (tried {tries})",
        definite=True,
        hint=hint,
        transient="throttled",
    )


@dataclass(frozen=True)
class MailService:
    """How a mail service is named in messages, and its hints: ``api`` ("Gmail API") starts
    every message and ``service`` ("Gmail") is what may have taken a message; ``rate`` is the
    hint once the loop gives up on its throttling, ``network`` when nothing reached it and
    ``unknown`` when it may have taken the message."""

    api: str
    service: str
    rate: str
    network: str
    unknown: str


class SendLoop:
    """Hands messages to one :class:`MailService`, one at a time, each under a
    :class:`RetryPolicy`.

    A throttled message is tried again, waiting as :meth:`RetryPolicy.wait` says, up to
    ``policy.attempts`` tries; then it fails with ``transient="throttled"`` (held for the next
    run), and the message after it gets at most two tries, so that a service that stays busy
    does not cost a full round of waits per message. A :class:`TransportFailure` means not
    sent or unknown (:meth:`TransportFailure.delivery_error`) and is never tried again.
    """

    def __init__(self, service: MailService) -> None:
        self.service = service
        # The message before gave up on the service's throttling.
        self.throttled = False

    def send(
        self,
        shown: str,
        once: Callable[[], T],
        judge: Callable[[Exception], Judgement],
        *,
        policy: RetryPolicy,
        timeout: float,
    ) -> T:
        """What ``once()`` returns, for the message to ``shown``; ``judge`` says what each
        other exception ``once`` raises means (see :data:`Judgement`). ``timeout`` is the time
        limit of one request, named when the service did not answer within it.

        Raises :class:`~pdmail.errors.DeliveryError`, or whatever ``judge`` leaves alone.
        """
        svc = self.service
        attempts = min(2, policy.attempts) if self.throttled else policy.attempts
        self.throttled = False
        for attempt in range(attempts):
            try:
                return once()
            except TransportFailure as exc:
                raise exc.delivery_error(
                    svc.api,
                    svc.service,
                    shown,
                    timeout,
                    network=svc.network,
                    unknown=svc.unknown,
                ) from None
            except Exception as exc:
                verdict = judge(exc)
                if verdict is None:
                    raise
                if isinstance(verdict, DeliveryError):
                    raise verdict from None
                if attempt < attempts - 1:
                    log.info("%s: %s; waiting before try %d", svc.api, verdict.status, attempt + 2)
                    policy.wait(attempt, verdict.wait)
                    continue
                self.throttled = True
                raise throttled_error(svc.api, shown, verdict.status, attempt, svc.rate) from None
        raise AssertionError("SendLoop.send fell through its loop")  # the loop returns or raises

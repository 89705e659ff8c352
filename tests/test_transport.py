"""The pieces the HTTP mailers share (pdmail.backends.transport): the send loop each of Gmail
and Graph hands its messages through, the mapping of a requests error to "sent or not", the
Retry-After reading, and that one backend loads nothing of another's."""

from __future__ import annotations

import email.utils
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
import requests
from requests.adapters import HTTPAdapter

from pdmail.backends.transport import (
    Judgement,
    MailService,
    RetryPolicy,
    SendLoop,
    Throttled,
    TransportFailure,
    requests_failure,
    retry_after,
)
from pdmail.errors import DeliveryError

SERVICE = MailService(
    "Test API", "Test", rate="rate hint", network="network hint", unknown="unknown hint"
)
TO = "ann@school.example.org"


class Busy(Exception):
    """The service said "not now", asking for ``wait`` seconds."""

    def __init__(self, wait: float | None = None) -> None:
        super().__init__("busy")
        self.wait = wait


class Refused(Exception):
    """The service said "no"."""


class Odd(Exception):
    """Something the service's judge does not know."""


def judge(exc: Exception) -> Judgement:
    if isinstance(exc, Busy):
        return Throttled("429 busy", exc.wait)
    if isinstance(exc, Refused):
        return DeliveryError(f"Test API: message to {TO} not sent: 400", definite=True)
    return None


@dataclass
class Script:
    """A service that answers each try with the next of ``answers`` (raised if an exception)."""

    answers: list[object]
    tries: int = 0
    sleeps: list[float] = field(default_factory=list)

    def once(self) -> object:
        answer = self.answers[min(self.tries, len(self.answers) - 1)]
        self.tries += 1
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def policy(self, attempts: int = 4, cap: float = 2.0) -> RetryPolicy:
        return RetryPolicy(attempts=attempts, base=0.5, cap=cap, sleep=self.sleeps.append)


def send(loop: SendLoop, script: Script, attempts: int = 4, cap: float = 2.0) -> object:
    return loop.send(TO, script.once, judge, policy=script.policy(attempts, cap), timeout=7)


# -- the loop ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "attempts", "tries", "sleeps"),
    [
        (["ok"], 4, 1, []),
        ([Busy(3), Busy(1.5), "ok"], 4, 3, [3, 1.5]),
        # A wait asked for beyond cap * 4 is cut to it.
        ([Busy(600), "ok"], 4, 2, [8.0]),
        ([Busy(0), Busy(0), Busy(0), "ok"], 4, 4, [0, 0, 0]),
    ],
)
def test_a_throttled_message_is_tried_again_after_the_wait_asked_for(
    answers: list[object], attempts: int, tries: int, sleeps: list[float]
) -> None:
    script = Script(answers)
    assert send(SendLoop(SERVICE), script, attempts=attempts) == "ok"
    assert script.tries == tries
    assert script.sleeps == sleeps


def test_without_a_wait_asked_for_the_backoff_stays_under_its_cap() -> None:
    script = Script([Busy(), Busy(), Busy(), "ok"])
    assert send(SendLoop(SERVICE), script, attempts=4, cap=0.75) == "ok"
    assert len(script.sleeps) == 3
    assert all(0 <= s <= bound for s, bound in zip(script.sleeps, [0.5, 0.75, 0.75], strict=True))


@pytest.mark.parametrize(("attempts", "said"), [(1, "tried 1 time)"), (3, "tried 3 times)")])
def test_giving_up_on_throttling_is_definite_and_held_for_the_next_run(
    attempts: int, said: str
) -> None:
    script = Script([Busy(0)])
    with pytest.raises(DeliveryError) as caught:
        send(SendLoop(SERVICE), script, attempts=attempts)
    error = caught.value
    assert script.tries == attempts
    assert error.message == f"Test API: message to {TO} not sent: 429 busy ({said[:-1]})"
    assert (error.definite, error.transient, error.hint) == (True, "throttled", "rate hint")


def test_after_giving_up_the_next_message_gets_two_tries_then_all_again() -> None:
    loop = SendLoop(SERVICE)
    first = Script([Busy(0)])
    with pytest.raises(DeliveryError):
        send(loop, first, attempts=5)
    second = Script([Busy(0)])
    with pytest.raises(DeliveryError, match=r"tried 2 times"):
        send(loop, second, attempts=5)
    # Still throttled: the third is held to two tries as well, and gets through on its second.
    third = Script([Busy(0), "ok"])
    assert send(loop, third, attempts=5) == "ok"
    # Once one got through, the next one has the full round again.
    fourth = Script([Busy(0)])
    with pytest.raises(DeliveryError, match=r"tried 5 times"):
        send(loop, fourth, attempts=5)
    assert (first.tries, second.tries, third.tries, fourth.tries) == (5, 2, 2, 5)


def test_a_verdict_of_the_service_is_raised_at_once() -> None:
    script = Script([Refused(), "ok"])
    with pytest.raises(DeliveryError, match="not sent: 400") as caught:
        send(SendLoop(SERVICE), script)
    assert script.tries == 1 and script.sleeps == []
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_an_error_the_service_does_not_judge_passes_through_unchanged() -> None:
    odd = Odd("a bug")
    script = Script([odd, "ok"])
    with pytest.raises(Odd) as caught:
        send(SendLoop(SERVICE), script)
    assert caught.value is odd and script.tries == 1


@pytest.mark.parametrize(
    ("failure", "definite", "transient", "message", "cause", "hint"),
    [
        (
            TransportFailure("could not connect (connection refused)", sent=False),
            True,
            "unreachable",
            f"Test API: message to {TO} not sent: could not connect (connection refused)",
            "",
            "network hint",
        ),
        (
            TransportFailure("could not connect within 7 s", sent=False, timed_out=True),
            True,
            "timeout",
            f"Test API: message to {TO} not sent: could not connect within 7 s",
            "",
            "network hint",
        ),
        (
            TransportFailure("no answer within 7 s", sent=True, timed_out=True),
            False,
            "timeout",
            f"Test API: outcome of the message to {TO} unknown: no answer within 7 s",
            "Test did not answer within 7 s after receiving the message",
            "unknown hint",
        ),
        (
            TransportFailure("connection lost before an answer", sent=True),
            False,
            "",
            f"Test API: outcome of the message to {TO} unknown: connection lost before an answer",
            "the connection to Test dropped after the message was handed over",
            "unknown hint",
        ),
    ],
)
def test_an_exchange_without_an_answer_is_never_tried_again(
    failure: TransportFailure,
    definite: bool,
    transient: str,
    message: str,
    cause: str,
    hint: str,
) -> None:
    script = Script([failure, "ok"])
    with pytest.raises(DeliveryError) as caught:
        send(SendLoop(SERVICE), script)
    error = caught.value
    assert script.tries == 1
    assert (error.definite, error.transient, error.message) == (definite, transient, message)
    assert (error.cause or "", error.hint) == (cause, hint)


# -- a requests error: did the request leave? ------------------------------------------------------


@contextmanager
def server(behaviour: Callable[[socket.socket], None]) -> Iterator[str]:
    """A one-connection TCP server on 127.0.0.1 that does ``behaviour`` with what it accepts."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            behaviour(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/send"
    finally:
        listener.close()
        thread.join(5)


def _hang_up_after_reading(conn: socket.socket) -> None:
    conn.recv(65536)


def _answer_late(conn: socket.socket) -> None:
    conn.recv(65536)
    time.sleep(1.0)


def _post(url: str, timeout: float) -> TransportFailure:
    session = requests.Session()
    session.trust_env = False
    session.mount("http://", HTTPAdapter(max_retries=0))
    try:
        session.post(url, data=b"x", timeout=timeout)
    except requests.exceptions.RequestException as exc:
        return requests_failure(exc, url, timeout)
    finally:
        session.close()
    raise AssertionError("the request got an answer")


def test_a_refused_connection_was_never_sent() -> None:
    with socket.socket() as sock:  # bound, not listening: connecting is refused
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/send"
        failure = _post(url, 5)
    assert (failure.sent, failure.timed_out) == (False, False)
    assert failure.detail == "could not connect (connection refused)"


def test_a_connection_dropped_after_the_request_may_have_been_sent() -> None:
    with server(_hang_up_after_reading) as url:
        failure = _post(url, 5)
    assert (failure.sent, failure.timed_out) == (True, False)
    assert failure.detail.startswith("connection lost before an answer (")


def test_no_answer_in_time_may_have_been_sent() -> None:
    with server(_answer_late) as url:
        failure = _post(url, 0.2)
    assert (failure.sent, failure.timed_out) == (True, True)
    assert failure.detail == "no answer within 0.2 s"


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/send", "no-scheme/send", "http://"])
def test_an_address_that_cannot_be_used_was_never_sent(url: str) -> None:
    failure = _post(url, 5)
    assert failure.sent is False
    assert failure.detail.startswith(f"bad address {url!r} (")


# -- Retry-After ---------------------------------------------------------------------------------


def _http_date(seconds_from_now: float) -> str:
    return email.utils.formatdate(time.time() + seconds_from_now, usegmt=True)


# An HTTP date is written when the test runs (not when it is collected: a long run would age
# it), as seconds from now; it has whole seconds only.
@pytest.mark.parametrize(
    ("header", "value", "low", "high"),
    [
        ("Retry-After", "7", 7.0, 7.0),
        ("retry-after", "2.5", 2.5, 2.5),
        ("Retry-After", "-3", 0.0, 0.0),
        ("Retry-After", -60, 0.0, 0.0),
        ("Retry-After", 120, 118.0, 121.0),
    ],
)
def test_retry_after_reads_seconds_or_a_date(
    header: str, value: str | int, low: float, high: float
) -> None:
    written = value if isinstance(value, str) else _http_date(value)
    wait = retry_after({header: written})
    assert wait is not None and low <= wait <= high


@pytest.mark.parametrize("headers", [{}, {"Retry-After": "soon"}, {"Retry-After": ""}])
def test_retry_after_without_a_usable_value_is_none(headers: dict[str, str]) -> None:
    assert retry_after(headers) is None


# -- one backend loads nothing of another's -------------------------------------------------------

GOOGLE = ("pdmail.backends.google", "google", "googleapiclient", "gspread", "httplib2")
MICROSOFT = ("pdmail.backends.microsoft", "msal")


@pytest.mark.parametrize(
    ("module", "foreign"),
    [
        ("pdmail.backends.microsoft.graph", GOOGLE),
        ("pdmail.backends.microsoft.workbook", GOOGLE),
        ("pdmail.backends.microsoft.auth", GOOGLE),
        ("pdmail.backends.google.gmail", MICROSOFT),
        ("pdmail.backends.google.api", MICROSOFT),
        ("pdmail.backends.google.auth", MICROSOFT),
        ("pdmail.backends.transport", GOOGLE + MICROSOFT + ("requests", "urllib3")),
    ],
)
def test_importing_a_backend_loads_nothing_of_another(
    module: str, foreign: tuple[str, ...]
) -> None:
    probe = (
        f"import sys, {module}\n"
        f"foreign = {foreign!r}\n"
        "print('\\n'.join(sorted(m for m in sys.modules\n"
        "    if any(m == f or m.startswith(f + '.') for f in foreign))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split() == []

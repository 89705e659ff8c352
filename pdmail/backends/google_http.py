"""Talking to Google's REST APIs: endpoints that can be pointed elsewhere, bounded retries.

gspread's default client never retries and its ``BackOffHTTPClient`` (6.2.1) never gives up,
so pdmail brings its own: 408, 429, 5xx and rate-limit 403s are tried again with exponential
backoff and jitter, honouring ``Retry-After``, a fixed number of times, then reported with the
API and status. Only requests that are safe to repeat are retried after a lost connection or
a 5xx (either may come after the change was made); others only after a 429 or rate limit.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from google.auth.exceptions import GoogleAuthError
from gspread.exceptions import APIError
from gspread.http_client import HTTPClient, ParamsType
from requests import Response
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import Timeout

from ..errors import BackendError
from .google_auth import HINT_SIGN_IN_AGAIN, HINT_SIGN_IN_LATER, sign_in_trouble


class NoAnswer(BackendError):
    """A request went out and no answer came back (connection lost, timed out): whether a
    write was applied is unknown. Raised only for writes that are not safe to repeat."""


GOOGLE_SHEETS = "https://sheets.googleapis.com"
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
RATE_LIMIT_REASONS = frozenset(
    {"rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED", "backendError"}
)


@dataclass(frozen=True)
class ApiFailure:
    """What an error answer says: status, Google's status word, reasons, message."""

    code: int
    status: str = ""
    reasons: tuple[str, ...] = ()
    message: str = ""

    @property
    def retryable(self) -> bool:
        """True for answers that say "not now" rather than "no": 408, 429, 5xx, and 403s
        whose reason is a rate limit (Gmail) or whose status is RESOURCE_EXHAUSTED (Sheets)."""
        if self.code in RETRY_STATUSES:
            return True
        return self.code == 403 and (
            self.status == "RESOURCE_EXHAUSTED" or bool(RATE_LIMIT_REASONS & set(self.reasons))
        )

    @property
    def refused(self) -> bool:
        """True when the answer says the request was turned away before anything was done
        (408, 429, a rate-limit 403), so even a write that is not safe to repeat may be tried
        again. A 5xx says no such thing: the change may have been made before the failure."""
        return self.retryable and self.code < 500


def parse_failure(code: int, body: bytes | str) -> ApiFailure:
    """Read Google's error envelope, in either dialect: Sheets' ``status``/``details`` or
    Gmail's older ``errors: [{reason}]`` list. A body that is not JSON keeps its first line."""
    try:
        data = json.loads(body)
        error = data.get("error", {}) if isinstance(data, dict) else {}
    except (ValueError, UnicodeDecodeError):
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        return ApiFailure(code, message=(text.strip().splitlines() or [""])[0][:200])
    if not isinstance(error, dict):
        return ApiFailure(code, message=str(error)[:200])
    reasons = [e.get("reason", "") for e in error.get("errors", []) if isinstance(e, dict)]
    for detail in error.get("details", []) or []:
        if isinstance(detail, dict) and detail.get("reason"):
            reasons.append(str(detail["reason"]))
    return ApiFailure(
        code=code,
        status=str(error.get("status", "")),
        reasons=tuple(r for r in reasons if r),
        message=str(error.get("message", "")),
    )


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

    def wait(self, attempt: int, hinted: float | None) -> None:
        """Sleep before try ``attempt + 1``: the server's hint, else full-jitter backoff."""
        if hinted is not None:
            delay = min(hinted, self.cap * 4)
        else:
            delay = random.uniform(0, min(self.cap, self.base * 2**attempt))
        self.sleep(delay)


class SheetsHTTPClient(HTTPClient):
    """gspread's transport with a configurable base URL and bounded retries.

    gspread builds its transport itself (``http_client(auth, session)``), so the base URL and
    policy are set on the instance afterwards by :func:`configure`. Every request is counted in
    ``calls`` (the doctor and the tests read it).
    """

    base_url: str = GOOGLE_SHEETS
    policy: RetryPolicy = RetryPolicy()
    calls: int = 0

    def request(
        self,
        method: str,
        endpoint: str,
        params: ParamsType | None = None,
        data: bytes | None = None,
        json: Mapping[str, Any] | None = None,
        files: Any = None,
        headers: Any = None,
    ) -> Response:
        url = self._rewrite(endpoint)
        # A write that may have been applied before the line dropped or a 5xx came back is only
        # repeated when repeating it cannot change the outcome (see repeatable()); any other
        # write is tried again only after an answer that says it was turned away (429).
        again = repeatable(method, url, json)
        last = self.policy.attempts - 1
        for attempt in range(self.policy.attempts):
            self.calls += 1
            try:
                response = self.session.request(
                    method=method,
                    url=url,
                    json=json,
                    params=params,
                    data=data,
                    files=files,
                    headers=headers,
                    timeout=self.timeout,
                )
            except (RequestsConnectionError, Timeout) as exc:
                if again and attempt < last:
                    self.policy.wait(attempt, None)
                    continue
                raise NoAnswer(
                    f"Google Sheets API: {method.upper()} {_path(url)}: no answer ({exc})",
                    hint=f"check the network; pdmail tried {attempt + 1} time{'s' * (attempt > 0)}",
                ) from None
            except GoogleAuthError as exc:
                # google-auth refreshes the token inside the request (expired mid-run, or a
                # 401). A refusal means no request can succeed until 'pdmail auth' is run; an
                # outage of Google's sign-in service only means trying again later.
                what, outage = sign_in_trouble(exc)
                raise BackendError(
                    f"Google Sheets API: {method.upper()} {_path(url)}: the saved authorization "
                    f"could not be refreshed: {what}",
                    hint=HINT_SIGN_IN_LATER if outage else HINT_SIGN_IN_AGAIN,
                ) from None
            if response.ok:
                return response
            failure = parse_failure(response.status_code, response.content)
            if (failure.refused or (again and failure.retryable)) and attempt < last:
                self.policy.wait(attempt, retry_after(response.headers))
                continue
            raise APIError(response)
        raise AssertionError("unreachable")  # the loop returns or raises

    def _rewrite(self, endpoint: str) -> str:
        if endpoint.startswith(GOOGLE_SHEETS + "/"):
            return self.base_url.rstrip("/") + endpoint[len(GOOGLE_SHEETS) :]
        return endpoint


def repeatable(method: str, url: str, body: Mapping[str, Any] | None = None) -> bool:
    """Whether sending this Sheets request twice leaves the spreadsheet as sending it once:
    reads, value writes and clears of fixed ranges, and ``:batchUpdate`` calls made only of
    ``updateSheetProperties`` (which set absolute values). ``addSheet`` is not: a second one
    fails ("already exists") or, untitled, adds a second tab; an append adds a second row."""
    verb = method.upper()
    if verb in ("GET", "PUT"):
        return True
    path = urlsplit(url).path
    if path.endswith(("/values:batchUpdate", "/values:batchClear", ":clear")):
        return True
    if path.endswith(":batchUpdate") and isinstance(body, Mapping):
        requests = body.get("requests")
        return (
            isinstance(requests, list)
            and bool(requests)
            and all(
                isinstance(r, Mapping) and set(r) == {"updateSheetProperties"} for r in requests
            )
        )
    return False


def configure(client: Any, base_url: str, policy: RetryPolicy, timeout: float) -> None:
    """Point a gspread client built with :class:`SheetsHTTPClient` at ``base_url``."""
    transport = client.http_client
    assert isinstance(transport, SheetsHTTPClient)
    transport.base_url = base_url
    transport.policy = policy
    transport.calls = 0
    client.set_timeout(timeout)


def describe_api_error(api: str, exc: APIError, what: str) -> BackendError:
    """A gspread error as pdmail's: the API, the status and what pdmail was doing."""
    response = exc.response
    failure = parse_failure(response.status_code, response.content)
    hint = {
        401: "the saved authorization was refused: run 'pdmail auth' again",
        403: "the account lacks access: share the spreadsheet with it, or check the scopes "
        "with 'pdmail doctor'",
        404: "check google.spreadsheet_id (the long id in the sheet's address)",
        429: "Google's quota was exceeded; pdmail waited and tried again. Run again later",
    }.get(failure.code)
    status = f"{failure.code} {failure.status}".strip()
    return BackendError(f"{api}: {what}: {status}: {failure.message}", hint=hint)


def _path(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[-1].split("?", 1)[0]

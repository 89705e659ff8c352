"""Talking to Google's REST APIs: endpoints that can be pointed elsewhere, bounded retries.

gspread's default client never retries and its ``BackOffHTTPClient`` (6.2.1) never gives up,
so pdmail brings its own: 408, 429, 5xx and rate-limit 403s are tried again with exponential
backoff and jitter, honouring ``Retry-After``, a fixed number of times, then reported with the
API and status. Only requests that are safe to repeat are retried after a lost connection or
a 5xx (either may come after the change was made); others only after a 429 or rate limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from gspread.exceptions import APIError
from gspread.http_client import HTTPClient, ParamsType
from requests import Response
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import Timeout

from .api import (
    GOOGLE_SHEETS,
    RATE_LIMIT_REASONS,
    RETRY_STATUSES,
    SHEETS_API,
    ApiFailure,
    NoAnswer,
    RetryPolicy,
    google_errors,
    parse_failure,
    retry_after,
)

__all__ = [
    "GOOGLE_SHEETS",
    "RATE_LIMIT_REASONS",
    "RETRY_STATUSES",
    "ApiFailure",
    "NoAnswer",
    "RetryPolicy",
    "SheetsHTTPClient",
    "configure",
    "parse_failure",
    "repeatable",
    "retry_after",
]


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
                # google-auth refreshes the token inside the request (expired mid-run, or a
                # 401): a refusal means no request can succeed until 'pdmail auth' is run; an
                # outage of Google's sign-in service only means trying again later.
                with google_errors(SHEETS_API, f"{method.upper()} {_path(url)}"):
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


def _path(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[-1].split("?", 1)[0]

"""Google's APIs as pdmail meets them: where they are, and what their errors mean.

The one place for Google's endpoints and scopes, and for turning an error raised by any Google
client library (gspread, googleapiclient, google-auth) into pdmail's own, with the API, the
status and a hint: :func:`google_errors` wraps each call, as httpx maps its transport's errors.

This module imports no Google library, so the rest of pdmail can name an endpoint or catch a
:class:`GoogleApiError` without loading them: an exception can only come from a library that
is already loaded, so the mapping looks for them in :data:`sys.modules`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from ...errors import BackendError

# The waits, statuses and error words are every HTTP backend's (pdmail.backends.transport);
# named here too for the Google modules and the scripts that import them from here.
from ..transport import RETRY_STATUSES as RETRY_STATUSES
from ..transport import RetryPolicy as RetryPolicy
from ..transport import first_line as first_line
from ..transport import retry_after as retry_after

# Google's own addresses; google.endpoints.* (or PDMAIL_GOOGLE_ENDPOINT) points a run elsewhere.
GOOGLE_SHEETS = "https://sheets.googleapis.com"
GOOGLE_GMAIL = "https://gmail.googleapis.com"
GOOGLE_FORMS = "https://forms.googleapis.com"
GOOGLE_OAUTH = "https://oauth2.googleapis.com"
GOOGLE_ACCOUNTS = "https://accounts.google.com"

SHEETS_SCOPE = "https://www.googleapis.com/auth/spreadsheets"
GMAIL_SCOPE = "https://www.googleapis.com/auth/gmail.send"
FORMS_SCOPE = "https://www.googleapis.com/auth/forms.body.readonly"

# How messages name each API.
SHEETS_API = "Google Sheets API"
GMAIL_API = "Gmail API"
FORMS_API = "Google Forms API"
OAUTH_API = "Google OAuth"

RATE_LIMIT_REASONS = frozenset(
    {"rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED", "backendError"}
)


# -- what an error answer says ---------------------------------------------------------------


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


# -- pdmail's errors for Google's ----------------------------------------------------------


class NoAnswer(BackendError):
    """A request went out and no answer came back (connection lost, timed out): whether a
    write was applied is unknown. Raised only for writes that are not safe to repeat."""


class GoogleApiError(BackendError):
    """A Google API answered with an error. ``failure`` is what the answer said and
    ``retry_after`` the seconds its ``Retry-After`` header asked for, so a caller with its own
    policy (Gmail's send, a tab that may already exist) can decide from them."""

    def __init__(
        self,
        message: str,
        *,
        failure: ApiFailure,
        retry_after: float | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.failure = failure
        self.retry_after = retry_after


SIGN_IN = "Google's sign-in service"

HINT_SIGN_IN_LATER = (
    "this is on Google's side, not a problem with your authorization: nothing needs to "
    "change; run the command again later (https://www.google.com/appsstatus shows outages)"
)
HINT_SIGN_IN_AGAIN = (
    "run 'pdmail auth' again. If this happens about a week after each 'pdmail auth', the "
    "OAuth app is in 'Testing' status, whose refresh tokens expire after 7 days: set it to "
    "'In production' in the Google Cloud console"
)


class GoogleSignInError(BackendError):
    """google-auth could not get an access token: ``trouble`` says what happened, ``outage``
    whether it is Google's sign-in service that failed (try later) rather than a refusal
    (sign in again); ``refresh`` is False when the token endpoint was not reached at all;
    ``detail`` is the library's own first line."""

    def __init__(
        self,
        message: str,
        *,
        trouble: str = "",
        outage: bool = False,
        refresh: bool = True,
        detail: str = "",
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.trouble = trouble
        self.outage = outage
        self.refresh = refresh
        self.detail = detail


class SignInOutage(GoogleSignInError):
    """Google's sign-in service is down or not answering (5xx, no answer): the saved
    authorization may be fine, and the same command should work later."""

    def __init__(
        self,
        message: str,
        *,
        trouble: str = "",
        refresh: bool = True,
        detail: str = "",
        hint: str | None = None,
    ) -> None:
        super().__init__(
            message, trouble=trouble, outage=True, refresh=refresh, detail=detail, hint=hint
        )


def sign_in_trouble(exc: BaseException, status: int | None = None) -> tuple[str, bool]:
    """What a failed token request means, as ``(what happened, outage)``.

    An outage (the token endpoint answered 5xx, 429 or 408, said ``server_error`` or
    ``temporarily_unavailable``, or did not answer) means trying again later; only a refusal
    (``invalid_grant``, a 400 or 401) means signing in again. ``status`` is the token
    endpoint's HTTP status when the caller saw it.
    """
    reason = first_line(exc)
    if reason.lstrip().startswith("<"):
        reason = ""  # an HTML error page says nothing a person can use
    if not _is(exc, "google.auth.exceptions", "RefreshError"):
        return f"{SIGN_IN} did not answer ({reason or type(exc).__name__})", True
    retryable = bool(getattr(exc, "retryable", False))
    if (status is not None and (status >= 500 or status in (408, 429))) or retryable:
        said = f"answered {status}" if status is not None else "is having trouble"
        return f"{SIGN_IN} {said}{f' ({reason})' if reason else ''}; try again later", True
    return f"Google refused it ({reason or 'no reason given'})", False


@contextmanager
def google_errors(
    api: str,
    what: str,
    *,
    hints: Mapping[int, str] | None = None,
    says: Mapping[int, tuple[str, str]] | None = None,
    unauthorized: str = "the saved authorization could not be refreshed",
    status: Callable[[], int | None] | None = None,
) -> Iterator[None]:
    """Run one Google call; any Google library's error leaves as pdmail's.

    An error answer (gspread's ``APIError``, googleapiclient's ``HttpError``) becomes a
    :class:`GoogleApiError`: ``"<api>: <what>: <code> <STATUS>: <Google's words>"`` with the
    hint ``hints`` (else :data:`API_HINTS`) gives for the code, or the message and hint
    ``says`` gives for it. A token that could not be had (google-auth's ``RefreshError``,
    ``TransportError``) becomes a :class:`GoogleSignInError` (a :class:`SignInOutage` when
    it is Google's sign-in service that failed): ``"<api>: <what>: <unauthorized>: <what
    happened>"``; ``status`` tells the token endpoint's HTTP status when the caller saw it.
    Anything else passes through unchanged.
    """
    try:
        yield
    except BackendError:
        raise
    except Exception as exc:
        mapped = _google_error(exc, api, what, hints, says, unauthorized, status)
        if mapped is None:
            raise
        raise mapped from None


# What pdmail can tell the librarian about a refusal, by status, whatever the API.
API_HINTS: Mapping[int, str] = {
    401: "the saved authorization was refused: run 'pdmail auth' again",
    403: "the account lacks access: share the spreadsheet with it, or check the scopes "
    "with 'pdmail doctor'",
    404: "check google.spreadsheet_id (the long id in the sheet's address)",
    429: "Google's quota was exceeded; pdmail waited and tried again. Run again later",
}


def _google_error(
    exc: Exception,
    api: str,
    what: str,
    hints: Mapping[int, str] | None,
    says: Mapping[int, tuple[str, str]] | None,
    unauthorized: str,
    status: Callable[[], int | None] | None,
) -> BackendError | None:
    where = f"{api}: {what}: " if what else f"{api}: "
    answer = _answer_of(exc)
    if answer is not None:
        code, body, headers = answer
        failure = parse_failure(code, body)
        if says and failure.code in says:
            message, hint = says[failure.code]
            return GoogleApiError(message, failure=failure, hint=hint)
        shown = f"{failure.code} {failure.status}".strip()
        return GoogleApiError(
            f"{where}{shown}: {failure.message}",
            failure=failure,
            retry_after=retry_after(headers),
            hint=(API_HINTS if hints is None else hints).get(failure.code),
        )
    if _is(exc, "google.auth.exceptions", "GoogleAuthError"):
        trouble, outage = sign_in_trouble(exc, status() if status is not None else None)
        message = f"{where}{unauthorized}: {trouble}"
        refresh = _is(exc, "google.auth.exceptions", "RefreshError")
        detail = first_line(exc, 300)
        if outage:
            return SignInOutage(
                message, trouble=trouble, refresh=refresh, detail=detail, hint=HINT_SIGN_IN_LATER
            )
        return GoogleSignInError(
            message, trouble=trouble, refresh=refresh, detail=detail, hint=HINT_SIGN_IN_AGAIN
        )
    return None


def _answer_of(exc: Exception) -> tuple[int, bytes, Mapping[str, str]] | None:
    """The status, body and headers of an error answer a Google library raised, if it is one."""
    if _is(exc, "gspread.exceptions", "APIError"):
        response = exc.response  # type: ignore[attr-defined]
        return response.status_code, response.content, response.headers
    if _is(exc, "googleapiclient.errors", "HttpError"):
        resp = exc.resp  # type: ignore[attr-defined]
        return int(resp.status), exc.content or b"", resp  # type: ignore[attr-defined]
    return None


def _is(exc: BaseException, module: str, name: str) -> bool:
    """``exc`` is an instance of ``module.name``, which is only checked when that module is
    already loaded (if it is not, nothing it defines can have been raised)."""
    loaded = sys.modules.get(module)
    cls = getattr(loaded, name, None) if loaded is not None else None
    return isinstance(cls, type) and isinstance(exc, cls)

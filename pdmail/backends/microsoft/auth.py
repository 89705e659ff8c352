"""Signing in to Microsoft 365 with MSAL, Microsoft's own library, and keeping the sign-in.

Three ways in, picked by the config:

* a librarian signs in once with ``pdmail auth --microsoft``: a device code (a short code to
  type at microsoft.com/devicelogin on any device: for a machine with no browser, such as the
  one cron runs on) or, with ``--browser``, the interactive flow in a local browser. MSAL's
  token cache (the refresh token) is written owner-only (0600, in a 0700 folder), beside the
  Google token, and never printed;
* every later run (cron) asks MSAL for a token silently: a valid access token from the cache,
  or a new one from the refresh token, saved back. No sign-in left, or one Microsoft refuses,
  is an error that names the command to run, never a prompt;
* a district's app with application permissions (``microsoft.client_secret_env``) gets tokens
  by client credentials, for ``microsoft.mailbox``; nothing is written to disk.

MSAL (and requests) are imported here only, when a Microsoft backend is used.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...atomic import loose_permissions, write_private
from ...errors import ConfigError
from ..transport import first_line
from .api import (
    GRAPH_DEFAULT,
    MS_LOGIN,
    OUTLOOK_DEFAULT,
    SIGN_IN_API,
    SMTP_SEND,
    MicrosoftSignInError,
    mailbox,
)

if TYPE_CHECKING:
    from ...config.records import Config

__all__ = [
    "SIGN_IN_COMMAND",
    "TokenSource",
    "acquire",
    "sign_in",
    "token_path",
]

SIGN_IN_COMMAND = "pdmail auth --microsoft"
_HINT_SIGN_IN = (
    f"run '{SIGN_IN_COMMAND}' once on this machine (it prints a code to type at "
    "https://microsoft.com/devicelogin); later runs, cron included, refresh it silently"
)
_HINT_LATER = (
    "this is on Microsoft's side (or the network's), not a problem with the sign-in: run the "
    "command again later (https://status.cloud.microsoft shows outages)"
)
# Sign-in errors that mean "a person must sign in again" (a refresh token revoked, expired
# after 90 days unused, a password changed, consent withdrawn, MFA required anew).
_SIGN_IN_AGAIN = frozenset(
    {"invalid_grant", "interaction_required", "consent_required", "login_required"}
)
_TIMEOUT = 30.0  # seconds for each request to the sign-in service
_BROWSER_WAIT = 600  # seconds the browser sign-in may take before pdmail gives up


def token_path(config: Config) -> Path:
    """Where the MSAL token cache is kept: ``microsoft.token_file``, else beside the Google
    token in the per-user config folder (``~/.config/pdmail/microsoft-token-<who>.json``)."""
    if config.microsoft.token_file is not None:
        return config.microsoft.token_file
    import platformdirs

    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", mailbox(config).replace("@", "_"))
    return platformdirs.user_config_path("pdmail") / f"microsoft-token-{slug}.json"


def _resource_scopes(scopes: Sequence[str], app_only: bool) -> list[list[str]]:
    """``scopes`` grouped by the resource they belong to (Graph, Exchange's SMTP): one token
    serves one resource. An app acting alone asks for each resource's ``/.default``."""
    smtp = [s for s in scopes if s == SMTP_SEND]
    graph = [s for s in scopes if s != SMTP_SEND]
    if app_only:
        return [[GRAPH_DEFAULT]] * bool(graph) + [[OUTLOOK_DEFAULT]] * bool(smtp)
    return [group for group in (graph, smtp) if group]


class TokenSource:
    """Access tokens for one run, from the saved sign-in (or the app's secret).

    ``token(scopes)`` returns a bearer token for ``scopes`` (one resource), valid for a few
    minutes at least: MSAL hands back the cached one or refreshes it, and a refreshed cache is
    saved owner-only at once. ``force_refresh`` proves the refresh token still works (doctor).
    Raises :class:`~pdmail.backends.microsoft.api.MicrosoftSignInError` with the command to run.
    """

    def __init__(self, config: Config, *, http_client: Any = None, fresh: bool = False) -> None:
        self.config = config
        self._fresh = fresh  # a new sign-in: the saved one (broken, loose) is not read
        self.settings = config.microsoft
        self.path = token_path(config)
        self._http = http_client
        self._app: Any = None
        self._cache: Any = None
        self.username = ""  # the signed-in account, once a token was had
        self._held: dict[tuple[str, ...], tuple[str, float]] = {}
        self._saved: str | None = None  # the saved cache's text, once read

    def __repr__(self) -> str:
        # Spelled out: the cache holds refresh tokens, which must never reach a log.
        return f"TokenSource(tenant={self.settings.tenant!r}, path={str(self.path)!r})"

    def token(self, scopes: Sequence[str], *, force_refresh: bool = False) -> str:
        """A bearer token for ``scopes``."""
        key = tuple(sorted(scopes))
        held = self._held.get(key)
        # Kept for the run until five minutes before it expires: MSAL finds a cached token
        # only when the scopes Microsoft wrote in its answer match the ones asked for, which
        # they need not (a short name, a full URI), and a refresh for every message of a
        # month would be a sign-in request each.
        if held is not None and not force_refresh and held[1] - 300 > time.monotonic():
            return held[0]
        answer = self.result(scopes, force_refresh=force_refresh)
        token = str(answer["access_token"])
        lifetime = answer.get("expires_in")
        if isinstance(lifetime, (int, float)) and lifetime > 300:
            self._held[key] = (token, time.monotonic() + float(lifetime))
        return token

    def result(self, scopes: Sequence[str], *, force_refresh: bool = False) -> dict[str, Any]:
        """MSAL's whole answer for ``scopes`` (``access_token``, ``scope``, ...)."""
        if not self.settings.app_only and not self._fresh:
            # Before MSAL is built: building it asks the sign-in service about the tenant,
            # and a machine that never signed in needs the command to run, not a network call.
            self._require_sign_in()
        app = self.app()
        if self.settings.app_only:
            wanted = _resource_scopes(scopes, True)[0]
            answer = _call(lambda: app.acquire_token_for_client(wanted), self.settings.authority)
            self.username = mailbox(self.config)
            return self._checked(answer, app_only=True)
        account = self._account()
        answer = _call(
            lambda: app.acquire_token_silent_with_error(
                list(scopes), account, force_refresh=force_refresh
            ),
            self.settings.authority,
        )
        self._save()
        if answer is None:
            raise MicrosoftSignInError(
                f"{SIGN_IN_API}: the saved sign-in of {account.get('username') or 'the account'} "
                f"does not cover {', '.join(scopes)} ({self.path})",
                hint=f"run '{SIGN_IN_COMMAND}' again so Microsoft asks for it (an admin may "
                "first have to grant consent: see the README, Microsoft 365)",
            )
        self.username = str(account.get("username") or "")
        return self._checked(answer, app_only=False)

    def app(self) -> Any:
        """The MSAL application (public for a librarian, confidential for an app)."""
        if self._app is not None:
            return self._app
        import msal

        s = self.settings
        # MSAL's own session (it honours REQUESTS_CA_BUNDLE: a school's TLS-inspecting proxy,
        # a test CA) with a time limit, so a sign-in service that hangs cannot hang cron.
        options: dict[str, Any] = {"authority": s.authority, "timeout": _TIMEOUT}
        if self._http is not None:
            options["http_client"] = self._http
        if s.endpoints.login != MS_LOGIN:
            # A configured sign-in host (a loopback test server, a national cloud's) is not
            # in MSAL's list of Microsoft's hosts: it may not be validated against it.
            options.update(validate_authority=False, instance_discovery=False)
        if s.app_only:
            self._app = _call(
                lambda: msal.ConfidentialClientApplication(
                    s.client_id, client_credential=s.client_secret(), **options
                ),
                s.authority,
            )
        else:
            self._cache = msal.SerializableTokenCache()
            if self._saved is None and not self._fresh:
                self._saved = self._read_cache() or ""
            self._cache.deserialize(None if self._fresh else self._saved or None)
            self._app = _call(
                lambda: msal.PublicClientApplication(
                    s.client_id, token_cache=self._cache, **options
                ),
                s.authority,
            )
        return self._app

    def _read_cache(self) -> str | None:
        path = self.path
        if not path.exists():
            return None
        loose = loose_permissions(path)
        if loose:
            raise ConfigError(
                f"{SIGN_IN_API}: {loose}",
                hint="the sign-in must be readable by you only (it lets anyone who reads it "
                "send mail as you)",
            )
        try:
            text = path.read_text(encoding="utf-8")
            data = json.loads(text) if text.strip() else None
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"{path}: not a Microsoft sign-in saved by pdmail ({first_line(exc)})",
                hint=f"run '{SIGN_IN_COMMAND}' to sign in again; it replaces the file",
            ) from None
        if data is not None and not isinstance(data, dict):
            raise ConfigError(
                f"{path}: not a Microsoft sign-in saved by pdmail (not a JSON object)",
                hint=f"run '{SIGN_IN_COMMAND}' to sign in again; it replaces the file",
            )
        return text if data else None

    def _require_sign_in(self) -> None:
        """Raise, naming the command to run, unless the saved sign-in holds an account."""
        if self._saved is None:
            if not self.path.exists():
                raise MicrosoftSignInError(
                    f"{SIGN_IN_API}: no Microsoft sign-in for {mailbox(self.config)} "
                    f"({self.path} does not exist)",
                    hint=_HINT_SIGN_IN,
                )
            self._saved = self._read_cache() or ""
        data = json.loads(self._saved) if self._saved else {}
        if not (data.get("Account") and data.get("RefreshToken")):
            raise MicrosoftSignInError(
                f"{SIGN_IN_API}: no Microsoft sign-in for {mailbox(self.config)} in {self.path}",
                hint=_HINT_SIGN_IN,
            )

    def _save(self) -> None:
        if self._cache is not None and self._cache.has_state_changed:
            write_private(self.path, self._cache.serialize())

    def _account(self) -> dict[str, Any]:
        """The signed-in account in the cache: the one for the sending mailbox, else the only
        one there is."""
        accounts = _call(lambda: self.app().get_accounts(), self.settings.authority)
        wanted = mailbox(self.config).casefold()
        for account in accounts:
            if str(account.get("username", "")).casefold() == wanted:
                return dict(account)
        if len(accounts) == 1:
            return dict(accounts[0])
        who = ", ".join(str(a.get("username")) for a in accounts) or "no account"
        raise MicrosoftSignInError(
            f"{SIGN_IN_API}: the saved sign-in ({self.path}) holds {who}, not {wanted}",
            hint=f"run '{SIGN_IN_COMMAND}' and sign in as {wanted} (or set microsoft.mailbox)",
        )

    def _checked(self, answer: Any, *, app_only: bool) -> dict[str, Any]:
        if isinstance(answer, dict) and answer.get("access_token"):
            return answer
        answer = answer if isinstance(answer, dict) else {}
        error = str(answer.get("error") or "no token")
        words = _words(answer)
        if app_only:
            raise MicrosoftSignInError(
                f"{SIGN_IN_API}: the app {self.settings.client_id} got no token: {error}"
                f"{f' ({words})' if words else ''}",
                outage=_outage(answer),
                hint=_HINT_LATER
                if _outage(answer)
                else "check microsoft.tenant, microsoft.client_id and the secret in "
                f"{self.settings.client_secret_env} (secrets expire: see Certificates & "
                "secrets in the app registration)",
            )
        if _outage(answer):
            raise MicrosoftSignInError(
                f"{SIGN_IN_API}: the sign-in could not be refreshed now: {error}"
                f"{f' ({words})' if words else ''}",
                outage=True,
                hint=_HINT_LATER,
            )
        raise MicrosoftSignInError(
            f"{SIGN_IN_API}: Microsoft refused the saved sign-in for "
            f"{mailbox(self.config)}: {error}{f' ({words})' if words else ''}",
            hint=f"run '{SIGN_IN_COMMAND}' again"
            + (
                " (an admin may have to grant consent first: see the README)"
                if error == "consent_required" or "AADSTS65001" in words
                else ""
            ),
        )


def acquire(config: Config, scopes: Sequence[str]) -> str:
    """One access token for ``scopes``, silently (for a backend built for one run)."""
    return TokenSource(config).token(scopes)


def _outage(answer: dict[str, Any]) -> bool:
    error = str(answer.get("error", ""))
    if error in _SIGN_IN_AGAIN or error == "invalid_client":
        return False
    return error in ("server_error", "temporarily_unavailable") or not error


def _words(answer: dict[str, Any]) -> str:
    """The first line of Microsoft's ``error_description`` (its AADSTS code first)."""
    text = str(answer.get("error_description") or "").strip()
    first = (text.splitlines() or [""])[0]
    return first[:240]


def _call(body: Callable[[], Any], authority: str) -> Any:
    """Run one MSAL call; a network failure or an authority MSAL cannot use becomes
    pdmail's error."""
    import requests
    from msal.exceptions import MsalError
    from msal.oauth2cli.oauth2 import BrowserInteractionTimeoutError

    try:
        return body()
    except BrowserInteractionTimeoutError:
        raise MicrosoftSignInError(
            f"{SIGN_IN_API}: the browser sign-in was not finished within "
            f"{_BROWSER_WAIT // 60} minutes",
            hint=f"run '{SIGN_IN_COMMAND}' without --browser to sign in with a code on any "
            "device instead",
        ) from None
    except MsalError as exc:
        # MSAL raises (rather than answers) when an endpoint says 5xx or 429: an outage.
        words = first_line(exc)
        status = re.search(r"HTTP Error: (\d+)", words)
        outage = status is None or int(status.group(1)) >= 500 or status.group(1) == "429"
        raise MicrosoftSignInError(
            f"{SIGN_IN_API}: {authority} answered {words.removeprefix('HTTP Error: ')}"
            + ("; try again later" if outage else ""),
            outage=outage,
            hint=_HINT_LATER if outage else _HINT_SIGN_IN,
        ) from None
    except requests.exceptions.SSLError as exc:
        raise MicrosoftSignInError(
            f"{SIGN_IN_API}: {authority}: TLS certificate not trusted ({first_line(exc)})",
            outage=True,
            hint="a network that inspects TLS needs its certificate authority in "
            "REQUESTS_CA_BUNDLE; check microsoft.endpoints.login",
        ) from None
    except requests.exceptions.RequestException as exc:
        raise MicrosoftSignInError(
            f"{SIGN_IN_API}: {authority} did not answer ({type(exc).__name__})",
            outage=True,
            hint=_HINT_LATER,
        ) from None
    except ValueError as exc:
        raise MicrosoftSignInError(
            f"{SIGN_IN_API}: {authority}: {first_line(exc)}",
            hint="check microsoft.tenant (the directory id or a verified domain) and "
            "microsoft.endpoints.login",
        ) from None


# -- pdmail auth --microsoft ----------------------------------------------------------------


def sign_in(
    config: Config,
    scopes: Sequence[str],
    *,
    browser: bool = False,
    echo: Callable[[str], None] = print,
    http_client: Any = None,
) -> tuple[Path | None, str, list[str]]:
    """Sign in once and save the sign-in; return where it went (None for an app acting
    alone, which saves nothing), who signed in, and the permissions Microsoft granted.

    A device code is printed through ``echo`` (type it at microsoft.com/devicelogin on any
    device); ``browser`` uses the interactive flow in this machine's browser instead. Then
    the permissions of any other resource (SMTP's when Graph came first) are asked for
    silently, which works once they are consented. Raises
    :class:`~pdmail.backends.microsoft.api.MicrosoftSignInError` when the sign-in fails.
    """
    if not scopes:
        raise ConfigError(
            "nothing to sign in for: no backend of this config uses Microsoft 365",
            hint="set mail.kind: microsoft365, mail.smtp.auth: oauth2 or sources.kind: "
            "microsoft365 first",
        )
    # A new sign-in replaces the saved one, even one that is broken or readable by others.
    source = TokenSource(config, http_client=http_client, fresh=True)
    groups = _resource_scopes(scopes, config.microsoft.app_only)
    if config.microsoft.app_only:
        got: list[str] = []
        for group in groups:
            answer = source.result(group)
            from .api import granted, token_claims

            got += granted(token_claims(str(answer["access_token"])))
        return None, mailbox(config), sorted(set(got))
    app = source.app()
    first, rest = groups[0], groups[1:]
    if browser:
        answer = _call(
            lambda: app.acquire_token_interactive(
                first,
                login_hint=mailbox(config),
                # One consent for every resource the config needs (SMTP's beside Graph's).
                extra_scopes_to_consent=[x for group in rest for x in group] or None,
                success_template="pdmail is signed in. You can close this tab.",
                timeout=_BROWSER_WAIT,
            ),
            config.microsoft.authority,
        )
    else:
        flow = _call(lambda: app.initiate_device_flow(scopes=first), config.microsoft.authority)
        if "user_code" not in flow:
            raise MicrosoftSignInError(
                f"{SIGN_IN_API}: no device code: {flow.get('error', 'no answer')}"
                f"{f' ({_words(flow)})' if _words(flow) else ''}",
                hint="in the app registration (Authentication), set 'Allow public client "
                "flows' to Yes; check microsoft.tenant and microsoft.client_id",
            )
        echo(str(flow.get("message") or f"Open {flow.get('verification_uri')} and enter the "
                 f"code {flow['user_code']}"))  # fmt: skip
        answer = _call(lambda: app.acquire_token_by_device_flow(flow), config.microsoft.authority)
    if not (isinstance(answer, dict) and answer.get("access_token")):
        answer = answer if isinstance(answer, dict) else {}
        raise MicrosoftSignInError(
            f"{SIGN_IN_API}: sign-in failed: {answer.get('error', 'no token')}"
            f"{f' ({_words(answer)})' if _words(answer) else ''}",
            hint="run the command again; if Microsoft asked for an administrator, an admin "
            "must grant consent to the app first (see the README, Microsoft 365)",
        )
    source._save()
    claims = answer.get("id_token_claims") or {}
    who = str(claims.get("preferred_username") or "")
    got = str(answer.get("scope", "")).split()
    for group in rest:
        got += str(source.result(group).get("scope", "")).split()
    return source.path, who, sorted(set(got))

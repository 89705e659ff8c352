"""Google credentials: the librarian's OAuth token, or a Workspace service account.

Scopes are the least the config needs: ``spreadsheets`` when the roster lives in a Sheet,
``gmail.send`` when mail goes through Gmail, ``forms.body.readonly`` only for ``form-fields``.
Token files are written owner-only (0600, in a 0700 folder) and their contents never printed.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ...atomic import loose_permissions, write_private
from ...errors import BackendError, ConfigError
from ..transport import first_line
from .api import (
    FORMS_SCOPE,
    GMAIL_SCOPE,
    GOOGLE_ACCOUNTS,
    GOOGLE_OAUTH,
    HINT_SIGN_IN_AGAIN,
    HINT_SIGN_IN_LATER,
    OAUTH_API,
    SHEETS_SCOPE,
    SIGN_IN,
    SignInOutage,
    google_errors,
    sign_in_trouble,
)

if TYPE_CHECKING:
    from ...config.records import Config

__all__ = [
    "FORMS_SCOPE",
    "GMAIL_SCOPE",
    "GOOGLE_ACCOUNTS",
    "GOOGLE_OAUTH",
    "HINT_SIGN_IN_AGAIN",
    "HINT_SIGN_IN_LATER",
    "SHEETS_SCOPE",
    "SIGN_IN",
    "SignInOutage",
    "authorize",
    "authorized_at",
    "client_config",
    "granted_scopes",
    "load_credentials",
    "loose_permissions",
    "read_token",
    "refresh",
    "save_token",
    "scopes_for",
    "sign_in_trouble",
    "token_path",
    "write_private",
]


def scopes_for(config: Config, *, forms: bool = False) -> list[str]:
    """The scopes this config needs, and no more: those of the backends it picks (the
    spreadsheet's for a Google source, ``gmail.send`` for Gmail), and the Forms API's for
    ``form-fields``."""
    from ..registry import chosen

    scopes = [s for backend in chosen(config) for s in backend.google_scopes]
    if forms:
        scopes.append(FORMS_SCOPE)
    return list(dict.fromkeys(scopes))


def token_path(config: Config) -> Path:
    """Where the OAuth token is kept: ``google.token_file``, else the per-user config folder
    (e.g. ``~/.config/pdmail/google-token-librarian_school.org.json``)."""
    if config.google.token_file is not None:
        return config.google.token_file
    import platformdirs

    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", config.librarian.email.replace("@", "_"))
    return platformdirs.user_config_path("pdmail") / f"google-token-{slug}.json"


def _oauth_base(config: Config) -> str:
    return config.google.endpoints.oauth.rstrip("/")


def _redirect_token_uri(info: dict[str, Any], config: Config) -> dict[str, Any]:
    # The token endpoint is written into token and key files; a configured endpoint (a loopback
    # server, an emulator) must win over it, or a refresh would leave for the real Google.
    base = _oauth_base(config)
    if base != GOOGLE_OAUTH:
        info = {**info, "token_uri": f"{base}/token"}
    return info


def load_credentials(config: Config, scopes: Sequence[str]) -> Any:
    """Credentials for ``scopes``: the service account when ``google.service_account_file``
    is set, else the OAuth token saved by ``pdmail auth`` (refreshed when expired)."""
    if config.google.service_account_file is not None:
        return _service_account(config, scopes)
    path = token_path(config)
    if not path.exists():
        raise ConfigError(
            f"no Google authorization for {config.librarian.email} ({path} does not exist)",
            hint="run 'pdmail auth' once on this machine",
        )
    from google.oauth2.credentials import Credentials

    info = read_token(path)
    try:
        # Everything the token was granted, not only what this run needs: the refreshed token
        # is saved back, and a narrower list there would cost a scope (forms, say) for good.
        granted = info.get("scopes") or list(scopes)
        creds = Credentials.from_authorized_user_info(  # type: ignore[no-untyped-call]
            _redirect_token_uri(info, config), scopes=granted
        )
        if _oauth_base(config) != GOOGLE_OAUTH:
            # from_authorized_user_info ignores the info's token_uri (always Google's), so a
            # configured endpoint is set on the credentials themselves (the copy drops expiry).
            expiry = creds.expiry
            creds = creds.with_token_uri(f"{_oauth_base(config)}/token")
            creds.expiry = expiry
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"{path}: not a usable Google token ({first_line(exc)})", hint=_REAUTH
        ) from None
    missing = sorted(set(scopes) - set(info.get("scopes") or scopes))
    if missing:
        raise ConfigError(
            f"{path}: the saved authorization lacks the scope(s) {', '.join(missing)}",
            hint="run 'pdmail auth' again so Google asks for them",
        )
    if not creds.valid:
        refresh(creds, path, config)
    return creds


_REAUTH = "run 'pdmail auth' to sign in again; it replaces the file"
# What 'pdmail auth' writes and Google's library needs to refresh a token without a person.
_TOKEN_KEYS = ("refresh_token", "client_id", "client_secret")


def read_token(path: Path) -> dict[str, Any]:
    """The saved OAuth token at ``path`` as a dict, checked for the shape Google's library
    needs. Raises :class:`ConfigError` naming the file and what is wrong with it (unreadable,
    empty, not text, cut-short JSON, a list, an OAuth client or service account file in its
    place, a missing or non-text field) with ``pdmail auth`` as the way out."""
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a Google token file", hint=_REAUTH) from None
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read the Google token ({exc.strerror or exc})",
            hint="check the file's owner and permissions (it should be yours, mode 600), or "
            + _REAUTH,
        ) from None
    if not data.strip():
        raise ConfigError(f"{path}: the Google token file is empty", hint=_REAUTH)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(
            f"{path}: not a Google token (the file is not text)", hint=_REAUTH
        ) from None
    try:
        info = json.loads(text)
    except ValueError as exc:
        where = (
            f"line {exc.lineno}, column {exc.colno}: {exc.msg}"
            if isinstance(exc, json.JSONDecodeError)
            else str(exc)
        )
        raise ConfigError(
            f"{path}: not a Google token: the JSON is broken or cut short ({where})",
            hint=_REAUTH,
        ) from None
    if not isinstance(info, dict):
        raise ConfigError(
            f"{path}: not a Google token: it holds a JSON {_json_kind(info)}, not an object",
            hint=_REAUTH,
        )
    if "installed" in info or "web" in info:
        raise ConfigError(
            f"{path}: this is the OAuth client file downloaded from the Google Cloud console, "
            "not a saved token",
            hint="put the client file elsewhere and name it in google.client_secret_file, then "
            "run 'pdmail auth', which writes the token here",
        )
    if info.get("type") == "service_account":
        raise ConfigError(
            f"{path}: this is a service account key, not a saved token",
            hint="name it in google.service_account_file instead, or run 'pdmail auth' to sign "
            "in as the librarian (which writes the token here)",
        )
    missing = [key for key in _TOKEN_KEYS if not info.get(key)]
    if missing:
        raise ConfigError(
            f"{path}: not a usable Google token: it lacks {', '.join(missing)}", hint=_REAUTH
        )
    wrong = [k for k in (*_TOKEN_KEYS, "token", "token_uri", "expiry") if _not_text(info.get(k))]
    scopes = info.get("scopes")
    if scopes is not None and not (
        isinstance(scopes, str)
        or (isinstance(scopes, list) and all(isinstance(s, str) for s in scopes))
    ):
        wrong.append("scopes")
    if wrong:
        raise ConfigError(
            f"{path}: not a usable Google token: {', '.join(wrong)} "
            f"{'is' if len(wrong) == 1 else 'are'} not what Google writes",
            hint=_REAUTH,
        )
    if isinstance(scopes, str):
        info["scopes"] = scopes.split()
    return info


def _not_text(value: object) -> bool:
    return value is not None and not isinstance(value, str)


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool) or value is None:
        return "true/false/null"
    return "number"


def refresh(creds: Any, path: Path | None, config: Config) -> None:
    """Get a fresh access token for ``creds`` and save OAuth credentials at ``path`` (None:
    nothing to save, as for a service account).

    Raises :class:`BackendError`: a dead refresh token says to run ``pdmail auth`` again; an
    outage of Google's sign-in service (5xx, no answer) is a :class:`SignInOutage` that says
    so and to try again later.
    """
    import requests
    from google.auth.transport.requests import Request

    statuses: list[int] = []
    session = requests.Session()
    session.hooks["response"].append(lambda r, *args, **kwargs: statuses.append(r.status_code))
    try:
        with google_errors(
            OAUTH_API,
            "",
            unauthorized=f"the saved authorization for {config.librarian.email} could not be "
            "refreshed",
            status=lambda: statuses[-1] if statuses else None,
        ):
            creds.refresh(Request(session))
    finally:
        session.close()
    if path is not None:
        save_token(creds, path)


def granted_scopes(config: Config, access_token: str) -> list[str]:
    """The scopes Google says ``access_token`` carries, from its ``tokeninfo`` endpoint (at
    ``google.endpoints.oauth``), not from what the token file claims.

    Raises :class:`BackendError` when Google does not know the token, or cannot be asked.
    """
    import requests

    url = f"{_oauth_base(config)}/tokeninfo"
    try:
        answer = requests.get(url, params={"access_token": access_token}, timeout=30)
    except requests.RequestException as exc:
        raise SignInOutage(
            f"{OAUTH_API}: could not ask which scopes were granted: {SIGN_IN} did not "
            f"answer ({type(exc).__name__})",
            hint=HINT_SIGN_IN_LATER,
        ) from None
    try:
        data = answer.json()
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    if answer.status_code >= 500 or answer.status_code in (408, 429):
        raise SignInOutage(
            f"{OAUTH_API}: could not ask which scopes were granted: {SIGN_IN} answered "
            f"{answer.status_code}; try again later",
            hint=HINT_SIGN_IN_LATER,
        )
    if not answer.ok or not isinstance(data.get("scope"), str):
        said = data.get("error_description") or data.get("error") or f"{answer.status_code}"
        raise BackendError(
            f"{OAUTH_API}: Google does not accept the saved authorization's access token ({said})",
            hint=HINT_SIGN_IN_AGAIN,
        )
    return sorted(set(data["scope"].split()))


def save_token(
    creds: Any,
    path: Path,
    *,
    authorized: datetime | None = None,
    scopes: Sequence[str] | None = None,
) -> None:
    """Save OAuth credentials owner-only, keeping when they were first authorized;
    ``scopes`` (what Google granted) replaces the scopes that were asked for."""
    info = json.loads(creds.to_json())
    if scopes is not None:
        info["scopes"] = sorted(scopes)
    previous = {}
    if path.exists():
        try:
            previous = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            previous = {}
        if not isinstance(previous, dict):
            previous = {}
    when = authorized or previous.get("pdmail_authorized")
    info["pdmail_authorized"] = (
        when.isoformat() if isinstance(when, datetime) else when or _utcnow().isoformat()
    )
    write_private(path, json.dumps(info, indent=2))


def authorized_at(path: Path) -> datetime | None:
    """When ``pdmail auth`` made the token at ``path`` (None if unknown)."""
    try:
        value = json.loads(path.read_text(encoding="utf-8")).get("pdmail_authorized")
        return datetime.fromisoformat(value) if value else None
    except (OSError, ValueError, TypeError, AttributeError):
        return None


def _service_account(config: Config, scopes: Sequence[str]) -> Any:
    from google.oauth2 import service_account

    path = config.google.service_account_file
    assert path is not None
    subject = config.google.delegated_user or config.librarian.email
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(info, dict) or info.get("type") != "service_account":
            raise ValueError(
                "an OAuth client file, not a key"
                if isinstance(info, dict) and ("installed" in info or "web" in info)
                else 'no "type": "service_account" in it'
            )
        return service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
            _redirect_token_uri(info, config), scopes=list(scopes), subject=subject
        )
    except FileNotFoundError:
        raise ConfigError(f"google.service_account_file: {path} does not exist") from None
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise ConfigError(
            f"google.service_account_file: {path} is not a service account key ({first_line(exc)})",
            hint="download a JSON key for the service account from the Google Cloud console",
        ) from None


def client_config(config: Config, client_secret_file: Path) -> dict[str, Any]:
    """The OAuth client (downloaded from the console) with configured endpoints applied."""
    try:
        data = json.loads(client_secret_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{client_secret_file}: no such OAuth client file",
            hint="create an OAuth client of type 'Desktop app' in the Google Cloud console "
            "and download its JSON (see the README, Google Workspace)",
        ) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{client_secret_file}: not an OAuth client file ({exc})") from None
    if not isinstance(data, dict):
        data = {}
    kind = "installed" if "installed" in data else "web" if "web" in data else ""
    if not kind or not isinstance(data[kind], dict):
        raise ConfigError(
            f"{client_secret_file}: not an OAuth client file (no 'installed' section)",
            hint="the client must be of type 'Desktop app'",
        )
    base = _oauth_base(config)
    if base != GOOGLE_OAUTH:
        data[kind] = {
            **data[kind],
            "token_uri": f"{base}/token",
            "auth_uri": f"{base}/o/oauth2/auth",
        }
    return dict(data)


def authorize(
    config: Config,
    client_secret_file: Path,
    *,
    forms: bool = False,
    open_browser: bool = True,
    port: int = 0,
) -> Path:
    """Run Google's desktop OAuth flow and save the token owner-only; return its path.

    With ``open_browser=False`` the address to open is printed instead (for a machine with no
    browser: forward ``port`` over SSH, or authorize on another machine and copy the token).
    """
    from google_auth_oauthlib.flow import InstalledAppFlow

    scopes = scopes_for(config, forms=forms)
    if not scopes:
        raise ConfigError(
            "nothing to authorize: neither sources.kind is google nor mail.kind is gmail",
            hint="set them in the config first (pass --forms to authorize form-fields alone)",
        )
    flow = InstalledAppFlow.from_client_config(client_config(config, client_secret_file), scopes)
    try:
        with _loopback_http_allowed(_oauth_base(config)), _partial_grant_allowed():
            creds = flow.run_local_server(
                host="localhost",
                port=port,
                open_browser=open_browser,
                authorization_prompt_message="Open this address in a browser to let pdmail "
                "send and read on your behalf:\n{url}",
                success_message="pdmail is authorized. You can close this tab.",
                login_hint=config.librarian.email,
            )
    except Exception as exc:  # oauthlib raises its own families; all mean "not authorized"
        raise BackendError(f"Google OAuth: authorization failed ({first_line(exc)})") from None
    path = token_path(config)
    # Google's consent screen lets each permission be unticked: what the token really carries
    # is what Google's answer says, which is what the token file keeps.
    granted = _scope_list(getattr(creds, "granted_scopes", None))
    save_token(creds, path, authorized=_utcnow(), scopes=granted)
    missing = sorted(set(scopes) - set(granted)) if granted is not None else []
    if missing:
        raise ConfigError(
            f"Google granted {', '.join(sorted(granted or [])) or 'no scope'}; pdmail also "
            f"needs {', '.join(missing)} (the token was saved to {path} all the same)",
            hint="run 'pdmail auth' again and leave every permission ticked on Google's "
            "consent screen",
        )
    return path


def _scope_list(value: object) -> list[str] | None:
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list | tuple | set | frozenset):
        return [str(v) for v in value]
    return None


@contextmanager
def _partial_grant_allowed() -> Iterator[None]:
    # oauthlib raises "Scope has changed" when Google grants fewer scopes than were asked for
    # (each one can be unticked on the consent screen); pdmail takes the token and names what
    # is missing instead.
    before = os.environ.get("OAUTHLIB_RELAX_TOKEN_SCOPE")
    os.environ["OAUTHLIB_RELAX_TOKEN_SCOPE"] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("OAUTHLIB_RELAX_TOKEN_SCOPE", None)
        else:
            os.environ["OAUTHLIB_RELAX_TOKEN_SCOPE"] = before


@contextmanager
def _loopback_http_allowed(base: str) -> Iterator[None]:
    # oauthlib refuses a token endpoint without TLS. A configured endpoint on this machine (an
    # emulator, a test server) has none; anything else keeps the refusal.
    host = urlsplit(base).hostname or ""
    if not base.startswith("http://") or host not in ("127.0.0.1", "localhost", "::1"):
        yield
        return
    before = os.environ.get("OAUTHLIB_INSECURE_TRANSPORT")
    os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("OAUTHLIB_INSECURE_TRANSPORT", None)
        else:
            os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = before


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)

"""Microsoft 365 as pdmail meets it: the ``microsoft:`` config section, the endpoints, the
permissions each backend needs, and what Graph's error answers say.

This module imports neither MSAL nor requests, so the config can be read, and an error
caught, without loading them: the sign-in lives in :mod:`pdmail.backends.microsoft.auth`,
sending in :mod:`pdmail.backends.microsoft.graph`, the Form's workbook in
:mod:`pdmail.backends.microsoft.workbook`.

The ``microsoft:`` section (all of it optional until a Microsoft backend is picked)::

    microsoft:
      tenant: school.onmicrosoft.com     # the directory (tenant) id or a verified domain
      client_id: 00000000-0000-0000-0000-000000000000   # the app registration's id
      client_secret_env: PDMAIL_MS_SECRET # only for an app with application permissions
      mailbox: librarian@school.org       # who sends, with application permissions
      token_file: ~/.config/pdmail/microsoft-token.json
      endpoints: {login: https://login.microsoftonline.com, graph: https://graph.microsoft.com/v1.0}
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import BackendError, ConfigError

if TYPE_CHECKING:
    from ...config.reader import Reader
    from ...config.records import Config

MS_LOGIN = "https://login.microsoftonline.com"
MS_GRAPH = "https://graph.microsoft.com/v1.0"

GRAPH_API = "Microsoft Graph"
SIGN_IN_API = "Microsoft sign-in"

# Delegated permissions (what a signed-in librarian lets pdmail do), as the token's ``scp``
# claim names them. MSAL adds openid, profile and offline_access (the refresh token) itself.
MAIL_SEND = "Mail.Send"
FILES_READ = "Files.Read.All"  # the Form's workbook, which may sit in another's OneDrive
SMTP_SEND = "https://outlook.office.com/SMTP.Send"  # a token for Exchange's SMTP, not Graph
# Application permissions (a district's app, client credentials) come from the app's
# registration, all at once: MSAL asks for the resource's ``/.default``.
GRAPH_DEFAULT = "https://graph.microsoft.com/.default"
OUTLOOK_DEFAULT = "https://outlook.office365.com/.default"

_TENANT = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


@dataclass(frozen=True)
class MicrosoftEndpoints:
    """Where Microsoft's sign-in and Graph are (a loopback server in tests)."""

    login: str = MS_LOGIN
    graph: str = MS_GRAPH


@dataclass(frozen=True)
class Microsoft:
    """``microsoft``: the app registration pdmail signs in through, and where it keeps the
    sign-in."""

    tenant: str = ""
    client_id: str = ""
    client_secret_env: str = ""
    mailbox: str = ""
    token_file: Path | None = None
    endpoints: MicrosoftEndpoints = field(default_factory=MicrosoftEndpoints)

    @property
    def app_only(self) -> bool:
        """True for a district's app with application permissions (client credentials):
        it acts for ``mailbox`` with no one signed in."""
        return bool(self.client_secret_env)

    @property
    def authority(self) -> str:
        """The sign-in authority: ``https://login.microsoftonline.com/<tenant>``."""
        return f"{self.endpoints.login}/{self.tenant}"

    def client_secret(self) -> str:
        """The app's secret, from the environment variable the config names."""
        value = os.environ.get(self.client_secret_env, "")
        if not value:
            raise ConfigError(
                f"microsoft.client_secret_env: the environment variable "
                f"{self.client_secret_env} is not set",
                hint=f"export {self.client_secret_env}=... in the environment that runs pdmail "
                "(for cron, in the crontab or a file it sources); the secret itself never "
                "goes in the config file",
            )
        return value


_KEYS = {"tenant", "client_id", "client_secret_env", "mailbox", "token_file", "endpoints"}


def parse_microsoft(r: Reader, root: Mapping[str, Any]) -> Microsoft:
    """Check the ``microsoft:`` section (its required keys are checked by the backends that
    use it: see :func:`require`)."""
    m = r.mapping(root.get("microsoft"), "microsoft")
    r.known(m, "microsoft", _KEYS)
    ep = r.mapping(m.get("endpoints"), "microsoft.endpoints")
    r.known(ep, "microsoft.endpoints", {"login", "graph"})
    endpoints = MicrosoftEndpoints(
        login=(r.text(ep, "login", "microsoft.endpoints") or MS_LOGIN).rstrip("/"),
        graph=(r.text(ep, "graph", "microsoft.endpoints") or MS_GRAPH).rstrip("/"),
    )
    for name, url in (("login", endpoints.login), ("graph", endpoints.graph)):
        if not url.startswith("https://"):
            raise r.error(
                f"microsoft.endpoints.{name}",
                f"{url!r} is not an https address",
                "Microsoft's sign-in library accepts only https",
            )
    client_id = r.text(m, "client_id", "microsoft")
    if client_id and not _GUID.fullmatch(client_id):
        raise r.error(
            "microsoft.client_id",
            f"{client_id!r} is not an application (client) id",
            "copy the 'Application (client) ID' from the app registration's Overview page "
            "(it looks like 00000000-0000-0000-0000-000000000000)",
        )
    tenant = r.text(m, "tenant", "microsoft")
    if tenant and not _TENANT.fullmatch(tenant):
        raise r.error(
            "microsoft.tenant",
            f"{tenant!r} is not a tenant id or domain",
            "the 'Directory (tenant) ID' from the app registration's Overview page, or the "
            "school's domain (lincoln.onmicrosoft.com), without https:// or a path",
        )
    mailbox = r.text(m, "mailbox", "microsoft")
    if mailbox:
        r.email(m, "mailbox", "microsoft")
    return Microsoft(
        tenant=tenant,
        client_id=client_id,
        client_secret_env=r.text(m, "client_secret_env", "microsoft"),
        mailbox=mailbox,
        token_file=r.path(m, "token_file", "microsoft"),
        endpoints=endpoints,
    )


def require(r: Reader, root: Mapping[str, Any], why: str) -> None:
    """The keys every Microsoft backend needs (``why``: ``mail.kind is microsoft365``)."""
    m = root.get("microsoft")
    m = m if isinstance(m, Mapping) else {}
    for key in ("tenant", "client_id"):
        if not r.text(m, key, "microsoft"):
            raise r.error(
                f"microsoft.{key}",
                f"is required when {why}",
                "from the app registration's Overview page in the Microsoft Entra admin "
                "center (see the README, Microsoft 365)",
            )


def mailbox(config: Config) -> str:
    """The mailbox pdmail sends as: ``microsoft.mailbox``, else the librarian's address."""
    return config.microsoft.mailbox or config.librarian.email


def graph_user(config: Config) -> str:
    """``/me`` for a signed-in librarian; ``/users/<mailbox>`` for an app acting alone."""
    if config.microsoft.app_only:
        from urllib.parse import quote

        return f"/users/{quote(mailbox(config), safe='@')}"
    return "/me"


def scopes_for(config: Config) -> list[str]:
    """The delegated permissions this config needs, and no more: ``Mail.Send`` to send through
    Graph, ``Files.Read.All`` to read the Form's workbook, SMTP.Send for SMTP with OAuth."""
    from ..registry import chosen

    wanted = [s for backend in chosen(config) for s in backend.microsoft_scopes]
    smtp = config.mail.smtp
    if config.mail.kind == "smtp" and smtp is not None and getattr(smtp, "auth", "") == "oauth2":
        wanted.append(SMTP_SEND)
    return list(dict.fromkeys(wanted))


def uses_microsoft(config: Config) -> bool:
    """True when any backend of ``config`` signs in to Microsoft."""
    return bool(scopes_for(config))


# -- what Graph's answers say ----------------------------------------------------------------


@dataclass(frozen=True)
class GraphFailure:
    """An error answer: the HTTP status, Graph's ``error.code`` and its words."""

    code: int
    error: str = ""
    message: str = ""

    def __str__(self) -> str:
        said = f"{self.code} {self.error}".strip()
        return f"{said}: {self.message}" if self.message else said


def parse_failure(code: int, body: bytes | str) -> GraphFailure:
    """Read Graph's ``{"error": {"code", "message"}}`` envelope (or a sign-in endpoint's
    ``{"error", "error_description"}``); a body that is not JSON keeps its first line."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        first = (text.strip().splitlines() or [""])[0][:200]
        return GraphFailure(code, message="" if first.startswith("<") else first)
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        return GraphFailure(code, str(error.get("code", "")), str(error.get("message", ""))[:300])
    if isinstance(error, str) and isinstance(data, dict):
        words = str(data.get("error_description", "")).strip().splitlines()
        return GraphFailure(code, error, (words or [""])[0][:300])
    return GraphFailure(code)


class GraphError(BackendError):
    """Graph answered with an error: ``failure`` is what it said and ``retry_after`` the
    seconds its ``Retry-After`` asked for."""

    def __init__(
        self,
        message: str,
        *,
        failure: GraphFailure,
        retry_after: float | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.failure = failure
        self.retry_after = retry_after


class MicrosoftSignInError(BackendError):
    """No access token could be had: ``outage`` says Microsoft's sign-in service failed (try
    later) rather than refused (sign in again)."""

    def __init__(self, message: str, *, outage: bool = False, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.outage = outage


def token_claims(access_token: str) -> dict[str, Any]:
    """The claims of a JWT access token (unverified: they are only read to tell the
    librarian what was granted; Microsoft checks the token itself). Empty when the token is
    not a readable JWT, which Microsoft does not promise it is."""
    parts = access_token.split(".")
    if len(parts) != 3:
        return {}
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def granted(claims: Mapping[str, Any]) -> list[str]:
    """The permissions a token carries: delegated ones (``scp``, space separated) and
    application ones (``roles``, a list)."""
    scp = claims.get("scp")
    roles = claims.get("roles")
    found = scp.split() if isinstance(scp, str) else []
    if isinstance(roles, list):
        found += [str(r) for r in roles]
    return sorted(set(found))


def short_scope(scope: str) -> str:
    """``Mail.Send`` for ``https://graph.microsoft.com/Mail.Send``: how ``scp`` names it."""
    return scope.rsplit("/", 1)[-1]

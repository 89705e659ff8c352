"""``pdmail doctor``'s Google checks: each asks Google, never only the files on disk.

The refresh token is proven by a refresh, a service account's delegation by the token Google
issues, and the scopes by Google's ``tokeninfo`` endpoint, not by the list the token file
keeps. An outage of Google's sign-in service is reported as one, not as a dead authorization.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from ...errors import PdmailError
from ...wording import count
from ..base import FAIL, OK, WARN, Account, Check
from .api import FORMS_SCOPE, SignInOutage

if TYPE_CHECKING:
    from ...config.records import Config


class GoogleAccount(Account):
    """The one Google sign-in (OAuth token or service account) that Sheets and Gmail share."""

    name: ClassVar[str] = "Google"

    @classmethod
    def checks(cls, config: Config) -> tuple[list[Check], bool]:
        found = credentials(config)
        # A scope Google did not grant is its own failure; the other checks still run.
        return found, all(c.status != FAIL for c in found if c.name != "scopes")


def credentials(config: Config) -> list[Check]:
    """The Google checks: key file permissions, a token Google refreshes (or, for a service
    account, issues), the scopes Google says it granted, and the token's age."""
    from .auth import (
        load_credentials,
        loose_permissions,
        refresh,
        scopes_for,
        token_path,
    )

    out: list[Check] = []
    needed = scopes_for(config)
    for key in ("client_secret_file", "service_account_file"):
        path = getattr(config.google, key)
        if path is not None and path.exists() and loose_permissions(path):
            out.append(
                Check(
                    "credentials",
                    FAIL,
                    loose_permissions(path),
                    "key files must be readable by their owner only",
                )
            )
    key_file = config.google.service_account_file
    if key_file is not None:
        subject = config.google.delegated_user or config.librarian.email
        try:
            creds = load_credentials(config, needed)
            refresh(creds, None, config)  # Google issues a token only if delegation allows it
        except PdmailError as exc:
            return [*out, Check("credentials", FAIL, exc.message, _delegation_fix(exc, needed))]
        out.append(
            Check(
                "credentials",
                OK,
                f"service account key {key_file.name}: Google issued a token acting as "
                f"{subject} (domain-wide delegation)",
            )
        )
        return [*out, _scopes(config, creds.token, needed)]
    path = token_path(config)
    if not path.exists():
        return [
            *out,
            Check(
                "credentials",
                FAIL,
                f"no Google authorization at {path}",
                "run 'pdmail auth' once on this machine",
            ),
        ]
    loose = loose_permissions(path)
    if loose:
        out.append(Check("credentials", FAIL, loose, "the token must be readable by you only"))
    refreshed = False
    try:
        creds = load_credentials(config, needed)
        if getattr(creds, "refresh_token", None):
            refresh(creds, path, config)  # proves the refresh token still works
            refreshed = True
        else:
            out.append(
                Check(
                    "token",
                    WARN,
                    "the token cannot be refreshed (no refresh token): it stops working "
                    "within the hour",
                    "run 'pdmail auth' again",
                )
            )
    except PdmailError as exc:
        return [*out, Check("token", FAIL, exc.message, exc.hint or "")]
    out.append(_scopes(config, creds.token, needed))
    if refreshed:
        out.append(_token_age(path))
    return out


def _delegation_fix(exc: PdmailError, needed: list[str]) -> str:
    if isinstance(exc, SignInOutage) or "google.service_account_file" in exc.message:
        return exc.hint or ""
    return (
        "in the Google Workspace admin console (Security > Access and data control > API "
        "controls > Domain-wide delegation), allow the service account's client id these "
        f"scopes: {', '.join(needed)}"
    )


def _scopes(config: Config, access_token: str | None, needed: list[str]) -> Check:
    """The scopes Google itself says the token carries (its tokeninfo endpoint)."""
    from .auth import granted_scopes

    try:
        granted = set(granted_scopes(config, access_token or ""))
    except SignInOutage as exc:
        return Check("scopes", WARN, f"not checked: {exc.message}", exc.hint or "")
    except PdmailError as exc:
        return Check("scopes", FAIL, exc.message, exc.hint or "")
    shown = f"granted by Google: {', '.join(sorted(granted)) or 'none'}"
    missing = sorted(set(needed) - granted)
    if missing:
        return Check(
            "scopes",
            FAIL,
            f"{shown}; missing {', '.join(missing)}",
            "run 'pdmail auth' again and leave every permission ticked on Google's consent "
            "screen (it lets each one be unticked)",
        )
    extra = sorted(granted - set(needed) - {FORMS_SCOPE})
    if extra:
        return Check(
            "scopes",
            WARN,
            shown,
            f"more than needed ({', '.join(extra)}): run 'pdmail auth' again to narrow them",
        )
    return Check("scopes", OK, shown)


def _token_age(path: Path) -> Check:
    from .auth import authorized_at

    when = authorized_at(path)
    if when is None:
        return Check("token", OK, "refreshed: Google issued a new access token")
    age = (datetime.now(when.tzinfo) - when).days
    if age >= 7:
        return Check(
            "token",
            OK,
            f"refreshed: Google issued a new access token; authorized {age} days ago, so "
            "the OAuth app is not in 'Testing' status",
        )
    dies = (when + timedelta(days=7)).date()
    return Check(
        "token",
        WARN,
        f"refreshed: Google issued a new access token; authorized {count(age, 'day')} ago",
        "if the OAuth app is in 'Testing' status its refresh tokens stop working after "
        f"7 days (on {dies}) and the monthly job will fail: set the app to 'In "
        "production' in the Google Cloud console (OAuth consent screen)",
    )

"""``pdmail doctor``'s Microsoft 365 checks: each asks Microsoft, never only the file on disk.

The sign-in is proven by a refresh (Microsoft issues a new access token from the saved refresh
token), the permissions by the claims of the token Microsoft issued (``scp`` for a signed-in
librarian, ``roles`` for an app), the mailbox by Graph (``/me`` or ``/users/<mailbox>``, which
``Mail.Send`` alone may not read: then the check says it was not made).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from ...errors import PdmailError
from ..base import FAIL, OK, SKIP, WARN, Account, Check
from .api import (
    FILES_READ,
    MAIL_SEND,
    SMTP_SEND,
    GraphError,
    MicrosoftSignInError,
    granted,
    graph_user,
    mailbox,
    scopes_for,
    short_scope,
    token_claims,
)

if TYPE_CHECKING:
    from ...config.records import Config
    from .auth import TokenSource

# What an app acting alone needs instead of each delegated permission (any one of them).
_APP_ROLES = {
    MAIL_SEND: ("Mail.Send",),
    FILES_READ: ("Files.Read.All", "Sites.Read.All", "Sites.Selected"),
    SMTP_SEND: ("SMTP.SendAsApp",),
}


class MicrosoftAccount(Account):
    """The one Microsoft sign-in that Graph mail, SMTP with OAuth and the Form's workbook
    share."""

    name: ClassVar[str] = "Microsoft 365"

    @classmethod
    def checks(cls, config: Config) -> tuple[list[Check], bool]:
        found = checks(config)
        return found, all(c.status != FAIL for c in found if c.name != "permissions")


def checks(config: Config) -> list[Check]:
    """The sign-in (refreshed), the permissions Microsoft granted and the mailbox."""
    from .auth import SIGN_IN_COMMAND, TokenSource, _resource_scopes

    needed = scopes_for(config)
    app_only = config.microsoft.app_only
    tokens = TokenSource(config)
    out: list[Check] = []
    claims: dict[str, object] = {}
    got: list[str] = []
    try:
        for group in _resource_scopes(needed, app_only):
            answer = tokens.result(group, force_refresh=not app_only)
            claims = token_claims(str(answer["access_token"]))
            got += granted(claims) or [short_scope(s) for s in str(answer.get("scope", "")).split()]
    except MicrosoftSignInError as exc:
        status = WARN if exc.outage else FAIL
        return [Check("sign-in", status, exc.message, exc.hint or "")]
    except PdmailError as exc:
        return [Check("sign-in", FAIL, exc.message, exc.hint or "")]
    if app_only:
        out.append(
            Check(
                "sign-in",
                OK,
                f"app {config.microsoft.client_id}: Microsoft issued a token (client "
                f"credentials) to act for {mailbox(config)}",
            )
        )
    else:
        out.append(
            Check(
                "sign-in",
                OK,
                f"{tokens.path}: refreshed: Microsoft issued a new access token for "
                f"{tokens.username or 'the signed-in account'}",
                f"cron needs this file (readable by you only); if it stops working, run "
                f"'{SIGN_IN_COMMAND}' again",
            )
        )
    out.append(_permissions(needed, sorted(set(got)), app_only, bool(claims)))
    if any(s != SMTP_SEND for s in needed):
        out.append(_mailbox(config, tokens, [s for s in needed if s != SMTP_SEND]))
    return out


def _permissions(needed: list[str], got: list[str], app_only: bool, readable: bool) -> Check:
    if not got:
        return Check(
            "permissions",
            WARN,
            "not checked: the token does not say what it carries",
            "Microsoft does not promise readable tokens; a refused request names the "
            "permission instead",
        )
    shown = f"granted by Microsoft ({'roles' if app_only else 'scp'}): {', '.join(got)}"
    have = set(got)
    missing = [
        s
        for s in needed
        if not (
            have & set(_APP_ROLES.get(s, (short_scope(s),))) if app_only else short_scope(s) in have
        )
    ]
    if missing:
        fix = (
            "in the app registration, API permissions: add the application permission(s) "
            f"{', '.join(_APP_ROLES.get(s, (s,))[0] for s in missing)} and have an admin "
            "'Grant admin consent'"
            if app_only
            else f"add {', '.join(short_scope(s) for s in missing)} to the app's delegated "
            "permissions (an admin may have to grant consent), then run 'pdmail auth "
            "--microsoft' again"
        )
        return Check("permissions", FAIL, f"{shown}; missing {', '.join(missing)}", fix)
    extra = sorted(have - {"openid", "profile", "email", "offline_access", "User.Read"}
                   - {r for s in needed for r in _APP_ROLES.get(s, ())}
                   - {short_scope(s) for s in needed})  # fmt: skip
    if extra:
        return Check(
            "permissions",
            WARN,
            shown,
            f"more than pdmail needs ({', '.join(extra)}): remove them from the app registration",
        )
    return Check("permissions", OK, shown)


def _mailbox(config: Config, tokens: TokenSource, scopes: list[str]) -> Check:
    from .graph import GraphClient

    user = graph_user(config)
    client = GraphClient(tokens, scopes, base_url=config.microsoft.endpoints.graph, timeout=30)
    try:
        me = client.get_json(f"{user}?$select=mail,userPrincipalName", what=f"reading {user}")
    except GraphError as exc:
        if exc.failure.code == 403:
            return Check(
                "mailbox",
                SKIP,
                f"not checked: Graph does not let this sign-in read {user} ({exc.failure}); "
                "Mail.Send alone need not",
                "a test message proves it: run 'pdmail doctor --send-test'",
            )
        return Check("mailbox", FAIL, exc.message, exc.hint or "")
    except PdmailError as exc:
        return Check("mailbox", FAIL, exc.message, exc.hint or "")
    finally:
        client.close()
    address = str(me.get("mail") or me.get("userPrincipalName") or "")
    detail = f"Graph {user}: mailbox {address or '(no address)'}"
    if address and address.casefold() != mailbox(config).casefold():
        return Check(
            "mailbox",
            WARN,
            f"{detail}, not {mailbox(config)}",
            "mail goes out from the mailbox that signed in: sign in as the librarian, or set "
            "librarian.email (or microsoft.mailbox) to this address",
        )
    return Check("mailbox", OK, detail)

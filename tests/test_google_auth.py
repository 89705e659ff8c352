"""Google credentials: the fewest scopes, owner-only token files, refreshes that go to the
configured token endpoint (a loopback server here, never Google) and explain a dead token,
and Workspace service accounts acting for the librarian."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import stat
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import platformdirs
import pytest
from conftest import BASE_CONFIG, Project, deep_merge

from pdmail.backends.google.auth import (
    FORMS_SCOPE,
    GMAIL_SCOPE,
    SHEETS_SCOPE,
    load_credentials,
    loose_permissions,
    scopes_for,
    token_path,
    write_private,
)
from pdmail.config.load import GOOGLE_ENDPOINT_ENV, parse_config
from pdmail.config.records import Config
from pdmail.errors import BackendError, ConfigError

LIBRARIAN = "librarian@school.example.org"
ACCESS = "ya29.old-ACCESS-token-do-not-print"
REFRESH = "1//REFRESH-token-do-not-print"
AUTHORIZED = "2026-09-01T12:00:00+00:00"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
GOOGLE = {"sources": {"kind": "google", "roster": None, "responses": None},
          "google": {"spreadsheet_id": "sheet-id"}}  # fmt: skip
posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


@pytest.fixture(autouse=True)
def _no_endpoint_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(GOOGLE_ENDPOINT_ENV, raising=False)


def make_config(tmp_path: Path, *extras: dict[str, Any]) -> Config:
    data = BASE_CONFIG
    for extra in extras:
        data = deep_merge(data, extra)
    return parse_config(data, tmp_path / "pdmail.yaml")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def token_info(**changes: Any) -> dict[str, Any]:
    info = {
        "token": ACCESS,
        "refresh_token": REFRESH,
        "client_id": "client.apps.googleusercontent.com",
        "client_secret": "client-secret",
        "token_uri": GOOGLE_TOKEN_URI,
        "scopes": [SHEETS_SCOPE],
        "expiry": "2099-01-01T00:00:00Z",
        "pdmail_authorized": AUTHORIZED,
    }
    info.update(changes)
    return info


class TokenEndpoint:
    """A loopback OAuth token endpoint: answers every ``POST /token`` with one canned reply
    and keeps the forms it received."""

    def __init__(self, status: int, payload: dict[str, Any]) -> None:
        self.forms: list[dict[str, str]] = []
        self.paths: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"])).decode()
                outer.paths.append(self.path)
                outer.forms.append({k: v[0] for k, v in parse_qs(raw).items()})
                body = json.dumps(payload).encode()
                self.send_response(status if self.path == "/token" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,))
        self._thread.daemon = True

    def __enter__(self) -> TokenEndpoint:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


NEW_TOKEN = {"access_token": "new", "expires_in": 3600, "token_type": "Bearer"}
INVALID_GRANT = {
    "error": "invalid_grant",
    "error_description": "Token has been expired or revoked.",
}


@contextlib.contextmanager
def oauth_project(
    tmp_path: Path, status: int, payload: dict[str, Any], **token: Any
) -> Iterator[tuple[Config, Path, TokenEndpoint]]:
    """A Google config whose google.endpoints.oauth is a loopback token endpoint, and a saved
    token (expired unless told otherwise)."""
    with TokenEndpoint(status, payload) as endpoint:
        path = tmp_path / "private" / "token.json"
        write_private(path, json.dumps(token_info(**{"expiry": "2020-01-01T00:00:00Z", **token})))
        config = make_config(tmp_path, GOOGLE, {"google": {
            "token_file": str(path), "endpoints": {"oauth": endpoint.base_url}}})  # fmt: skip
        yield config, path, endpoint


# -- scopes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sources", "mail", "forms", "expected"),
    [
        ("google", "outbox", False, [SHEETS_SCOPE]),
        ("google", "smtp", False, [SHEETS_SCOPE]),
        ("local", "gmail", False, [GMAIL_SCOPE]),
        ("google", "gmail", False, [SHEETS_SCOPE, GMAIL_SCOPE]),
        ("local", "outbox", False, []),
        ("local", "outbox", True, [FORMS_SCOPE]),
        ("google", "gmail", True, [SHEETS_SCOPE, GMAIL_SCOPE, FORMS_SCOPE]),
    ],
)
def test_scopes_are_the_least_the_config_needs(
    tmp_path: Path, sources: str, mail: str, forms: bool, expected: list[str]
) -> None:
    extra: dict[str, Any] = {"mail": {"kind": mail}}
    if mail == "smtp":
        extra["mail"]["smtp"] = {"host": "smtp.example.org"}
    config = make_config(tmp_path, GOOGLE if sources == "google" else {}, extra)

    assert scopes_for(config, forms=forms) == expected


# -- private files -------------------------------------------------------------------------


@posix_only
def test_write_private_makes_an_owner_only_file_in_an_owner_only_folder(tmp_path: Path) -> None:
    path = tmp_path / "new-folder" / "token.json"

    write_private(path, '{"token": "x"}')

    assert path.read_text(encoding="utf-8") == '{"token": "x"}'
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert sorted(p.name for p in path.parent.iterdir()) == ["token.json"]  # no temp file left


@posix_only
def test_write_private_replaces_a_loose_file_with_an_owner_only_one(tmp_path: Path) -> None:
    path = tmp_path / "token.json"
    path.write_text("old", encoding="utf-8")
    path.chmod(0o644)
    # A crashed earlier write left its temporary file behind, readable by all.
    stale = tmp_path / ".token.json.tmp"
    stale.write_text("half a token", encoding="utf-8")
    stale.chmod(0o644)

    write_private(path, "new")

    assert (path.read_text(encoding="utf-8"), mode(path)) == ("new", 0o600)
    assert not stale.exists()


@posix_only
@pytest.mark.parametrize(("bits", "loose"), [(0o644, True), (0o640, True), (0o600, False)])
def test_loose_permissions_reports_files_others_can_read(
    tmp_path: Path, bits: int, loose: bool
) -> None:
    path = tmp_path / "token.json"
    path.write_text("{}", encoding="utf-8")
    path.chmod(bits)

    sentence = loose_permissions(path)

    if loose:
        assert str(path) in sentence and f"{bits:o}" in sentence and "chmod 600" in sentence
    else:
        assert sentence == ""


# -- loading a saved token -----------------------------------------------------------------


def test_a_missing_token_says_to_run_pdmail_auth(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "token.json"
    config = make_config(tmp_path, GOOGLE, {"google": {"token_file": str(path)}})

    with pytest.raises(ConfigError) as error:
        load_credentials(config, [SHEETS_SCOPE])

    assert str(path) in error.value.message and LIBRARIAN in error.value.message
    assert "'pdmail auth'" in (error.value.hint or "")
    assert not path.parent.exists()


@pytest.mark.parametrize(
    "content",
    [
        json.dumps(token_info())[:-20],  # cut short: not JSON
        json.dumps({k: v for k, v in token_info().items() if k != "client_secret"}),
    ],
    ids=["truncated", "incomplete"],
)
def test_an_unusable_token_file_is_a_config_error_that_never_shows_its_contents(
    tmp_path: Path, content: str
) -> None:
    path = tmp_path / "token.json"
    write_private(path, content)
    config = make_config(tmp_path, GOOGLE, {"google": {"token_file": str(path)}})

    with pytest.raises(ConfigError) as error:
        load_credentials(config, [SHEETS_SCOPE])

    text = str(error.value)
    assert str(path) in text and "'pdmail auth'" in text
    assert ACCESS not in text and REFRESH not in text and "client-secret" not in text


def test_a_token_without_a_needed_scope_names_the_scope(tmp_path: Path) -> None:
    path = tmp_path / "token.json"
    write_private(path, json.dumps(token_info(scopes=[SHEETS_SCOPE])))
    config = make_config(
        tmp_path, GOOGLE, {"mail": {"kind": "gmail"}, "google": {"token_file": str(path)}}
    )

    with pytest.raises(ConfigError) as error:
        load_credentials(config, scopes_for(config))

    assert GMAIL_SCOPE in error.value.message
    assert SHEETS_SCOPE not in error.value.message  # only what is missing
    assert "'pdmail auth'" in (error.value.hint or "")


def test_a_valid_token_is_used_as_saved_without_a_refresh(tmp_path: Path) -> None:
    with oauth_project(tmp_path, 200, NEW_TOKEN, expiry="2099-01-01T00:00:00Z") as (
        config, path, endpoint,
    ):  # fmt: skip
        before = path.read_bytes()
        creds = load_credentials(config, [SHEETS_SCOPE])

    assert creds.token == ACCESS and creds.valid
    assert endpoint.forms == []
    assert path.read_bytes() == before


def test_an_expired_token_is_refreshed_at_the_configured_endpoint_and_saved_privately(
    tmp_path: Path,
) -> None:
    with oauth_project(tmp_path, 200, NEW_TOKEN) as (config, path, endpoint):
        creds = load_credentials(config, [SHEETS_SCOPE])

    # The refresh went to the loopback endpoint (there is no route to Google from here).
    assert endpoint.paths == ["/token"]
    (form,) = endpoint.forms
    assert (form["grant_type"], form["refresh_token"]) == ("refresh_token", REFRESH)
    assert creds.token == "new" and creds.valid
    assert creds.token_uri == f"{endpoint.base_url}/token"
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert (saved["token"], saved["refresh_token"]) == ("new", REFRESH)
    assert saved["pdmail_authorized"] == AUTHORIZED  # when 'pdmail auth' ran, not the refresh
    assert sorted(p.name for p in path.parent.iterdir()) == ["token.json"]
    if os.name == "posix":
        assert mode(path) == 0o600


def test_PDMAIL_GOOGLE_ENDPOINT_sends_the_refresh_to_the_loopback_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with TokenEndpoint(200, NEW_TOKEN) as endpoint:
        path = tmp_path / "token.json"
        write_private(path, json.dumps(token_info(expiry="2020-01-01T00:00:00Z")))
        monkeypatch.setenv(GOOGLE_ENDPOINT_ENV, endpoint.base_url)
        config = make_config(tmp_path, GOOGLE, {"google": {"token_file": str(path)}})

        creds = load_credentials(config, [SHEETS_SCOPE])

    assert endpoint.paths == ["/token"] and creds.token == "new"


def test_a_revoked_refresh_token_explains_the_testing_status_and_prints_no_token(
    tmp_path: Path,
) -> None:
    with oauth_project(tmp_path, 400, INVALID_GRANT) as (config, path, endpoint):
        before = path.read_bytes()
        with pytest.raises(BackendError) as error:
            load_credentials(config, [SHEETS_SCOPE])

    assert len(endpoint.forms) == 1  # an invalid_grant is final: not retried
    assert "Google OAuth" in error.value.message and LIBRARIAN in error.value.message
    hint = error.value.hint or ""
    assert "'Testing'" in hint and "7 days" in hint and "'pdmail auth'" in hint
    text = str(error.value)
    assert REFRESH not in text and ACCESS not in text and "client-secret" not in text
    assert path.read_bytes() == before  # a failed refresh leaves the file as it was


# -- where the token lives -----------------------------------------------------------------


def test_the_default_token_path_is_per_user_and_keyed_by_the_librarian(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    xdg = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    config = make_config(tmp_path, GOOGLE)
    other = make_config(tmp_path, GOOGLE, {"librarian": {"email": "Media.Center@other-school.org"}})

    path = token_path(config)

    assert path == platformdirs.user_config_path("pdmail") / (
        "google-token-librarian_school.example.org.json"
    )
    assert token_path(other).parent == path.parent
    assert token_path(other).name == "google-token-Media.Center_other-school.org.json"
    if sys.platform.startswith("linux"):
        assert path.parent == xdg / "pdmail"
        with pytest.raises(ConfigError) as error:
            load_credentials(config, [SHEETS_SCOPE])
        assert str(path) in error.value.message
    assert not xdg.exists()  # looking for a token writes nothing


def test_a_configured_token_file_wins_over_the_default(tmp_path: Path) -> None:
    config = make_config(tmp_path, GOOGLE, {"google": {"token_file": "secrets/token.json"}})

    assert token_path(config) == tmp_path / "secrets" / "token.json"


# -- service accounts ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def private_key_pem() -> str:
    pytest.importorskip("cryptography")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def service_account_file(tmp_path: Path, pem: str) -> Path:
    path = tmp_path / "service-account.json"
    write_private(path, json.dumps({
        "type": "service_account",
        "project_id": "pdmail-test",
        "private_key_id": "key-1",
        "private_key": pem,
        "client_email": "pdmail@pdmail-test.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": GOOGLE_TOKEN_URI,
    }))  # fmt: skip
    return path


def jwt_claims(assertion: str) -> dict[str, Any]:
    payload = assertion.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


@pytest.mark.parametrize(
    ("delegated", "subject"),
    [("", LIBRARIAN), ("media.desk@school.example.org", "media.desk@school.example.org")],
)
def test_a_service_account_acts_for_the_librarian_through_the_configured_endpoint(
    tmp_path: Path, private_key_pem: str, delegated: str, subject: str
) -> None:
    from google.auth.transport.requests import Request
    from google.oauth2 import service_account

    key = service_account_file(tmp_path, private_key_pem)
    with TokenEndpoint(200, NEW_TOKEN) as endpoint:
        config = make_config(tmp_path, GOOGLE, {"google": {
            "service_account_file": str(key), "delegated_user": delegated,
            "endpoints": {"oauth": endpoint.base_url}}})  # fmt: skip

        creds = load_credentials(config, [GMAIL_SCOPE])
        creds.refresh(Request())

    assert isinstance(creds, service_account.Credentials)
    assert creds.scopes == [GMAIL_SCOPE] and creds.token == "new"
    (form,) = endpoint.forms
    assert endpoint.paths == ["/token"]
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    claims = jwt_claims(form["assertion"])
    assert claims["sub"] == subject
    assert claims["iss"] == "pdmail@pdmail-test.iam.gserviceaccount.com"
    assert claims["scope"] == GMAIL_SCOPE


def test_a_service_account_keeps_googles_token_endpoint_by_default(
    tmp_path: Path, private_key_pem: str
) -> None:
    key = service_account_file(tmp_path, private_key_pem)
    config = make_config(tmp_path, GOOGLE, {"google": {"service_account_file": str(key)}})

    creds = load_credentials(config, [SHEETS_SCOPE])

    # No refresh can reach Google from a test, so this reads the (private) attribute.
    assert creds._token_uri == GOOGLE_TOKEN_URI


def test_a_service_account_key_that_is_not_one_never_shows_its_contents(tmp_path: Path) -> None:
    path = tmp_path / "service-account.json"
    write_private(path, json.dumps({"type": "service_account", "private_key": "SECRET-KEY"}))
    config = make_config(tmp_path, GOOGLE, {"google": {"service_account_file": str(path)}})

    with pytest.raises(ConfigError) as error:
        load_credentials(config, [SHEETS_SCOPE])

    assert "google.service_account_file" in error.value.message
    assert "SECRET-KEY" not in str(error.value)


def test_a_refresh_keeps_every_granted_scope(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that needs only Sheets must not save back a token that lost its forms scope."""
    from fakes.oauth_server import FakeOAuth

    with FakeOAuth(scope=f"{SHEETS_SCOPE} {FORMS_SCOPE}") as oauth:
        project.write_config(
            {
                "sources": {"kind": "google"},
                "google": {
                    "spreadsheet_id": "sid",
                    "token_file": "token.json",
                    "endpoints": {"oauth": oauth.base_url},
                },
            }
        )
        token = project.folder / "token.json"
        write_private(
            token,
            json.dumps(
                {
                    "token": "old",
                    "refresh_token": "refresh-secret",
                    "client_id": "c",
                    "client_secret": "s",
                    "token_uri": "https://oauth2.googleapis.com/token",
                    "scopes": [SHEETS_SCOPE, FORMS_SCOPE],
                    "expiry": "2000-01-01T00:00:00Z",
                }
            ),
        )
        load_credentials(project.config(), [SHEETS_SCOPE])
        assert [r["grant_type"] for r in oauth.token_requests] == ["refresh_token"]
    saved = json.loads(token.read_text())
    assert saved["token"] == "access-1"
    assert sorted(saved["scopes"]) == sorted([SHEETS_SCOPE, FORMS_SCOPE])


# -- a token file of the wrong shape: a clear error naming the file, never "Internal error" ----

_CLIENT = {"installed": {"client_id": "c", "client_secret": "s", "auth_uri": "a", "token_uri": "t"}}


@pytest.mark.parametrize(
    ("data", "says"),
    [
        pytest.param(b"", "the Google token file is empty", id="empty"),
        pytest.param(b"  \n", "the Google token file is empty", id="blank"),
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\xff", "not a Google token (the file is not text)",
                     id="binary"),
        pytest.param(json.dumps(token_info()).encode()[:60],
                     "the JSON is broken or cut short (line 1, column ", id="truncated"),
        pytest.param(b"[]", "it holds a JSON list, not an object", id="list"),
        pytest.param(b'"ya29.token"', "it holds a JSON string", id="string"),
        pytest.param(b"42", "it holds a JSON number", id="number"),
        pytest.param(b"null", "it holds a JSON true/false/null", id="null"),
        pytest.param(json.dumps(_CLIENT).encode(), "this is the OAuth client file", id="client"),
        pytest.param(json.dumps({"type": "service_account", "client_email": "x"}).encode(),
                     "this is a service account key", id="service-account"),
        pytest.param(json.dumps(token_info(refresh_token=None)).encode(),
                     "it lacks refresh_token", id="no-refresh-token"),
        pytest.param(json.dumps({"token": ACCESS}).encode(),
                     "it lacks refresh_token, client_id, client_secret", id="access-token-only"),
        pytest.param(json.dumps(token_info(scopes={"a": 1})).encode(),
                     "scopes is not what Google writes", id="scopes-a-mapping"),
        pytest.param(json.dumps(token_info(client_id=7, expiry=[1])).encode(),
                     "client_id, expiry are not what Google writes", id="fields-not-text"),
        pytest.param(json.dumps(token_info(expiry="next tuesday")).encode(),
                     "not a usable Google token (time data", id="expiry-unreadable"),
    ],
)  # fmt: skip
def test_a_token_of_the_wrong_shape_names_the_file_and_pdmail_auth(
    tmp_path: Path, data: bytes, says: str
) -> None:
    path = tmp_path / "token.json"
    path.write_bytes(data)
    path.chmod(0o600)
    config = make_config(tmp_path, GOOGLE, {"google": {"token_file": str(path)}})
    with pytest.raises(ConfigError) as exc:
        load_credentials(config, [SHEETS_SCOPE])
    assert exc.value.message.startswith(f"{path}: ")
    assert says in exc.value.message
    assert "pdmail auth" in (exc.value.hint or "")
    assert REFRESH not in str(exc.value) and ACCESS not in str(exc.value)


def test_scopes_written_as_one_string_are_read(tmp_path: Path) -> None:
    path = tmp_path / "token.json"
    write_private(path, json.dumps(token_info(scopes=f"{SHEETS_SCOPE} {GMAIL_SCOPE}")))
    config = make_config(tmp_path, GOOGLE, {"google": {"token_file": str(path)}})
    creds = load_credentials(config, [SHEETS_SCOPE])
    assert set(creds.scopes) == {SHEETS_SCOPE, GMAIL_SCOPE}


@pytest.mark.parametrize("body", [[], {"installed": {}}, "key"])
def test_a_service_account_file_of_the_wrong_shape_is_a_config_error(
    tmp_path: Path, body: object
) -> None:
    path = tmp_path / "key.json"
    write_private(path, json.dumps(body))
    config = make_config(tmp_path, GOOGLE, {"google": {"service_account_file": str(path)}})
    with pytest.raises(ConfigError, match=r"is not a service account key"):
        load_credentials(config, [SHEETS_SCOPE])


@pytest.mark.parametrize("body", [[], {"installed": "x"}, {"web": []}, {"token": "ya29"}])
def test_an_oauth_client_file_of_the_wrong_shape_is_a_config_error(
    tmp_path: Path, body: object
) -> None:
    from pdmail.backends.google.auth import client_config

    path = tmp_path / "client_secret.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    config = make_config(tmp_path, GOOGLE)
    with pytest.raises(ConfigError, match=r"client_secret\.json: not an OAuth client file"):
        client_config(config, path)

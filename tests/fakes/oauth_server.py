"""A loopback stand-in for Google's OAuth endpoints: authorization redirect, token exchange
and refresh, and ``tokeninfo`` (which scopes a token really carries). Records every token
request; can be told to refuse refreshes (invalid_grant), to be down (a 5xx on the token or
tokeninfo endpoint), and to grant fewer scopes than were asked for."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class FakeOAuth:
    """``with FakeOAuth() as oauth:`` serves ``/o/oauth2/auth`` and ``/token`` on 127.0.0.1."""

    def __init__(self, scope: str = "") -> None:
        self.scope = scope  # what every token is granted (space-separated, as Google writes it)
        self.token_requests: list[dict[str, str]] = []
        self.tokeninfo_requests: list[dict[str, str]] = []
        self.refuse_refresh = False
        # Answer the token (or tokeninfo) endpoint with this status, as during an outage of
        # Google's sign-in service; None serves normally.
        self.token_status: int | None = None
        self.tokeninfo_status: int | None = None
        self.issued = 0
        self.tokens: dict[str, str] = {}  # access token -> its scope
        self.revoke_at_once = False  # tokens issued are revoked: tokeninfo does not know them
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/tokeninfo":
                    self._tokeninfo(query)
                    return
                if url.path != "/o/oauth2/auth":
                    self.send_error(404)
                    return
                # The user said yes: back to the app's loopback redirect with a code.
                target = (
                    query["redirect_uri"]
                    + "?"
                    + urlencode(
                        {
                            "code": "the-code",
                            "state": query.get("state", ""),
                            "scope": query.get("scope", ""),
                        }
                    )
                )
                self.send_response(302)
                self.send_header("Location", target)
                self.end_headers()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if urlsplit(self.path).path == "/tokeninfo":
                    self._tokeninfo(form)
                    return
                fake.token_requests.append(form)
                if fake.token_status is not None:
                    # A 5xx is what Google's front end answers when the sign-in service is
                    # down; a 4xx is a refusal of the request itself.
                    self._json(
                        fake.token_status,
                        {"error": "internal_failure", "error_description": "Backend Error"}
                        if fake.token_status >= 500
                        else {"error": "invalid_request", "error_description": "Bad Request"},
                    )
                    return
                if form.get("grant_type") == JWT_GRANT and fake.refuse_refresh:
                    # A service account whose domain-wide delegation does not allow the scopes.
                    self._json(
                        401,
                        {
                            "error": "unauthorized_client",
                            "error_description": "Client is unauthorized to retrieve access "
                            "tokens using this method, or client not authorized for any of "
                            "the scopes requested.",
                        },
                    )
                    return
                if form.get("grant_type") == "refresh_token" and fake.refuse_refresh:
                    self._json(
                        400,
                        {
                            "error": "invalid_grant",
                            "error_description": "Token has been expired or revoked.",
                        },
                    )
                    return
                fake.issued += 1
                if not fake.revoke_at_once:
                    fake.tokens[f"access-{fake.issued}"] = fake.scope
                answer = {
                    "access_token": f"access-{fake.issued}",
                    "expires_in": 3600,
                    "token_type": "Bearer",
                    "scope": fake.scope,
                }
                if form.get("grant_type") == "authorization_code":
                    answer["refresh_token"] = "refresh-secret"
                self._json(200, answer)

            def _tokeninfo(self, query: dict[str, str]) -> None:
                fake.tokeninfo_requests.append(query)
                if fake.tokeninfo_status is not None:
                    self._json(fake.tokeninfo_status, {"error": "internal_failure"})
                    return
                token = query.get("access_token", "")
                if token not in fake.tokens:
                    # Google's answer for an unknown, expired or revoked access token.
                    self._json(
                        400, {"error": "invalid_token", "error_description": "Invalid Value"}
                    )
                    return
                self._json(
                    200,
                    {
                        "azp": "pdmail-test.apps.googleusercontent.com",
                        "aud": "pdmail-test.apps.googleusercontent.com",
                        "scope": fake.tokens[token],
                        "exp": "1893456000",
                        "expires_in": 3599,
                        "access_type": "offline",
                    },
                )

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A short poll: shutdown() waits up to one poll interval (0.5 s by default).
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeOAuth:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

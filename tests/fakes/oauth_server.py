"""A loopback stand-in for Google's OAuth endpoints: authorization redirect, token exchange
and refresh. Records every token request; can be told to refuse refreshes (invalid_grant)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit


class FakeOAuth:
    """``with FakeOAuth() as oauth:`` serves ``/o/oauth2/auth`` and ``/token`` on 127.0.0.1."""

    def __init__(self, scope: str = "") -> None:
        self.scope = scope
        self.token_requests: list[dict[str, str]] = []
        self.refuse_refresh = False
        self.issued = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
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
                fake.token_requests.append(form)
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
                answer = {
                    "access_token": f"access-{fake.issued}",
                    "expires_in": 3600,
                    "token_type": "Bearer",
                    "scope": fake.scope,
                }
                if form.get("grant_type") == "authorization_code":
                    answer["refresh_token"] = "refresh-secret"
                self._json(200, answer)

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

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

"""GmailMailer against a third-party Gmail emulator: the npm package ``emulate``, pinned 0.11.2.

The emulator is someone else's reading of the Gmail API, so these tests check pdmail's send
path against more than our own fake: the raw MIME round-trips byte for byte through
``messages.get(format="raw")`` and a reply given the request's ``threadId`` joins its thread.
They keep to what the emulator does well (see the Google notes); error paths are tested
against ``tests/fakes/gmail_server.py``, which can inject them.

The emulator is looked for in ``$PDMAIL_EMULATE_DIR`` (default ``<repo>/.ci-emulate``); CI
installs it there. Without ``node`` or the package the tests are skipped with the command that
installs it.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import yaml
from google.oauth2.credentials import Credentials

from pdmail.backends.google.gmail import GmailMailer, NoResendHttp, discovery_document
from pdmail.mail.compose import address, compose, message_id
from pdmail.models import MessageKey, SendResult

VERSION = "0.11.2"
REPO = Path(__file__).resolve().parents[1]
INSTALL = f"npm install --prefix .ci-emulate emulate@{VERSION}"
LIBRARIAN = "librarian@school.example.org"
STARTUP_SECONDS = 15.0

# ``emulate`` has no host option and calls ``server.listen(port, undefined)``, which listens
# on every interface. Preloaded with ``node -r``, this makes a listen without a host take
# 127.0.0.1, so the emulator is reachable from this machine only.
LOOPBACK_PRELOAD = """\
const net = require("node:net");
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const first = args[0];
  if (first !== null && typeof first === "object") {
    if (first.path === undefined && first.fd === undefined && first.host == null) {
      args[0] = { ...first, host: "127.0.0.1" };
    }
  } else if (typeof first === "number" || first === undefined ||
             (typeof first === "string" && /^[0-9]+$/.test(first))) {
    if (args.length >= 2 && args[1] == null) args[1] = "127.0.0.1";
    else if (typeof args[1] !== "string") args.splice(1, 0, "127.0.0.1");
  }
  return listen.apply(this, args);
};
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=1) as response:
            return int(response.status) == 200
    except (urllib.error.URLError, OSError):
        return False


def _listening_addresses(port: int) -> list[str] | None:
    """The local addresses listening on ``port`` (from ``ss -ltn``), or None without ``ss``."""
    ss = shutil.which("ss")
    if ss is None:
        return None
    out = subprocess.run(
        [ss, "-ltnH", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout
    return [line.split()[3] for line in out.splitlines() if line.strip()]


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The emulator's base URL (``http://127.0.0.1:PORT``), started once for the session."""
    folder = Path(os.environ.get("PDMAIL_EMULATE_DIR") or REPO / ".ci-emulate")
    package = folder / "node_modules" / "emulate"
    entry = package / "dist" / "index.js"
    node = shutil.which("node")
    if node is None:
        pytest.skip(
            f"node is not installed; install Node.js, then run in the repository: {INSTALL}"
        )
    if not entry.is_file():
        pytest.skip(
            f"the Gmail emulator is not installed ({entry} is missing); run in the "
            f"repository: {INSTALL} (or point PDMAIL_EMULATE_DIR at such a folder)"
        )
    version = json.loads((package / "package.json").read_text(encoding="utf-8")).get("version")
    if version != VERSION:
        pytest.skip(f"emulate {version} is installed in {folder}, not {VERSION}; run: {INSTALL}")

    work = tmp_path_factory.mktemp("emulate")
    seed = work / "seed.yaml"
    seed.write_text(
        yaml.safe_dump(
            {
                "google": {
                    "users": [{"email": LIBRARIAN, "name": "Lib Rarian", "email_verified": True}],
                    "oauth_clients": [
                        {
                            "client_id": "pdmail-test.apps.googleusercontent.com",
                            "client_secret": "GOCSPX-pdmail-test",
                            "name": "pdmail tests",
                            "redirect_uris": ["http://localhost:8765/"],
                        }
                    ],
                }
            }
        ),
        encoding="utf-8",
    )
    preload = work / "loopback.cjs"
    preload.write_text(LOOPBACK_PRELOAD, encoding="utf-8")
    log_path = work / "emulate.log"
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                *(node, "-r", str(preload), str(entry), "start"),
                *("--service", "google", "--port", str(port), "--seed", str(seed)),
            ],
            cwd=work,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NO_COLOR": "1"},
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _answers(f"{base}/.well-known/openid-configuration"):
            output = log_path.read_text(encoding="utf-8", errors="replace")
            if process.poll() is not None:
                pytest.fail(f"the emulator exited with {process.returncode}:\n{output}")
            if time.monotonic() > deadline:
                pytest.fail(f"the emulator did not answer within {STARTUP_SECONDS:g} s:\n{output}")
            time.sleep(0.05)
        listening = _listening_addresses(port)
        if listening is not None:
            assert listening, f"ss shows nothing listening on port {port}"
            assert all(a.startswith("127.0.0.1:") for a in listening), (
                f"the emulator listens beyond the loopback address: {listening}"
            )
        yield base
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def credentials() -> Any:
    return Credentials(token="pdmail-emulator-token")  # type: ignore[no-untyped-call]


def mailer(base: str) -> GmailMailer:
    return GmailMailer(credentials(), base_url=base, timeout=10, trust_env=False)


def fetch_raw(base: str, provider_id: str) -> tuple[dict[str, Any], bytes]:
    """``messages.get(format="raw")`` through the same client library and transport."""
    from googleapiclient.discovery import build_from_document

    http = NoResendHttp(credentials(), timeout=10, trust_env=False)
    try:
        service = build_from_document(discovery_document(base), http=http)
        got = service.users().messages().get(userId="me", id=provider_id, format="raw").execute()
    finally:
        http.close()
    raw = str(got["raw"])
    return got, base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))


def build(kind: str, to: str, name: str, in_reply_to: str = "") -> EmailMessage:
    key = MessageKey("monthly-update", "2026-12", to, kind)
    subject = "What is coming up in December?"
    return compose(
        sender=address("Lib Rarian", LIBRARIAN),
        to=address(name, to),
        subject=f"Re: {subject}" if in_reply_to else subject,
        text=f"Hello {name},\n\nFrom the library: what are you teaching next?\n" + "y" * 90 + "\n",
        html=f"<p>Hello {name},</p>\n<p>What are you teaching next?</p>\n",
        message_id=message_id(key, "school.example.org"),
        date=datetime(2026, 12, 1, 7, 30, tzinfo=timezone.utc),
        in_reply_to=in_reply_to,
    )


def normalised(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n")


def wire(message: EmailMessage) -> bytes:
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


def test_a_request_and_its_reminder_round_trip_through_the_emulator(emulator: str) -> None:
    request = build("request", "zoe@school.example.org", "Zoë Ångström")
    reminder = build(
        "reminder-1", "zoe@school.example.org", "Zoë Ångström", str(request["Message-ID"])
    )
    with mailer(emulator) as gmail:
        first: SendResult = gmail.send(request)
        second: SendResult = gmail.send(reminder, thread_id=first.thread_id)
        assert gmail.http is not None and gmail.http.calls == 2

    assert first.provider_id and first.thread_id and second.provider_id != first.provider_id
    assert first.message_id == request["Message-ID"]
    assert second.thread_id == first.thread_id

    for sent, message in ((first, request), (second, reminder)):
        got, raw = fetch_raw(emulator, sent.provider_id)
        assert got["id"] == sent.provider_id
        assert got["threadId"] == first.thread_id
        assert normalised(raw) == normalised(wire(message))


def test_a_request_without_a_thread_starts_a_new_one(emulator: str) -> None:
    one = build("request", "ann@school.example.org", "Ann Lee")
    two = build("request", "raj@school.example.org", "Raj Patel")
    with mailer(emulator) as gmail:
        a, b = gmail.send(one), gmail.send(two)
    assert a.thread_id != b.thread_id
    _, raw = fetch_raw(emulator, b.provider_id)
    assert normalised(raw) == normalised(wire(two))

"""Rendering the digest to files and mailing it to the librarian, once per cycle."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .cycles import Cycle
from .delivery import DeliveryReport, Outgoing, deliver
from .digest import Digest, build_digest
from .errors import BackendError
from .mail import address, compose, header_safe, message_id
from .messages import base_context
from .models import MessageKey
from .topics import Tagger
from .workspace import Workspace

DIGEST = "digest"


@dataclass(frozen=True)
class RenderedDigest:
    digest: Digest
    subject: str
    html: str
    markdown: str
    text: str


def compile_digest(ws: Workspace, cycle: Cycle) -> Digest:
    """The digest model of ``cycle`` as it stands now."""
    return build_digest(
        ws.roster,
        ws.collect(cycle),
        Tagger.from_taxonomy(ws.config.taxonomy),
        school=ws.config.school,
        campaign=ws.config.campaign,
        generated=ws.now(),
    )


def render_digest(ws: Workspace, cycle: Cycle, digest: Digest) -> RenderedDigest:
    """The digest rendered by digest.{subject,html,md,txt}.j2."""
    ctx = {**base_context(ws, cycle), "digest": digest}
    render = ws.templates.render
    return RenderedDigest(
        digest=digest,
        subject=header_safe(render("digest.subject.j2", ctx)),
        html=render("digest.html.j2", ctx),
        markdown=render("digest.md.j2", ctx),
        text=render("digest.txt.j2", ctx),
    )


def write_digest(rendered: RenderedDigest, out: Path) -> list[Path]:
    """Write digest.html and digest.md into ``out`` (each replaced atomically)."""
    written = []
    for name, body in (("digest.html", rendered.html), ("digest.md", rendered.markdown)):
        target = out / name
        try:
            out.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=out, prefix=".", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(body)
            os.replace(tmp, target)
        except OSError as exc:
            raise BackendError(
                f"{target}: cannot write the digest ({exc.strerror or exc})"
            ) from None
        written.append(target)
    return written


def send_digest(
    ws: Workspace,
    cycle: Cycle,
    rendered: RenderedDigest,
    *,
    dry_run: bool = False,
    resend: bool = False,
) -> DeliveryReport:
    """Mail the digest (HTML and text) to the librarian, at most once per cycle."""
    cfg = ws.config
    key = MessageKey(cfg.campaign, cycle.name, cfg.librarian.email.lower(), DIGEST)
    msg = compose(
        sender=address(cfg.mail.sender_name, cfg.librarian.email),
        to=address(cfg.librarian.name, cfg.librarian.email),
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        message_id=message_id(key, cfg.librarian.email.rpartition("@")[2]),
        date=ws.now(),
    )
    return deliver(
        ws, [Outgoing(key, msg)], cycle=cycle.name, kind=DIGEST, dry_run=dry_run, resend=resend
    )

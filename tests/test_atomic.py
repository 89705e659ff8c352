"""Atomic replacement: every failure leaves the old file (or none) and no temporary file.

The failures are real ones where they can be (a folder where the file should go, a folder
that cannot be written); a full disk and a refused rename are made by replacing the one OS
call at the edge, since a test cannot fill the disk.
"""

from __future__ import annotations

import csv
import os
import stat
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, cast

import pytest

from pdmail.atomic import write_atomic, write_private
from pdmail.backends.local import CsvSink
from pdmail.backends.outbox import OutboxMailer
from pdmail.cycle.publish import RenderedDigest, write_digest
from pdmail.digest.build import Digest
from pdmail.errors import BackendError, DeliveryError
from pdmail.mail.compose import address, compose

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def csv_rows(out: IO[str]) -> None:
    csv.writer(out).writerows([["a", "b"], ["1", "2"]])


@pytest.mark.parametrize(
    ("content", "encoding", "expected"),
    [
        (b"\x00raw bytes\r\n", "utf-8", b"\x00raw bytes\r\n"),
        ("Gómez\n", "utf-8", "Gómez\n".encode()),
        ("Gómez", "utf-8-sig", b"\xef\xbb\xbf" + "Gómez".encode()),
        # A csv.writer's own line ends, untranslated, as open(newline="") keeps them.
        (csv_rows, "utf-8", b"a,b\r\n1,2\r\n"),
    ],
)
def test_write_atomic_writes_bytes_text_or_what_a_writer_writes(
    tmp_path: Path,
    content: bytes | str | Callable[[IO[str]], object],
    encoding: str,
    expected: bytes,
) -> None:
    target = tmp_path / "new" / "file.txt"

    write_atomic(target, content, encoding=encoding)

    assert target.read_bytes() == expected
    assert listing(target.parent) == ["file.txt"]


def test_write_atomic_replaces_what_was_there(tmp_path: Path) -> None:
    target = tmp_path / "report.csv"
    target.write_text("old, and longer than the new one", encoding="utf-8")

    write_atomic(target, "new")

    assert target.read_text(encoding="utf-8") == "new"
    assert listing(tmp_path) == ["report.csv"]


class DiskFull(OSError):
    def __init__(self) -> None:
        super().__init__(28, "No space left on device")


def _fail_write(monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk fills after the first bytes are down: the temporary file is half written."""

    def fsync(fd: int) -> None:
        os.write(fd, b"half")
        raise DiskFull

    monkeypatch.setattr(os, "fsync", fsync)


def _fail_replace(monkeypatch: pytest.MonkeyPatch) -> None:
    def replace(src: object, dst: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", replace)


def _fail_writer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing to patch: the content itself raises part-way (see the test)."""


@pytest.mark.parametrize(
    ("fail", "error"),
    [(_fail_write, DiskFull), (_fail_replace, PermissionError), (_fail_writer, ValueError)],
    ids=["disk-full", "rename-refused", "writer-raises"],
)
@pytest.mark.parametrize("existing", [True, False], ids=["over-old-file", "new-file"])
def test_a_failure_leaves_the_old_file_and_no_temporary_file(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fail: Callable[[pytest.MonkeyPatch], None],
    error: type[Exception],
    existing: bool,
) -> None:
    target = tmp_path / "digest.html"
    if existing:
        target.write_text("the old digest", encoding="utf-8")
    fail(monkeypatch)

    def half_then_raise(out: IO[str]) -> None:
        out.write("<html>half of it")
        raise ValueError("a row could not be written")

    content: str | Callable[[IO[str]], object] = (
        half_then_raise if error is ValueError else "<html>the new digest</html>"
    )
    with pytest.raises(error):
        write_atomic(target, content)

    assert listing(tmp_path) == (["digest.html"] if existing else [])
    if existing:
        assert target.read_text(encoding="utf-8") == "the old digest"


def test_a_folder_in_the_way_leaves_no_temporary_file(tmp_path: Path) -> None:
    (tmp_path / "needs.csv").mkdir()

    with pytest.raises(OSError):
        write_atomic(tmp_path / "needs.csv", "Need id\n")

    assert listing(tmp_path) == ["needs.csv"]
    assert listing(tmp_path / "needs.csv") == []


@posix_only
@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes anywhere")
def test_a_folder_that_cannot_be_written_raises_and_changes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "report.csv"
    target.write_text("old", encoding="utf-8")
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(PermissionError):
            write_atomic(target, "new")
    finally:
        tmp_path.chmod(0o700)
    assert (listing(tmp_path), target.read_text(encoding="utf-8")) == (["report.csv"], "old")


@posix_only
def test_files_are_their_owners_only_and_private_ones_are_made_so(tmp_path: Path) -> None:
    report = tmp_path / "status.csv"
    write_atomic(report, "x")
    token = tmp_path / "private" / "token.json"
    write_private(token, "{}")

    def bits(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    assert (bits(report), bits(token), bits(token.parent)) == (0o600, 0o600, 0o700)


def test_the_local_sink_and_outbox_report_a_full_disk_with_nothing_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink = CsvSink(tmp_path / "state")
    sink.write_table("status", ["Email"], [["ann@school.example.org"]])
    before = (tmp_path / "state" / "status.csv").read_bytes()
    outbox = OutboxMailer(tmp_path / "outbox")
    message = compose(
        sender=address("Lib Rarian", "librarian@school.example.org"),
        to=address("Ann Lee", "ann@school.example.org"),
        subject="December",
        text="Hello",
        html=None,
        message_id="<pdmail.monthly-update.2026-12.request.x@school.example.org>",
        date=datetime(2026, 12, 1, 8, tzinfo=timezone.utc),
    )
    _fail_write(monkeypatch)

    with pytest.raises(BackendError, match=r"status\.csv: cannot write"):
        sink.write_table("status", ["Email"], [["raj@school.example.org"]])
    with pytest.raises(DeliveryError, match="cannot write"):
        outbox.send(message)

    assert listing(tmp_path / "state") == ["status.csv"]
    assert (tmp_path / "state" / "status.csv").read_bytes() == before
    assert [p for p in (tmp_path / "outbox").rglob("*") if p.is_file()] == []


def test_the_digest_files_and_a_token_on_a_full_disk_leave_the_old_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # write_digest reads only the texts; the compiled digest is not needed to write them.
    rendered = RenderedDigest(cast(Digest, None), "December", "<p>new</p>", "new", "new")
    out = tmp_path / "digest" / "2026-12"
    out.mkdir(parents=True)
    (out / "digest.html").write_text("<p>old</p>", encoding="utf-8")
    token = tmp_path / "token.json"
    write_private(token, '{"token": "old"}')
    _fail_write(monkeypatch)

    with pytest.raises(BackendError, match=r"digest\.html: cannot write the digest"):
        write_digest(rendered, out)
    with pytest.raises(DiskFull):
        write_private(token, '{"token": "new"}')

    assert listing(out) == ["digest.html"]
    assert (out / "digest.html").read_text(encoding="utf-8") == "<p>old</p>"
    assert listing(tmp_path) == ["digest", "token.json"]
    assert token.read_text(encoding="utf-8") == '{"token": "old"}'

"""Refresh docs/digest.png: the demo's digest as a mail client's reading pane shows it.

Run from the repository root:  python docs/screenshot.py
Needs Chromium (Debian: apt-get install chromium). The demo runs in a temporary folder with a
fixed date, so the picture changes only when the digest or its templates do.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pdmail.cli.demo import run_demo  # noqa: E402

# A reading pane in Gmail or Outlook is about 700 pixels wide; the digest is laid out for it.
WIDTH = 720
# Chromium's own background services reach for Google's hosts; none is wanted here.
QUIET = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    sys.exit("Chromium is not installed (Debian: apt-get install chromium)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "digest.png")
    parser.add_argument("--height", type=int, default=2400, help="pixels of the page to show")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = run_demo(Path(tmp) / "demo", today=date(2026, 12, 1), log=None)
        profile = Path(tmp) / "profile"
        subprocess.run(
            [
                chromium(),
                *QUIET,
                f"--user-data-dir={profile}",
                f"--window-size={WIDTH},{args.height}",
                f"--screenshot={args.out}",
                result.digest.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    print(f"wrote {args.out} ({WIDTH}x{args.height})")


if __name__ == "__main__":
    main()

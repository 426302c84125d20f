"""Finding and starting a headless Chromium for the board (screenshots and tests).

The browser is the system's Chromium (Debian's ``chromium`` package: ``/usr/bin/chromium``),
or the one named by ``QUOTABOARD_CHROMIUM``, or Playwright's own download if it is there.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CHROMIUM_ENV = "QUOTABOARD_CHROMIUM"
CHROMIUM_CANDIDATES = (
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
    "/usr/bin/google-chrome-stable",
)
# Headless, no sandbox (containers), and nothing that would reach the network by itself.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def find_chromium() -> str | None:
    """The Chromium executable to use, or None when there is none on this machine."""
    named = os.environ.get(CHROMIUM_ENV)
    if named:
        return named if Path(named).is_file() else None
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    try:
        with sync_playwright() as p:
            bundled = p.chromium.executable_path
    except Exception:  # no driver or no download: no browser
        return None
    return bundled if bundled and Path(bundled).is_file() else None

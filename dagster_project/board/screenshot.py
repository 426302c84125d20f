"""A PNG of the company board, rendered in headless Chromium with the network disabled.

    python -m dagster_project.board.screenshot --home DIR --out board.png
        [--period FY2027-Q3] [--width 1440] [--height 900] [--mobile] [--viewport-only]

Reads ``<home>/published/board/index.html`` (written by the nightly run), waits until every
chart has drawn and writes the screenshot (the full page unless ``--viewport-only``).
``--mobile`` uses a 390 px wide phone viewport. Needs Playwright (a dev dependency) and a
Chromium (``/usr/bin/chromium``, or ``QUOTABOARD_CHROMIUM``).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .browser import CHROMIUM_ARGS, find_chromium
from .build import board_path

CHARTS_TIMEOUT_MS = 60_000


class ScreenshotError(RuntimeError):
    """The screenshot could not be taken (the message says why)."""


@dataclass
class Screenshot:
    path: Path
    period: str
    outside_requests: list[str] = field(default_factory=list)  # blocked, should stay empty


def take_screenshot(
    page_path: Path,
    out: Path,
    *,
    period: str | None = None,
    width: int = 1440,
    height: int = 900,
    mobile: bool = False,
    full_page: bool = True,
    executable: str | None = None,
) -> Screenshot:
    """Open ``page_path`` offline (every request that is not the file itself is aborted and
    recorded), wait for the charts, and write a PNG to ``out``."""
    page_path = Path(page_path).resolve()
    if not page_path.is_file():
        raise ScreenshotError(
            f"no board at {page_path}: run `quotaboard run --home ...` first (it writes "
            "published/board/index.html)"
        )
    executable = executable or find_chromium()
    if executable is None:
        raise ScreenshotError(
            "no Chromium found: install it (apt-get install chromium) or set QUOTABOARD_CHROMIUM"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise ScreenshotError("playwright is not installed (it is a dev dependency)") from exc

    url = page_path.as_uri()
    if period:
        url += f"#period={period}"
    outside: list[str] = []
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            viewport = (
                {"width": 390, "height": 844} if mobile else {"width": width, "height": height}
            )
            context = browser.new_context(
                offline=True,
                viewport=viewport,
                device_scale_factor=2 if mobile else 1,
                is_mobile=mobile,
                has_touch=mobile,
            )

            def guard(route) -> None:
                if route.request.url.startswith("file:"):
                    route.continue_()
                else:
                    outside.append(route.request.url)
                    route.abort()

            context.route("**/*", guard)
            page = context.new_page()
            page.goto(url)
            try:
                page.wait_for_selector("html[data-charts-ready]", timeout=CHARTS_TIMEOUT_MS)
            except Exception as exc:  # playwright's timeout: say what failed
                raise ScreenshotError(
                    f"the charts of {page_path} did not draw within {CHARTS_TIMEOUT_MS // 1000}s"
                ) from exc
            shown = page.get_attribute("html", "data-charts-ready") or ""
            page.screenshot(path=str(out), full_page=full_page)
        finally:
            browser.close()
    return Screenshot(path=out, period=shown, outside_requests=outside)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dagster_project.board.screenshot",
        description="Screenshot of <home>/published/board/index.html (headless Chromium).",
    )
    parser.add_argument("--home", required=True, help="the Quotaboard home (as in quotaboard run)")
    parser.add_argument("--out", required=True, help="the PNG to write")
    parser.add_argument("--period", help="a plan period, e.g. FY2027-Q3 (default: the board's)")
    parser.add_argument("--width", type=int, default=1440)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--mobile", action="store_true", help="a 390 px wide phone viewport")
    parser.add_argument("--viewport-only", action="store_true", help="not the full page")
    args = parser.parse_args(argv)
    page = board_path(Path(args.home).resolve() / "published")
    try:
        shot = take_screenshot(
            page,
            Path(args.out),
            period=args.period,
            width=args.width,
            height=args.height,
            mobile=args.mobile,
            full_page=not args.viewport_only,
        )
    except ScreenshotError as exc:
        print(f"screenshot: {exc}", file=sys.stderr)
        return 1
    print(f"{shot.path} ({shot.period}, {shot.path.stat().st_size:,} bytes)")
    if shot.outside_requests:
        print(f"blocked {len(shot.outside_requests)} outside requests", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Failure alerts: the text of an alert and its delivery to a Slack-compatible webhook.

Pure logic (no Dagster), so it is testable on its own; ``defs/alerts.py`` wires it to the
run-failure sensor.

Configuration, from the environment only (never from files in the repository):

* ``QUOTABOARD_ALERT_WEBHOOK_URL``: a Slack incoming webhook (or anything that accepts
  ``POST {"text": "..."}`` as JSON: Mattermost, Rocket.Chat, Teams workflows, a relay). Unset:
  alerts go to the log only.
* ``QUOTABOARD_ALERT_TIMEOUT``: seconds to wait for the webhook (default 10).
* ``QUOTABOARD_UI_URL``: the Dagster UI's address as users reach it (e.g.
  ``https://quotaboard.example.com``); when set, the alert links to the failed run.

A webhook URL is a secret (whoever holds it can post to the channel): it is never logged or
put in an error message; :func:`redact` keeps only its scheme and host.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

WEBHOOK_ENV = "QUOTABOARD_ALERT_WEBHOOK_URL"
TIMEOUT_ENV = "QUOTABOARD_ALERT_TIMEOUT"
UI_URL_ENV = "QUOTABOARD_UI_URL"
DEFAULT_TIMEOUT_SECONDS = 10.0
MAX_ERROR_CHARS = 300
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass(frozen=True)
class FailedRun:
    """What an alert says about one failed run."""

    run_id: str
    job_name: str
    failed_steps: Sequence[str] = ()
    first_error_line: str = ""
    as_of: str = ""
    will_retry: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AlertConfig:
    webhook_url: str | None
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    ui_url: str | None = None


@dataclass(frozen=True)
class Delivery:
    """The outcome of posting an alert (``status`` 0 = no HTTP answer)."""

    ok: bool
    status: int
    detail: str


def alert_config_from_env(environ: Mapping[str, str] | None = None) -> AlertConfig:
    env = os.environ if environ is None else environ
    url = (env.get(WEBHOOK_ENV) or "").strip() or None
    raw_timeout = (env.get(TIMEOUT_ENV) or "").strip()
    try:
        timeout = float(raw_timeout) if raw_timeout else DEFAULT_TIMEOUT_SECONDS
    except ValueError:
        timeout = DEFAULT_TIMEOUT_SECONDS
    ui_url = (env.get(UI_URL_ENV) or "").strip().rstrip("/") or None
    return AlertConfig(webhook_url=url, timeout_seconds=max(0.5, timeout), ui_url=ui_url)


def redact(url: str) -> str:
    """``scheme://host[:port]/…`` of a URL: what may be logged about a webhook."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme or '?'}://{host}{port}/…"


def first_line(text: str | None) -> str:
    """The first non-empty line of an error message, without ANSI colours, shortened. A line
    that only announces a list ("Invalid configuration in X:") is joined with the next ones
    until one names the first problem."""
    lines = [line.strip() for line in _ANSI.sub("", text or "").splitlines() if line.strip()]
    if not lines:
        return ""
    line, rest = lines[0], lines[1:4]
    while line.endswith(":") and rest:
        line = f"{line} {rest.pop(0)}"
    return line if len(line) <= MAX_ERROR_CHARS else line[: MAX_ERROR_CHARS - 1] + "…"


def format_failure(run: FailedRun, ui_url: str | None = None) -> str:
    """The alert's text (Slack mrkdwn; readable as plain text)."""
    head = f":rotating_light: Quotaboard run failed: job `{run.job_name}`"
    if run.as_of:
        head += f", as of {run.as_of}"
    lines = [head, f"run: {run.run_id}"]
    if run.failed_steps:
        steps = ", ".join(s.replace("__", "/") for s in run.failed_steps[:5])
        more = len(run.failed_steps) - 5
        lines.append(f"failed step: {steps}" + (f" (and {more} more)" if more > 0 else ""))
    lines.append(f"error: {run.first_error_line or '(no error message; see the run log)'}")
    lines.append(
        "nothing was published (the previous published files are unchanged)"
        + ("; the run will be retried automatically" if run.will_retry else "")
    )
    if ui_url:
        lines.append(f"{ui_url}/runs/{run.run_id}")
    return "\n".join(lines)


def payload(text: str) -> bytes:
    """The webhook body: Slack's minimal message, ``{"text": ...}``."""
    return json.dumps({"text": text}).encode("utf-8")


def post_alert(url: str, text: str, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS) -> Delivery:
    """POST ``{"text": text}`` to ``url``. Never raises; the result's ``detail`` names the
    webhook by :func:`redact` only."""
    where = redact(url)
    if urlsplit(url).scheme not in ("http", "https"):
        return Delivery(False, 0, f"alert webhook {where} is not an http(s) URL; not sent")
    request = urllib.request.Request(
        url,
        data=payload(text),
        headers={"Content-Type": "application/json", "User-Agent": "quotaboard-alerts"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_seconds) as response:  # noqa: S310
            status = int(response.status)
    except urllib.error.HTTPError as e:
        return Delivery(False, int(e.code), f"alert webhook {where} answered HTTP {e.code}")
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", None) or type(e).__name__
        return Delivery(False, 0, f"alert webhook {where} unreachable ({reason})")
    ok = 200 <= status < 300
    return Delivery(ok, status, f"alert posted to {where} (HTTP {status})")

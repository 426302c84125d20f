"""Salesforce -> ``<landing>/crm/<Object>/sf-<UTC timestamp>.csv`` (incremental, via queryAll).

For each object of the contract (``ingest.schema.CRM_OBJECTS``):

1. **Describe** it (``/sobjects/<Object>/describe``). An optional object the org lacks (no
   ``OpportunitySplit`` without splits enabled, no ``DatedConversionRate`` without advanced
   currency management) is skipped with a note; a required one (User, Account, Opportunity)
   is an error. A required field the describe does not list is an error naming
   ``Object.Field``; optional fields the org lacks (``User.IsDeleted``,
   ``DatedConversionRate.IsDeleted``, ``Opportunity.CurrencyIsoCode`` in a single-currency org)
   are simply not queried. Fields a setting names (``Opportunity``'s promise field,
   ``settings.promise_field``, ``Promised_Features__c`` by default) are optional too. Every
   describe problem of every object is reported together, before anything is written.
2. **Query** the contract's fields through ``queryAll`` (deleted and archived rows come back,
   deleted ones with ``IsDeleted = true``), following ``nextRecordsUrl`` pages. The first run
   of an object (no watermark) is a full extract; later runs ask for
   ``SystemModstamp >= watermark - overlap`` (5 minutes by default: rows committed late with
   an earlier stamp are not missed; rows read twice are harmless, the loader keeps the latest
   version of each ``Id``).
3. **Write** one CSV per object and run, Salesforce API names as header, through a temporary
   file renamed into place; only then the object's watermark (the greatest SystemModstamp
   read) is saved in ``<home>/state/salesforce.json`` (also temp + rename). A run that fails
   half-way leaves the objects it finished extracted and the others untouched. An incremental
   run that finds no change writes no file.

The HTTP layer retries rate limits (HTTP 429, HTTP 403 ``REQUEST_LIMIT_EXCEEDED``), 5xx and
connection errors with exponential backoff (``Retry-After`` honoured), renews an expired
session once per request (HTTP 401 ``INVALID_SESSION_ID``), and turns every other error into
a :class:`SalesforceExtractError` that says what to fix. Login uses simple-salesforce
(``SalesforceLogin`` for the SOAP username/password/token login, ``token_login`` for the OAuth
client credentials flow); its exceptions are translated. Secrets are never logged, never
stored in the state file and never put in error messages.
"""

from __future__ import annotations

import base64
import csv
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests

from dagster_project.atomic import atomic_path, write_text_atomic
from dagster_project.ingest.schema import (
    CRM_OBJECTS,
    REQUIRED_CRM_OBJECTS,
    SETTING_COLUMNS,
    match_key,
)
from dagster_project.sources.source_config import SalesforceConfig

log = logging.getLogger(__name__)

STATE_FILE = "salesforce.json"
_RETRY_STATUS = {429, 500, 502, 503, 504}
_MAX_DELAY = 60.0
_MAX_RECENT = 50_000  # rows remembered from the overlap window (beyond: re-read)
_PERMISSION_CODES = {
    "INSUFFICIENT_ACCESS",
    "INSUFFICIENT_ACCESS_OR_READONLY",
    "API_DISABLED_FOR_ORG",
}


class SalesforceExtractError(Exception):
    """The extract cannot go on; ``errors`` lists every problem (each says what to fix)."""

    def __init__(self, errors: str | list[str]):
        self.errors = [errors] if isinstance(errors, str) else list(errors)
        super().__init__("\n".join(self.errors))


class _ObjectNotFound(Exception):
    pass


def api_name(column: str) -> str:
    """Salesforce API name of a canonical column: ``split_owner_id`` -> ``SplitOwnerId``."""
    return "".join(part[:1].upper() + part[1:] for part in column.split("_"))


def _error_body(resp: requests.Response) -> tuple[str | None, str]:
    """(errorCode, message) of a REST error response ``[{"message", "errorCode"}]``."""
    try:
        body = resp.json()
    except ValueError:
        return None, resp.text[:500]
    if isinstance(body, list) and body and isinstance(body[0], dict):
        return body[0].get("errorCode"), str(body[0].get("message", ""))
    if isinstance(body, dict):
        return body.get("errorCode") or body.get("error"), str(
            body.get("message") or body.get("error_description") or ""
        )
    return None, str(body)[:500]


class SalesforceApiError(Exception):
    def __init__(self, status: int, code: str | None, message: str, url: str):
        self.status, self.code, self.message, self.url = status, code, message, url
        super().__init__(f"HTTP {status} {code or ''}: {message}".strip())


class SalesforceClient:
    """A minimal Salesforce REST client: login, describe, queryAll pages; retries and session
    renewal. Works against any base URL (``login_url``), including ``http://127.0.0.1`` fakes
    (simple-salesforce's ``Salesforce`` object always builds ``https://`` URLs)."""

    def __init__(
        self,
        config: SalesforceConfig,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.config = config
        self.session = session or requests.Session()
        self.sleep = sleep
        self.session_id: str | None = None
        self.instance: str | None = None  # scheme://host[:port]
        self.logins = 0
        self.retries = 0

    # -- login -------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        return self.config.login_url or f"https://{self.config.domain}.salesforce.com"

    def login(self) -> None:
        # Imported here: simple-salesforce takes ~0.5 s to import; the code location should
        # not pay for it when Salesforce is not configured.
        from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceError
        from simple_salesforce.login import SalesforceLogin, token_login

        cfg = self.config
        scheme = "http" if self.endpoint.startswith("http://") else "https"
        try:
            if cfg.auth == "password":
                sid, host = SalesforceLogin(
                    username=cfg.username,
                    password=cfg.password,
                    security_token=cfg.security_token or "",
                    sf_version=cfg.api_version,
                    session=self.session,
                    domain=cfg.domain,
                    scratch_url=cfg.login_url,
                )
            else:
                basic = base64.b64encode(f"{cfg.client_id}:{cfg.client_secret}".encode()).decode()
                sid, host = token_login(
                    f"{self.endpoint}/services/oauth2/token",
                    {"grant_type": "client_credentials"},
                    cfg.domain,
                    cfg.client_id,
                    {"Authorization": f"Basic {basic}"},
                    None,
                    self.session,
                )
        except SalesforceAuthenticationFailed as e:
            hint = (
                "check SALESFORCE_USERNAME, SALESFORCE_PASSWORD and SALESFORCE_SECURITY_TOKEN "
                "(a new token is e-mailed after a password reset) and SALESFORCE_DOMAIN "
                "(test for a sandbox)"
                if cfg.auth == "password"
                else "check SALESFORCE_CLIENT_ID, SALESFORCE_CLIENT_SECRET, that the connected "
                "app enables the client credentials flow with a run-as user, and "
                "SALESFORCE_INSTANCE_URL (the org's My Domain)"
            )
            raise SalesforceExtractError(
                f"Salesforce login failed at {self.endpoint} (auth={cfg.auth}): "
                f"{e.code}: {e.auth_message.strip()} -- {hint}"
            ) from None
        except requests.RequestException as e:
            raise SalesforceExtractError(
                f"Salesforce login: cannot reach {self.endpoint} ({type(e).__name__})"
            ) from None
        except SalesforceError as e:
            raise SalesforceExtractError(
                f"Salesforce login failed at {self.endpoint}: HTTP {e.status}"
            ) from None
        if not sid or not host:
            raise SalesforceExtractError(f"Salesforce login at {self.endpoint}: no session")
        self.session_id = sid
        self.instance = host if "://" in host else f"{scheme}://{host}"
        self.instance = self.instance.rstrip("/")
        self.logins += 1

    # -- requests ----------------------------------------------------------------------
    def _delay(self, attempt: int, resp: requests.Response | None) -> float:
        if resp is not None:
            after = resp.headers.get("Retry-After")
            if after:
                try:
                    return min(float(after), _MAX_DELAY)
                except ValueError:
                    pass
        return min(self.config.backoff_seconds * (2**attempt), _MAX_DELAY)

    def get(self, path_or_url: str, params: dict[str, str] | None = None) -> Any:
        """GET a REST resource (path relative to the instance, or ``/services/...``)."""
        if self.session_id is None:
            self.login()
        renewed = False
        attempt = 0
        while True:
            url = path_or_url
            if not url.startswith(("http://", "https://")):
                url = f"{self.instance}{url}"
            resp: requests.Response | None = None
            try:
                resp = self.session.get(
                    url,
                    params=params,
                    headers={
                        "Authorization": f"Bearer {self.session_id}",
                        "Accept": "application/json",
                    },
                    timeout=self.config.timeout_seconds,
                )
            except (requests.ConnectionError, requests.Timeout) as e:
                if attempt >= self.config.max_retries:
                    raise SalesforceExtractError(
                        f"Salesforce: {type(e).__name__} on {path_or_url.split('?')[0]} after "
                        f"{attempt} retries"
                    ) from None
            else:
                if resp.status_code < 300:
                    return resp.json(parse_float=Decimal)
                code, message = _error_body(resp)
                if resp.status_code == 401 and code == "INVALID_SESSION_ID" and not renewed:
                    log.info("Salesforce session expired: logging in again")
                    renewed = True
                    self.login()
                    continue
                retryable = resp.status_code in _RETRY_STATUS or (
                    resp.status_code == 403 and code == "REQUEST_LIMIT_EXCEEDED"
                )
                if not retryable or attempt >= self.config.max_retries:
                    if retryable:
                        message = f"{message} (gave up after {attempt} retries)"
                    raise SalesforceApiError(resp.status_code, code, message, url.split("?")[0])
            delay = self._delay(attempt, resp)
            log.warning(
                "Salesforce %s: retry %d in %.1fs",
                f"HTTP {resp.status_code}" if resp is not None else "connection error",
                attempt + 1,
                delay,
            )
            self.sleep(delay)
            attempt += 1
            self.retries += 1

    def _data(self, path: str) -> str:
        return f"/services/data/v{self.config.api_version}/{path}"

    def describe(self, sobject: str) -> dict[str, Any]:
        try:
            return self.get(self._data(f"sobjects/{sobject}/describe"))
        except SalesforceApiError as e:
            if e.status == 404 or e.code == "NOT_FOUND":
                raise _ObjectNotFound(sobject) from None
            raise

    def query_all_iter(self, soql: str) -> Iterator[dict[str, Any]]:
        """Records of ``soql`` through ``queryAll`` (deleted rows included), page by page."""
        page = self.get(self._data("queryAll/"), params={"q": soql})
        while True:
            yield from page.get("records", [])
            if page.get("done", True) or not page.get("nextRecordsUrl"):
                return
            page = self.get(page["nextRecordsUrl"])


# -- state -----------------------------------------------------------------------------


def state_path(home: Path) -> Path:
    return Path(home) / "state" / STATE_FILE


def load_state(home: Path) -> dict[str, Any]:
    path = state_path(home)
    if not path.is_file():
        return {"objects": {}}
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise SalesforceExtractError(
            f"{path}: not valid JSON ({e}); delete it to extract everything again"
        ) from None
    state.setdefault("objects", {})
    return state


def _parse_stamp(text: str) -> datetime | None:
    if not text:
        return None
    t = text.strip().replace("Z", "+00:00")
    t = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", t)  # +0000 -> +00:00
    try:
        dt = datetime.fromisoformat(t)
    except ValueError:
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC)


def _soql_datetime(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return str(value)


# -- extract ---------------------------------------------------------------------------


@dataclass
class ObjectResult:
    object_name: str
    mode: str  # full | incremental | skipped
    rows: int = 0
    deleted_rows: int = 0
    file: str | None = None  # relative to the landing folder
    watermark: str | None = None
    fields: list[str] = field(default_factory=list)


@dataclass
class ExtractResult:
    objects: dict[str, ObjectResult] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    logins: int = 0
    retries: int = 0

    @property
    def files(self) -> list[str]:
        return [r.file for r in self.objects.values() if r.file]

    def as_metadata(self) -> dict[str, Any]:
        return {
            "files_written": len(self.files),
            "rows_extracted": sum(r.rows for r in self.objects.values()),
            "deleted_rows": sum(r.deleted_rows for r in self.objects.values()),
            "by_object": {
                o: {"mode": r.mode, "rows": r.rows, "file": r.file, "watermark": r.watermark}
                for o, r in self.objects.items()
            },
            "retries": self.retries,
            "notes": self.notes,
        }


@dataclass
class _Plan:
    object_name: str
    select: list[str]  # API names, as the org spells them
    has_is_deleted: bool


def _plan(
    client: SalesforceClient, objects: list[str], settings: dict[str, str] | None = None
) -> tuple[list[_Plan], list[str]]:
    """Describe every object: (plans, notes); raise every problem together. ``settings``:
    the settings that name fields (``promise_field``)."""
    settings = settings or {}
    plans: list[_Plan] = []
    notes: list[str] = []
    errors: list[str] = []
    for obj in objects:
        _, required, optional = CRM_OBJECTS[obj]
        try:
            desc = client.describe(obj)
        except _ObjectNotFound:
            if obj in REQUIRED_CRM_OBJECTS:
                errors.append(
                    f"Salesforce object {obj} is not available to the integration user: the "
                    f"user needs Read permission on {obj} (profile or permission set)"
                )
            else:
                notes.append(
                    f"{obj}: skipped, the org does not have this object (or the user cannot "
                    "read it); it is optional"
                )
            continue
        except SalesforceApiError as e:
            if e.code in _PERMISSION_CODES or e.status == 403:
                errors.append(
                    f"Salesforce object {obj}: permission denied ({e.code}: {e.message}); "
                    f"grant the integration user Read on {obj}"
                )
                continue
            raise
        if desc.get("queryable") is False:
            errors.append(
                f"Salesforce object {obj} is not queryable for the integration user: grant it "
                f"Read on {obj}"
            )
            continue
        by_key = {match_key(f["name"]): f["name"] for f in desc.get("fields", [])}
        select: list[str] = []
        missing_optional: list[str] = []
        for col in required:
            name = by_key.get(match_key(col))
            if name is None:
                errors.append(
                    f"Salesforce field {obj}.{api_name(col)} is missing: the org has no such "
                    "field, or field-level security hides it from the integration user "
                    "(required by the input contract)"
                )
            else:
                select.append(name)
        for col in optional:
            name = by_key.get(match_key(col))
            if name is None:
                missing_optional.append(api_name(col))
            else:
                select.append(name)
        for setting in SETTING_COLUMNS.get(obj, {}).values():
            wanted = settings.get(setting)
            if not wanted:
                continue
            name = by_key.get(match_key(wanted))
            if name is None:
                missing_optional.append(f"{wanted} (settings.yml {setting})")
            elif name not in select:
                select.append(name)
        if obj == "Event" and not {"activitydatetime", "activitydate"} & {
            match_key(s) for s in select
        }:
            errors.append(
                "Salesforce field Event.ActivityDateTime or Event.ActivityDate is missing "
                "(one is required)"
            )
        if missing_optional:
            notes.append(f"{obj}: the org has no {', '.join(missing_optional)}; not extracted")
        plans.append(_Plan(obj, select, "isdeleted" in {match_key(s) for s in select}))
    if errors:
        raise SalesforceExtractError(errors)
    return plans, notes


def _translate(obj: str, e: SalesforceApiError) -> SalesforceExtractError:
    if e.code == "INVALID_FIELD":
        m = re.search(r"No such column '([^']+)' on entity '([^']+)'", e.message)
        what = f"{m.group(2)}.{m.group(1)}" if m else "a field"
        return SalesforceExtractError(
            f"Salesforce field {what} is missing (query of {obj} refused: INVALID_FIELD): "
            "the org has no such field or the integration user cannot see it"
        )
    if e.code in _PERMISSION_CODES or (e.status == 403 and e.code != "REQUEST_LIMIT_EXCEEDED"):
        return SalesforceExtractError(
            f"Salesforce object {obj}: permission denied ({e.code}: {e.message}); grant the "
            f"integration user Read on {obj}"
        )
    if e.code == "INVALID_TYPE":
        return SalesforceExtractError(
            f"Salesforce object {obj} is not supported by the org or not visible to the user "
            f"({e.message})"
        )
    if e.code == "REQUEST_LIMIT_EXCEEDED" or e.status == 429:
        return SalesforceExtractError(
            f"Salesforce API limit reached while extracting {obj}: {e.message}; the next run "
            "goes on from the last saved watermark"
        )
    return SalesforceExtractError(f"Salesforce error while extracting {obj}: {e}")


def _org_key(config: SalesforceConfig) -> str:
    who = config.username if config.auth == "password" else config.client_id
    endpoint = config.login_url or f"https://{config.domain}.salesforce.com"
    return f"{config.auth}:{who}@{endpoint}"


def extract_salesforce(
    config: SalesforceConfig,
    landing: Path | str,
    home: Path | str,
    now: datetime | None = None,
    client: SalesforceClient | None = None,
) -> ExtractResult:
    """Extract every configured object into ``<landing>/crm/<Object>/sf-<ts>.csv``."""
    landing, home = Path(landing), Path(home)
    now = (now or datetime.now(UTC)).astimezone(UTC)
    stamp = now.strftime("%Y%m%dT%H%M%S.%fZ")
    client = client or SalesforceClient(config)
    state = load_state(home)
    result = ExtractResult()
    org = _org_key(config)
    if state.get("org") not in (None, org):
        result.notes.append(
            "Salesforce connection changed since the last extract: full extract of every object"
        )
        state = {"objects": {}}
    state["org"] = org
    objects = list(config.objects or CRM_OBJECTS)

    if client.session_id is None:
        client.login()
    try:
        plans, notes = _plan(client, objects, {"promise_field": config.promise_field})
    except SalesforceApiError as e:
        raise SalesforceExtractError(f"Salesforce describe failed: {e}") from None
    result.notes.extend(notes)
    for obj in objects:
        if obj not in {p.object_name for p in plans}:
            result.objects[obj] = ObjectResult(obj, "skipped")
    overlap = timedelta(minutes=config.overlap_minutes)

    for plan in plans:
        obj = plan.object_name
        prev_state = state["objects"].get(obj, {})
        previous = _parse_stamp(prev_state.get("watermark") or "")
        if previous is not None and prev_state.get("fields") != plan.select:
            result.notes.append(f"{obj}: the fields extracted changed: full extract")
            previous = None
        soql = f"SELECT {', '.join(plan.select)} FROM {obj}"
        if previous is not None:
            soql += f" WHERE SystemModstamp >= {_soql_datetime(previous - overlap)}"
        res = ObjectResult(obj, "incremental" if previous else "full", fields=plan.select)
        target = landing / "crm" / obj / f"sf-{stamp}.csv"
        stamp_col = next(s for s in plan.select if match_key(s) == "systemmodstamp")
        deleted_col = next((s for s in plan.select if match_key(s) == "isdeleted"), None)
        newest = previous
        # Rows read last time inside the overlap window (Id -> SystemModstamp text): read
        # again now, they are skipped, so an unchanged object writes no file.
        seen: dict[str, str] = dict(prev_state.get("recent") or {}) if previous else {}
        stamps: dict[str, tuple[datetime, str]] = {}
        try:
            # Written under a temporary name, renamed onto target when complete (an error
            # leaves no file); an object with no change since the last extract writes none.
            with atomic_path(target) as tmp:
                with open(tmp, "w", encoding="utf-8", newline="") as f:
                    writer = csv.writer(f, lineterminator="\n")
                    writer.writerow(plan.select)
                    for rec in client.query_all_iter(soql):
                        rid, raw_stamp = str(rec.get("Id") or ""), str(rec.get(stamp_col) or "")
                        ts = _parse_stamp(raw_stamp)
                        if ts is not None:
                            if rid and len(stamps) < _MAX_RECENT:
                                stamps[rid] = (ts, raw_stamp)
                            if newest is None or ts > newest:
                                newest = ts
                        if rid and seen.get(rid) == raw_stamp:
                            continue
                        writer.writerow([_text(rec.get(c)) for c in plan.select])
                        res.rows += 1
                        if deleted_col and rec.get(deleted_col) is True:
                            res.deleted_rows += 1
                if res.rows == 0 and previous is not None:
                    tmp.unlink()
                    result.notes.append(f"{obj}: no change since {previous.isoformat()}")
        except SalesforceApiError as e:
            raise _translate(obj, e) from None
        if res.rows or previous is None:
            res.file = target.relative_to(landing).as_posix()
        recent: dict[str, str] = {}
        if newest is not None and len(stamps) < _MAX_RECENT:
            window = newest - overlap
            for rid, raw in seen.items():
                ts = _parse_stamp(raw)
                if ts is not None and ts >= window:
                    recent[rid] = raw
            recent.update({rid: raw for rid, (ts, raw) in stamps.items() if ts >= window})
        res.watermark = newest.isoformat() if newest else None
        state["objects"][obj] = {
            "watermark": res.watermark,
            "last_file": res.file or state["objects"].get(obj, {}).get("last_file"),
            "last_run": now.isoformat(),
            "fields": plan.select,
            "recent": recent,
        }
        # Only after the file is in place: a crash before this line re-reads the same rows.
        write_text_atomic(state_path(home), json.dumps(state, indent=2, sort_keys=True))
        result.objects[obj] = res
        log.info("Salesforce %s: %d rows (%s)", obj, res.rows, res.mode)
    result.logins, result.retries = client.logins, client.retries
    return result

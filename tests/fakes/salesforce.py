"""A fake Salesforce org on 127.0.0.1 (plain HTTP) that answers with real response shapes.

Endpoints:

- ``POST /services/Soap/u/<v>``: SOAP partner ``login`` (username + password + token), with
  ``loginResponse`` (``serverUrl``, ``sessionId``) or an ``INVALID_LOGIN`` SOAP fault.
- ``POST /services/oauth2/token``: OAuth client credentials (Basic auth or form fields).
- ``GET /services/data/v<v>/sobjects/<Object>/describe``: ``{"name", "queryable", "fields"}``
  or 404 ``NOT_FOUND`` for an object the org does not have.
- ``GET /services/data/v<v>/query/?q=`` and ``/queryAll/?q=``: ``{"totalSize", "done",
  "nextRecordsUrl", "records"}``; records carry ``attributes``. ``query`` hides rows with
  ``IsDeleted = true``; ``queryAll`` returns them. The SOQL understood is
  ``SELECT f, ... FROM Object [WHERE SystemModstamp >= <datetime>]``.
- Errors as Salesforce sends them: ``[{"message": ..., "errorCode": ...}]``
  (``INVALID_SESSION_ID`` 401, ``INVALID_FIELD`` 400, ``INSUFFICIENT_ACCESS`` 403,
  ``REQUEST_LIMIT_EXCEEDED`` 403).

Knobs for tests: ``page_size``, ``expire_sessions()``, ``fail_next(path_part, status, body)``,
``forbidden`` (objects whose query is refused), ``hidden`` (objects that do not exist),
``requests`` (log of (method, path)), ``field_types`` (describe type of a field, by object and
field; ``string`` otherwise: ``Opportunity.Type`` is a ``picklist`` and a custom field such as
``Promised_Features__c`` a ``multipicklist`` in real orgs, whose values arrive ``;``-separated).
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

SOAP_OK = """<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope \
xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><loginResponse><result>\
<metadataServerUrl>{base}/services/Soap/m/{v}/00D000000000001</metadataServerUrl>\
<passwordExpired>false</passwordExpired><sandbox>false</sandbox>\
<serverUrl>{base}/services/Soap/u/{v}/00D000000000001</serverUrl>\
<sessionId>{sid}</sessionId><userId>005000000000001AAA</userId></result></loginResponse>\
</soapenv:Body></soapenv:Envelope>"""

SOAP_FAULT = """<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope \
xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" \
xmlns:sf="urn:fault.partner.soap.sforce.com" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault>\
<faultcode>sf:INVALID_LOGIN</faultcode><faultstring>INVALID_LOGIN: Invalid username, password, \
security token; or user locked out.</faultstring><detail><sf:LoginFault \
xsi:type="sf:LoginFault"><sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode>\
<sf:exceptionMessage>Invalid username, password, security token; or user locked out.\
</sf:exceptionMessage></sf:LoginFault></detail></soapenv:Fault></soapenv:Body>\
</soapenv:Envelope>"""

_SOQL = re.compile(
    r"^\s*SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<obj>\w+)"
    r"(?:\s+WHERE\s+SystemModstamp\s*>=\s*(?P<since>\S+))?\s*$",
    re.IGNORECASE | re.DOTALL,
)


def _stamp(text: str) -> datetime:
    t = text.replace("Z", "+00:00")
    t = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", t)
    return datetime.fromisoformat(t)


class FakeSalesforce:
    """The org: ``records[Object]`` (dicts keyed by API name) and ``fields[Object]``."""

    def __init__(
        self,
        fields: dict[str, list[str]],
        records: dict[str, list[dict[str, Any]]] | None = None,
        username: str = "etl@example.com",
        password: str = "s3cret",
        security_token: str = "TOKEN123",
        client_id: str = "cid",
        client_secret: str = "csecret",
        api_version: str = "59.0",
    ):
        self.fields = fields
        self.records = records or {o: [] for o in fields}
        self.username, self.password, self.security_token = username, password, security_token
        self.client_id, self.client_secret = client_id, client_secret
        self.api_version = api_version
        self.page_size = 2000
        self.field_types: dict[str, dict[str, str]] = {
            "Opportunity": {"Type": "picklist", "Promised_Features__c": "multipicklist"}
        }
        self.forbidden: set[str] = set()
        self.sessions: set[str] = set()
        self.requests: list[tuple[str, str]] = []
        self.logins = 0
        self._failures: list[tuple[str, int, Any, dict[str, str]]] = []
        self._cursors: dict[str, tuple[list[dict[str, Any]], int]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    # -- control ---------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeSalesforce:
        org = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                org._handle(self, "GET")

            def do_POST(self):
                org._handle(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def expire_sessions(self) -> None:
        with self._lock:
            self.sessions.clear()

    def fail_next(
        self, path_part: str, status: int, body: Any, headers: dict[str, str] | None = None
    ) -> None:
        """The next request whose path contains ``path_part`` gets this answer (queue)."""
        self._failures.append((path_part, status, body, headers or {}))

    # -- HTTP ------------------------------------------------------------------------
    def _send(
        self,
        h: BaseHTTPRequestHandler,
        status: int,
        body: Any,
        ctype="application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        parsed = urlparse(h.path)
        path = parsed.path
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length).decode() if length else ""
        with self._lock:
            self.requests.append((method, h.path))
            failure = next((f for f in self._failures if f[0] in h.path), None)
            if failure is not None:
                self._failures.remove(failure)
        if failure is not None:
            self._send(h, failure[1], failure[2], headers=failure[3])
            return
        if method == "POST" and path.startswith("/services/Soap/u/"):
            return self._soap_login(h, body)
        if method == "POST" and path == "/services/oauth2/token":
            return self._token(h, body)
        auth = h.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.sessions:
            return self._send(
                h,
                401,
                [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
            )
        prefix = f"/services/data/v{self.api_version}/"
        if not path.startswith(prefix):
            return self._send(
                h,
                404,
                [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}],
            )
        rest = path[len(prefix) :].strip("/")
        m = re.fullmatch(r"sobjects/(\w+)/describe", rest)
        if m:
            return self._describe(h, m.group(1))
        m = re.fullmatch(r"(query|queryAll)(?:/([\w-]+))?", rest)
        if m:
            if m.group(2):
                return self._more(h, m.group(1), m.group(2))
            q = parse_qs(parsed.query).get("q", [""])[0]
            return self._query(h, m.group(1), q)
        self._send(
            h, 404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
        )

    def _soap_login(self, h, body: str) -> None:
        user = re.search(r"<n1:username>(.*?)</n1:username>", body, re.S)
        pw = re.search(r"<n1:password>(.*?)</n1:password>", body, re.S)
        if (
            user
            and pw
            and user.group(1) == self.username
            and pw.group(1) == self.password + self.security_token
        ):
            sid = self._new_session()
            return self._send(
                h, 200, SOAP_OK.format(base=self.url, v=self.api_version, sid=sid), "text/xml"
            )
        self._send(h, 500, SOAP_FAULT, "text/xml")

    def _token(self, h, body: str) -> None:
        form = {k: v[0] for k, v in parse_qs(body).items()}
        cid, secret = form.get("client_id"), form.get("client_secret")
        auth = h.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            cid, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        if (
            form.get("grant_type") == "client_credentials"
            and cid == self.client_id
            and secret == self.client_secret
        ):
            sid = self._new_session()
            return self._send(
                h,
                200,
                {
                    "access_token": sid,
                    "instance_url": self.url,
                    "id": f"{self.url}/id/00D000000000001/005000000000001",
                    "token_type": "Bearer",
                    "issued_at": "1764000000000",
                    "signature": "x",
                },
            )
        self._send(
            h, 400, {"error": "invalid_client", "error_description": "invalid client credentials"}
        )

    def _new_session(self) -> str:
        with self._lock:
            self.logins += 1
            sid = f"00D000000000001!SESSION{next(self._ids)}"
            self.sessions.add(sid)
            return sid

    def _describe(self, h, obj: str) -> None:
        if obj not in self.fields:
            return self._send(
                h,
                404,
                [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}],
            )
        self._send(
            h,
            200,
            {
                "name": obj,
                "queryable": True,
                "fields": [
                    {
                        "name": f,
                        "type": self.field_types.get(obj, {}).get(f, "string"),
                        "custom": f.endswith("__c"),
                    }
                    for f in self.fields[obj]
                ],
            },
        )

    def _query(self, h, endpoint: str, q: str) -> None:
        m = _SOQL.match(q)
        if not m:
            return self._send(h, 400, [{"errorCode": "MALFORMED_QUERY", "message": f"bad: {q}"}])
        obj = m.group("obj")
        if obj not in self.fields:
            return self._send(
                h,
                400,
                [
                    {
                        "errorCode": "INVALID_TYPE",
                        "message": f"sObject type '{obj}' is not supported.",
                    }
                ],
            )
        if obj in self.forbidden:
            return self._send(
                h,
                403,
                [
                    {
                        "errorCode": "INSUFFICIENT_ACCESS",
                        "message": "insufficient access rights on object id",
                    }
                ],
            )
        cols = [c.strip() for c in m.group("fields").split(",")]
        for c in cols:
            if c not in self.fields[obj]:
                return self._send(
                    h,
                    400,
                    [
                        {
                            "errorCode": "INVALID_FIELD",
                            "message": f"\n{q}\n^\nERROR at Row:1:Column:8\nNo such column "
                            f"'{c}' on entity '{obj}'. If you are attempting to use a custom "
                            "field, be sure to append the '__c' after the custom field name.",
                        }
                    ],
                )
        since = _stamp(m.group("since")) if m.group("since") else None
        rows = []
        for r in self.records.get(obj, []):
            if endpoint == "query" and r.get("IsDeleted") is True:
                continue
            if since is not None and _stamp(r["SystemModstamp"]) < since:
                continue
            rec = {
                "attributes": {
                    "type": obj,
                    "url": f"/services/data/v{self.api_version}/sobjects/{obj}/{r['Id']}",
                }
            }
            rec.update({c: r.get(c) for c in cols})
            rows.append(rec)
        self._page(h, endpoint, rows, 0)

    def _page(self, h, endpoint: str, rows: list[dict[str, Any]], start: int) -> None:
        end = start + self.page_size
        body: dict[str, Any] = {
            "totalSize": len(rows),
            "done": end >= len(rows),
            "records": rows[start:end],
        }
        if end < len(rows):
            cursor = f"01gFAKE{next(self._ids):06d}"
            self._cursors[cursor] = (rows, end)
            body["nextRecordsUrl"] = f"/services/data/v{self.api_version}/{endpoint}/{cursor}-{end}"
        self._send(h, 200, body)

    def _more(self, h, endpoint: str, locator: str) -> None:
        cursor = locator.split("-")[0]
        if cursor not in self._cursors:
            return self._send(
                h, 400, [{"errorCode": "INVALID_QUERY_LOCATOR", "message": "invalid query locator"}]
            )
        rows, start = self._cursors.pop(cursor)
        self._page(h, endpoint, rows, start)

"""Source configuration in one place: ``<config>/sources.yml`` and environment variables.

Environment variables win over ``sources.yml``; secrets (passwords, tokens, client secrets,
AWS keys) are read from the environment only, never from the file, and never appear in
``repr``, logs or Dagster metadata. Without any configuration both sources are off and the
file-drop landing folder is the only input (the default). See ``docs/sources.md``.

One business setting matters to the Salesforce extractor: ``promise_field`` of
``<config>/settings.yml`` (the Opportunity field listing promised features), read here so the
extract, which runs before the configuration is loaded, queries the same field the loader
reads.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dagster_project.ingest.schema import DEFAULT_PROMISE_FIELD, match_key
from dagster_project.settings import settings_from_yaml

SOURCES_FILE = "sources.yml"

_SF_KEYS = {
    "enabled",
    "auth",
    "domain",
    "login_url",
    "instance_url",
    "api_version",
    "username",
    "client_id",
    "objects",
    "overlap_minutes",
    "max_retries",
    "backoff_seconds",
    "timeout_seconds",
}
_PU_KEYS = {"url", "endpoint_url"}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class SourceConfigError(ValueError):
    """``sources.yml`` or a source environment variable is invalid (the message says which)."""


@dataclass(frozen=True)
class SalesforceConfig:
    """How to reach one Salesforce org. ``auth`` is ``password`` (username + password +
    security token, SOAP login) or ``client_credentials`` (OAuth client credentials flow of
    a connected app, against the org's My Domain URL)."""

    auth: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    security_token: str | None = field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    domain: str = "login"  # login, test, or a My Domain prefix such as "acme.my"
    # Full URL of the login endpoint or instance (https://acme.my.salesforce.com, or
    # http://127.0.0.1:PORT in tests). Overrides ``domain`` when set.
    login_url: str | None = None
    api_version: str = "59.0"
    objects: tuple[str, ...] | None = None  # None = every object of the contract
    overlap_minutes: float = 5.0
    max_retries: int = 5
    backoff_seconds: float = 1.0
    timeout_seconds: float = 120.0
    # settings.yml `promise_field`: the Opportunity field extracted as the promise field when
    # the org's describe lists it.
    promise_field: str = DEFAULT_PROMISE_FIELD

    def describe(self) -> dict[str, str]:
        """Non-secret summary for logs and metadata."""
        return {
            "auth": self.auth,
            "endpoint": self.login_url or f"https://{self.domain}.salesforce.com",
            "api_version": self.api_version,
        }


@dataclass(frozen=True)
class ProductUsageConfig:
    """``url`` is ``None`` for the file-drop folder (``<landing>/product_usage``, the default)
    or ``s3://bucket/prefix/`` for an object-storage archive."""

    url: str | None = None
    endpoint_url: str | None = None


@dataclass(frozen=True)
class SourcesConfig:
    salesforce: SalesforceConfig | None = None  # None = not configured
    product_usage: ProductUsageConfig = field(default_factory=ProductUsageConfig)


def _read_yaml(config_dir: Path | None) -> dict[str, Any]:
    if config_dir is None:
        return {}
    path = Path(config_dir) / SOURCES_FILE
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise SourceConfigError(f"{SOURCES_FILE}: not valid YAML ({e})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SourceConfigError(f"{SOURCES_FILE}: expected a mapping at the top level")
    unknown = set(data) - {"salesforce", "product_usage"}
    if unknown:
        raise SourceConfigError(
            f"{SOURCES_FILE}: unknown key(s) {', '.join(sorted(unknown))} "
            "(expected salesforce, product_usage)"
        )
    for section, allowed in (("salesforce", _SF_KEYS), ("product_usage", _PU_KEYS)):
        value = data.get(section)
        if value is None:
            data[section] = {}
            continue
        if not isinstance(value, dict):
            raise SourceConfigError(f"{SOURCES_FILE}: {section} must be a mapping")
        bad = set(value) - allowed
        if bad:
            secret_keys = {"password", "security_token", "client_secret"}
            hint = (
                " (secrets are read from environment variables only)" if bad & secret_keys else ""
            )
            raise SourceConfigError(
                f"{SOURCES_FILE}: unknown key(s) {section}.{', '.join(sorted(bad))}{hint}"
            )
    return data


def _bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise SourceConfigError(f"{name}: {value!r} is not a boolean (true/false)")


def _number(name: str, value: Any, kind=float) -> Any:
    try:
        n = kind(value)
    except (TypeError, ValueError):
        raise SourceConfigError(f"{name}: {value!r} is not a number") from None
    if n < 0:
        raise SourceConfigError(f"{name}: {value!r} must not be negative")
    return n


def _default(value: Any, default: Any) -> Any:
    return default if value is None or value == "" else value


def promise_field_setting(config_dir: Path | None) -> str:
    """``promise_field`` of ``<config_dir>/settings.yml``; the default when the file or key is
    missing or the value is not a column name (the config step reports that)."""
    value = settings_from_yaml(config_dir).get("promise_field") if config_dir else None
    if isinstance(value, str) and match_key(value.strip()):
        return value.strip()
    return DEFAULT_PROMISE_FIELD


def _salesforce(
    yml: dict[str, Any], env: Mapping[str, str], promise_field: str = DEFAULT_PROMISE_FIELD
) -> SalesforceConfig | None:
    def get(key: str, env_name: str | None = None) -> Any:
        if env_name and env.get(env_name, "") != "":
            return env[env_name]
        return yml.get(key)

    username = get("username", "SALESFORCE_USERNAME")
    client_id = get("client_id", "SALESFORCE_CLIENT_ID")
    password = env.get("SALESFORCE_PASSWORD") or None
    token = env.get("SALESFORCE_SECURITY_TOKEN")
    secret = env.get("SALESFORCE_CLIENT_SECRET") or None

    explicit = get("enabled", "SALESFORCE_ENABLED")
    has_credentials = bool((username and password) or (client_id and secret))
    enabled = _bool("salesforce.enabled", explicit) if explicit is not None else has_credentials
    if not enabled:
        return None

    auth = get("auth", "SALESFORCE_AUTH")
    if auth is None:
        auth = "client_credentials" if client_id and secret and not password else "password"
    auth = str(auth).strip().lower()
    if auth == "password":
        missing = [
            n
            for n, v in (("SALESFORCE_USERNAME", username), ("SALESFORCE_PASSWORD", password))
            if not v
        ]
        if token is None:
            missing.append("SALESFORCE_SECURITY_TOKEN (may be empty when the IP is trusted)")
    elif auth == "client_credentials":
        missing = [
            n
            for n, v in (("SALESFORCE_CLIENT_ID", client_id), ("SALESFORCE_CLIENT_SECRET", secret))
            if not v
        ]
    else:
        raise SourceConfigError(
            f"salesforce.auth: {auth!r} is not one of password, client_credentials"
        )
    if missing:
        raise SourceConfigError(
            f"Salesforce is enabled with auth={auth} but these are not set: " + ", ".join(missing)
        )

    login_url = get("login_url", "SALESFORCE_LOGIN_URL") or get(
        "instance_url", "SALESFORCE_INSTANCE_URL"
    )
    if login_url is not None:
        login_url = str(login_url).strip().rstrip("/")
        if not login_url.startswith(("https://", "http://")):
            raise SourceConfigError(
                f"salesforce.login_url: {login_url!r} must start with https:// (or http://)"
            )
    domain = str(get("domain", "SALESFORCE_DOMAIN") or "login").strip()
    if domain.startswith(("https://", "http://")):
        raise SourceConfigError(
            "salesforce.domain: give the domain prefix (login, test, acme.my); use "
            "SALESFORCE_LOGIN_URL for a full URL"
        )
    if auth == "client_credentials" and login_url is None and domain in ("login", "test"):
        raise SourceConfigError(
            "Salesforce client credentials need the org's My Domain: set "
            "SALESFORCE_INSTANCE_URL (https://acme.my.salesforce.com) or SALESFORCE_DOMAIN "
            "(acme.my)"
        )
    objects = get("objects", "SALESFORCE_OBJECTS")
    if objects is not None:
        if isinstance(objects, str):
            objects = [o.strip() for o in objects.split(",") if o.strip()]
        from dagster_project.ingest.schema import CRM_OBJECTS

        unknown = [o for o in objects if o not in CRM_OBJECTS]
        if unknown:
            raise SourceConfigError(
                f"salesforce.objects: unknown object(s) {', '.join(unknown)} "
                f"(known: {', '.join(CRM_OBJECTS)})"
            )
        objects = tuple(objects)
    return SalesforceConfig(
        auth=auth,
        username=username,
        password=password,
        security_token=token,
        client_id=client_id,
        client_secret=secret,
        domain=domain,
        login_url=login_url,
        api_version=str(get("api_version", "SALESFORCE_API_VERSION") or "59.0"),
        objects=objects,
        overlap_minutes=_number(
            "salesforce.overlap_minutes",
            _default(get("overlap_minutes", "SALESFORCE_OVERLAP_MINUTES"), 5),
        ),
        max_retries=_number(
            "salesforce.max_retries", _default(get("max_retries", "SALESFORCE_MAX_RETRIES"), 5), int
        ),
        backoff_seconds=_number(
            "salesforce.backoff_seconds",
            _default(get("backoff_seconds", "SALESFORCE_BACKOFF_SECONDS"), 1.0),
        ),
        timeout_seconds=_number(
            "salesforce.timeout_seconds",
            _default(get("timeout_seconds", "SALESFORCE_TIMEOUT_SECONDS"), 120.0),
        ),
        promise_field=promise_field,
    )


def _product_usage(yml: dict[str, Any], env: Mapping[str, str]) -> ProductUsageConfig:
    url = env.get("QUOTABOARD_PRODUCT_USAGE_URL") or yml.get("url") or None
    if url is not None:
        url = str(url).strip()
        if not url.startswith("s3://") or len(url) <= len("s3://"):
            raise SourceConfigError(
                f"product_usage.url: {url!r} is not an s3://bucket/prefix/ URL (leave it unset "
                "for the landing folder's product_usage/)"
            )
    endpoint = (
        env.get("QUOTABOARD_S3_ENDPOINT_URL")
        or yml.get("endpoint_url")
        or env.get("AWS_ENDPOINT_URL_S3")
        or env.get("AWS_ENDPOINT_URL")
        or None
    )
    return ProductUsageConfig(url=url, endpoint_url=endpoint)


def load_sources_config(
    config_dir: Path | str | None = None, env: Mapping[str, str] | None = None
) -> SourcesConfig:
    """The sources of a run: ``<config_dir>/sources.yml`` (optional) overridden by ``env``
    (default: ``os.environ``). Raises SourceConfigError naming the key that is wrong."""
    env = os.environ if env is None else env
    config_dir = Path(config_dir) if config_dir is not None else None
    yml = _read_yaml(config_dir)
    return SourcesConfig(
        salesforce=_salesforce(yml.get("salesforce") or {}, env, promise_field_setting(config_dir)),
        product_usage=_product_usage(yml.get("product_usage") or {}, env),
    )

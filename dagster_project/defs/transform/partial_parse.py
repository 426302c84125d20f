"""A new home's first ``dbt build`` starts from the project's parse, not from nothing.

dbt keeps its parse of the project in ``partial_parse.msgpack`` and re-uses it when the
project, vars and profile are unchanged; otherwise it parses every model, test and macro again
(7-8 s on the sample, most of a first run's parse). Every home has its own dbt target folder,
and its first build had no parse of its own: the project's parse (``dbt parse`` when the
definitions load, ``project.py``) was made with another profile, because the profile holds the
home's DuckDB path and memory limit, and dbt refuses a parse whose profile changed ("Unable to
do partial parsing because profile has changed").

Neither value is read while parsing: no model, test or macro renders ``target.path`` or the
DuckDB settings, and the ``database`` dbt writes into every node (the DuckDB file's name,
``quotaboard``) is the same for every home. So :func:`seed_partial_parse` copies the project's
parse into a home that has none, with the profile checksum dbt will compute for the home. It
copies nothing unless every check holds, and dbt then parses the whole project as before:

- the project's parse records the checksum of the default profile (no per-home variables), so
  the checksum is computed the way this dbt version computes it;
- the home's profile differs from the default in ``path`` and ``settings`` only.

dbt itself still checks the rest (its version, vars, target, ``dbt_project.yml``). The run's
as_of and run id are read only when the models run (the ``run_env_var`` macro), so the seeded
parse needs no file parsed again.
"""

from __future__ import annotations

import contextvars
import os
import pprint
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgpack

PARTIAL_PARSE_FILE = "partial_parse.msgpack"
# What the home sets for dbt (``assets.py``) and the profile reads; the project's own parse
# runs without them (the profile's defaults).
HOME_PROFILE_ENV = ("QUOTABOARD_WAREHOUSE_PATH", "QUOTABOARD_DUCKDB_MEMORY_LIMIT")
# The profile values that may differ between the project's parse and a home's: read by the
# DuckDB connection only, never while parsing.
HOME_PROFILE_KEYS = frozenset({"path", "settings"})
PROFILE_NAME = "quotaboard"


def profile_connection_info(profiles_dir: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """The default target's connection values as dbt renders ``profiles.yml`` under ``env``:
    the values dbt hashes into the parse's profile checksum."""
    from dbt.config.profile import Profile, read_profile
    from dbt.config.renderer import ProfileRenderer
    from dbt_common.context import set_invocation_context

    def render() -> dict[str, Any]:
        set_invocation_context(dict(env))  # what ``env_var()`` reads while rendering
        raw = read_profile(str(profiles_dir))
        target, data = Profile.render_profile(
            raw[PROFILE_NAME], PROFILE_NAME, None, ProfileRenderer({})
        )
        credentials = Profile._credentials_from_profile(data, PROFILE_NAME, target)
        return dict(credentials.connection_info())

    # In a copy of the context: the invocation context set for rendering stays there.
    return contextvars.copy_context().run(render)


def profile_checksum(info: Mapping[str, Any]) -> str:
    """dbt's checksum of a profile (``ManifestLoader.build_manifest_state_check``): sha256 of
    the sorted (key, value) pairs, pretty-printed."""
    from dbt.contracts.files import FileHash

    return FileHash.from_contents(pprint.pformat(sorted(info.items()))).checksum


def seed_partial_parse(
    project_target: Path, home_target: Path, profiles_dir: Path, env: Mapping[str, str]
) -> str:
    """Copy the project's parse (``project_target``) into the home's dbt target folder when it
    has none of its own, re-keyed to the home's profile (``env`` as the home's build sees it).

    Returns what was done, for the run's log."""
    seeded = home_target / PARTIAL_PARSE_FILE
    if seeded.exists():
        return "dbt re-uses this home's own parse"
    source = project_target / PARTIAL_PARSE_FILE
    if not source.exists():
        return "no parse of the project to start from: dbt parses the whole project"
    parse = msgpack.unpackb(source.read_bytes(), strict_map_key=False)
    try:
        recorded = parse["state_check"]["profile_hash"]["checksum"]
    except (KeyError, TypeError):
        return "the project's parse has no profile checksum: dbt parses the whole project"

    default_env = {k: v for k, v in env.items() if k not in HOME_PROFILE_ENV}
    try:
        default_info = profile_connection_info(profiles_dir, default_env)
        home_info = profile_connection_info(profiles_dir, env)
    except Exception as error:  # an optimisation only: without it dbt parses, as before
        return f"could not read the profile as dbt does ({error!r}): dbt parses the whole project"
    if profile_checksum(default_info) != recorded:
        return (
            "the project's parse was made with another profile (or another dbt): "
            "dbt parses the whole project"
        )
    differing = {
        k for k in default_info.keys() | home_info.keys() if default_info.get(k) != home_info.get(k)
    }
    if not differing <= HOME_PROFILE_KEYS:
        return (
            f"this home's profile differs in {', '.join(sorted(differing))}, which dbt may "
            "read while parsing: dbt parses the whole project"
        )

    parse["state_check"]["profile_hash"]["checksum"] = profile_checksum(home_info)
    home_target.mkdir(parents=True, exist_ok=True)
    partial = seeded.with_name(f".{PARTIAL_PARSE_FILE}.{os.getpid()}")
    partial.write_bytes(msgpack.packb(parse))
    partial.replace(seeded)
    return "dbt starts from the project's parse (the first build of this home)"

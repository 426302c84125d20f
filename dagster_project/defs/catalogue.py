"""``published/docs``: the dbt docs site as the metric catalogue, one static page.

After the publish, ``dbt docs generate --static`` runs against the working database (as_of and
memory limit as the dbt build had them) into ``<home>/dbt/docs-target``, from the build's
manifest (its compiled SQL; ``--no-compile``: the project is not compiled twice), and its
``static_index.html`` (manifest and catalog inlined: it opens from disk, no server) replaces
``<home>/published/docs/index.html`` (``QuotaboardPaths.docs_page``) by a temp file + rename
(``dagster_project.atomic``), like every published file.

The page is regenerated only when what it is made of changed (dbt's ``docs generate`` costs
3-6 s on the sample, most of it starting a second dbt process): the files of the dbt project
(models, macros, tests, docs blocks, ``dbt_project.yml`` with the metric registry: the
manifest's sources), the dbt version, and the tables and columns of the working database (the
catalog). Their fingerprint is kept beside dbt's docs target; when it matches and the
published page exists, the page is kept. ``as_of`` is left out on purpose: a new day does not
change a definition (the compiled SQL shown on the page keeps the as_of of the day it was
generated).

DuckDB has one writer per file: dbt opens the working database in a child process, so this
asset opens no connection of its own while dbt runs (the publish before it has closed its
connection; the in-process executor runs one step at a time; the fingerprint reads the
columns before dbt starts).
"""

import hashlib
import shutil
from importlib import metadata
from pathlib import Path

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource

from dagster_project.atomic import copy_file_atomic
from dagster_project.keys import CATALOGUE_KEY, PUBLISHED_KEY, run_as_of
from dagster_project.resources import QuotaboardPaths
from dagster_project.settings import settings_from_warehouse

from .transform.assets import _environ
from .transform.project import DBT_PROJECT_DIR, NOT_PROJECT_DIRS

STATIC_PAGE = "static_index.html"
FINGERPRINT_FILE = "catalogue.fingerprint"


def catalogue_fingerprint(warehouse_path: Path, project_dir: Path = DBT_PROJECT_DIR) -> str:
    """A hash of what the docs page is made of: the dbt project's files, the dbt version and
    the working database's tables and columns (not as_of, not the rows)."""
    digest = hashlib.sha256(f"dbt-core {metadata.version('dbt-core')}\n".encode())
    for path in sorted(project_dir.rglob("*")):
        rel = path.relative_to(project_dir)
        if not path.is_file() or rel.parts[0] in NOT_PROJECT_DIRS:
            continue
        if any(part.startswith(".") for part in rel.parts):  # .user.yml, editors' files
            continue
        digest.update(f"{rel.as_posix()}\n".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    conn = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        columns = conn.execute(
            "select table_schema, table_name, column_name, data_type, ordinal_position "
            "from information_schema.columns order by all"
        ).fetchall()
    finally:
        conn.close()
    digest.update(repr(columns).encode())
    return digest.hexdigest()


def docs_target_path(paths: QuotaboardPaths) -> tuple[Path, bool]:
    """dbt's target folder for the docs of this home (apart from the build's artifacts), and
    whether the build's manifest was copied into it.

    Same project, profile and vars as the build: its partial parse saves a full parse, and its
    ``manifest.json`` already holds every built node's compiled SQL, so ``docs generate`` can
    skip compiling the project again (``--no-compile``: a quarter of the time)."""
    target = paths.home / "dbt" / "docs-target"
    target.mkdir(parents=True, exist_ok=True)
    build = paths.home / "dbt" / "target"
    if (build / "partial_parse.msgpack").exists():
        shutil.copyfile(build / "partial_parse.msgpack", target / "partial_parse.msgpack")
    (target / "manifest.json").unlink(missing_ok=True)
    if not (build / "manifest.json").exists():
        return target, False
    shutil.copyfile(build / "manifest.json", target / "manifest.json")
    return target, True


@dg.asset(
    key=CATALOGUE_KEY,
    group_name="published",
    deps=[PUBLISHED_KEY],
    description=(
        "published/docs/index.html: the dbt docs site (dbt docs generate --static), every "
        "mart, column and metric definition in one file that opens without a server."
    ),
)
def metric_catalogue(
    context: dg.AssetExecutionContext, paths: QuotaboardPaths, dbt: DbtCliResource
) -> dg.MaterializeResult:
    as_of = run_as_of(context, paths)
    published = paths.docs_page
    fingerprint = catalogue_fingerprint(paths.warehouse_path)
    kept = paths.home / "dbt" / "docs-target" / FINGERPRINT_FILE
    if published.exists() and kept.exists() and kept.read_text().strip() == fingerprint:
        context.log.info(
            f"metric catalogue unchanged (dbt project and warehouse columns): kept {published}"
        )
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(published)),
                "bytes": published.stat().st_size,
                "regenerated": False,
            }
        )
    memory_limit = settings_from_warehouse(paths.warehouse_path).get("duckdb_memory_limit") or ""
    target, built_manifest = docs_target_path(paths)
    kept.unlink(missing_ok=True)
    with _environ(
        QUOTABOARD_WAREHOUSE_PATH=str(paths.warehouse_path),
        QUOTABOARD_DUCKDB_MEMORY_LIMIT=str(memory_limit),
        QUOTABOARD_AS_OF=as_of,  # as the build passes it (its partial parse stays valid)
    ):
        no_compile = ["--no-compile"] if built_manifest else []
        dbt.cli(
            ["docs", "generate", "--static", *no_compile],
            target_path=target,
        ).wait()
    page = target / STATIC_PAGE
    if not page.exists():
        raise dg.Failure(f"dbt docs generate --static wrote no {page}")
    copy_file_atomic(page, published)
    kept.write_text(fingerprint + "\n")
    context.log.info(f"published the metric catalogue {published}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(published)),
            "bytes": published.stat().st_size,
            "as_of": as_of,
            "regenerated": True,
        }
    )

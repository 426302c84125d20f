"""How dbt nodes become Dagster assets.

* Sources keep the key in their ``meta.dagster.asset_key`` (``raw/<object>``,
  ``config/<table>``), so they attach to the loader assets (dagster-dbt default).
* Models keep dagster-dbt's default key, ``<schema>/<model>`` (``staging/stg_...``,
  ``intermediate/int_...``, ``marts/fct_...``): the schema comes from ``dbt_project.yml``.
* Groups follow the model folder: ``staging``, ``intermediate``, ``marts``.
* dbt tests become asset checks (dagster-dbt default).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster_dbt import DagsterDbtTranslator

LAYER_GROUPS = {"staging": "staging", "intermediate": "intermediate", "marts": "marts"}


def layer_of(dbt_resource_props: Mapping[str, Any]) -> str | None:
    """The top folder of a model under ``models/`` (``staging``, ``intermediate``, ``marts``)."""
    fqn = dbt_resource_props.get("fqn") or []
    if len(fqn) >= 3:
        return fqn[1]
    path = str(dbt_resource_props.get("original_file_path", ""))
    parts = path.split("/")
    if len(parts) >= 3 and parts[0] == "models":
        return parts[1]
    return None


class QuotaboardTranslator(DagsterDbtTranslator):
    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props.get("resource_type") == "source":
            return super().get_group_name(dbt_resource_props)
        layer = layer_of(dbt_resource_props)
        if layer in LAYER_GROUPS:
            return LAYER_GROUPS[layer]
        return super().get_group_name(dbt_resource_props) or "transform"

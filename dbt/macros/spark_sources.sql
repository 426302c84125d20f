{#- on-run-start: makes the sources readable where they arrive as Parquet files instead of
    tables. Only when QUOTABOARD_SPARK_RAW_DIR names a folder (dagster_project/spark_build.py
    sets it): every source table <schema>.<table> (raw.*, config.*, history.*) becomes an
    external Parquet table over <folder>/<schema>/<table>/, replacing the previous definition
    (the files are never touched). On DuckDB, or without the variable (the sources already are
    tables, e.g. on a cluster), it does nothing. -#}
{% macro register_parquet_sources() -%}
    {{ return(adapter.dispatch('register_parquet_sources', 'quotaboard')()) }}
{%- endmacro %}

{% macro default__register_parquet_sources() -%}
{%- endmacro %}

{% macro spark__register_parquet_sources() -%}
    {%- set root = env_var('QUOTABOARD_SPARK_RAW_DIR', '') -%}
    {%- if execute and root -%}
        {%- set schemas = [] -%}
        {%- for source_node in graph.sources.values() -%}
            {%- if source_node.schema not in schemas -%}
                {%- do schemas.append(source_node.schema) -%}
                {%- do run_query('create schema if not exists ' ~ source_node.schema) -%}
            {%- endif -%}
            {%- set table_name = source_node.schema ~ '.' ~ source_node.identifier -%}
            {%- set location = root.rstrip('/') ~ '/' ~ source_node.schema ~ '/' ~ source_node.identifier -%}
            {%- do run_query('drop table if exists ' ~ table_name) -%}
            {%- do run_query("create table " ~ table_name ~ " using parquet location '" ~ location ~ "'") -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

{#- Config of an incremental model that rebuilds whole dates of `date_column`, per engine:
    DuckDB replaces the dates in the batch (delete+insert keyed on the date); Spark overwrites
    the date partitions in the batch (insert_overwrite on a Parquet table partitioned by the
    date; dbt-spark has no delete+insert, and Delta's merge is not needed for a whole-date
    rebuild). Use: config(materialized='incremental', **incremental_by_date_config('d')). -#}
{% macro incremental_by_date_config(date_column) -%}
    {{ return(adapter.dispatch('incremental_by_date_config', 'quotaboard')(date_column)) }}
{%- endmacro %}

{% macro default__incremental_by_date_config(date_column) -%}
    {{ return({'incremental_strategy': 'delete+insert', 'unique_key': date_column}) }}
{%- endmacro %}

{% macro spark__incremental_by_date_config(date_column) -%}
    {{ return({
        'incremental_strategy': 'insert_overwrite',
        'partition_by': [date_column],
        'file_format': 'parquet',
    }) }}
{%- endmacro %}

{#- Config of a table that mirrors a landing table file by file (every row carries
    _source_file and _loaded_at; the loader replaces a changed file's rows as a whole).
    DuckDB: incremental, delete+insert keyed on _source_file, so a run re-types only the files
    loaded since the last build; a post-hook deletes the rows of files whose load is gone from
    the landing table (a file reloaded with no rows, or removed), so the mirror never keeps a
    stale row. Spark: a plain table, rebuilt on each run. The landing table is
    source(source_name, table_name) (named, not passed: the hook renders it at run time).
    Use: config(**file_mirror_config('s', 't')). -#}
{% macro file_mirror_config(source_name, table_name) -%}
    {{ return(adapter.dispatch('file_mirror_config', 'quotaboard')(source_name, table_name)) }}
{%- endmacro %}

{% macro default__file_mirror_config(source_name, table_name) -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'delete+insert',
        'unique_key': '_source_file',
        'on_schema_change': 'fail',
        'post_hook': [
            "delete from {{ this }} where not exists (select 1 from (select distinct _source_file, _loaded_at from "
            ~ "{{ source('" ~ source_name ~ "', '" ~ table_name ~ "') }}) as loads where loads._source_file = {{ this }}._source_file"
            ~ " and loads._loaded_at = {{ this }}._loaded_at)"
        ],
    }) }}
{%- endmacro %}

{% macro spark__file_mirror_config(source_name, table_name) -%}
    {{ return({'materialized': 'table'}) }}
{%- endmacro %}

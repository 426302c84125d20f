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

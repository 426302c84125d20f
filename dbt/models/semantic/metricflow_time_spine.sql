{#- MetricFlow's day time spine (dbt 1.9+ `time_spine` config in _semantic__time_spine.yml):
    one row per day from 2000-01-01 to 2099-12-31. It depends on no other model, so it can be
    built into any copy of the published file (see dagster_project/metrics_query.py). -#}
{{ config(
    materialized='table',
    schema='semantic',
    meta={'dagster': {'group': 'semantic'}},
) }}

with days as (
    {{ dbt.date_spine(
        'day',
        "cast('2000-01-01' as date)",
        "cast('2100-01-01' as date)",
    ) }}
)

select cast(date_day as date) as date_day
from days

{#- The body of a mart that serves closed periods as they were paid on (metrics.md §13): open
    periods come from `live_model` with period_closed false; a closed period (int_closed_periods,
    period_end <= closed_through) comes from `snapshot_model` exactly as snapshotted when it has
    a snapshot, else from `live_model` (this run's publish snapshots it); both with
    period_closed true. `columns` are the mart's columns before period_closed, in order. -#}
{% macro serve_closed_periods(live_model, snapshot_model, columns) -%}
with live as (
    select * from {{ ref(live_model) }}
),

closed_periods as (
    select * from {{ ref('int_closed_periods') }}
),

snapshots as (
    select * from {{ ref(snapshot_model) }}
),

-- Closed periods that have a snapshot: served exactly as snapshotted.
snapshotted as (
    select distinct snapshots.fiscal_period
    from snapshots
    inner join closed_periods
        on closed_periods.fiscal_period = snapshots.fiscal_period
)

select
    {%- for column in columns %}
    live.{{ column }},
    {%- endfor %}
    cast(closed_periods.fiscal_period is not null as boolean) as period_closed
from live
left join closed_periods
    on closed_periods.fiscal_period = live.fiscal_period
left join snapshotted
    on snapshotted.fiscal_period = live.fiscal_period
where snapshotted.fiscal_period is null

union all

select
    {%- for column in columns %}
    snapshots.{{ column }},
    {%- endfor %}
    cast(true as boolean) as period_closed
from snapshots
inner join snapshotted
    on snapshotted.fiscal_period = snapshots.fiscal_period
{%- endmacro %}

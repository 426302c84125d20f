-- One row per (assignee, fiscal period) with attainment rows (metrics.md §4-§5):
-- weighted_attainment = sum(weight * capped_attainment) / sum(weight); status from it, at
-- data_through (metrics.md §5, 1.1). The marts serve it for open periods.
with attainment as (
    select * from {{ ref('int_quota_attainment_live') }}
),

run_context as (
    select * from {{ ref('stg_config__run_context') }}
),

data_through as (
    select * from {{ ref('int_data_through') }}
),

weighted as (
    select
        assignee_type,
        assignee_id,
        assignee_name,
        fiscal_period,
        {{ exact_sum("weight * capped_attainment") }} / {{ exact_sum("weight") }} as weighted_attainment,
        max(elapsed) as elapsed,
        max(period_start) as period_start,
        max(period_end) as period_end,
        count(*) as component_count
    from attainment
    group by assignee_type, assignee_id, assignee_name, fiscal_period
),

scored as (
    select
        weighted.*,
        case when weighted.elapsed > 0 then weighted.weighted_attainment / weighted.elapsed end as pace,
        case
            when weighted.period_end < data_through.data_through then 'ended'
            when weighted.period_start > data_through.data_through then 'not_started'
            else 'current'
        end as period_state,
        run_context.pace_at_risk
    from weighted
    cross join run_context
    cross join data_through
)

select
    cast(assignee_type as {{ dbt.type_string() }}) as assignee_type,
    cast(assignee_id as {{ dbt.type_string() }}) as assignee_id,
    cast(assignee_name as {{ dbt.type_string() }}) as assignee_name,
    cast(fiscal_period as {{ dbt.type_string() }}) as fiscal_period,
    cast(weighted_attainment as double) as weighted_attainment,
    cast(
        case
            when period_state = 'ended' then case when weighted_attainment >= 1 then 'achieved' else 'missed' end
            when period_state = 'not_started' then 'not_started'
            when pace >= 1 then 'on_track'
            when pace >= pace_at_risk then 'at_risk'
            else 'behind'
        end as {{ dbt.type_string() }}
    ) as status,
    cast(component_count as integer) as component_count,
    cast(elapsed as double) as elapsed,
    cast(pace as double) as pace
from scored

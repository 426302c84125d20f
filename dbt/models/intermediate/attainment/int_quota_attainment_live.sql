-- One row per (assignee, fiscal period, metric) plan row (metrics.md §3-§5); person rows with no
-- day in seat are left out (exception not_in_seat). Actuals count credits up to as_of; elapsed,
-- pace, projection and status are measured at data_through (metrics.md §5, 1.1). The unit comes
-- from the metric registry. The marts serve it for open periods.
with plan_targets as (
    select * from {{ ref('int_plan_targets') }}
),

credits as (
    select * from {{ ref('fct_quota_credits') }}
),

teams as (
    select * from {{ ref('dim_teams') }}
),

people as (
    select * from {{ ref('dim_people') }}
),

run_context as (
    select * from {{ ref('stg_config__run_context') }}
),

data_through as (
    select * from {{ ref('int_data_through') }}
),

plans_in_seat as (
    select
        plan_targets.*,
        plan_targets.plan_target * plan_targets.proration_factor as target,
        run_context.as_of,
        data_through.data_through,
        run_context.pace_at_risk
    from plan_targets
    cross join run_context
    cross join data_through
    where not plan_targets.is_not_in_seat
),

actuals as (
    select
        plans_in_seat.assignee_type,
        plans_in_seat.assignee_id,
        plans_in_seat.fiscal_period,
        plans_in_seat.metric,
        {{ exact_sum("credits.amount") }} as actual
    from plans_in_seat
    inner join credits
        on credits.assignee_type = plans_in_seat.assignee_type
        and credits.assignee_id = plans_in_seat.assignee_id
        and credits.metric = plans_in_seat.metric
        and (
            credits.fiscal_period = plans_in_seat.fiscal_period
            or (
                credits.fiscal_period is null
                and credits.credit_date >= plans_in_seat.period_start
                and credits.credit_date <= plans_in_seat.period_end
                and credits.credit_date <= plans_in_seat.as_of
            )
        )
    group by all
),

measured as (
    select
        plans_in_seat.*,
        coalesce(actuals.actual, 0) as actual,
        case
            when plans_in_seat.period_end < plans_in_seat.data_through then 1.0
            when plans_in_seat.period_start > plans_in_seat.data_through then 0.0
            else cast({{ dbt.datediff('plans_in_seat.period_start', 'plans_in_seat.data_through', 'day') }} + 1 as double)
                / plans_in_seat.period_days
        end as elapsed,
        case
            when plans_in_seat.period_end < plans_in_seat.data_through then 'ended'
            when plans_in_seat.period_start > plans_in_seat.data_through then 'not_started'
            else 'current'
        end as period_state
    from plans_in_seat
    left join actuals
        on actuals.assignee_type = plans_in_seat.assignee_type
        and actuals.assignee_id = plans_in_seat.assignee_id
        and actuals.fiscal_period = plans_in_seat.fiscal_period
        and actuals.metric = plans_in_seat.metric
),

scored as (
    select
        *,
        actual / target as attainment,
        case when cap is not null then least(actual / target, cap) else actual / target end as capped_attainment,
        case when elapsed > 0 then (actual / target) / elapsed end as pace,
        case when elapsed > 0 then actual / elapsed end as projected_actual
    from measured
)

select
    cast(scored.assignee_type as {{ dbt.type_string() }}) as assignee_type,
    cast(scored.assignee_id as {{ dbt.type_string() }}) as assignee_id,
    cast(coalesce(people.person_name, teams.team_name) as {{ dbt.type_string() }}) as assignee_name,
    cast(scored.fiscal_period as {{ dbt.type_string() }}) as fiscal_period,
    cast(scored.metric as {{ dbt.type_string() }}) as metric,
    cast({{ metric_unit('scored.metric') }} as {{ dbt.type_string() }}) as unit,
    cast(scored.plan_target as double) as plan_target,
    cast(scored.proration_factor as double) as proration_factor,
    cast(scored.target as double) as target,
    cast(scored.actual as double) as actual,
    cast(scored.attainment as double) as attainment,
    cast(scored.cap as double) as cap,
    cast(scored.capped_attainment as double) as capped_attainment,
    cast(scored.weight as double) as weight,
    cast(scored.elapsed as double) as elapsed,
    cast(scored.pace as double) as pace,
    cast(scored.projected_actual as double) as projected_actual,
    cast(
        case
            when scored.period_state = 'ended' then case when scored.attainment >= 1 then 'achieved' else 'missed' end
            when scored.period_state = 'not_started' then 'not_started'
            when scored.pace >= 1 then 'on_track'
            when scored.pace >= scored.pace_at_risk then 'at_risk'
            else 'behind'
        end as {{ dbt.type_string() }}
    ) as status,
    cast(scored.narrative as {{ dbt.type_string() }}) as narrative,
    cast(scored.days_in_seat as integer) as days_in_seat,
    cast(scored.period_start as date) as period_start,
    cast(scored.period_end as date) as period_end
from scored
left join people
    on scored.assignee_type = 'person'
    and people.person_id = scored.assignee_id
left join teams
    on scored.assignee_type = 'team'
    and teams.team_id = scored.assignee_id

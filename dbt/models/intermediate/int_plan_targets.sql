-- Each quota plan row with its period and target (metrics.md §3): for a person row with
-- prorate = true, target = plan target * days_in_seat / period_days, where days_in_seat counts
-- the period's days on which the person has any membership. Team rows are never prorated.
with plans as (
    select * from {{ ref('stg_config__quota_plans') }}
),

periods as (
    select * from {{ ref('int_fiscal_periods') }}
),

memberships as (
    select * from {{ ref('int_person_memberships') }}
),

plan_periods as (
    select
        plans.*,
        periods.period_start,
        periods.period_end,
        periods.period_days
    from plans
    inner join periods
        on periods.fiscal_period = plans.fiscal_period
),

person_periods as (
    select distinct
        assignee_id,
        fiscal_period,
        period_start,
        period_end
    from plan_periods
    where assignee_type = 'person'
),

seat_days as (
    select
        person_periods.assignee_id,
        person_periods.fiscal_period,
        sum(
            greatest(
                0,
                {{ dbt.datediff(
                    'greatest(memberships.valid_from, person_periods.period_start)',
                    'least(coalesce(memberships.valid_to, person_periods.period_end + 1), person_periods.period_end + 1)',
                    'day') }}
            )
        ) as days_in_seat
    from person_periods
    inner join memberships
        on memberships.person_id = person_periods.assignee_id
    group by person_periods.assignee_id, person_periods.fiscal_period
)

select
    plan_periods.assignee_type,
    plan_periods.assignee_id,
    plan_periods.fiscal_period,
    plan_periods.metric,
    plan_periods.target as plan_target,
    plan_periods.weight,
    plan_periods.cap,
    plan_periods.prorate,
    plan_periods.narrative,
    plan_periods.period_start,
    plan_periods.period_end,
    plan_periods.period_days,
    case
        when plan_periods.assignee_type = 'person' then cast(coalesce(seat_days.days_in_seat, 0) as integer)
    end as days_in_seat,
    case
        when plan_periods.assignee_type = 'person' and plan_periods.prorate
            then cast(coalesce(seat_days.days_in_seat, 0) as double) / plan_periods.period_days
        else 1.0
    end as proration_factor,
    plan_periods.assignee_type = 'person' and coalesce(seat_days.days_in_seat, 0) = 0 as is_not_in_seat
from plan_periods
left join seat_days
    on seat_days.assignee_id = plan_periods.assignee_id
    and seat_days.fiscal_period = plan_periods.fiscal_period
    and plan_periods.assignee_type = 'person'

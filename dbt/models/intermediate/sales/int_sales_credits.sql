-- Every sales and adjustment credit line (columns of fct_quota_credits without credit_id).
-- Dated credits: fiscal_period is NULL.
with person_credits as (
    select * from {{ ref('int_person_credits') }}
),

assisted_bookings as (
    select * from {{ ref('int_assisted_bookings_credits') }}
),

team_bookings as (
    select * from {{ ref('int_team_bookings_credits') }}
),

team_members as (
    select * from {{ ref('int_team_member_credits') }}
),

adjustments as (
    select * from {{ ref('int_adjustment_credits') }}
),

unioned as (
    select * from person_credits
    union all
    select * from assisted_bookings
    union all
    select * from team_bookings
    union all
    select * from team_members
    union all
    select * from adjustments
)

select
    assignee_type,
    assignee_id,
    metric,
    credit_date,
    cast(amount as double) as amount,
    source_type,
    source_id,
    rule,
    cast(fiscal_period as {{ dbt.type_string() }}) as fiscal_period,
    detail
from unioned

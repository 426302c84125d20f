-- One row per plan period of a period-counted product metric (active_accounts,
-- feature_adopting_accounts, installs) with a fingerprint of everything the period's credit
-- lines are computed from: the period's window (start, and end cut to as_of), the team plan
-- rows of those metrics in the period, the teams' feature ownership windows, and the account
-- activity dated in the window (account, date, feature, event, install messageIds).
-- int_product_period_credits keeps a period's lines while this fingerprint is unchanged and
-- recomputes the period when it changes. A fingerprint is a sum of row hashes: a changed,
-- added or removed input row changes it (barring a 64-bit hash collision).
with ctx as (
    select as_of from {{ ref('stg_config__run_context') }}
),

period_plans as (
    select distinct
        plans.fiscal_period,
        plans.assignee_id as team_id,
        plans.metric
    from {{ ref('stg_config__quota_plans') }} as plans
    where plans.assignee_type = 'team'
        and plans.metric in ('{{ period_counted_product_metrics() | join("', '") }}')
),

periods as (
    select
        period_plans.fiscal_period,
        periods.period_start,
        least(periods.period_end, ctx.as_of) as window_end,
        sum(hash(period_plans.team_id, period_plans.metric)) as plans_hash
    from period_plans
    inner join {{ ref('int_fiscal_periods') }} as periods
        on period_plans.fiscal_period = periods.fiscal_period
    cross join ctx
    group by all
),

-- The same ownership windows int_product_period_credits reads (a team's features and its
-- sub-teams').
team_features as (
    select distinct
        hierarchy.ancestor_team_id as team_id,
        ownership.feature,
        ownership.valid_from as owned_from,
        ownership.valid_to as owned_to
    from {{ ref('stg_config__feature_ownership') }} as ownership
    inner join {{ ref('int_team_hierarchy') }} as hierarchy
        on ownership.team_id = hierarchy.team_id
),

ownership as (
    select coalesce(sum(hash(team_id, feature, owned_from, owned_to)), 0) as ownership_hash
    from team_features
),

-- Per message date, the hash sum of the activity rows the credit lines read.
daily_activity as (
    select
        message_date,
        sum(hash(account_id, feature, event, install_message_ids)) as activity_hash
    from {{ ref('int_product_account_activity') }}
    group by message_date
),

period_activity as (
    select
        periods.fiscal_period,
        coalesce(sum(daily_activity.activity_hash), 0) as activity_hash
    from periods
    left join daily_activity
        on daily_activity.message_date between periods.period_start and periods.window_end
    group by periods.fiscal_period
)

select
    periods.fiscal_period,
    periods.period_start,
    periods.window_end,
    periods.plans_hash,
    ownership.ownership_hash,
    period_activity.activity_hash,
    hash(
        periods.period_start,
        periods.window_end,
        periods.plans_hash,
        ownership.ownership_hash,
        period_activity.activity_hash
    ) as inputs_key
from periods
inner join period_activity
    on periods.fiscal_period = period_activity.fiscal_period
cross join ownership

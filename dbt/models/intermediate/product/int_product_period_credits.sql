{#-
    Product credit lines counted in a plan period (metrics.md §2): active_accounts
    (rule active_account), feature_adopting_accounts (feature_adoption) and installs
    (install), for the teams with a plan row for the metric in the period. The columns of
    int_product_credits, plus
      - inputs_key: the period's fingerprint in int_product_period_inputs when the lines were
        computed,
      - credit_logic: the checksum of this model's SQL when they were computed.
    Incremental by plan period: a pre-hook (macro delete_stale_period_credits) deletes the
    lines of every period whose fingerprint or logic changed, or which is no longer planned;
    the run then computes the periods that have no line left (changed, new, or periods that
    earn no line at all), and appends them. A closed period whose activity, plan rows and
    ownership did not change keeps its lines without being recomputed. On Spark: a table
    rebuilt on each run. The rules are described on int_product_credits.
-#}
{{ config(**period_credits_config()) }}

with ctx as (
    select * from {{ ref('stg_config__run_context') }}
),

plan_periods as (
    select distinct
        plans.assignee_id as team_id,
        plans.metric,
        plans.fiscal_period,
        periods.period_start,
        least(periods.period_end, ctx.as_of) as window_end
    from {{ ref('stg_config__quota_plans') }} as plans
    inner join {{ ref('int_fiscal_periods') }} as periods
        on plans.fiscal_period = periods.fiscal_period
    cross join ctx
    where plans.assignee_type = 'team'
        and plans.metric in ('{{ period_counted_product_metrics() | join("', '") }}')
    {%- if is_incremental() %}
        -- Only the periods without lines: new, or deleted by the pre-hook because their
        -- inputs changed (periods whose lines are all kept are not recomputed).
        and plans.fiscal_period not in (select kept.fiscal_period from {{ this }} as kept)
    {%- endif %}
),

-- The days the computed periods span: on an incremental run where every period is kept, none.
computed_days as (
    select
        min(period_start) as first_day,
        max(window_end) as last_day
    from plan_periods
),

account_activity as {{ cte_materialized() }} (
    select
        account_id,
        message_date,
        feature
    from {{ ref('int_product_account_activity') }}
    where account_id is not null
        and message_date between (select computed_days.first_day from computed_days)
        and (select computed_days.last_day from computed_days)
),

install_activity as (
    select
        message_date,
        account_id,
        feature,
        event,
        install_message_ids
    from {{ ref('int_product_account_activity') }}
    where {{ array_length('install_message_ids') }} > 0
        and message_date between (select computed_days.first_day from computed_days)
        and (select computed_days.last_day from computed_days)
),

-- A team's features with their ownership window [owned_from, owned_to) (open ends filled).
team_features as (
    select distinct
        hierarchy.ancestor_team_id as team_id,
        ownership.feature,
        coalesce(ownership.valid_from, cast('0001-01-01' as date)) as owned_from,
        coalesce(ownership.valid_to, cast('9999-12-31' as date)) as owned_to
    from {{ ref('stg_config__feature_ownership') }} as ownership
    inner join {{ ref('int_team_hierarchy') }} as hierarchy
        on ownership.team_id = hierarchy.team_id
),

-- active_account: an account's first message date in a period does not depend on the team,
-- so it is found once per period (plan periods of different teams share their window).
active_periods as (
    select distinct
        fiscal_period,
        period_start,
        window_end
    from plan_periods
    where metric = 'active_accounts'
),

account_period_firsts as (
    select
        active_periods.fiscal_period,
        account_activity.account_id,
        min(account_activity.message_date) as credit_date
    from active_periods
    inner join account_activity
        on account_activity.message_date
        between active_periods.period_start and active_periods.window_end
    group by all
),

active_accounts as (
    select
        plan_periods.team_id,
        plan_periods.metric,
        plan_periods.fiscal_period,
        account_period_firsts.account_id,
        account_period_firsts.credit_date
    from plan_periods
    inner join account_period_firsts
        on plan_periods.fiscal_period = account_period_firsts.fiscal_period
    where plan_periods.metric = 'active_accounts'
),

-- feature_adoption: first, per account, the first date in each (feature, ownership window,
-- plan period) that some adopting team counts (teams above the owner share the window); then
-- per team the earliest of its windows, and the first feature on that date.
adoption_windows as (
    select distinct
        team_features.feature,
        team_features.owned_from,
        team_features.owned_to,
        plan_periods.fiscal_period,
        plan_periods.period_start,
        plan_periods.window_end
    from plan_periods
    inner join team_features
        on plan_periods.team_id = team_features.team_id
    where plan_periods.metric = 'feature_adopting_accounts'
),

adoption_window_firsts as (
    select
        adoption_windows.feature,
        adoption_windows.owned_from,
        adoption_windows.owned_to,
        adoption_windows.fiscal_period,
        account_activity.account_id,
        min(account_activity.message_date) as first_date
    from adoption_windows
    inner join account_activity
        on account_activity.feature = adoption_windows.feature
        and account_activity.message_date >= adoption_windows.owned_from
        and account_activity.message_date < adoption_windows.owned_to
        and account_activity.message_date
        between adoption_windows.period_start and adoption_windows.window_end
    group by all
),

adopting_accounts as (
    select
        plan_periods.team_id,
        plan_periods.metric,
        plan_periods.fiscal_period,
        adoption_window_firsts.account_id,
        min(adoption_window_firsts.first_date) as credit_date,
        {{ first_in_order(
            'adoption_window_firsts.feature',
            [['adoption_window_firsts.first_date', 'asc'], ['adoption_window_firsts.feature', 'asc']]
        ) }} as first_feature
    from plan_periods
    inner join team_features
        on plan_periods.team_id = team_features.team_id
    inner join adoption_window_firsts
        on adoption_window_firsts.feature = team_features.feature
        and adoption_window_firsts.owned_from = team_features.owned_from
        and adoption_window_firsts.owned_to = team_features.owned_to
        and adoption_window_firsts.fiscal_period = plan_periods.fiscal_period
    where plan_periods.metric = 'feature_adopting_accounts'
    group by all
),

install_messages as (
    select
        message_date,
        account_id,
        feature,
        event,
        {{ unnest_array('install_message_ids') }} as message_id
    from install_activity
),

installs as (
    select
        plan_periods.team_id,
        plan_periods.metric,
        plan_periods.fiscal_period,
        install_messages.message_id,
        install_messages.message_date as credit_date,
        install_messages.account_id,
        install_messages.feature,
        install_messages.event
    from plan_periods
    inner join team_features
        on plan_periods.team_id = team_features.team_id
    inner join install_messages
        on install_messages.feature = team_features.feature
        and install_messages.message_date >= team_features.owned_from
        and install_messages.message_date < team_features.owned_to
        and install_messages.message_date
        between plan_periods.period_start and plan_periods.window_end
    where plan_periods.metric = 'installs'
),

lines as (
    select
        'team' as assignee_type,
        team_id as assignee_id,
        metric,
        credit_date,
        cast(1 as double) as amount,
        'account' as source_type,
        account_id as source_id,
        'active_account' as rule,
        fiscal_period,
        'first track event of the account in ' || fiscal_period || ' on ' || credit_date as detail
    from active_accounts

    union all

    select
        'team' as assignee_type,
        team_id as assignee_id,
        metric,
        credit_date,
        cast(1 as double) as amount,
        'account' as source_type,
        account_id as source_id,
        'feature_adoption' as rule,
        fiscal_period,
        'first event on team feature ' || first_feature || ' in ' || fiscal_period
        || ' on ' || credit_date as detail
    from adopting_accounts

    union all

    select
        'team' as assignee_type,
        team_id as assignee_id,
        metric,
        credit_date,
        cast(1 as double) as amount,
        'message' as source_type,
        message_id as source_id,
        'install' as rule,
        fiscal_period,
        event || ' on feature ' || feature || ', account ' || coalesce(account_id, '(unattributed)')
        as detail
    from installs
)

select
    lines.*,
    inputs.inputs_key,
    '{{ credit_logic_checksum() }}' as credit_logic
from lines
left join {{ ref('int_product_period_inputs') }} as inputs
    on lines.fiscal_period = inputs.fiscal_period

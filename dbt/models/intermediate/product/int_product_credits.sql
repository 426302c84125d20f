-- Product credit lines (metrics.md §2, "Product and R&D metrics"), team assignees only, written
-- for the teams that have a plan row for the metric. Columns of fct_quota_credits without
-- credit_id.
--   active_accounts / feature_adopting_accounts: one line per (team, plan period, account),
--     amount 1, dated the account's first qualifying message date in the period (up to as_of),
--     fiscal_period = the plan period (counts only there). Rules active_account,
--     feature_adoption.
--   installs: one line per (team, plan period, messageId) of an install event on one of the
--     team's features, attributed to an account or not; rule install.
--   influenced_bookings: one line per (won opportunity with a usable amount, team) whose account
--     had a track event on a team feature dated in [CloseDate - influence_window_days,
--     CloseDate]; amount in corporate currency, dated CloseDate, fiscal_period NULL; rule
--     feature_influence.
--   activated_accounts: one line per (team, account) whose first win closed on c and which has
--     activation_min_events track events (any feature) dated in [c, c + activation_window_days];
--     dated the message date of the Nth event by (timestamp, messageId); fiscal_period NULL;
--     rule activation.
-- A team's features on date d: those feature_ownership gives, on d, to it or to any team below
-- it (ownership rows are effective-dated: an event counts for the team that owned its feature
-- on the event's message date). A held opportunity (metrics.md §11) earns no
-- influenced_bookings and is no account's first win; an account activates only when its first
-- win is new_business.
with ctx as (
    select * from {{ ref('stg_config__run_context') }}
),

-- Import CTEs read only the columns each rule needs: the activity table holds one row per
-- (date, workspace, feature, event, file), about one per event, with arrays.
account_activity as {{ cte_materialized() }} (
    select
        account_id,
        message_date,
        feature
    from {{ ref('int_product_account_activity') }}
    where account_id is not null
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
),

first_events_activity as (
    select
        account_id,
        message_date,
        first_events
    from {{ ref('int_product_account_activity') }}
    where account_id is not null
),

won as (
    select * from {{ ref('int_opportunity_amounts') }}
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
        and plans.metric in ('{{ team_only_metrics() | join("', '") }}')
),

plan_teams as (
    select distinct
        team_id,
        metric
    from plan_periods
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

-- feature_influence: each usable, not held win with its account's activity in the window
-- [CloseDate - influence_window_days, CloseDate].
influence_wins as (
    select
        opportunity_id,
        account_id,
        close_date,
        amount
    from won
    where amount is not null
        and not is_held
        and account_id is not null
),

win_window_activity as (
    select
        influence_wins.opportunity_id,
        influence_wins.account_id,
        influence_wins.close_date,
        influence_wins.amount,
        account_activity.message_date,
        account_activity.feature
    from influence_wins
    inner join account_activity
        on influence_wins.account_id = account_activity.account_id
        and account_activity.message_date
        between influence_wins.close_date - (select ctx.influence_window_days from ctx)
        and influence_wins.close_date
),

influence as (
    select
        plan_teams.team_id,
        win_window_activity.opportunity_id,
        win_window_activity.account_id,
        win_window_activity.close_date,
        win_window_activity.amount,
        max(win_window_activity.message_date) as last_event_date,
        {{ first_in_order(
            'win_window_activity.feature',
            [['win_window_activity.message_date', 'desc'], ['win_window_activity.feature', 'asc']]
        ) }} as last_feature
    from plan_teams
    inner join team_features
        on plan_teams.team_id = team_features.team_id
    inner join win_window_activity
        on win_window_activity.feature = team_features.feature
        and win_window_activity.message_date >= team_features.owned_from
        and win_window_activity.message_date < team_features.owned_to
    where plan_teams.metric = 'influenced_bookings'
    group by all
),

first_wins as (
    select
        account_id,
        opportunity_id,
        close_date,
        booking_type
    from won
    where account_id is not null
        and not is_held
    qualify row_number() over (partition by account_id order by close_date, opportunity_id) = 1
),

activation_events as (
    select
        first_wins.account_id,
        first_wins.opportunity_id,
        first_wins.close_date,
        first_events_activity.message_date,
        {{ unnest_array('first_events_activity.first_events') }} as first_event
    from first_wins
    inner join first_events_activity
        on first_wins.account_id = first_events_activity.account_id
        and first_wins.booking_type = 'new_business'
        and first_events_activity.message_date
        between first_wins.close_date
        and first_wins.close_date + (select ctx.activation_window_days from ctx)
),

activations as (
    select
        account_id,
        opportunity_id,
        close_date,
        message_date as credit_date,
        first_event.message_id as nth_message_id
    from activation_events
    qualify row_number() over (
        partition by account_id
        order by first_event.timestamp_utc, first_event.message_id
    ) = (select ctx.activation_min_events from ctx)
)

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

union all

select
    'team' as assignee_type,
    team_id as assignee_id,
    'influenced_bookings' as metric,
    close_date as credit_date,
    cast(amount as double) as amount,
    'opportunity' as source_type,
    opportunity_id as source_id,
    'feature_influence' as rule,
    cast(null as {{ dbt.type_string() }}) as fiscal_period,
    'account ' || account_id || ' used team feature ' || last_feature || ' on '
    || last_event_date || ' (window ends ' || close_date || ')' as detail
from influence

union all

select
    'team' as assignee_type,
    plan_teams.team_id as assignee_id,
    'activated_accounts' as metric,
    activations.credit_date,
    cast(1 as double) as amount,
    'account' as source_type,
    activations.account_id as source_id,
    'activation' as rule,
    cast(null as {{ dbt.type_string() }}) as fiscal_period,
    'first win ' || activations.opportunity_id || ' closed ' || activations.close_date
    || '; event ' || (select ctx.activation_min_events from ctx) || ' is ' || activations.nth_message_id
    as detail
from activations
inner join plan_teams
    on plan_teams.metric = 'activated_accounts'

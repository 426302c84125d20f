-- Product credit lines of influenced_bookings and activated_accounts (metrics.md §2), team
-- assignees only, for the teams with a plan row for the metric; columns of
-- int_product_credits. Computed on each run (the lines are dated, not kept per period); the
-- rules are described on int_product_credits.
--   influenced_bookings: one line per (won opportunity with a usable amount, team) whose account
--     had a track event on a team feature dated in [CloseDate - influence_window_days,
--     CloseDate]; amount in corporate currency, dated CloseDate, fiscal_period NULL; rule
--     feature_influence.
--   activated_accounts: one line per (team, account) whose first win closed on c and which has
--     activation_min_events track events (any feature) dated in [c, c + activation_window_days];
--     dated the message date of the Nth event by (timestamp, messageId); fiscal_period NULL;
--     rule activation.
-- A team's features on date d: those feature_ownership gives, on d, to it or to any team below
-- it. A held opportunity (metrics.md §11) earns no influenced_bookings and is no account's
-- first win; an account activates only when its first win is new_business.
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

-- The teams with a plan row for influenced_bookings or activated_accounts.
plan_teams as (
    select distinct
        assignee_id as team_id,
        metric
    from {{ ref('stg_config__quota_plans') }}
    where assignee_type = 'team'
        and metric in ('influenced_bookings', 'activated_accounts')
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

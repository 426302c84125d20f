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

team_features as (
    select distinct
        hierarchy.ancestor_team_id as team_id,
        ownership.feature,
        ownership.valid_from,
        ownership.valid_to
    from {{ ref('stg_config__feature_ownership') }} as ownership
    inner join {{ ref('int_team_hierarchy') }} as hierarchy
        on ownership.team_id = hierarchy.team_id
),

activity as (
    select * from {{ ref('int_product_account_activity') }}
),

account_days as (
    select
        account_id,
        message_date,
        feature
    from activity
    where account_id is not null
    group by all
),

won as (
    select * from {{ ref('int_opportunity_amounts') }}
),

active_accounts as (
    select
        plan_periods.team_id,
        plan_periods.metric,
        plan_periods.fiscal_period,
        account_days.account_id,
        min(account_days.message_date) as credit_date
    from plan_periods
    inner join account_days
        on account_days.message_date between plan_periods.period_start and plan_periods.window_end
    where plan_periods.metric = 'active_accounts'
    group by all
),

adopting_accounts as (
    select
        plan_periods.team_id,
        plan_periods.metric,
        plan_periods.fiscal_period,
        account_days.account_id,
        min(account_days.message_date) as credit_date,
        {{ first_in_order(
            'account_days.feature',
            [['account_days.message_date', 'asc'], ['account_days.feature', 'asc']]
        ) }} as first_feature
    from plan_periods
    inner join team_features
        on plan_periods.team_id = team_features.team_id
    inner join account_days
        on account_days.feature = team_features.feature
        and (team_features.valid_from is null or team_features.valid_from <= account_days.message_date)
        and (team_features.valid_to is null or account_days.message_date < team_features.valid_to)
        and account_days.message_date between plan_periods.period_start and plan_periods.window_end
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
    from activity
    where {{ array_length('install_message_ids') }} > 0
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
        and (team_features.valid_from is null or team_features.valid_from <= install_messages.message_date)
        and (team_features.valid_to is null or install_messages.message_date < team_features.valid_to)
        and install_messages.message_date
        between plan_periods.period_start and plan_periods.window_end
    where plan_periods.metric = 'installs'
),

influence as (
    select
        plan_teams.team_id,
        won.opportunity_id,
        won.account_id,
        won.close_date,
        won.amount,
        max(account_days.message_date) as last_event_date,
        {{ first_in_order(
            'account_days.feature',
            [['account_days.message_date', 'desc'], ['account_days.feature', 'asc']]
        ) }} as last_feature
    from plan_teams
    inner join team_features
        on plan_teams.team_id = team_features.team_id
    inner join account_days
        on account_days.feature = team_features.feature
        and (team_features.valid_from is null or team_features.valid_from <= account_days.message_date)
        and (team_features.valid_to is null or account_days.message_date < team_features.valid_to)
    inner join won
        on account_days.account_id = won.account_id
        and account_days.message_date
        between won.close_date - (select ctx.influence_window_days from ctx) and won.close_date
    where plan_teams.metric = 'influenced_bookings'
        and won.amount is not null
        and not won.is_held
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
        activity.message_date,
        {{ unnest_array('activity.first_events') }} as first_event
    from first_wins
    inner join activity
        on first_wins.account_id = activity.account_id
        and first_wins.booking_type = 'new_business'
        and activity.message_date
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

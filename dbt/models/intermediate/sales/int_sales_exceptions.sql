-- Row-level problems of the CRM and sales credits (metrics.md §7), one row per problem:
-- missing_fx_rate, won_without_amount, negative_amount, split_total_not_100, orphan_split,
-- unmapped_crm_user, close_date_in_future, not_in_seat, invalid_value, and (1.1)
-- unknown_opportunity_type and promised_unreleased_feature.
with amounts as (
    select * from {{ ref('int_opportunity_amounts') }}
),

bookings_lines as (
    select * from {{ ref('int_bookings_credit_lines') }}
),

crm_user_lines as (
    select * from {{ ref('int_crm_user_credit_lines') }}
),

opportunities as (
    select * from {{ ref('stg_crm__opportunity') }}
),

splits as (
    select * from {{ ref('stg_crm__opportunity_split') }}
),

team_members as (
    select * from {{ ref('stg_crm__opportunity_team_member') }}
),

invalid_values as (
    select * from {{ ref('stg_crm__invalid_values') }}
),

plan_targets as (
    select * from {{ ref('int_plan_targets') }}
),

won as (
    select * from {{ ref('int_won_opportunities') }}
),

promises as (
    select * from {{ ref('int_promises') }}
),

run_context as (
    select * from {{ ref('stg_config__run_context') }}
),

amount_issues as (
    select
        'opportunity' as source_type,
        opportunity_id as source_id,
        amount_issue as reason,
        case amount_issue
            when 'missing_fx_rate' then 'no rate for currency ' || coalesce(currency_code, '') || ' on ' || close_date
            when 'negative_amount' then 'amount ' || amount_original
            else 'won with no amount'
        end as detail
    from amounts
    where amount_issue is not null
),

split_totals as (
    select
        'opportunity' as source_type,
        source_id,
        'split_total_not_100' as reason,
        detail
    from bookings_lines
    where rule = 'owner_fallback'
        and metric = 'bookings'
),

live_opportunities as (
    select id from opportunities where not is_deleted
),

orphan_splits as (
    select
        'opportunity' as source_type,
        splits.id as source_id,
        'orphan_split' as reason,
        'split of missing or deleted opportunity ' || coalesce(splits.opportunity_id, '(empty)') as detail
    from splits
    left join live_opportunities
        on live_opportunities.id = splits.opportunity_id
    where not splits.is_deleted
        and not splits.has_invalid_value
        and live_opportunities.id is null
),

orphan_team_members as (
    select
        'opportunity' as source_type,
        team_members.id as source_id,
        'orphan_split' as reason,
        'team member of missing or deleted opportunity ' || coalesce(team_members.opportunity_id, '(empty)') as detail
    from team_members
    left join live_opportunities
        on live_opportunities.id = team_members.opportunity_id
    where not team_members.is_deleted
        and not team_members.has_invalid_value
        and live_opportunities.id is null
),

unmapped as (
    select
        'opportunity' as source_type,
        source_id,
        'unmapped_crm_user' as reason,
        'crm user ' || coalesce(crm_user_id, '(empty)') || ': ' || metric || ' ' || amount
            || ' (' || rule || ', ' || detail || ')' as detail
    from crm_user_lines
    where person_id is null
        -- a net_new_bookings line repeats a bookings line: its opportunity is reported once
        and metric <> 'net_new_bookings'
),

unknown_types as (
    select
        'opportunity' as source_type,
        opportunity_id as source_id,
        'unknown_opportunity_type' as reason,
        'Type ' || opportunity_type || ' is not in settings opportunity_types (booking type other)' as detail
    from won
    where booking_type = 'other'
),

broken_promise_features as (
    select
        opportunity_id,
        feature || ' (' || coalesce(owning_team_id, 'unknown') || ', ' || replace(status, '_', ' ') || ')' as promise_text
    from promises
    where status <> 'released'
),

broken_promises as (
    select
        'opportunity' as source_type,
        opportunity_id as source_id,
        'promised_unreleased_feature' as reason,
        'promised ' || {{ sorted_array_to_string(sorted_list_agg('promise_text', 'promise_text'), "'; '") }} as detail
    from broken_promise_features
    group by opportunity_id
),

future_closes as (
    select
        'opportunity' as source_type,
        opportunities.id as source_id,
        'close_date_in_future' as reason,
        'won with close date ' || opportunities.close_date || ' after as_of ' || run_context.as_of as detail
    from opportunities
    cross join run_context
    where opportunities.is_won
        and not opportunities.is_deleted
        and not opportunities.has_invalid_value
        and opportunities.close_date > run_context.as_of
),

not_in_seat as (
    select
        'quota_plan' as source_type,
        assignee_id || ':' || fiscal_period || ':' || metric as source_id,
        'not_in_seat' as reason,
        'person ' || assignee_id || ' has no membership day in ' || fiscal_period as detail
    from plan_targets
    where is_not_in_seat
),

invalid as (
    select
        object_name as source_type,
        source_id,
        'invalid_value' as reason,
        column_name || ': ' || coalesce(raw_text, '') || ' (' || _source_file || ':' || _source_line || ')' as detail
    from invalid_values
),

unioned as (
    select * from amount_issues
    union all
    select * from split_totals
    union all
    select * from orphan_splits
    union all
    select * from orphan_team_members
    union all
    select * from unmapped
    union all
    select * from future_closes
    union all
    select * from not_in_seat
    union all
    select * from invalid
    union all
    select * from unknown_types
    union all
    select * from broken_promises
)

select
    source_type,
    source_id,
    reason,
    detail,
    cast(1 as bigint) as row_count
from unioned

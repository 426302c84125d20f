-- The promises boundary (metrics.md §11): one row per (won opportunity, promised feature). The
-- promise field lists features separated by ';'; items are trimmed, empty items ignored, and
-- matched to feature_ownership.csv ignoring case (the same feature twice is one promise).
--   released        known, and released on or before CloseDate (or releases are not tracked)
--   unreleased      known, but released_on is empty or after CloseDate
--   unknown_feature no feature_ownership row names it
-- With unreleased_promise_policy `hold`, every row of an opportunity with an unreleased or
-- unknown promise is held: the deal earns no credit of any metric.
with won as (
    select * from {{ ref('int_won_opportunities') }}
),

ownership as (
    select * from {{ ref('stg_config__feature_ownership') }}
),

run_context as (
    select * from {{ ref('stg_config__run_context') }}
),

promised_items as (
    select
        opportunity_id,
        account_id,
        owner_id,
        close_date,
        booking_type,
        {{ unnest_array(split_text('promised_features', ';')) }} as promised_item
    from won
    where promised_features is not null
),

promised as (
    select
        opportunity_id,
        account_id,
        owner_id,
        close_date,
        booking_type,
        lower(trim(promised_item)) as feature_key,
        min(trim(promised_item)) as promised_text
    from promised_items
    where trim(promised_item) <> ''
    group by opportunity_id, account_id, owner_id, close_date, booking_type, lower(trim(promised_item))
),

known_features as (
    select
        feature_key,
        min(feature) as feature,
        max(released_on) as released_on,
        max(case when release_tracked then 1 else 0 end) = 1 as release_tracked
    from ownership
    group by feature_key
),

classified as (
    select
        promised.opportunity_id,
        promised.account_id,
        promised.owner_id,
        promised.close_date,
        promised.booking_type,
        coalesce(known_features.feature, promised.promised_text) as feature,
        owners.team_id as owning_team_id,
        known_features.released_on,
        case
            when known_features.feature_key is null then 'unknown_feature'
            when not known_features.release_tracked then 'released'
            when known_features.released_on <= promised.close_date then 'released'
            else 'unreleased'
        end as status
    from promised
    left join known_features
        on known_features.feature_key = promised.feature_key
    left join ownership as owners
        on owners.feature_key = promised.feature_key
        and (owners.valid_from is null or owners.valid_from <= promised.close_date)
        and (owners.valid_to is null or promised.close_date < owners.valid_to)
),

flagged as (
    select
        *,
        max(case when status <> 'released' then 1 else 0 end)
            over (partition by opportunity_id) = 1 as breaks_boundary
    from classified
)

select
    flagged.opportunity_id,
    flagged.account_id,
    flagged.owner_id,
    flagged.close_date,
    flagged.booking_type,
    flagged.feature,
    flagged.owning_team_id,
    flagged.released_on,
    flagged.status,
    flagged.breaks_boundary,
    flagged.breaks_boundary and run_context.unreleased_promise_policy = 'hold' as is_held
from flagged
cross join run_context

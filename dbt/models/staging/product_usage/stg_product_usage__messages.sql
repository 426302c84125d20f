-- The clean message stream a run uses: track and group messages with a parsable timestamp,
-- one row per messageId (copies are one message: the first by _source_file, then
-- _source_line, is kept), dated on or before as_of (later messages are ignored by the run).
-- Bad lines (`bad_event`) are left out here and reported by int_product_exceptions.
-- Group messages without a messageId cannot be deduplicated and are kept as they are.
-- Full scan with a window over messageId: the incremental aggregate
-- (int_product_events_daily) does not read this view; it repeats the rules on its slice.
with messages as (
    select * from {{ ref('base_product_usage__messages') }}
    where not is_bad_event
        and message_type in ('track', 'group')
        and timestamp_utc is not null
),

deduplicated as (
    select *
    from messages
    qualify message_id is null
        or row_number() over (
            partition by message_id order by _source_file, _source_line
        ) = 1
)

select
    deduplicated.message_id,
    deduplicated.message_type,
    deduplicated.timestamp_utc,
    deduplicated.message_date,
    deduplicated.user_id,
    deduplicated.anonymous_id,
    deduplicated.event,
    deduplicated.feature,
    deduplicated.context_group_id,
    deduplicated.group_id,
    deduplicated.crm_account_id,
    deduplicated._source_file,
    deduplicated._source_line,
    deduplicated._loaded_at
from deduplicated
cross join {{ ref('stg_config__run_context') }} as ctx
where deduplicated.message_date <= ctx.as_of

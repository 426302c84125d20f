-- Every landed line of raw.messages, typed: one row per line, copies and bad lines included.
-- Row-wise only (no window), so filters on _loaded_at push down (the incremental aggregate
-- reads new lines through this view).
--   timestamp_utc: ISO 8601; with an offset (or Z) converted to UTC, without one taken as UTC;
--                  NULL when it does not parse (try_cast: '2026-02-30T00:00:00Z' is NULL).
--   message_date:  the timestamp's date in the company time zone (input-contract §2).
--   feature:       properties.feature when present and non-empty, else event.
--   is_bad_event:  not valid JSON, or a track message without a parsable timestamp or a
--                  messageId (metrics.md §7 `bad_event`).
with source as (
    select * from {{ source('product_usage', 'messages') }}
),

ctx as (
    select timezone from {{ ref('stg_config__run_context') }}
),

parsed as (
    select
        nullif(trim(source.message_id), '') as message_id,
        lower(nullif(trim(source.type), '')) as message_type,
        {{ crm_parse_timestamp('source.timestamp') }} as timestamp_utc,
        source.timestamp as timestamp_text,
        nullif(trim(source.user_id), '') as user_id,
        nullif(trim(source.anonymous_id), '') as anonymous_id,
        nullif(source.event, '') as event,
        coalesce(nullif(source.feature, ''), nullif(source.event, '')) as feature,
        nullif(trim(source.context_group_id), '') as context_group_id,
        nullif(trim(source.group_id), '') as group_id,
        nullif(trim(source.crm_account_id), '') as crm_account_id,
        coalesce(source._is_valid_json, true) as is_valid_json,
        source._source_file,
        source._source_line,
        source._loaded_at
    from source
)

select
    parsed.message_id,
    parsed.message_type,
    parsed.timestamp_utc,
    {{ utc_to_local_date('parsed.timestamp_utc', 'ctx.timezone') }} as message_date,
    parsed.timestamp_text,
    parsed.user_id,
    parsed.anonymous_id,
    parsed.event,
    parsed.feature,
    parsed.context_group_id,
    parsed.group_id,
    parsed.crm_account_id,
    parsed.is_valid_json,
    (
        not parsed.is_valid_json
        or (
            parsed.message_type = 'track'
            and (parsed.message_id is null or parsed.timestamp_utc is null)
        )
    ) as is_bad_event,
    parsed._source_file,
    parsed._source_line,
    parsed._loaded_at
from parsed
cross join ctx

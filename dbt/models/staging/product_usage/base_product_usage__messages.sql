-- Every landed line of raw.messages, typed: one row per line, copies and bad lines included.
-- Parsing the timestamps is the costly part of reading 20 M lines, so this is a table that
-- mirrors raw.messages file by file (macro file_mirror_config): a run types only the files
-- loaded since the last build (their rows are replaced as a whole), and every file again when
-- the company time zone changed (message_date depends on it). Row-wise only (no window).
--   timestamp_utc: ISO 8601; with an offset (or Z) converted to UTC, without one taken as UTC;
--                  NULL when it does not parse (try_cast: '2026-02-30T00:00:00Z' is NULL).
--   message_date:  the timestamp's date in the company time zone (input-contract §2).
--   feature:       properties.feature when present and non-empty, else event.
--   is_bad_event:  not valid JSON, or a track message without a parsable timestamp or a
--                  messageId (metrics.md §7 `bad_event`).
{{ config(**file_mirror_config('product_usage', 'messages')) }}

with ctx as (
    select timezone from {{ ref('stg_config__run_context') }}
),

{% if is_incremental() -%}
-- The files whose load the mirror lacks: loaded (or reloaded) since the last build; every
-- file when the time zone the rows were dated in is not the run's.
built_loads as (
    select distinct
        _source_file,
        _loaded_at,
        message_timezone
    from {{ this }}
),

landed_loads as (
    select distinct
        _source_file,
        _loaded_at
    from {{ source('product_usage', 'messages') }}
),

files_to_type as (
    select distinct landed_loads._source_file
    from landed_loads
    left join built_loads
        on landed_loads._source_file = built_loads._source_file
        and landed_loads._loaded_at = built_loads._loaded_at
    cross join ctx
    where built_loads._source_file is null
        or built_loads.message_timezone <> ctx.timezone
),

source as (
    select landed.*
    from {{ source('product_usage', 'messages') }} as landed
    inner join files_to_type
        on landed._source_file = files_to_type._source_file
),
{%- else -%}
source as (
    select * from {{ source('product_usage', 'messages') }}
),
{%- endif %}

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
    ctx.timezone as message_timezone,
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

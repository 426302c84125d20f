-- Message exceptions (metrics.md §7): one row per (reason, landing file), source_type
-- 'messages', source_id the file's path relative to the landing folder, row_count the number
-- of messages.
--   bad_event:          lines that are not valid JSON (or that the loader could not read at
--                       all: raw.rejected_rows with object_name 'messages'), and track
--                       messages without a parsable timestamp or a messageId (whatever
--                       their date: they cannot be dated).
--   duplicate_event:    extra copies of a messageId that were dropped (any message type: a
--                       copy is a copy), counted in the file of the dropped copy, for messages
--                       whose kept copy is dated on or before as_of (later messages are
--                       ignored by the run) or cannot be dated (no timestamp).
--   unattributed_event: deduplicated track events dated on or before as_of with no account
--                       (no workspace, or a workspace with no group call naming a live Account).
-- Cost: bad_event and duplicate_event scan every landed line (duplicate_event orders only the
-- copies of repeated messageIds); the unattributed counts come from the daily aggregate.
-- The typed lines, not copied: each reader scans the table with its own columns and filters.
with base as {{ cte_not_materialized() }} (
    select * from {{ ref('base_product_usage__messages') }}
),

ctx as (
    select as_of from {{ ref('stg_config__run_context') }}
),

-- Lines of product_usage files the loader could not read as messages at all.
unreadable as (
    select _source_file
    from {{ source('crm', 'rejected_rows') }}
    where lower(object_name) = 'messages'
),

bad_lines as (
    select
        _source_file,
        not is_valid_json as is_invalid_json,
        is_valid_json and message_id is null as is_missing_message_id,
        is_valid_json and message_id is not null and timestamp_utc is null as is_bad_timestamp
    from base
    where is_bad_event
    union all
    select
        _source_file,
        true as is_invalid_json,
        false as is_missing_message_id,
        false as is_bad_timestamp
    from unreadable
),

bad as (
    select
        _source_file,
        count(*) as row_count,
        count(*) filter (where is_invalid_json) as invalid_json,
        count(*) filter (where is_missing_message_id) as missing_message_id,
        count(*) filter (where is_bad_timestamp) as bad_timestamp
    from bad_lines
    group by _source_file
),

-- Only messageIds with more than one copy have copies to drop; they are few, and ordering
-- every line (a window over all of them) was the costly part.
usable_ids as {{ cte_not_materialized() }} (
    select
        message_id,
        message_type,
        message_date,
        _source_file,
        _source_line
    from base
    where not is_bad_event
        and message_id is not null
),

repeated_ids as (
    select message_id
    from usable_ids
    group by message_id
    having count(*) > 1
),

copies as (
    select
        usable_ids._source_file,
        usable_ids.message_type,
        row_number() over (
            partition by usable_ids.message_id
            order by usable_ids._source_file, usable_ids._source_line
        ) as copy_number,
        first_value(usable_ids.message_date) over (
            partition by usable_ids.message_id
            order by usable_ids._source_file, usable_ids._source_line
        ) as kept_message_date
    from usable_ids
    inner join repeated_ids
        on usable_ids.message_id = repeated_ids.message_id
),

duplicates as (
    select
        copies._source_file,
        count(*) as row_count
    from copies
    cross join ctx
    where copies.copy_number > 1
        and (copies.kept_message_date is null or copies.kept_message_date <= ctx.as_of)
    group by copies._source_file
),

unattributed as (
    select
        _source_file,
        sum(event_count) as row_count,
        sum(event_count) filter (where workspace_id is null) as without_workspace
    from {{ ref('int_product_account_activity') }}
    where account_id is null
    group by _source_file
)

select
    'messages' as source_type,
    _source_file as source_id,
    'bad_event' as reason,
    invalid_json || ' line(s) not valid JSON or unreadable, ' || missing_message_id
    || ' track message(s) without messageId, ' || bad_timestamp
    || ' track message(s) without a parsable timestamp' as detail,
    cast(row_count as bigint) as row_count
from bad

union all

select
    'messages' as source_type,
    _source_file as source_id,
    'duplicate_event' as reason,
    row_count || ' extra cop(ies) of messageIds delivered earlier (first copy kept)' as detail,
    cast(row_count as bigint) as row_count
from duplicates

union all

select
    'messages' as source_type,
    _source_file as source_id,
    'unattributed_event' as reason,
    row_count || ' track event(s) with no live CRM account (' || coalesce(without_workspace, 0)
    || ' without any workspace)' as detail,
    cast(row_count as bigint) as row_count
from unattributed

-- Group calls (workspace -> CRM account, user -> workspace), one row per messageId (first copy
-- by _source_file, _source_line), every date: consumers apply the as_of cut themselves
-- (the user fallback needs no cut: a call after as_of is after every event up to as_of).
-- Group calls without a groupId are left out (empty groupId = absent).
-- Deduplicated among group messages only (messageIds are unique across message types), so
-- this stays small: it never windows over the track events.
with group_messages as (
    select * from {{ ref('base_product_usage__messages') }}
    where message_type = 'group'
        and is_valid_json
        and timestamp_utc is not null
        and group_id is not null
)

select
    message_id,
    timestamp_utc,
    message_date,
    user_id,
    group_id,
    crm_account_id,
    _source_file,
    _source_line,
    _loaded_at
from group_messages
qualify message_id is null
    or row_number() over (partition by message_id order by _source_file, _source_line) = 1

-- One row per workspace (groupId) that some group call dated on or before as_of ties to a CRM
-- account: the non-empty traits.crm_account_id of the latest such call (latest timestamp;
-- ties: the later delivery, i.e. the greater _source_file, then _source_line, like CRM
-- current state). account_id is that id when it is a current, non-deleted Account (and its
-- current row parses), else NULL: the workspace's events are then unattributed.
with calls as (
    select groups.*
    from {{ ref('stg_product_usage__group_calls') }} as groups
    cross join {{ ref('stg_config__run_context') }} as ctx
    where groups.crm_account_id is not null
        and groups.message_date <= ctx.as_of
    qualify row_number() over (
        partition by groups.group_id
        order by groups.timestamp_utc desc, groups._source_file desc, groups._source_line desc
    ) = 1
),

live_accounts as (
    select id as account_id
    from {{ ref('stg_crm__account') }}
    where not is_deleted
        and not has_invalid_value
)

select
    calls.group_id as workspace_id,
    calls.crm_account_id,
    live_accounts.account_id,
    calls.message_id as group_message_id,
    calls.timestamp_utc as group_timestamp_utc
from calls
left join live_accounts
    on calls.crm_account_id = live_accounts.account_id

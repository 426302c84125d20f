{{ config(materialized='view') }}

-- The daily aggregate as a run sees it: dated on or before as_of, each workspace resolved to
-- its account (NULL = unattributed). Same grain as int_product_events_daily; its empty-date
-- markers (event_count 0) are skipped.
select
    events.message_date,
    events.workspace_id,
    events.workspace_source,
    workspaces.account_id,
    events.feature,
    events.event,
    events._source_file,
    events.event_count,
    events.first_events,
    events.install_message_ids
from {{ ref('int_product_events_daily') }} as events
cross join {{ ref('stg_config__run_context') }} as ctx
left join {{ ref('int_product_workspace_accounts') }} as workspaces
    on events.workspace_id = workspaces.workspace_id
where events.message_date <= ctx.as_of
    and events.event_count > 0

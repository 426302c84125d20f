-- Published runs (metrics.md §14), as appended by the publish step to history.runs.
with source as (
    select * from {{ source('history', 'runs') }}
)

select
    run_id,
    as_of,
    data_through,
    crm_through,
    messages_through,
    published_at,
    config_fingerprint,
    config_commit,
    config_author,
    code_version,
    reopened_periods
from source

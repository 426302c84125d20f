-- One row per published run (metrics.md §14): as_of, the data-through dates, when, the
-- configuration's fingerprint, its git commit and author, the code version, the periods it
-- reopened. Read from history.runs, which the publish appends to (dagster_project/run_record.py);
-- the published fct_runs is that master plus the publishing run's own row, so this model (the
-- runs before this one) documents and guards the contract and no rebuild loses a run.
with runs as (
    select * from {{ ref('stg_history__runs') }}
)

select
    cast(run_id as {{ dbt.type_string() }}) as run_id,
    cast(as_of as date) as as_of,
    cast(data_through as date) as data_through,
    cast(crm_through as date) as crm_through,
    cast(messages_through as date) as messages_through,
    cast(published_at as timestamp) as published_at,
    cast(config_fingerprint as {{ dbt.type_string() }}) as config_fingerprint,
    cast(config_commit as {{ dbt.type_string() }}) as config_commit,
    cast(config_author as {{ dbt.type_string() }}) as config_author,
    cast(code_version as {{ dbt.type_string() }}) as code_version,
    cast(reopened_periods as {{ dbt.type_string() }}) as reopened_periods
from runs

-- One row per published run (metrics.md §14): as_of, the data-through dates, when, the
-- configuration's fingerprint, its git commit and author, the code version, the periods it
-- reopened. Read from history.runs, which the publish appends to (dagster_project/run_record.py);
-- the published fct_runs is that master plus the publishing run's own row, so this model (the
-- runs before this one) documents and guards the contract and no rebuild loses a run.
with runs as (
    select * from {{ ref('stg_history__runs') }}
),

run_context as (
    select * from {{ ref('stg_config__run_context') }}
)

select
    cast(runs.run_id as {{ dbt.type_string() }}) as run_id,
    cast(runs.as_of as date) as as_of,
    cast(runs.data_through as date) as data_through,
    cast(runs.crm_through as date) as crm_through,
    cast(runs.messages_through as date) as messages_through,
    cast(runs.published_at as timestamp) as published_at,
    cast(runs.config_fingerprint as {{ dbt.type_string() }}) as config_fingerprint,
    cast(runs.config_commit as {{ dbt.type_string() }}) as config_commit,
    cast(runs.config_author as {{ dbt.type_string() }}) as config_author,
    cast(runs.code_version as {{ dbt.type_string() }}) as code_version,
    cast(runs.reopened_periods as {{ dbt.type_string() }}) as reopened_periods,
    -- a rerun of a past date: as_of before the day the run was published (company time zone)
    cast(runs.as_of as date) < {{ utc_to_local_date('runs.published_at', 'run_context.timezone') }}
        as as_of_in_past
from runs
cross join run_context

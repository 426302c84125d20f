-- Every configuration value that differs from the previous published run's configuration, per
-- published run (metrics.md §14); the first published run lists every row as added. Read from
-- history.config_changes, which the publish appends to (dagster_project/run_record.py); the
-- published fct_config_changes is that master plus the publishing run's own changes.
with changes as (
    select * from {{ ref('stg_history__config_changes') }}
)

select
    cast(run_id as {{ dbt.type_string() }}) as run_id,
    cast(published_at as timestamp) as published_at,
    cast(file as {{ dbt.type_string() }}) as file,  -- noqa: RF04
    cast(row_key as {{ dbt.type_string() }}) as row_key,
    cast(column_name as {{ dbt.type_string() }}) as column_name,
    cast(change as {{ dbt.type_string() }}) as change,  -- noqa: RF04
    cast(old_value as {{ dbt.type_string() }}) as old_value,
    cast(new_value as {{ dbt.type_string() }}) as new_value
from changes

-- Attainment rows of every published run (appended by publish into history.attainment_history;
-- this mart only reads it, so no rebuild or full refresh loses them).
with history as (
    select * from {{ ref('stg_history__attainment_history') }}
)

select
    cast(run_id as {{ dbt.type_string() }}) as run_id,
    cast(as_of as date) as as_of,
    cast(published_at as timestamp) as published_at,
    cast(assignee_type as {{ dbt.type_string() }}) as assignee_type,
    cast(assignee_id as {{ dbt.type_string() }}) as assignee_id,
    cast(fiscal_period as {{ dbt.type_string() }}) as fiscal_period,
    cast(metric as {{ dbt.type_string() }}) as metric,
    cast(target as double) as target,
    cast(actual as double) as actual,
    cast(attainment as double) as attainment
from history

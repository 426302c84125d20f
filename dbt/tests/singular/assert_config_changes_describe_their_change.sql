-- A failure means a fct_config_changes row that contradicts its change (metrics.md §14): an
-- added value with an old value, a removed value with a new one, a changed value whose old and
-- new values are the same, or a change of a run that has no fct_runs row: the record of who
-- changed what would show a change that did not happen.
{{ config(meta={
    'dagster': {'ref': {'name': 'fct_config_changes'}},
    'protects': [
    'fct_config_changes.change',
    'fct_config_changes.old_value',
    'fct_config_changes.new_value',
    'fct_config_changes.published_at',
]}) }}
with changes as (
    select * from {{ ref('fct_config_changes') }}
),

runs as (
    select * from {{ ref('fct_runs') }}
)

select
    changes.run_id,
    changes.file,  -- noqa: RF04
    changes.row_key,
    changes.column_name,
    changes.change,  -- noqa: RF04
    changes.old_value,
    changes.new_value
from changes
left join runs on changes.run_id = runs.run_id
where
    (changes.change = 'added' and changes.old_value is not null)
    or (changes.change = 'removed' and changes.new_value is not null)
    or (changes.change = 'changed' and changes.old_value is not distinct from changes.new_value)
    or runs.published_at is distinct from changes.published_at

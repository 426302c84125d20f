-- A failure means a fct_runs row that misstates its run (metrics.md §12, §14): data_through
-- after as_of or after a source's own date, a commit without an author or an author without a
-- commit, an empty reopened_periods (none is NULL): a reader would be told the run saw data,
-- a configuration commit or a reopening it did not.
{{ config(meta={
    'dagster': {'ref': {'name': 'fct_runs'}},
    'protects': [
    'fct_runs.data_through',
    'fct_runs.crm_through',
    'fct_runs.messages_through',
    'fct_runs.config_commit',
    'fct_runs.config_author',
    'fct_runs.reopened_periods',
]}) }}
with runs as (
    select * from {{ ref('fct_runs') }}
)

select
    run_id,
    as_of,
    data_through,
    crm_through,
    messages_through,
    config_commit,
    config_author,
    reopened_periods
from runs
where
    data_through > as_of
    or data_through > crm_through
    or data_through > messages_through
    or (config_commit is null) != (config_author is null)
    or trim(reopened_periods) = ''

-- One row: the run's as_of date and the settings every metric reads. Models join this instead
-- of reading vars or settings themselves, so unit tests can set as_of and settings as data.
-- A table, not a view: "today" is resolved once, when the run builds it.
-- as_of: the var `as_of` when given (`dbt build --vars '{as_of: "2026-11-23"}'`), else the
-- environment variable QUOTABOARD_AS_OF (how `quotaboard run` passes it), else today in the
-- company time zone. The pipeline uses the environment variable, not the var: a var that
-- changes every night voids dbt's partial parse of the whole project (a full parse of every
-- model and test). The variable is read when the model runs (run_env_var), so dbt does not
-- even re-parse this file when it changes.
{{ config(materialized='table') }}
{%- set as_of = var('as_of') or run_env_var('QUOTABOARD_AS_OF') %}
with settings as (
    select * from {{ ref('stg_config__settings') }}
)

select
    {% if as_of -%}
    cast('{{ as_of }}' as date) as as_of,
    {%- else -%}
    {{ local_today('settings.timezone') }} as as_of,
    {%- endif %}
    settings.*
from settings

-- One row: the run's as_of date and the settings every metric reads. Models join this instead
-- of reading vars or settings themselves, so unit tests can set as_of and settings as data.
-- A table, not a view: "today" is resolved once, when the run builds it.
{{ config(materialized='table') }}
with settings as (
    select * from {{ ref('stg_config__settings') }}
)

select
    {% if var('as_of') -%}
    cast('{{ var("as_of") }}' as date) as as_of,
    {%- else -%}
    {{ local_today('settings.timezone') }} as as_of,
    {%- endif %}
    settings.*
from settings

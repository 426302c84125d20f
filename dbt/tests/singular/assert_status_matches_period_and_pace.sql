-- A failure means an attainment row whose elapsed, pace or status does not follow the
-- period-vs-data_through table (ended before data_through: achieved/missed by attainment;
-- contains data_through: on_track/at_risk/behind by pace; starts after data_through:
-- not_started with no pace, and actual 0 when it also starts after as_of). Time is measured
-- at data_through, not as_of: a monthly period that ended between the two is still running.
{{ config(meta={
    'dagster': {'ref': {'name': 'fct_quota_attainment'}},
    'protects': [
    'fct_quota_attainment.status',
    'fct_quota_attainment.elapsed',
    'fct_quota_attainment.pace',
    'fct_quota_attainment.attainment',
]}) }}
with attainment as (
    select * from {{ ref('fct_quota_attainment') }}
    where not period_closed  -- closed periods serve their snapshot (metrics.md §9, §13)
),

run_context as (
    select * from {{ ref('stg_config__run_context') }}
),

data_through as (
    select * from {{ ref('int_data_through') }}
)

select attainment.*
from attainment
cross join run_context
cross join data_through
where not case
    when attainment.period_end < data_through.data_through
        then
            attainment.elapsed = 1
            and attainment.status = case when attainment.attainment >= 1 then 'achieved' else 'missed' end
    when attainment.period_start > data_through.data_through
        then
            attainment.elapsed = 0 and attainment.pace is null
            and attainment.status = 'not_started'
            and (attainment.period_start <= run_context.as_of or attainment.actual = 0)
    else
        attainment.elapsed > 0
        and abs(attainment.pace - attainment.attainment / attainment.elapsed)
        <= 1e-9 * greatest(1, abs(attainment.pace))
        and attainment.status = case
            when attainment.pace >= 1 then 'on_track'
            when attainment.pace >= run_context.pace_at_risk then 'at_risk'
            else 'behind'
        end
end

-- A failure means an attainment row whose elapsed, pace or status does not follow the
-- period-vs-as_of table of metrics.md §5 (ended: achieved/missed by attainment; contains as_of:
-- on_track/at_risk/behind by pace; not started: not_started with actual 0 and no pace).
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
)

select attainment.*
from attainment
cross join run_context
where not case
    when attainment.period_end < run_context.as_of
        then attainment.elapsed = 1
            and attainment.status = case when attainment.attainment >= 1 then 'achieved' else 'missed' end
    when attainment.period_start > run_context.as_of
        then attainment.elapsed = 0 and attainment.pace is null and attainment.actual = 0
            and attainment.status = 'not_started'
    else attainment.elapsed > 0
        and abs(attainment.pace - attainment.attainment / attainment.elapsed) <= 1e-9 * greatest(1, abs(attainment.pace))
        and attainment.status = case
            when attainment.pace >= 1 then 'on_track'
            when attainment.pace >= run_context.pace_at_risk then 'at_risk'
            else 'behind'
        end
end

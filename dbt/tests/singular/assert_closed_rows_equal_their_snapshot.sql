-- A failure means a closed period that has a snapshot is not served exactly as snapshotted: a
-- row of fct_quota_attainment, fct_scorecards or mart_team_board that differs from its snapshot
-- row, is missing, or has no snapshot row, or a snapshotted period served with period_closed
-- false while closed_through still closes it (metrics.md §13: a closed period never moves).
{{ config(meta={
    'dagster': {'ref': {'name': 'fct_quota_attainment'}},
    'protects': [
    'fct_quota_attainment.actual', 'fct_quota_attainment.target',
    'fct_quota_attainment.attainment', 'fct_quota_attainment.status',
    'fct_quota_attainment.period_closed',
    'fct_scorecards.weighted_attainment', 'fct_scorecards.status',
    'fct_scorecards.period_closed',
    'mart_team_board.weighted_attainment', 'mart_team_board.quota_carriers',
    'mart_team_board.period_closed',
]}) }}
{%- set attainment_cols = [
    'assignee_type', 'assignee_id', 'assignee_name', 'fiscal_period', 'metric', 'unit',
    'plan_target', 'proration_factor', 'target', 'actual', 'attainment', 'cap',
    'capped_attainment', 'weight', 'elapsed', 'pace', 'projected_actual', 'status', 'narrative',
    'days_in_seat', 'period_start', 'period_end'] -%}
{%- set scorecard_cols = [
    'assignee_type', 'assignee_id', 'assignee_name', 'fiscal_period', 'weighted_attainment',
    'status', 'component_count', 'elapsed', 'pace'] -%}
{%- set board_cols = [
    'team_id', 'team_name', 'function', 'mission', 'fiscal_period', 'reference_date',
    'weighted_attainment', 'status', 'quota_carriers', 'carriers_at_or_above',
    'median_carrier_attainment'] -%}
{%- set marts = [
    ('fct_quota_attainment', 'stg_history__closed_attainment', attainment_cols),
    ('fct_scorecards', 'stg_history__closed_scorecards', scorecard_cols),
    ('mart_team_board', 'stg_history__closed_board', board_cols)] %}
with closed_periods as (
    select * from {{ ref('int_closed_periods') }}
)
{%- for mart, snapshot, cols in marts %},

{{ mart }}_snapshot as (
    select {{ cols | join(', ') }}
    from {{ ref(snapshot) }}
    where fiscal_period in (select fiscal_period from closed_periods)
),

{{ mart }}_served as (
    select {{ cols | join(', ') }}
    from {{ ref(mart) }}
    where fiscal_period in (select distinct fiscal_period from {{ mart }}_snapshot)
),

{{ mart }}_failures as (
    select '{{ mart }}' as mart, 'served, not in the snapshot' as problem, fiscal_period
    from (select * from {{ mart }}_served except all select * from {{ mart }}_snapshot) as extra
    union all
    select '{{ mart }}' as mart, 'snapshotted, not served' as problem, fiscal_period
    from (select * from {{ mart }}_snapshot except all select * from {{ mart }}_served) as lost
    union all
    select '{{ mart }}' as mart, 'closed period served with period_closed false' as problem, fiscal_period
    from {{ ref(mart) }}
    where not period_closed and fiscal_period in (select fiscal_period from closed_periods)
)
{%- endfor %}

{% for mart, snapshot, cols in marts %}
select * from {{ mart }}_failures
{% if not loop.last %}union all{% endif %}
{%- endfor %}

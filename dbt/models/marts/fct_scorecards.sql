-- One row per (assignee, fiscal period) with attainment rows (metrics.md §4-§5, §13): open
-- periods live (int_scorecards_live), closed periods from their snapshot when they have one,
-- else live and snapshotted by this run's publish; period_closed true for closed periods.
{{ serve_closed_periods(
    'int_scorecards_live',
    'stg_history__closed_scorecards',
    [
        'assignee_type',
        'assignee_id',
        'assignee_name',
        'fiscal_period',
        'weighted_attainment',
        'status',
        'component_count',
        'elapsed',
        'pace',
    ]
) }}

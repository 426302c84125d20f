-- The company board (metrics.md §6, §13): open periods live (int_team_board_live), closed
-- periods from their snapshot when they have one, else live and snapshotted by this run's
-- publish; period_closed true for closed periods.
{{ serve_closed_periods(
    'int_team_board_live',
    'stg_history__closed_board',
    [
        'team_id',
        'team_name',
        'function',
        'mission',
        'fiscal_period',
        'reference_date',
        'weighted_attainment',
        'status',
        'quota_carriers',
        'carriers_at_or_above',
        'median_carrier_attainment',
    ]
) }}

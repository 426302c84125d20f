-- One row per (assignee, fiscal period, metric) plan row (metrics.md §3-§5, §13). Open periods:
-- the live computation (int_quota_attainment_live), period_closed false. Closed periods
-- (period_end <= settings.closed_through): the snapshot rows exactly as snapshotted when the
-- period has a snapshot, else the live rows (the publish of this run snapshots them); both with
-- period_closed true.
{{ serve_closed_periods(
    'int_quota_attainment_live',
    'stg_history__closed_attainment',
    [
        'assignee_type',
        'assignee_id',
        'assignee_name',
        'fiscal_period',
        'metric',
        'unit',
        'plan_target',
        'proration_factor',
        'target',
        'actual',
        'attainment',
        'cap',
        'capped_attainment',
        'weight',
        'elapsed',
        'pace',
        'projected_actual',
        'status',
        'narrative',
        'days_in_seat',
        'period_start',
        'period_end',
    ]
) }}

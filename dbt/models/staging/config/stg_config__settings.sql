-- settings.yml as one typed row (validated and defaulted by the config asset).
with source as (
    select * from {{ source('config', 'settings') }}
)

select
    upper(corporate_currency) as corporate_currency,
    fiscal_year_start_month,
    timezone,
    install_events,
    influence_window_days,
    activation_min_events,
    activation_window_days,
    pace_at_risk,
    freshness_max_age_hours,
    late_message_lookback_days,
    board_show_people,
    promise_field,
    lower(coalesce(unreleased_promise_policy, 'hold')) as unreleased_promise_policy,
    closed_through
from source

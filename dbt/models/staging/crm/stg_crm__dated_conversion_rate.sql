-- Current state of each dated_conversion_rate record (one row per Id), typed; see macro crm_current_state.
{{ crm_current_state('dated_conversion_rate') }}

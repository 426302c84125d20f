-- Current state of each currency_type record (one row per Id), typed; see macro crm_current_state.
{{ crm_current_state('currency_type') }}

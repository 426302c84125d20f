-- Current state of each user record (one row per Id), typed; see macro crm_current_state.
{{ crm_current_state('user') }}

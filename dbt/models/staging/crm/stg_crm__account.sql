-- Current state of each account record (one row per Id), typed; see macro crm_current_state.
{{ crm_current_state('account') }}

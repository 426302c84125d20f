-- Current state of each opportunity record (one row per Id), typed; see macro crm_current_state.
{{ crm_current_state('opportunity') }}

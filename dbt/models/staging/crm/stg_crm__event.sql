-- Current state of each event record (one row per Id), typed; see macro crm_current_state.
{{ crm_current_state('event') }}

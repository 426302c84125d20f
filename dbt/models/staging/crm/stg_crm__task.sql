-- Current state of each task record (one row per Id), typed; see macro crm_current_state.
{{ crm_current_state('task') }}

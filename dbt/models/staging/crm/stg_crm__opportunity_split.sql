-- Current state of each opportunity_split record (one row per Id), typed; see macro crm_current_state.
{{ crm_current_state('opportunity_split') }}

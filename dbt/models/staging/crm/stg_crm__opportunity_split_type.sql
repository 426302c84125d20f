-- Current state of each opportunity_split_type record (one row per Id), typed; see macro crm_current_state.
{{ crm_current_state('opportunity_split_type') }}

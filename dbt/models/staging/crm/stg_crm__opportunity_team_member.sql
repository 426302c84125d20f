-- Current state of each opportunity_team_member record (one row per Id), typed; see macro crm_current_state.
{{ crm_current_state('opportunity_team_member') }}

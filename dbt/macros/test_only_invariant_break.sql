{% macro test_only_invariant_break(name) %}
    {#-
        True only when the environment variable QUOTABOARD_TEST_BREAK_INVARIANT names `name`.
        The write-audit-publish tests (tests/test_write_audit_publish.py) set it to make a mart
        break an invariant of metrics.md section 9 on purpose, and assert that the guards block
        the publish. It never changes a guard; unset, it changes nothing.
    -#}
    {{ return(env_var('QUOTABOARD_TEST_BREAK_INVARIANT', '') == name) }}
{% endmacro %}

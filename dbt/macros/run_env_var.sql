{#- The value of an environment variable that changes every run (QUOTABOARD_AS_OF,
    QUOTABOARD_RUN_ID), read when the node runs and never while dbt parses.

    dbt records every env_var() read while parsing and parses the file again (and re-applies
    its YAML: tests, unit tests, docs) whenever the value differs from the recorded one. A value
    that changes every run would cost every nightly run that re-parse (1-2 s on the sample). At
    parse time `execute` is false and this returns the default without reading the variable, so
    dbt records nothing; when the node is compiled to run, it returns the run's value. Parsing
    only needs the refs and configs, which never depend on these values. -#}
{% macro run_env_var(name, default='') -%}
    {{- return(env_var(name, default) if execute else default) -}}
{%- endmacro %}

{#- The metric registry (var `metrics` in dbt_project.yml) as the models and tests need it.
    docs/design.md, "Adding a metric". -#}

{% macro metric_names() -%}
    {{ return(var('metrics').keys() | list) }}
{%- endmacro %}

{% macro metrics_valid_for(assignee_type) -%}
    {%- set names = [] -%}
    {%- for name, metric in var('metrics').items() if assignee_type in metric['assignee_types'] -%}
        {%- do names.append(name) -%}
    {%- endfor -%}
    {{ return(names) }}
{%- endmacro %}

{#- Every credit rule once, in registry order, of the metrics in `metric_group`: `all`, or the
    metrics valid for `person`, or `team_only` (the product metrics); manual_adjustment
    (adjustments.csv may credit any metric) last unless with_adjustments is false. -#}
{% macro credit_rules(metric_group='all', with_adjustments=true) -%}
    {%- if metric_group == 'all' -%}
        {%- set names = metric_names() -%}
    {%- elif metric_group == 'team_only' -%}
        {%- set names = team_only_metrics() -%}
    {%- else -%}
        {%- set names = metrics_valid_for(metric_group) -%}
    {%- endif -%}
    {%- set rules = [] -%}
    {%- for name in names -%}
        {%- for rule in var('metrics')[name]['rules'] if rule not in rules -%}
            {%- do rules.append(rule) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if with_adjustments -%}{%- do rules.append('manual_adjustment') -%}{%- endif -%}
    {{ return(rules) }}
{%- endmacro %}

{#- The metrics only teams carry (the product and R&D metrics, computed from events). -#}
{% macro team_only_metrics() -%}
    {%- set names = [] -%}
    {%- for name, metric in var('metrics').items() if metric['assignee_types'] | list == ['team'] -%}
        {%- do names.append(name) -%}
    {%- endfor -%}
    {{ return(names) }}
{%- endmacro %}

{#- The metrics whose team assignees get one team_member line per member credit. -#}
{% macro team_rollup_metrics() -%}
    {%- set names = [] -%}
    {%- for name, metric in var('metrics').items() if metric['team_rollup'] -%}
        {%- do names.append(name) -%}
    {%- endfor -%}
    {{ return(names) }}
{%- endmacro %}

{#- SQL: the unit (`currency` or `count`) of the metric in `column`, from the registry. -#}
{% macro metric_unit(column) -%}
    case {{ column }}
    {%- for name, metric in var('metrics').items() %}
        when '{{ name }}' then '{{ metric["unit"] }}'
    {%- endfor %}
    end
{%- endmacro %}

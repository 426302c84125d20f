{#- Sum of floating-point amounts that does not depend on the order rows arrive in: each value
    is fixed to 12 decimals and added exactly as a decimal, so two runs over the same input
    publish the same digits (a plain double sum can differ in the last bit between runs of a
    parallel aggregate). -#}
{% macro exact_sum(expression) -%}
    cast(sum(cast({{ expression }} as decimal(38, 12))) as double)
{%- endmacro %}

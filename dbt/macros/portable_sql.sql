{#- SQL that has no cross-database macro in dbt and differs between the engines the project
    builds on. Each macro dispatches (adapter.dispatch, namespace quotaboard): default__ is the
    DuckDB SQL the project was written in (so the DuckDB build is unchanged), spark__ the Spark
    SQL (dbt-spark; dbt-databricks falls back to it). Arguments are SQL expressions, except
    where a macro says otherwise. -#}

{#- Regular expressions: `pattern` is the bare pattern text (no quotes). -#}

{#- True when the whole of `expr` matches `pattern`. -#}
{% macro regex_full_match(expr, pattern) -%}
    {{ return(adapter.dispatch('regex_full_match', 'quotaboard')(expr, pattern)) }}
{%- endmacro %}

{% macro default__regex_full_match(expr, pattern) -%}
    regexp_full_match({{ expr }}, '{{ pattern }}')
{%- endmacro %}

{% macro spark__regex_full_match(expr, pattern) -%}
    ({{ expr }} rlike '^(?:{{ spark_regex_literal(pattern) }})$')
{%- endmacro %}

{#- True when some part of `expr` matches `pattern`. -#}
{% macro regex_contains(expr, pattern) -%}
    {{ return(adapter.dispatch('regex_contains', 'quotaboard')(expr, pattern)) }}
{%- endmacro %}

{% macro default__regex_contains(expr, pattern) -%}
    regexp_matches({{ expr }}, '{{ pattern }}')
{%- endmacro %}

{% macro spark__regex_contains(expr, pattern) -%}
    ({{ expr }} rlike '{{ spark_regex_literal(pattern) }}')
{%- endmacro %}

{#- Spark's parser reads a backslash in a string literal as an escape: double it. -#}
{% macro spark_regex_literal(pattern) -%}
    {{ pattern | replace('\\', '\\\\') }}
{%- endmacro %}

{#- A CamelCase name in snake_case (OpportunitySplit -> Opportunity_Split; lower() it after). -#}
{% macro camel_to_snake(expr) -%}
    {{ return(adapter.dispatch('camel_to_snake', 'quotaboard')(expr)) }}
{%- endmacro %}

{% macro default__camel_to_snake(expr) -%}
    regexp_replace({{ expr }}, '([a-z])([A-Z])', '\1_\2', 'g')
{%- endmacro %}

{% macro spark__camel_to_snake(expr) -%}
    regexp_replace({{ expr }}, '([a-z])([A-Z])', '$1_$2')
{%- endmacro %}

{#- Time: timestamps are UTC wall-clock values (DuckDB TIMESTAMP; on Spark, TIMESTAMP with the
    session time zone set to UTC, see profiles.yml). -#}

{#- ISO 8601 text with an offset (or Z) as a UTC timestamp; NULL when it does not parse. -#}
{% macro iso_offset_text_to_utc(text) -%}
    {{ return(adapter.dispatch('iso_offset_text_to_utc', 'quotaboard')(text)) }}
{%- endmacro %}

{% macro default__iso_offset_text_to_utc(text) -%}
    try_cast(try_cast({{ text }} as timestamptz) at time zone 'UTC' as timestamp)
{%- endmacro %}

{% macro spark__iso_offset_text_to_utc(text) -%}
    try_cast({{ text }} as timestamp)
{%- endmacro %}

{#- Date of a UTC timestamp in the time zone `tz` (an IANA name). -#}
{% macro utc_to_local_date(ts, tz) -%}
    {{ return(adapter.dispatch('utc_to_local_date', 'quotaboard')(ts, tz)) }}
{%- endmacro %}

{% macro default__utc_to_local_date(ts, tz) -%}
    cast(timezone({{ tz }}, timezone('UTC', {{ ts }})) as date)
{%- endmacro %}

{% macro spark__utc_to_local_date(ts, tz) -%}
    cast(from_utc_timestamp({{ ts }}, {{ tz }}) as date)
{%- endmacro %}

{#- Today's date in the time zone `tz`. -#}
{% macro local_today(tz) -%}
    {{ return(adapter.dispatch('local_today', 'quotaboard')(tz)) }}
{%- endmacro %}

{% macro default__local_today(tz) -%}
    cast(timezone({{ tz }}, current_timestamp) as date)
{%- endmacro %}

{% macro spark__local_today(tz) -%}
    cast(from_utc_timestamp(current_timestamp(), {{ tz }}) as date)
{%- endmacro %}

{#- Set-returning expressions (one row per element), for a select list. -#}

{#- The integers start..stop, one row each. -#}
{% macro integer_series(start, stop) -%}
    {{ return(adapter.dispatch('integer_series', 'quotaboard')(start, stop)) }}
{%- endmacro %}

{% macro default__integer_series(start, stop) -%}
    unnest(generate_series({{ start }}, {{ stop }}))
{%- endmacro %}

{% macro spark__integer_series(start, stop) -%}
    explode(sequence({{ start }}, {{ stop }}))
{%- endmacro %}

{#- The dates start..stop, one row each, typed date. -#}
{% macro date_series(start, stop) -%}
    {{ return(adapter.dispatch('date_series', 'quotaboard')(start, stop)) }}
{%- endmacro %}

{% macro default__date_series(start, stop) -%}
    cast(unnest(generate_series({{ start }}, {{ stop }}, interval 1 day)) as date)
{%- endmacro %}

{% macro spark__date_series(start, stop) -%}
    explode(sequence({{ start }}, {{ stop }}, interval 1 day))
{%- endmacro %}

{#- Each element of the array `arr`, one row each. -#}
{% macro unnest_array(arr) -%}
    {{ return(adapter.dispatch('unnest_array', 'quotaboard')(arr)) }}
{%- endmacro %}

{% macro default__unnest_array(arr) -%}
    unnest({{ arr }})
{%- endmacro %}

{% macro spark__unnest_array(arr) -%}
    explode({{ arr }})
{%- endmacro %}

{#- Arrays and structs. Types are given as 'string', 'timestamp', ... (the Spark spelling);
    a struct type as a list of [field, type] pairs. -#}

{% macro sql_type(type) -%}
    {{ return(adapter.dispatch('sql_type', 'quotaboard')(type)) }}
{%- endmacro %}

{% macro default__sql_type(type) -%}
    {%- if type is string -%}{{ 'varchar' if type == 'string' else type }}
    {%- else -%}struct(
        {%- for field, field_type in type -%}
        {{ field }} {{ default__sql_type(field_type) }}{{ ', ' if not loop.last }}
        {%- endfor -%})
    {%- endif -%}
{%- endmacro %}

{% macro spark__sql_type(type) -%}
    {%- if type is string -%}{{ type }}
    {%- else -%}struct<
        {%- for field, field_type in type -%}
        {{ field }}:{{ spark__sql_type(field_type) }}{{ ',' if not loop.last }}
        {%- endfor -%}>
    {%- endif -%}
{%- endmacro %}

{#- An empty array of `element_type` (see sql_type). -#}
{% macro empty_array(element_type) -%}
    {{ return(adapter.dispatch('empty_array', 'quotaboard')(element_type)) }}
{%- endmacro %}

{% macro default__empty_array(element_type) -%}
    cast([] as {{ default__sql_type(element_type) }}[])
{%- endmacro %}

{% macro spark__empty_array(element_type) -%}
    cast(array() as array<{{ spark__sql_type(element_type) }}>)
{%- endmacro %}

{#- A struct of the given [field, expression] pairs. -#}
{% macro struct_of(fields) -%}
    {{ return(adapter.dispatch('struct_of', 'quotaboard')(fields)) }}
{%- endmacro %}

{% macro default__struct_of(fields) -%}
    { {%- for field, expr in fields -%}'{{ field }}': {{ expr }}{{ ', ' if not loop.last }}{%- endfor -%} }
{%- endmacro %}

{% macro spark__struct_of(fields) -%}
    named_struct({%- for field, expr in fields -%}'{{ field }}', {{ expr }}{{ ', ' if not loop.last }}{%- endfor -%})
{%- endmacro %}

{% macro array_length(arr) -%}
    {{ return(adapter.dispatch('array_length', 'quotaboard')(arr)) }}
{%- endmacro %}

{% macro default__array_length(arr) -%}
    len({{ arr }})
{%- endmacro %}

{% macro spark__array_length(arr) -%}
    size({{ arr }})
{%- endmacro %}

{% macro array_has(arr, value) -%}
    {{ return(adapter.dispatch('array_has', 'quotaboard')(arr, value)) }}
{%- endmacro %}

{% macro default__array_has(arr, value) -%}
    list_contains({{ arr }}, {{ value }})
{%- endmacro %}

{% macro spark__array_has(arr, value) -%}
    array_contains({{ arr }}, {{ value }})
{%- endmacro %}

{#- The first `n` elements of `arr`. -#}
{% macro array_first_n(arr, n) -%}
    {{ return(adapter.dispatch('array_first_n', 'quotaboard')(arr, n)) }}
{%- endmacro %}

{% macro default__array_first_n(arr, n) -%}
    list_slice({{ arr }}, 1, {{ n }})
{%- endmacro %}

{% macro spark__array_first_n(arr, n) -%}
    slice({{ arr }}, 1, {{ n }})
{%- endmacro %}

{#- The elements of a string array, sorted, joined with `separator` (a SQL string literal). -#}
{% macro sorted_array_to_string(arr, separator) -%}
    {{ return(adapter.dispatch('sorted_array_to_string', 'quotaboard')(arr, separator)) }}
{%- endmacro %}

{% macro default__sorted_array_to_string(arr, separator) -%}
    array_to_string(list_sort({{ arr }}), {{ separator }})
{%- endmacro %}

{% macro spark__sorted_array_to_string(arr, separator) -%}
    array_join(array_sort({{ arr }}), {{ separator }})
{%- endmacro %}

{#- Aggregates. -#}

{#- Aggregate: the array of `value` over the group's rows (NULLs left out on Spark), sorted by
    `order_by` (SQL order-by text), optionally only rows where `filter` holds. On Spark the
    array is sorted by the values themselves: `order_by` must order them the same way (a
    struct sorts by its fields in order). -#}
{% macro sorted_list_agg(value, order_by, filter=none) -%}
    {{ return(adapter.dispatch('sorted_list_agg', 'quotaboard')(value, order_by, filter)) }}
{%- endmacro %}

{% macro default__sorted_list_agg(value, order_by, filter) -%}
    list({{ value }} order by {{ order_by }})
    {%- if filter %} filter (where {{ filter }}){% endif %}
{%- endmacro %}

{% macro spark__sorted_list_agg(value, order_by, filter) -%}
    array_sort(collect_list({{ value }}){% if filter %} filter (where {{ filter }}){% endif %})
{%- endmacro %}

{#- Aggregate: `value` of the group's first row in the order `order_by`, a list of
    [expression, 'asc' | 'desc'] pairs (NULL keys sort last, as DuckDB's default). -#}
{% macro first_in_order(value, order_by) -%}
    {{ return(adapter.dispatch('first_in_order', 'quotaboard')(value, order_by)) }}
{%- endmacro %}

{% macro default__first_in_order(value, order_by) -%}
    (list({{ value }} order by
    {%- for expr, direction in order_by %} {{ expr }} {{ direction }}{{ ',' if not loop.last }}{%- endfor -%}
    ))[1]
{%- endmacro %}

{% macro spark__first_in_order(value, order_by) -%}
    element_at(
        array_sort(
            collect_list(struct(
                {%- for expr, direction in order_by %}{{ expr }} as k{{ loop.index }}, {% endfor -%}
                {{ value }} as v
            )),
            (l, r) -> case
                {%- for expr, direction in order_by %}
                {%- set before = '-1' if direction == 'asc' else '1' %}
                {%- set after = '1' if direction == 'asc' else '-1' %}
                when l.k{{ loop.index }} is null and r.k{{ loop.index }} is not null then 1
                when l.k{{ loop.index }} is not null and r.k{{ loop.index }} is null then -1
                when l.k{{ loop.index }} < r.k{{ loop.index }} then {{ before }}
                when l.k{{ loop.index }} > r.k{{ loop.index }} then {{ after }}
                {%- endfor %}
                else 0
            end
        ),
        1
    ).v
{%- endmacro %}

{#- Aggregate: the continuous median (linear interpolation between the two middle values). -#}
{% macro median(expr) -%}
    {{ return(adapter.dispatch('median', 'quotaboard')(expr)) }}
{%- endmacro %}

{% macro default__median(expr) -%}
    quantile_cont({{ expr }}, 0.5)
{%- endmacro %}

{% macro spark__median(expr) -%}
    percentile({{ expr }}, 0.5)
{%- endmacro %}

{#- Joins and CTEs. -#}

{#- `materialized` for a CTE that DuckDB should compute once; nothing where CTEs have no hint. -#}
{% macro cte_materialized() -%}
    {{ return(adapter.dispatch('cte_materialized', 'quotaboard')()) }}
{%- endmacro %}

{% macro default__cte_materialized() -%}
    materialized
{%- endmacro %}

{% macro spark__cte_materialized() -%}
{%- endmacro %}

{#- `not materialized` for a CTE read more than once that DuckDB should not copy (each reader
    scans the table under it with its own columns and filters); nothing elsewhere. -#}
{% macro cte_not_materialized() -%}
    {{ return(adapter.dispatch('cte_not_materialized', 'quotaboard')()) }}
{%- endmacro %}

{% macro default__cte_not_materialized() -%}
    not materialized
{%- endmacro %}

{% macro spark__cte_not_materialized() -%}
{%- endmacro %}

{#- A complete select: every column of relation `left` plus `value` of relation `right` as
    `value_alias`, taken from the right row with the same `key` and the greatest `right_time`
    <= the left row's `left_time` (an as-of left join; NULL when there is none). `right` must
    have at most one row per (key, right_time). `left`, `right`: CTE names; `key`, times and
    `value`: column names. -#}
{% macro asof_left_join_value(left, right, key, left_time, right_time, value, value_alias) -%}
    {{ return(adapter.dispatch('asof_left_join_value', 'quotaboard')(left, right, key, left_time, right_time, value, value_alias)) }}
{%- endmacro %}

{% macro default__asof_left_join_value(left, right, key, left_time, right_time, value, value_alias) -%}
    select
        {{ left }}.*,
        {{ right }}.{{ value }} as {{ value_alias }}
    from {{ left }}
    asof left join {{ right }}
        on {{ left }}.{{ key }} = {{ right }}.{{ key }}
        and {{ left }}.{{ left_time }} >= {{ right }}.{{ right_time }}
{%- endmacro %}

{#- Spark has no as-of join: both sides in one stream ordered by time (a right row before a
    left row at the same time), and each left row takes the last right value before it. -#}
{% macro spark__asof_left_join_value(left, right, key, left_time, right_time, value, value_alias) -%}
    select
        asof_filled.left_row.*,
        asof_filled.asof_value as {{ value_alias }}
    from (
        select
            asof_stream.left_row,
            asof_stream.is_left,
            last(asof_stream.right_value, true) over (
                partition by asof_stream.asof_key
                order by asof_stream.asof_time, asof_stream.is_left
                rows between unbounded preceding and current row
            ) as asof_value
        from (
            select
                {{ left }}.{{ key }} as asof_key,
                {{ left }}.{{ left_time }} as asof_time,
                1 as is_left,
                struct({{ left }}.*) as left_row,
                null as right_value
            from {{ left }}
            union all
            select
                {{ right }}.{{ key }} as asof_key,
                {{ right }}.{{ right_time }} as asof_time,
                0 as is_left,
                null as left_row,
                {{ right }}.{{ value }} as right_value
            from {{ right }}
            where {{ right }}.{{ key }} is not null
                and {{ right }}.{{ right_time }} is not null
        ) as asof_stream
    ) as asof_filled
    where asof_filled.is_left = 1
{%- endmacro %}

{#- Text split on a literal one-character separator into an array of its parts. -#}
{% macro split_text(expr, separator) -%}
    {{ return(adapter.dispatch('split_text', 'quotaboard')(expr, separator)) }}
{%- endmacro %}

{% macro default__split_text(expr, separator) -%}
    string_split({{ expr }}, '{{ separator }}')
{%- endmacro %}

{% macro spark__split_text(expr, separator) -%}
    split({{ expr }}, '\\{{ separator }}')
{%- endmacro %}

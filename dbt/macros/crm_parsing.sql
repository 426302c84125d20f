{#- Parsing of raw CRM text (input-contract §1 "Values"). Every raw value is text; these
    macros give the typed value (NULL when empty or unparsable) and an "is invalid" flag
    (non-empty text that does not parse). -#}

{% macro crm_text(col) -%}
    nullif(trim({{ col }}), '')
{%- endmacro %}

{#- The typed columns of each raw CRM object (text columns are only trimmed, never invalid). -#}
{% macro crm_object_columns(object_name) -%}
    {%- set columns = {
        'user': [['name', 'text'], ['email', 'text'], ['manager_id', 'text'], ['is_active', 'boolean'], ['is_deleted', 'boolean']],
        'account': [['name', 'text'], ['created_date', 'timestamp'], ['is_deleted', 'boolean']],
        'opportunity': [['account_id', 'text'], ['owner_id', 'text'], ['amount', 'number'], ['close_date', 'date'], ['stage_name', 'text'], ['is_closed', 'boolean'], ['is_won', 'boolean'], ['created_date', 'timestamp'], ['currency_iso_code', 'text'], ['type', 'text'], ['promised_features', 'text'], ['is_deleted', 'boolean']],
        'opportunity_split': [['opportunity_id', 'text'], ['split_owner_id', 'text'], ['split_percentage', 'number'], ['split_type_id', 'text'], ['is_deleted', 'boolean']],
        'opportunity_split_type': [['developer_name', 'text'], ['is_total_validated', 'boolean'], ['is_deleted', 'boolean']],
        'opportunity_team_member': [['opportunity_id', 'text'], ['user_id', 'text'], ['team_member_role', 'text'], ['is_deleted', 'boolean']],
        'event': [['what_id', 'text'], ['owner_id', 'text'], ['activity_date_time', 'timestamp'], ['activity_date', 'date'], ['is_deleted', 'boolean']],
        'task': [['what_id', 'text'], ['owner_id', 'text'], ['activity_date', 'date'], ['is_deleted', 'boolean']],
        'dated_conversion_rate': [['iso_code', 'text'], ['conversion_rate', 'number'], ['start_date', 'date'], ['next_start_date', 'date'], ['is_deleted', 'boolean']],
        'currency_type': [['iso_code', 'text'], ['conversion_rate', 'number'], ['is_corporate', 'boolean'], ['is_active', 'boolean'], ['is_deleted', 'boolean']],
    } -%}
    {{ return(columns[object_name]) }}
{%- endmacro %}

{#- The raw CRM objects (snake_case table names), in the order of crm_object_columns. -#}
{% macro crm_object_names() -%}
    {{ return(['user', 'account', 'opportunity', 'opportunity_split', 'opportunity_split_type',
        'opportunity_team_member', 'event', 'task', 'dated_conversion_rate', 'currency_type']) }}
{%- endmacro %}

{#- Booleans: true/false/1/0, any case. -#}
{% macro crm_parse_boolean(col) -%}
    case
        when lower(trim({{ col }})) in ('true', '1') then true
        when lower(trim({{ col }})) in ('false', '0') then false
    end
{%- endmacro %}

{#- Dates: YYYY-MM-DD, or a datetime whose literal YYYY-MM-DD prefix is taken (no tz conversion). -#}
{% macro crm_parse_date(col) -%}
    case
        when {{ regex_full_match('trim(' ~ col ~ ')', '[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ].*)?') }}
            then try_cast(left(trim({{ col }}), 10) as date)
    end
{%- endmacro %}

{#- Datetimes: ISO 8601; no offset = UTC; an offset is converted to a UTC timestamp.
    The first branch is a shortcut for the shape Salesforce and Segment write
    (2026-11-21T14:30:00.000Z): one anchored pattern, then a plain cast, which reads such text
    to the same value as the general branches below (the offset is Z, there are no blanks to
    trim); it is the costly part of typing 20 M messages. tests/test_timestamp_parsing.py
    checks the two agree on text of that shape. -#}
{% macro crm_parse_timestamp(col) -%}
    case
        when {{ regex_full_match(col, '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[.][0-9]{3}Z') }}
            then try_cast({{ col }} as timestamp)
        when not {{ regex_full_match('trim(' ~ col ~ ')', '[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ].*)?') }} then null
        when {{ regex_contains('trim(' ~ col ~ ')', '[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?\\s*([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)$') }}
            then {{ iso_offset_text_to_utc('trim(' ~ col ~ ')') }}
        else try_cast(trim({{ col }}) as timestamp)
    end
{%- endmacro %}

{#- Numbers: '.' decimal separator, optional sign and exponent; no NaN, Infinity or '12,5'. -#}
{% macro crm_parse_number(col) -%}
    case
        when {{ regex_full_match('trim(' ~ col ~ ')', '[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?') }}
            then try_cast(trim({{ col }}) as double)
    end
{%- endmacro %}

{% macro crm_parse(col, type) -%}
    {%- if type == 'boolean' -%}{{ crm_parse_boolean(col) }}
    {%- elif type == 'date' -%}{{ crm_parse_date(col) }}
    {%- elif type == 'timestamp' -%}{{ crm_parse_timestamp(col) }}
    {%- elif type == 'number' -%}{{ crm_parse_number(col) }}
    {%- else -%}{{ crm_text(col) }}
    {%- endif -%}
{%- endmacro %}

{#- A value is invalid when it is not empty and does not parse as its type. -#}
{% macro crm_is_invalid(col, type) -%}
    {%- if type == 'text' -%}false
    {%- else -%}({{ crm_text(col) }} is not null and ({{ crm_parse(col, type) }}) is null)
    {%- endif -%}
{%- endmacro %}

{#- Current state of each record of a raw CRM object (input-contract §1): typed values, the
    row with the greatest SystemModstamp, ties to the source file sorting last, then the later
    line. Rows with an empty Id or an empty/invalid SystemModstamp take no part. The current row
    is chosen first; `has_invalid_value` then says whether it carries a value that does not
    parse, and such a record is left out of every metric (see models/README.md). -#}
{% macro crm_current_state(object_name) -%}
{%- set columns = crm_object_columns(object_name) -%}
with source as (
    select * from {{ source('crm', object_name) }}
),

typed as (
    select
        {{ crm_text('id') }} as id,
        {{ crm_parse('system_modstamp', 'timestamp') }} as system_modstamp,
        {%- for col, type in columns %}
        {{ crm_parse(col, type) }} as {{ col }}_parsed,
        {%- endfor %}
        (
            false
            {%- for col, type in columns %}
            or {{ crm_is_invalid(col, type) }}
            {%- endfor %}
        ) as has_invalid_value,
        _source_file,
        _source_line
    from source
),

ranked as (
    select
        *,
        row_number() over (
            partition by id
            order by system_modstamp desc, _source_file desc, _source_line desc
        ) as recency_rank
    from typed
    where id is not null
        and system_modstamp is not null
)

select
    id,
    system_modstamp,
    {%- for col, type in columns %}
    {%- if col == 'is_deleted' %}
    coalesce(is_deleted_parsed, false) as is_deleted,
    {%- else %}
    {{ col }}_parsed as {{ col }},
    {%- endif %}
    {%- endfor %}
    has_invalid_value,
    _source_file,
    _source_line
from ranked
where recency_rank = 1
{%- endmacro %}

{#- Date of a UTC timestamp in the company time zone. -#}
{% macro to_company_date(ts, tz) -%}
    {{ utc_to_local_date(ts, tz) }}
{%- endmacro %}

-- Every raw CRM value that does not parse as its type (input-contract §1), from every landed
-- row (current or not), plus the rows the loader could not read at all (raw.rejected_rows).
-- source_id is the record's Id, or `path:line` when the Id itself is empty.
{%- set objects = ['user', 'account', 'opportunity', 'opportunity_split', 'opportunity_split_type',
                   'opportunity_team_member', 'event', 'task', 'dated_conversion_rate', 'currency_type'] %}
with
{% for object_name in objects %}
{{ object_name }}_source as (
    select * from {{ source('crm', object_name) }}
),
{% endfor %}
rejected_rows_source as (
    select * from {{ source('crm', 'rejected_rows') }}
),

{% for object_name in objects %}
{%- set columns = [['system_modstamp', 'timestamp']] + crm_object_columns(object_name) %}
{{ object_name }}_invalid as (
    {%- for col, type in columns if type != 'text' %}
    select
        '{{ object_name }}' as object_name,
        coalesce({{ crm_text('id') }}, _source_file || ':' || _source_line) as source_id,
        '{{ col }}' as column_name,
        {{ col }} as raw_text,
        _source_file,
        _source_line
    from {{ object_name }}_source
    where {{ crm_is_invalid(col, type) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),
{% endfor %}

rejected as (
    select
        lower({{ camel_to_snake('object_name') }}) as object_name,
        _source_file || ':' || _source_line as source_id,
        coalesce(column_name, '(row)') as column_name,
        coalesce(raw_text, error) as raw_text,
        _source_file,
        _source_line
    from rejected_rows_source
    where object_name is distinct from 'messages'
)

{% for object_name in objects %}
select * from {{ object_name }}_invalid
union all
{% endfor %}
select * from rejected

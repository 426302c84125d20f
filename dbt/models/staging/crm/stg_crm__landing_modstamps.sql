-- The newest SystemModstamp (UTC) of each CRM object over every landing row, whatever its other
-- values (deleted, superseded or invalid rows included): how far the CRM data reaches
-- (metrics.md §5, data through). Rows whose SystemModstamp is empty or invalid do not count.
{%- for object_name in crm_object_names() %}
{% if not loop.first %}
union all
{% endif %}
select
    '{{ object_name }}' as object_name,
    max({{ crm_parse('system_modstamp', 'timestamp') }}) as newest_modstamp,
    count(*) as landed_rows
from {{ source('crm', object_name) }}
{%- endfor %}

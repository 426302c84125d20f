-- quota_plans.csv with defaults applied: weight 1; prorate true for persons when empty,
-- always false for teams (team rows are never prorated).
with source as (
    select * from {{ source('config', 'quota_plans') }}
)

select
    assignee_type,
    assignee_id,
    fiscal_period,
    metric,
    target,
    coalesce(weight, 1.0) as weight,
    cap,
    case
        when assignee_type = 'team' then false
        else coalesce(prorate, true)
    end as prorate,
    narrative
from source

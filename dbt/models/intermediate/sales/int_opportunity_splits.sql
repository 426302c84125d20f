-- Current, non-deleted, valid OpportunitySplit rows of existing (current, non-deleted)
-- opportunities, classified: 'overlay' when the split type has IsTotalValidated = false,
-- else 'revenue' (no type, unknown type, or IsTotalValidated true/empty). An empty
-- SplitPercentage counts as 0.
with splits as (
    select * from {{ ref('stg_crm__opportunity_split') }}
),

split_types as (
    select * from {{ ref('stg_crm__opportunity_split_type') }}
),

opportunities as (
    select * from {{ ref('stg_crm__opportunity') }}
),

known_types as (
    select
        id as split_type_id,
        is_total_validated
    from split_types
    where not is_deleted
        and not has_invalid_value
)

select
    splits.id as split_id,
    splits.opportunity_id,
    splits.split_owner_id,
    coalesce(splits.split_percentage, 0) as split_percentage,
    splits.split_type_id,
    case when known_types.is_total_validated = false then 'overlay' else 'revenue' end as split_kind
from splits
inner join opportunities
    on opportunities.id = splits.opportunity_id
    and not opportunities.is_deleted
left join known_types
    on known_types.split_type_id = splits.split_type_id
where not splits.is_deleted
    and not splits.has_invalid_value

-- settings.yml `opportunity_types`: Opportunity.Type -> booking type. type_key is the value
-- trimmed and lower-cased, which is how opportunities are matched to it.
with source as (
    select * from {{ source('config', 'opportunity_types') }}
)

select
    opportunity_type,
    type_key,
    booking_type
from source

-- new_logos credit lines to CRM users (metrics.md §2): an account's first win (earliest
-- CloseDate, ties: smallest Id) credits 1 to its owner on its CloseDate (rule first_win), only
-- when its booking type is new_business (an account whose first win in the data is a renewal
-- or an expansion was a customer before). Every win counts, whether or not its amount is
-- usable, except a held one (metrics.md §11): the first win is the first that is not held.
with wins as (
    select * from {{ ref('int_opportunity_amounts') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by account_id
            order by close_date, opportunity_id
        ) as win_rank
    from wins
    where account_id is not null
        and not is_held
)

select
    owner_id as crm_user_id,
    'new_logos' as metric,
    close_date as credit_date,
    1.0 as amount,
    'opportunity' as source_type,
    opportunity_id as source_id,
    'first_win' as rule,
    'first win of account ' || account_id as detail
from ranked
where win_rank = 1
    and booking_type = 'new_business'

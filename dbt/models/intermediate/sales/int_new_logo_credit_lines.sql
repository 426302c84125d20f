-- new_logos credit lines to CRM users (metrics.md §2): an account's first won opportunity
-- (earliest CloseDate, ties: smallest Id) credits 1 to its owner on its CloseDate (rule
-- first_win). Every win counts, whether or not its amount is usable.
with won as (
    select * from {{ ref('int_won_opportunities') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by account_id
            order by close_date, opportunity_id
        ) as win_rank
    from won
    where account_id is not null
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

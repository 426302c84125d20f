-- bookings credit lines to CRM users (metrics.md §2), before person resolution. For each won
-- opportunity with a usable amount: revenue splits (rule revenue_split) when their percentages
-- add up to 100 within 0.01, else the owner gets 100 % (owner_fallback); no revenue split: the
-- owner gets 100 % (owner); every overlay split on top (overlay_split). Dated CloseDate.
-- A held opportunity (metrics.md §11) earns nothing. net_new_bookings (1.1) is exactly the
-- bookings lines of new_business and expansion deals, under that metric.
with amounts as (
    select * from {{ ref('int_opportunity_amounts') }}
),

splits as (
    select * from {{ ref('int_opportunity_splits') }}
),

usable as (
    select * from amounts
    where amount is not null
        and not is_held
),

revenue_totals as (
    select
        opportunity_id,
        sum(split_percentage) as revenue_split_total
    from splits
    where split_kind = 'revenue'
    group by opportunity_id
),

opportunity_split_status as (
    select
        usable.*,
        revenue_totals.revenue_split_total,
        case
            when revenue_totals.opportunity_id is null then 'owner'
            when abs(revenue_totals.revenue_split_total - 100) <= 0.01 then 'revenue_split'
            else 'owner_fallback'
        end as revenue_rule
    from usable
    left join revenue_totals
        on revenue_totals.opportunity_id = usable.opportunity_id
),

revenue_split_lines as (
    select
        splits.split_owner_id as crm_user_id,
        opportunity_split_status.close_date as credit_date,
        opportunity_split_status.amount * splits.split_percentage / 100 as amount,
        opportunity_split_status.opportunity_id as source_id,
        opportunity_split_status.booking_type,
        'revenue_split' as rule,
        'split ' || splits.split_id || ' (' || splits.split_percentage || '%)' as detail
    from opportunity_split_status
    inner join splits
        on splits.opportunity_id = opportunity_split_status.opportunity_id
        and splits.split_kind = 'revenue'
    where opportunity_split_status.revenue_rule = 'revenue_split'
),

owner_lines as (
    select
        owner_id as crm_user_id,
        close_date as credit_date,
        amount,
        opportunity_id as source_id,
        booking_type,
        revenue_rule as rule,
        case
            when revenue_rule = 'owner_fallback'
                then 'owner 100% (revenue splits total ' || revenue_split_total || '%)'
            else 'owner 100%'
        end as detail
    from opportunity_split_status
    where revenue_rule in ('owner', 'owner_fallback')
),

overlay_split_lines as (
    select
        splits.split_owner_id as crm_user_id,
        usable.close_date as credit_date,
        usable.amount * splits.split_percentage / 100 as amount,
        usable.opportunity_id as source_id,
        usable.booking_type,
        'overlay_split' as rule,
        'split ' || splits.split_id || ' (' || splits.split_percentage || '%)' as detail
    from usable
    inner join splits
        on splits.opportunity_id = usable.opportunity_id
        and splits.split_kind = 'overlay'
),

lines as (
    select * from revenue_split_lines
    union all
    select * from owner_lines
    union all
    select * from overlay_split_lines
)

select
    crm_user_id,
    'bookings' as metric,
    credit_date,
    amount,
    'opportunity' as source_type,
    source_id,
    rule,
    detail
from lines

union all

select
    crm_user_id,
    'net_new_bookings' as metric,
    credit_date,
    amount,
    'opportunity' as source_type,
    source_id,
    rule,
    detail
from lines
where booking_type in ('new_business', 'expansion')

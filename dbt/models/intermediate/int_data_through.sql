-- One row: how far the run's data reaches (metrics.md §5, data through). crm_through is the
-- newest SystemModstamp date (company time zone) over every CRM landing row; messages_through
-- the newest message date of a track event up to as_of; data_through the earliest of as_of and
-- the sources that have rows (as_of when none has). Elapsed, pace, projection and status are
-- measured at data_through; actuals still count every credit up to as_of.
with run_context as (
    select * from {{ ref('stg_config__run_context') }}
),

crm_modstamps as (
    select * from {{ ref('stg_crm__landing_modstamps') }}
),

activity as (
    select * from {{ ref('int_product_account_activity') }}
),

crm as (
    select
        max({{ to_company_date('crm_modstamps.newest_modstamp', 'run_context.timezone') }}) as crm_through
    from crm_modstamps
    cross join run_context
),

messages as (
    select max(message_date) as messages_through
    from activity
),

dates as (
    select
        run_context.as_of,
        crm.crm_through,
        messages.messages_through
    from run_context
    cross join crm
    cross join messages
)

select
    as_of,
    crm_through,
    messages_through,
    least(
        as_of,
        coalesce(crm_through, as_of),
        coalesce(messages_through, as_of)
    ) as data_through
from dates

-- Product credit lines (metrics.md §2, "Product and R&D metrics"), team assignees only, written
-- for the teams that have a plan row for the metric. Columns of fct_quota_credits without
-- credit_id.
--   active_accounts / feature_adopting_accounts: one line per (team, plan period, account),
--     amount 1, dated the account's first qualifying message date in the period (up to as_of),
--     fiscal_period = the plan period (counts only there). Rules active_account,
--     feature_adoption.
--   installs: one line per (team, plan period, messageId) of an install event on one of the
--     team's features, attributed to an account or not; rule install.
--   influenced_bookings: one line per (won opportunity with a usable amount, team) whose account
--     had a track event on a team feature dated in [CloseDate - influence_window_days,
--     CloseDate]; amount in corporate currency, dated CloseDate, fiscal_period NULL; rule
--     feature_influence.
--   activated_accounts: one line per (team, account) whose first win closed on c and which has
--     activation_min_events track events (any feature) dated in [c, c + activation_window_days];
--     dated the message date of the Nth event by (timestamp, messageId); fiscal_period NULL;
--     rule activation.
-- A view: the period-counted lines (active_accounts, feature_adopting_accounts, installs) of
-- int_product_period_credits, kept per plan period from one run to the next, and the lines of
-- influenced_bookings and activated_accounts of int_product_account_credits, computed on each
-- run.
-- A team's features on date d: those feature_ownership gives, on d, to it or to any team below
-- it (ownership rows are effective-dated: an event counts for the team that owned its feature
-- on the event's message date). A held opportunity (metrics.md §11) earns no
-- influenced_bookings and is no account's first win; an account activates only when its first
-- win is new_business.
{{ config(materialized='view') }}

with period_lines as (
    select
        assignee_type,
        assignee_id,
        metric,
        credit_date,
        amount,
        source_type,
        source_id,
        rule,
        fiscal_period,
        detail
    from {{ ref('int_product_period_credits') }}
),

account_lines as (
    select
        assignee_type,
        assignee_id,
        metric,
        credit_date,
        amount,
        source_type,
        source_id,
        rule,
        fiscal_period,
        detail
    from {{ ref('int_product_account_credits') }}
)

select * from period_lines

union all

select * from account_lines

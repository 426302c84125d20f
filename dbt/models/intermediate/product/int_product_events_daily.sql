{#-
    Daily aggregate of track events: one row per
    (message_date, workspace_id, workspace_source, feature, event, _source_file).
    Incremental by whole dates (macro incremental_by_date_config): delete+insert on
    message_date on DuckDB, insert_overwrite of message_date partitions on Spark (see the
    model's YAML description for the full reasoning and the cases that need --full-refresh).
    In short, a run re-processes every message date >= reprocess_from, where reprocess_from is
    the earliest of
      - the latest date already loaded minus late_message_lookback_days,
      - the message date of every raw line loaded after the target's high-water mark
        (max(_loaded_at) of the lines it holds), and of every copy of their messageIds
        (a late copy can change which copy is kept),
    and it is the beginning of time when the settings the rows depend on (timezone,
    activation_min_events, install_events) differ from the ones the rows were built with.
    Dates of that range left with no event get an empty-date marker row (event_count 0) so
    delete+insert (or the partition overwrite) clears them too.
    The aggregate has no as_of cut (readers apply it) and resolves no account (readers map
    workspaces to accounts), so neither as_of nor a later group call for a workspace needs a
    rebuild.
-#}
{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        **incremental_by_date_config('message_date')
    )
}}

{#- The grain: one row per these columns. -#}
{%- set grain = [
    'message_date', 'workspace_id', 'workspace_source', 'feature', 'event', '_source_file'
] %}

with ctx as (
    select
        timezone,
        install_events,
        activation_min_events,
        late_message_lookback_days,
        timezone
        || '|' || cast(activation_min_events as {{ dbt.type_string() }})
        || '|' || {{ sorted_array_to_string('install_events', "','") }} as settings_key
    from {{ ref('stg_config__run_context') }}
),

-- Usable track and group lines (bad lines are exceptions, not data). Not copied: each
-- reader scans the typed table with its own columns and filters.
usable as {{ cte_not_materialized() }} (
    select *
    from {{ ref('base_product_usage__messages') }}
    where not is_bad_event
        and message_type in ('track', 'group')
        and timestamp_utc is not null
),

{% if is_incremental() %}
-- The few columns the dates and scope are decided on, computed once (timestamp parsing is
-- the costly part of a scan).
usable_keys as {{ cte_materialized() }} (
    select
        message_id,
        message_type,
        message_date,
        _loaded_at
    from usable
),

state as (
    select
        max(max_loaded_at) as high_water_mark,
        max(message_date) as max_loaded_date,
        coalesce(bool_or(settings_key <> (select ctx.settings_key from ctx)), true)
            as settings_changed
    from {{ this }}
),

new_lines as (
    select usable_keys.message_id, usable_keys.message_date
    from usable_keys
    where usable_keys._loaded_at > (select state.high_water_mark from state)
        or (select state.high_water_mark from state) is null
),

bounds as (
    select
        case
            when (select state.settings_changed from state) then date '0001-01-01'
            else coalesce(
                least(
                    (select state.max_loaded_date from state)
                    - (select ctx.late_message_lookback_days from ctx),
                    (select min(new_lines.message_date) from new_lines),
                    (
                        select min(usable_keys.message_date)
                        from usable_keys
                        where usable_keys.message_id in (
                            select new_lines.message_id from new_lines
                            where new_lines.message_id is not null
                        )
                    )
                ),
                date '0001-01-01'
            )
        end as reprocess_from
),
{% else %}
bounds as (
    select date '0001-01-01' as reprocess_from
),
{% endif %}

{% if is_incremental() -%}
-- The messageIds with a track copy in the re-processed dates.
scope_ids as (
    select distinct usable_keys.message_id
    from usable_keys
    where usable_keys.message_type = 'track'
        and usable_keys.message_date >= (select bounds.reprocess_from from bounds)
),
{%- endif %}

-- Dedup: the first copy of a messageId by _source_file, _source_line, looking at every copy
-- (track or group) of the messageIds in scope: on an incremental run those with a track copy
-- in the re-processed dates, on a full build all of them. (A line without a messageId is a bad
-- track or a group call, never a track to keep.)
scoped as (
    select usable.*
    from usable
    where usable.message_id is not null
    {%- if is_incremental() %}
        and usable.message_id in (select scope_ids.message_id from scope_ids)
    {%- endif %}
),

-- Only the messageIds with more than one copy need their copies ordered; they are few, and
-- ordering every line was the costly part of the dedup.
repeated_ids as (
    select scoped.message_id
    from scoped
    group by scoped.message_id
    having count(*) > 1
),

first_copies_of_repeated as (
    select scoped.*
    from scoped
    where scoped.message_id in (select repeated_ids.message_id from repeated_ids)
    qualify row_number() over (
        partition by scoped.message_id order by scoped._source_file, scoped._source_line
    ) = 1
),

tracks as (
    select scoped.*
    from scoped
    where scoped.message_id not in (select repeated_ids.message_id from repeated_ids)

    union all

    select first_copies_of_repeated.*
    from first_copies_of_repeated
),

tracks_in_scope as (
    select *
    from tracks
    where message_type = 'track'
        and message_date >= (select bounds.reprocess_from from bounds)
),

-- User fallback: per (user, timestamp) one group call (the last by file, line), so the ASOF
-- join below is deterministic.
user_group_calls as (
    select user_id, timestamp_utc, group_id
    from {{ ref('stg_product_usage__group_calls') }}
    where user_id is not null
    qualify row_number() over (
        partition by user_id, timestamp_utc order by _source_file desc, _source_line desc
    ) = 1
),

-- Only tracks without context.groupId use the fallback (most tracks have one).
tracks_without_context as (
    select *
    from tracks_in_scope
    where context_group_id is null
),

with_fallback as (
    {{ asof_left_join_value(
        'tracks_without_context', 'user_group_calls', key='user_id',
        left_time='timestamp_utc', right_time='timestamp_utc',
        value='group_id', value_alias='fallback_group_id'
    ) }}
),

with_workspace as (
    select
        tracks_in_scope.*,
        cast(null as {{ dbt.type_string() }}) as fallback_group_id
    from tracks_in_scope
    where tracks_in_scope.context_group_id is not null

    union all

    select *
    from with_fallback
),

-- One row per deduplicated track event, with the columns of its row in the aggregate.
events as (
    select
        with_workspace.message_date,
        coalesce(with_workspace.context_group_id, with_workspace.fallback_group_id) as workspace_id,
        case
            when with_workspace.context_group_id is not null then 'context'
            when with_workspace.fallback_group_id is not null then 'user_fallback'
        end as workspace_source,
        with_workspace.feature,
        with_workspace.event,
        with_workspace._source_file,
        with_workspace.timestamp_utc,
        with_workspace.message_id,
        with_workspace._loaded_at,
        {{ array_has('ctx.install_events', 'with_workspace.event') }} as is_install,
        ctx.activation_min_events,
        ctx.settings_key
    from with_workspace
    cross join ctx
),

-- Most rows of the aggregate hold one event (16.4 M rows from 18.1 M events at scale 200).
-- Only the rows with more than one event need their events ranked; ranking every event took
-- two window sorts of all of them (the full build at scale 200: 71 s, 34 s this way). The
-- rows with more than one event are found by grouping one hash of the grain (a number, far
-- cheaper to group than six text columns). A grain sharing its hash with another is ranked
-- like a repeated one, which gives the same row; NULLs hash alike, as the grain groups them.
keyed_events as (
    select
        events.*,
        hash(events.{{ grain | join(', events.') }}) as grain_hash
    from events
),

repeated_grains as (
    select keyed_events.grain_hash
    from keyed_events
    group by keyed_events.grain_hash
    having count(*) > 1
),

-- A row holding one event, written straight from it.
single_event_rows as (
    select
        {%- for column in grain %}
        keyed_events.{{ column }},
        {%- endfor %}
        cast(1 as bigint) as event_count,
        {{ dbt.array_construct([struct_of([
            ['timestamp_utc', 'keyed_events.timestamp_utc'],
            ['message_id', 'keyed_events.message_id'],
        ])]) }} as first_events,
        case
            when keyed_events.is_install then {{ dbt.array_construct(['keyed_events.message_id']) }}
            else {{ empty_array('string') }}
        end as install_message_ids,
        keyed_events._loaded_at as max_loaded_at,
        keyed_events.settings_key
    from keyed_events
    where keyed_events.grain_hash not in (select repeated_grains.grain_hash from repeated_grains)
),

-- The events of the rows holding more than one: each one's rank in its row (by timestamp,
-- then messageId) and its row's event count.
ranked_events as (
    select
        keyed_events.*,
        row_number() over (
            partition by keyed_events.{{ grain | join(', keyed_events.') }}
            order by keyed_events.timestamp_utc, keyed_events.message_id
        ) as event_rank,
        count(*) over (partition by keyed_events.{{ grain | join(', keyed_events.') }}) as event_count
    from keyed_events
    where keyed_events.grain_hash in (select repeated_grains.grain_hash from repeated_grains)
),

-- Their rows: event count, first activation_min_events events and install messageIds. The
-- arrays are built without list aggregate states on DuckDB (see macro events_daily_rows: they
-- cannot spill).
multi_event_rows as (
    {{ events_daily_rows('ranked_events', grain) }}
),

-- One row per (message_date, workspace_id, workspace_source, feature, event, _source_file).
aggregated as (
    select * from single_event_rows
    union all
    select * from multi_event_rows
),

-- The dates with events: each event makes a row of its date. Read from the events, not from
-- the aggregate, so that the aggregate is read once (not kept as a second copy).
event_dates as (
    select distinct events.message_date
    from events
),

-- Empty-date markers: delete+insert only replaces the dates present in the batch, so every
-- date of the re-processed range that ends up with no event gets one row with event_count 0
-- (and NULL keys); readers skip them. This keeps a date whose only event moved away (a late
-- copy of its messageId in a file sorting first) from keeping stale rows.
date_range as (
    select
        {%- if is_incremental() %}
        greatest(
            (select bounds.reprocess_from from bounds),
            least(
                (select min(event_dates.message_date) from event_dates),
                (select min(existing.message_date) from {{ this }} as existing)
            )
        ) as range_start,
        greatest(
            (select max(event_dates.message_date) from event_dates),
            (select max(existing.message_date) from {{ this }} as existing)
        ) as range_end
        {%- else %}
        (select min(event_dates.message_date) from event_dates) as range_start,
        (select max(event_dates.message_date) from event_dates) as range_end
        {%- endif %}
),

empty_dates as (
    select {{ date_series('range_start', 'range_end') }} as message_date
    from date_range
    where range_start is not null
        and range_end is not null
)

select * from aggregated

union all

select
    empty_dates.message_date,
    cast(null as {{ dbt.type_string() }}) as workspace_id,
    cast(null as {{ dbt.type_string() }}) as workspace_source,
    cast(null as {{ dbt.type_string() }}) as feature,
    cast(null as {{ dbt.type_string() }}) as event,
    cast(null as {{ dbt.type_string() }}) as _source_file,
    cast(0 as bigint) as event_count,
    {{ empty_array([['timestamp_utc', 'timestamp'], ['message_id', 'string']]) }} as first_events,
    {{ empty_array('string') }} as install_message_ids,
    cast(null as timestamp) as max_loaded_at,
    (select ctx.settings_key from ctx) as settings_key
from empty_dates
where empty_dates.message_date not in (select event_dates.message_date from event_dates)

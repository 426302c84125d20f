{#- The rows of int_product_events_daily, from its ranked events.

    `events`: a relation (CTE name) with one row per deduplicated track event and the columns
      of `grain` (the list of the row's key columns), timestamp_utc, message_id, _loaded_at,
      is_install (the event is one of install_events), activation_min_events, settings_key,
      event_rank (1, 2, ... by timestamp_utc then message_id within the grain) and
      event_count (events in the grain).
    Returns one row per grain: the grain, event_count, first_events (the first
    activation_min_events (timestamp_utc, message_id) by rank), install_message_ids (the
    grain's messageIds in order when is_install, else empty), max_loaded_at, settings_key.

    The two engines build the arrays differently, for memory:
    - DuckDB (default__) keeps every list() aggregate state in memory; it cannot spill them.
      Rows hold about one event each (16.4 M rows from 18.1 M events at scale 200; the model
      writes the single-event rows itself and sends only the others here), and a GROUP BY
      with list() ran out of memory under a 3 GB limit. So the arrays are window
      aggregates kept on each grain's first event: that event's frame covers the events the
      array needs, every other event's frame is itself alone (discarded), so the work stays
      linear in events, and the window's sorted partitions spill like any sort.
    - Spark (spark__) has no frame bounds other than literals; its aggregates fall back to
      sort-based aggregation and spill, so it groups. first_events collects only the events
      ranked within activation_min_events. -#}
{% macro events_daily_rows(events, grain) -%}
    {{ return(adapter.dispatch('events_daily_rows', 'quotaboard')(events, grain)) }}
{%- endmacro %}

{% macro default__events_daily_rows(events, grain) -%}
    select
        {%- for column in grain %}
        {{ events }}.{{ column }},
        {%- endfor %}
        {{ events }}.event_count,
        list({{ struct_of([
            ['timestamp_utc', events ~ '.timestamp_utc'],
            ['message_id', events ~ '.message_id'],
        ]) }}) over (
            in_time rows between current row and (
                case
                    when {{ events }}.event_rank = 1 then {{ events }}.activation_min_events - 1
                    else 0
                end
            ) following
        ) as first_events,
        case
            when {{ events }}.is_install then list_sort(list({{ events }}.message_id) over (
                in_time rows between current row and (
                    case
                        when {{ events }}.event_rank = 1 then {{ events }}.event_count - 1
                        else 0
                    end
                ) following
            ))
            else {{ empty_array('string') }}
        end as install_message_ids,
        max({{ events }}._loaded_at) over (in_grain) as max_loaded_at,
        {{ events }}.settings_key
    from {{ events }}
    window
        in_grain as (
            partition by {{ events }}.{{ grain | join(', ' ~ events ~ '.') }}
        ),
        in_time as (
            in_grain order by {{ events }}.timestamp_utc, {{ events }}.message_id
        )
    qualify {{ events }}.event_rank = 1
{%- endmacro %}

{% macro spark__events_daily_rows(events, grain) -%}
    select
        {%- for column in grain %}
        {{ events }}.{{ column }},
        {%- endfor %}
        count(*) as event_count,
        {{ sorted_list_agg(
            struct_of([
                ['timestamp_utc', events ~ '.timestamp_utc'],
                ['message_id', events ~ '.message_id'],
            ]),
            order_by=events ~ '.timestamp_utc, ' ~ events ~ '.message_id',
            filter=events ~ '.event_rank <= ' ~ events ~ '.activation_min_events'
        ) }} as first_events,
        coalesce(
            {{ sorted_list_agg(
                events ~ '.message_id',
                order_by=events ~ '.message_id',
                filter=events ~ '.is_install'
            ) }},
            {{ empty_array('string') }}
        ) as install_message_ids,
        max({{ events }}._loaded_at) as max_loaded_at,
        max({{ events }}.settings_key) as settings_key
    from {{ events }}
    group by {{ events }}.{{ grain | join(', ' ~ events ~ '.') }}
{%- endmacro %}

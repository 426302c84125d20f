"""Deterministic fictional company ("Quotaboard Inc.") in the shapes of input-contract.md.

``generate(out, scale=1, seed=42)`` writes ``out/landing/...`` and ``out/config/...`` and
returns counts. The same (scale, seed) gives a byte-identical tree: every random choice comes
from ``random.Random`` streams seeded from ``seed``, every date is fixed (never the wall
clock), rows are sorted by Id, gzip members carry mtime 0 and no file name. The sample under
``seeds/`` is ``generate(Path("seeds"), scale=1, seed=42)``.

Timeline: fiscal years start in February (FY2026 = 2025-02-01..2026-01-31, FY2027 =
2026-02-01..2027-01-31). CRM full export on 2026-11-18, deltas on 2026-11-19 and 2026-11-20;
messages up to 2026-11-20. Runs with ``as_of`` 2026-11-23 (or later) see everything.

Layout::

    landing/crm/User.csv, Account.csv, OpportunitySplitType.csv, OpportunityTeamMember.csv,
        Event.csv, Task.csv, DatedConversionRate.csv, CurrencyType.csv
    landing/crm/Opportunity/2026-11-18-full.csv, 2026-11-19-delta.csv, 2026-11-20-delta.csv
    landing/crm/opportunity_split/2026-11-18-full.csv, 2026-11-20-delta.csv  (snake_case)
    landing/product_usage/date=YYYY-MM-DD/messages.jsonl.gz        (one per day)
    landing/product_usage/date=2026-11-20/redelivery.jsonl.gz      (duplicates)
    landing/product_usage/date=2026-11-20/late-arrivals.jsonl.gz   (late messages)
    config/teams.csv, people.csv, quota_plans.csv, feature_ownership.csv, adjustments.csv,
        settings.yml

Edge cases (stable ids, present at every scale and seed; amounts and dates fixed):

CRM opportunities (``006EDGE_<X>``, account ``001EDGE_<X>``; owners are fixed CRM users):

- ``006EDGE_SPLIT90``: revenue splits 50 + 40 = 90 -> ``split_total_not_100``, owner fallback.
- ``006EDGE_OVERLAY``: revenue splits 60/40 plus a 100 % overlay split (type ``149TOVERLAY``,
  IsTotalValidated false) to ``005EMEA001``. Revenue type ``149TREVENUE`` is validated.
- ``006EDGE_SPLIT_NOTYPE``: splits 70/30 with empty split_type_id (revenue by default).
- ``006EDGE_SPLIT_DELETED``: splits 50/50/20 in the full export; the 20 % split
  ``149EDGE_SPLITDEL_C`` is deleted (is_deleted 1) in the later split delta -> adds to 100.
- ``149EDGE_ORPHAN``: a split on ``006EDGE_MISSING`` (no such opportunity) -> orphan_split.
- ``00qEDGE_ORPHAN``: a team member on the deleted ``006EDGE_DELETED`` -> orphan_split.
- ``006EDGE_EUR_EARLY`` (2025-03-14) and ``006EDGE_EUR_LATE`` (2026-09-10): 46,000 EUR at
  different dated rates; ``006EDGE_EUR_BOUNDARY`` closes on a rate StartDate (2026-08-01);
  ``006EDGE_EUR_LOWER`` has CurrencyIsoCode ``eur``. ``006EDGE_GBP``: dated GBP rate.
  Dated rates (``04wEUR000``.., ``04wGBP000``..) change quarterly, NextStartDate set, the last
  row to 9999-12-31.
- ``006EDGE_JPY``: JPY has only a static CurrencyType rate (``02xJPY``), no dated rows.
- ``006EDGE_CHF``: CHF has no rate at all -> ``missing_fx_rate``.
- ``006EDGE_NO_CURRENCY``: empty CurrencyIsoCode (corporate currency). ``02xUSD`` is
  IsCorporate true.
- ``006EDGE_REOPENED``: Closed Won (2026-11-10) in the full export, back to Negotiation in
  the 2026-11-19 delta (greater SystemModstamp).
- ``006EDGE_DELETED``: won in the full export, IsDeleted true in the 2026-11-20 delta.
- ``006EDGE_LATE_WIN``: open in the full export, won in the 2026-11-19 delta.
- ``006EDGE_MODSTAMP_TIE``: the same SystemModstamp in both deltas; the 2026-11-20 file
  (sorts last) wins with Amount 12000.00 (10000.00 in the 2026-11-19 file).
- ``006EDGE_STALE_DELTA``: won in the full export; the 2026-11-20 delta re-sends an older
  state (Proposal, older SystemModstamp) that must not win.
- ``006EDGE_NO_AMOUNT``: won with an empty Amount -> ``won_without_amount`` (still a logo).
- ``006EDGE_BAD_DATE``: CloseDate ``2026-02-30`` -> ``invalid_value``.
- ``006EDGE_BAD_AMOUNT``: Amount ``12,5`` -> ``invalid_value``.
- ``006EDGE_NEGATIVE``: Amount -4500.00 -> ``negative_amount``.
- ``006EDGE_FUTURE``: won with CloseDate 2026-12-15 -> ``close_date_in_future``.
- ``006EDGE_UNMAPPED``: owned by CRM user ``005EDGE_UNMAPPED`` (no person) ->
  ``unmapped_crm_user``.
- Manager involvement (assisted_bookings): ``006EDGE_ASSIST_OTM`` (team member
  ``00qEDGE_ASSIST_OTM``), ``006EDGE_ASSIST_EVENT`` (Event with ActivityDateTime),
  ``006EDGE_ASSIST_EVENT_TZ`` (Event at 02:30 UTC the day after CloseDate = CloseDate in New
  York), ``006EDGE_ASSIST_ALLDAY`` (all-day Event, ActivityDate only), ``006EDGE_ASSIST_TASK``
  (Task), ``006EDGE_ASSIST_BOTH`` (team member and Task: one credit),
  ``006EDGE_NO_ASSIST`` (manager Event before CreatedDate, a deleted manager Event, a manager
  Task after CloseDate, a rep's own Event: no assist).
- ``006EDGE_TIE_A`` / ``006EDGE_TIE_B``: first wins of ``001EDGE_TIE`` on the same day: the
  smaller Id (TIE_A) gets the new logo.

Booking types and promises (1.1; all edge deals above are ``New Business``, promise nothing):

- Generic ``Type`` follows the account's history: ``New Business`` up to the account's first
  win, ``Expansion``/``Upsell``/``Existing Business`` after it, a ``Renewal`` 345-375 days
  after most won new business; about 3 % empty, about 2 % of expansion and renewal values in
  another case or with spaces.
- ``006EDGE_UNKNOWN_TYPE``: ``Partner Referral``, the only unmapped Type
  (unknown_opportunity_type). ``006EDGE_RENEWAL_FIRST``: a renewal as the account's first win.
- ``Promised_Features__c`` on about 4 % of generic deals, mostly released features.
  ``006EDGE_PROMISE_SPACING`` (`` sso ;Dashboards; ``), ``_UNRELEASED`` (Push Notifications
  before its release), ``_BOUNDARY`` (closes on the release day), ``_UNKNOWN`` (``Offline
  Mode``, the only unknown feature), ``_BETA`` (AI Assistant, not released), ``_MOVED``
  (Salesforce Sync after its ownership move).

People (config/people.csv; CRM users ``005<...>``):

- ``P_EDGE_HIRED`` (``005EDGE_HIRED``): hired 2026-09-15, mid FY2027-Q3; deal
  ``006EDGE_HIRED``; his FY2027-Q3 new_logos row has prorate=false.
- ``P_EDGE_MOVER`` (``005EDGE_MOVER``): NA East -> EMEA on 2026-09-01 (manager changes);
  deals ``006EDGE_MOVER_EAST`` (before, assisted by P_MGR_EAST) and ``006EDGE_MOVER_EMEA``
  (after, EUR, assisted by P_MGR_EMEA via Task).
- ``P_EDGE_LEAVER`` (``005EDGE_LEAVER``, IsActive false): leaves 2026-10-01; deal
  ``006EDGE_LEAVER``; his FY2027-Q4 rows are ``not_in_seat``.
- ``P_EDGE_PROMOTED`` (``005EDGE_PROMOTED``): APAC rep, then APAC manager from 2026-05-01
  (``P_MGR_APAC_OLD`` leaves that day); ``006EDGE_PROMOTED_REP`` as a rep,
  ``006EDGE_PROMOTED_TEAM`` (APAC rep's deal, he is a team member) as manager.
- ``P_VP_SALES``: VP of Sales, a CRM user, no quota rows. ``P_REVOPS``, ``P_CEO`` and the
  product and R&D people are not CRM users.
- ``005EDGE_UNMAPPED``: a CRM user that no person carries.

Config: product and R&D teams with sub-teams; features owned by sub-teams (e.g. ``Webhooks``
-> ``rnd_platform``) and by parents (``Workspace Settings`` -> ``product``, ``Audit Log`` ->
``rnd``); ``Beta Lab`` is used but unowned. Feature releases and the one ownership move
(``Salesforce Sync``: product_integrations -> rnd_platform on 2026-08-17) are in
``features.py``. Plan metrics come from the metric registry; NA West and EMEA reps and regions
carry ``net_new_bookings`` in FY2027. settings.yml lists every key, the 1.1 ones included.
Plans: FY2026 and FY2027 years and quarters, one month row (``rnd_mobile`` FY2027-M10
installs), caps 1.5 / 2, weights. Adjustments ``ADJ-0001``..``ADJ-0004``, ``ADJ-0002`` a
negative clawback.

Messages (ids ``msg-edge-*``):

- ``msg-edge-dup-01``..``06``: in ``date=2026-11-19/messages.jsonl.gz`` and again in
  ``date=2026-11-20/redelivery.jsonl.gz``; ``msg-edge-dup-06`` also twice in the 11-19 file.
- ``msg-edge-late-01``..``20``: ``date=2026-11-20/late-arrivals.jsonl.gz``, timestamps
  2026-11-12..16.
- ``date=2026-11-18/messages.jsonl.gz`` ends with 3 invalid JSON lines, a track without
  messageId and ``msg-edge-no-timestamp`` (timestamp null).
- ``usr-edge-nogroup``: group call ``msg-edge-nogroup-group`` (``ws-edge-nogroup`` ->
  ``001EDGE_NOGROUP``), then tracks ``msg-edge-nogroup-01``..``10`` without context.groupId;
  ``msg-edge-nogroup-early`` precedes the group call (unattributed). About 8 % of generic
  tracks also omit context.groupId.
- ``ws-edge-noaccount``: group call without traits.crm_account_id; tracks
  ``msg-edge-noacct-*`` are unattributed.
- ``ws-edge-regroup``: tied to ``001EDGE_REGROUP_OLD``, then ``001EDGE_REGROUP_NEW``, then a
  group call without the trait: all ``msg-edge-regroup-t*`` belong to REGROUP_NEW.
- ``ws-edge-deleted`` -> deleted account ``001EDGE_DELETED``; ``ws-edge-ghost`` ->
  ``001EDGE_GHOST`` (no such account): unattributed.
- ``msg-edge-empty-feature``: properties.feature "" -> feature "Report Exported".
- ``msg-edge-beta-01``..``05``: the unreleased AI Assistant, used by ``ws-edge-nogroup``.
- identify and page messages are sprinkled in (ignored by the metrics).
"""

from __future__ import annotations

from pathlib import Path

from .common import rng_for
from .company import build_company
from .config import build_config
from .crm import build_crm
from .events import build_messages
from .writer import write_csv, write_jsonl_gz, write_text

__all__ = ["generate"]


def generate(out: Path, scale: int = 1, seed: int = 42) -> dict:
    """Write ``out/landing`` and ``out/config`` for a company of this scale; return counts.

    Scale N multiplies accounts, opportunities and messages by N (reps grow modestly). Files
    that already exist at the generated paths are overwritten; other files are left alone.
    """
    if not isinstance(scale, int) or scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale!r}")
    out = Path(out)
    company = build_company(rng_for(seed, "company"), scale)
    crm = build_crm(rng_for(seed, "crm"), company, scale)
    msgs = build_messages(rng_for(seed, "messages"), crm.accounts, scale)
    config = build_config(rng_for(seed, "config"), company, crm, msgs)

    landing = out / "landing"
    for rel, (cols, rows) in crm.files.items():
        write_csv(landing / rel, cols, rows)
    for rel, lines in msgs.files.items():
        write_jsonl_gz(landing / rel, lines)
    for rel, value in config.items():
        if isinstance(value, str):
            write_text(out / rel, value)
        else:
            write_csv(out / rel, *value)

    opp_files = [v for k, v in crm.files.items() if k.startswith("crm/Opportunity/")]
    return {
        "people": len(company.people),
        "crm_users": len(crm.files["crm/User.csv"][1]),
        "accounts": len(crm.files["crm/Account.csv"][1]),
        "opportunities": len({r[0] for _, rows in opp_files for r in rows}),
        "opportunity_rows": sum(len(rows) for _, rows in opp_files),
        "messages": msgs.count,
        "message_files": len(msgs.files),
        "quota_plan_rows": len(config["config/quota_plans.csv"][1]),
        "files": len(crm.files) + len(msgs.files) + len(config),
    }

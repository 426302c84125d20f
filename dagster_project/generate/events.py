"""Product-usage landing data: Segment messages (track, group, identify, page) as JSONL."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from .common import DATA_END, DATA_START, DELTA_DAYS, FULL_EXPORT, fiscal_quarter
from .features import BEFORE_RELEASE, FEATURES, MOVE_DAY, MOVED_FEATURE, MOVED_TO, RELEASED_ON

# Features of generic "Feature Used" events (AI Assistant, not released, only in edge messages).
USED = [
    "Dashboards",
    "Onboarding Checklist",
    "Slack Integration",
    "Salesforce Sync",
    "Zapier Connector",
    "Workspace Settings",
    "API Access",
    "Webhooks",
    "SSO",
    "Mobile App",
    "Push Notifications",
    "Audit Log",
    "Beta Lab",
]
USED_WEIGHTS = [30, 10, 8, 7, 4, 5, 6, 4, 3, 8, 4, 2, 1]
INSTALLS = {
    "App Installed": ("Mobile App", "Slack Integration", "Zapier Connector"),
    "Integration Installed": ("Salesforce Sync", "Webhooks", "Slack Integration"),
}
PAGES = ("Home", "Pricing", "Docs", "Settings")

PART = "messages.jsonl.gz"
DUP_FILE = f"product_usage/date={DELTA_DAYS[1]}/redelivery.jsonl.gz"
LATE_FILE = f"product_usage/date={DELTA_DAYS[1]}/late-arrivals.jsonl.gz"
BAD_FILE = f"product_usage/date={FULL_EXPORT}/{PART}"


def day_file(d: date) -> str:
    return f"product_usage/date={d.isoformat()}/{PART}"


def ts(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def dumps(msg: dict) -> str:
    return json.dumps(msg, separators=(",", ":"))


def track(mid, t, user, event, feature=None, group=None) -> dict:
    m = {"type": "track", "messageId": mid, "timestamp": t, "userId": user, "event": event}
    if feature is not None:
        m["properties"] = {"feature": feature}
    if group is not None:
        m["context"] = {"groupId": group}
    return m


def group(mid, t, user, gid, account=None, name="Workspace") -> dict:
    traits = {"name": name}
    if account is not None:
        traits["crm_account_id"] = account
    return {
        "type": "group",
        "messageId": mid,
        "timestamp": t,
        "userId": user,
        "groupId": gid,
        "traits": traits,
    }


@dataclass
class Messages:
    files: dict[str, list[str]] = field(default_factory=dict)  # path -> lines (no newline)
    count: int = 0  # messages written (valid JSON lines, duplicates included)
    # Rough stats for plausible targets: quarter -> set of accounts, per team, installs.
    active: dict[str, set] = field(default_factory=dict)
    adopting: dict[tuple[str, str], set] = field(default_factory=dict)
    installs: dict[tuple[str, str], int] = field(default_factory=dict)


def build_messages(rng: random.Random, accounts: list[tuple[str, date]], scale: int) -> Messages:
    out = Messages()
    total = 100_000 * scale
    by_day: dict[int, list[tuple[str, str]]] = {}  # ordinal -> [(sort key, line)]
    end_ord = DATA_END.toordinal()
    start_ord = DATA_START.toordinal()
    seq = 0

    def mid() -> str:
        nonlocal seq
        seq += 1
        return f"msg-{seq:09d}"

    def emit(dt: datetime, msg: dict) -> None:
        by_day.setdefault(dt.toordinal(), []).append((msg["timestamp"], dumps(msg)))

    # Workspaces: most accounts have one, some with a few users each.
    workspaces = []  # (gid, account, first ordinal, users, weight)
    for aid, created in accounts:
        if created > date(2026, 11, 10) or rng.random() > 0.85:
            continue
        first = max(start_ord, created.toordinal() + rng.randrange(1, 30))
        if first >= end_ord - 1:
            continue
        gid = "ws-" + aid[4:]
        users = [f"usr-{aid[4:]}-{k}" for k in range(1, rng.randrange(2, 7))]
        workspaces.append((gid, aid, first, users, rng.paretovariate(1.5)))
    # Group calls: each user joins its workspace on the workspace's first day.
    for gid, aid, first, users, _ in workspaces:
        for u in users:
            dt = datetime.fromordinal(first) + timedelta(seconds=rng.randrange(3600, 40000))
            emit(dt, group(mid(), ts(dt), u, gid, aid, name=f"Workspace {aid[-4:]}"))
    n_groups = sum(len(w[3]) for w in workspaces)

    n_track = total - n_groups - 200  # leave room for the edge cases
    n_other = n_track // 25
    n_track -= 2 * n_other
    cum, acc = [], 0.0
    for w in workspaces:
        acc += w[4]
        cum.append(acc)
    picks = rng.choices(workspaces, cum_weights=cum, k=n_track)
    used = rng.choices(USED, weights=USED_WEIGHTS, k=n_track)
    rnd, rr = rng.random, rng.randrange
    days: dict[int, tuple[str, str]] = {}  # ordinal -> (date text, fiscal quarter)
    for o in range(start_ord, end_ord + 1):
        d = date.fromordinal(o)
        days[o] = (d.isoformat(), fiscal_quarter(d))
    active, adopting, installs = out.active, out.adopting, out.installs
    # A feature released during the data: before its release day, events use an older one.
    pre_release = {f: (RELEASED_ON[f].toordinal(), sub) for f, sub in BEFORE_RELEASE.items()}
    move_ord = MOVE_DAY.toordinal()
    # Plain string formatting (the values need no JSON escaping): fast at scale 10.
    for i, (gid, aid, first, users, _) in enumerate(picks):
        o = first + 1 + int(rnd() * (end_ord - first))
        secs = int(rnd() * 86_400_000)
        day, q = days[o]
        s, ms = divmod(secs, 1000)
        h, s = divmod(s, 3600)
        m, s = divmod(s, 60)
        t = f"{day}T{h:02d}:{m:02d}:{s:02d}.{ms:03d}Z"
        u = users[int(rnd() * len(users))]
        r = rnd()
        if r < 0.03:
            ev = "App Installed" if r < 0.015 else "Integration Installed"
            choices = INSTALLS[ev]
            feat = choices[int(rnd() * len(choices))]
        elif r < 0.10:
            ev, feat = "Report Exported", None
        else:
            ev, feat = "Feature Used", used[i]
            if feat in pre_release and o <= pre_release[feat][0]:
                feat = pre_release[feat][1]
        seq += 1
        line = (
            f'{{"type":"track","messageId":"msg-{seq:09d}","timestamp":"{t}",'
            f'"userId":"{u}","event":"{ev}"'
        )
        if feat is not None:
            line += f',"properties":{{"feature":"{feat}"}}'
        if rnd() >= 0.08:  # else no context.groupId: the user's group call says
            line += f',"context":{{"groupId":"{gid}"}}'
        by_day.setdefault(o, []).append((t, line + "}"))
        active.setdefault(q, set()).add(aid)
        key = feat or ev
        team = MOVED_TO if key == MOVED_FEATURE and o >= move_ord else FEATURES.get(key)
        if team:
            adopting.setdefault((q, team), set()).add(aid)
            if ev in INSTALLS:
                installs[(q, team)] = installs.get((q, team), 0) + 1
    for k in range(2 * n_other):
        gid, aid, first, users, _ = workspaces[rr(len(workspaces))]
        o = rr(first + 1, end_ord + 1)
        dt = datetime.fromordinal(o) + timedelta(seconds=rr(0, 86400))
        u = users[rr(len(users))]
        if k % 2:
            msg = {
                "type": "identify",
                "messageId": mid(),
                "timestamp": ts(dt),
                "userId": u,
                "traits": {"email": f"{u}@customer.example"},
            }
        else:
            msg = {
                "type": "page",
                "messageId": mid(),
                "timestamp": ts(dt),
                "anonymousId": f"anon-{rr(10**8):08d}",
                "name": rng.choice(PAGES),
            }
        emit(dt, msg)

    _edge_messages(emit)

    for o in sorted(by_day):
        items = by_day[o]
        items.sort()
        out.files[day_file(date.fromordinal(o))] = [line for _, line in items]

    # Invalid lines and a track without messageId / timestamp, in the full-export day's file.
    bad = out.files[BAD_FILE]
    bad.append('{"type":"track","messageId":"msg-edge-truncated","timestamp":"2026-11-18T1')
    bad.append("not json at all")
    bad.append("{'type': 'track', 'messageId': 'msg-edge-single-quotes'}")
    bad.append(
        dumps(
            {
                "type": "track",
                "timestamp": "2026-11-18T15:00:00.000Z",
                "userId": "usr-edge-nogroup",
                "event": "Feature Used",
                "properties": {"feature": "Dashboards"},
                "context": {"groupId": "ws-edge-nogroup"},
            }
        )
    )
    bad.append(
        dumps(
            track(
                "msg-edge-no-timestamp",
                None,
                "usr-edge-nogroup",
                "Feature Used",
                "Dashboards",
                "ws-edge-nogroup",
            )
        )
    )

    # Redelivered copies: same messageId (and bytes) as in the 2026-11-19 file.
    day19 = out.files[day_file(DELTA_DAYS[0])]
    dups = [line for line in day19 if '"messageId":"msg-edge-dup-' in line]
    out.files[DUP_FILE] = sorted(dups)
    day19.append(next(line for line in dups if "msg-edge-dup-06" in line))  # same file twice

    # Late arrivals: landed on 2026-11-20, timestamps days earlier.
    late = []
    for k in range(1, 21):
        dt = datetime(2026, 11, 12 + k % 5, 14, k, 0)
        late.append(
            dumps(
                track(
                    f"msg-edge-late-{k:02d}",
                    ts(dt),
                    "usr-edge-nogroup",
                    "Feature Used",
                    "Webhooks",
                    "ws-edge-nogroup",
                )
            )
        )
    out.files[LATE_FILE] = late
    out.count = sum(len(v) for v in out.files.values()) - 3  # minus the invalid JSON lines
    return out


def _edge_messages(emit) -> None:
    def e(y, mo, d, h, mi, msg_fn, *args, **kw):
        dt = datetime(y, mo, d, h, mi)
        emit(dt, msg_fn(*args[:1], ts(dt), *args[1:], **kw))

    # ws-edge-noaccount: a workspace whose group calls carry no crm_account_id (unattributed).
    e(
        2026,
        10,
        1,
        15,
        0,
        group,
        "msg-edge-noacct-group",
        "usr-edge-noacct",
        "ws-edge-noaccount",
        None,
        name="Sandbox",
    )
    for k in range(1, 11):
        e(
            2026,
            10,
            1 + 2 * k,
            16,
            0,
            track,
            f"msg-edge-noacct-{k:02d}",
            "usr-edge-noacct",
            "Feature Used",
            "Dashboards",
            "ws-edge-noaccount",
        )
    # usr-edge-nogroup: tracks without context.groupId, attributed by the user's group call.
    # The one before the group call (msg-edge-nogroup-early) has no workspace: unattributed.
    e(
        2026,
        11,
        1,
        15,
        0,
        track,
        "msg-edge-nogroup-early",
        "usr-edge-nogroup",
        "Feature Used",
        "Dashboards",
    )
    e(
        2026,
        11,
        2,
        10,
        0,
        group,
        "msg-edge-nogroup-group",
        "usr-edge-nogroup",
        "ws-edge-nogroup",
        "001EDGE_NOGROUP",
    )
    for k in range(1, 11):
        e(
            2026,
            11,
            2 + k,
            15,
            0,
            track,
            f"msg-edge-nogroup-{k:02d}",
            "usr-edge-nogroup",
            "Feature Used",
            "API Access",
        )
    # ws-edge-regroup: re-tied from REGROUP_OLD to REGROUP_NEW, then a group call without the
    # trait: all its events belong to 001EDGE_REGROUP_NEW.
    e(
        2026,
        6,
        1,
        15,
        0,
        group,
        "msg-edge-regroup-1",
        "usr-edge-regroup",
        "ws-edge-regroup",
        "001EDGE_REGROUP_OLD",
    )
    e(
        2026,
        9,
        1,
        15,
        0,
        group,
        "msg-edge-regroup-2",
        "usr-edge-regroup",
        "ws-edge-regroup",
        "001EDGE_REGROUP_NEW",
    )
    e(2026, 10, 1, 15, 0, group, "msg-edge-regroup-3", "usr-edge-regroup", "ws-edge-regroup", None)
    for k in range(1, 9):
        e(
            2026,
            6 + (k - 1) // 2,
            10 if k % 2 else 20,
            15,
            0,
            track,
            f"msg-edge-regroup-t{k:02d}",
            "usr-edge-regroup",
            "Feature Used",
            "Mobile App",
            "ws-edge-regroup",
        )
    # Workspaces tied to a deleted account and to an account that does not exist.
    e(
        2026,
        9,
        5,
        15,
        0,
        group,
        "msg-edge-deleted-group",
        "usr-edge-deleted",
        "ws-edge-deleted",
        "001EDGE_DELETED",
    )
    e(
        2026,
        9,
        5,
        15,
        0,
        group,
        "msg-edge-ghost-group",
        "usr-edge-ghost",
        "ws-edge-ghost",
        "001EDGE_GHOST",
    )
    for k in range(1, 4):
        e(
            2026,
            9,
            5 + k,
            15,
            0,
            track,
            f"msg-edge-deleted-{k:02d}",
            "usr-edge-deleted",
            "Feature Used",
            "SSO",
            "ws-edge-deleted",
        )
        e(
            2026,
            9,
            5 + k,
            15,
            0,
            track,
            f"msg-edge-ghost-{k:02d}",
            "usr-edge-ghost",
            "Feature Used",
            "SSO",
            "ws-edge-ghost",
        )
    # Empty properties.feature: the feature is the event name ("Report Exported").
    e(
        2026,
        11,
        5,
        15,
        0,
        track,
        "msg-edge-empty-feature",
        "usr-edge-nogroup",
        "Report Exported",
        "",
        "ws-edge-nogroup",
    )
    # Duplicates: msg-edge-dup-01..06 are on 2026-11-19 and redelivered on 2026-11-20.
    for k in range(1, 7):
        e(
            2026,
            11,
            19,
            14,
            k,
            track,
            f"msg-edge-dup-{k:02d}",
            "usr-edge-nogroup",
            "Feature Used",
            "Slack Integration",
            "ws-edge-nogroup",
        )
    # AI Assistant is not released (feature_ownership released_on empty): only the design
    # partner behind ws-edge-nogroup uses the private beta.
    for k, (mo, d) in enumerate(((10, 19), (10, 24), (10, 29), (11, 3), (11, 8)), 1):
        e(
            2026,
            mo,
            d,
            16,
            0,
            track,
            f"msg-edge-beta-{k:02d}",
            "usr-edge-nogroup",
            "Feature Used",
            "AI Assistant",
            "ws-edge-nogroup",
        )
    # Installs on the edge workspace.
    e(
        2026,
        11,
        10,
        15,
        0,
        track,
        "msg-edge-install-01",
        "usr-edge-nogroup",
        "App Installed",
        "Mobile App",
        "ws-edge-nogroup",
    )
    e(
        2026,
        11,
        11,
        15,
        0,
        track,
        "msg-edge-install-02",
        "usr-edge-nogroup",
        "Integration Installed",
        "Salesforce Sync",
        "ws-edge-nogroup",
    )

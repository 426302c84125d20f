"""One more day of landing data in the generator's shape, for the one-day benchmark run.

``add_day(landing)`` writes, for the day after the newest ``product_usage/date=<day>/`` folder:

* ``product_usage/date=<day>/messages.jsonl.gz``: the newest day's ``messages.jsonl.gz``
  replayed one or more days later: every valid message keeps its type, user, event, feature
  and workspace, gets a fresh ``messageId`` (``msg-d<YYYYMMDD>-<n>``) and the same time of day
  on the new date. So the day has the volume and mix of the generator's latest day.
* ``crm/Opportunity/<day>-delta.csv``: as many rows as the newest Opportunity delta file, in
  its columns: about half open opportunities (those closing soonest) closed that day, 40 % of
  them won; a quarter moved one stage on; a quarter new opportunities (``006D<YYMMDD><n>``)
  on accounts and owners of existing ones. ``SystemModstamp`` is on the new day, so every row
  is the record's current state.

Deterministic for a given landing folder and day (``random.Random`` seeded from the day).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

OPEN_STAGES = ("Prospecting", "Qualification", "Proposal", "Negotiation")


@dataclass
class AddedDay:
    """What ``add_day`` wrote."""

    day: date
    files: list[Path] = field(default_factory=list)
    messages: int = 0
    opportunity_rows: int = 0

    @property
    def rows(self) -> int:
        return self.messages + self.opportunity_rows


def message_days(landing: Path) -> list[date]:
    """Days that have a ``product_usage/date=<day>/messages.jsonl.gz``, sorted."""
    days = []
    for p in (landing / "product_usage").glob("date=*/messages.jsonl.gz"):
        try:
            days.append(date.fromisoformat(p.parent.name.removeprefix("date=")))
        except ValueError:
            continue
    return sorted(days)


def replay_messages(lines: list[str], day: date, shift: timedelta) -> list[str]:
    """Valid messages of ``lines`` moved by ``shift``, with fresh messageIds, sorted by time."""
    out: list[tuple[str, str]] = []
    for line in lines:
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        t = msg.get("timestamp") if isinstance(msg, dict) else None
        if not t or not msg.get("messageId"):
            continue
        new_day = date.fromisoformat(t[:10]) + shift
        msg["timestamp"] = new_day.isoformat() + t[10:]
        msg["messageId"] = f"msg-d{day:%Y%m%d}-{len(out) + 1:07d}"
        out.append((msg["timestamp"], json.dumps(msg, separators=(",", ":"))))
    out.sort()
    return [line for _, line in out]


def _read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def current_opportunities(folder: Path) -> dict[str, dict[str, str]]:
    """Id -> current row over every CSV in ``crm/Opportunity/`` (greatest SystemModstamp,
    ties to the later file, then the later row)."""
    current: dict[str, dict[str, str]] = {}
    for path in sorted(folder.rglob("*.csv")):
        for row in _read_csv(path)[1]:
            old = current.get(row["Id"])
            if old is None or row["SystemModstamp"] >= old["SystemModstamp"]:
                current[row["Id"]] = row
    return current


def opportunity_delta(
    folder: Path, day: date, rng: random.Random
) -> tuple[list[str], list[dict[str, str]]]:
    """(columns, rows) of a delta file for ``day`` shaped like the newest delta in ``folder``."""
    deltas = sorted(folder.glob("*-delta.csv")) or sorted(folder.glob("*.csv"))
    columns, newest = _read_csv(deltas[-1])
    n = max(4, len(newest))
    current = current_opportunities(folder)
    open_rows = [
        r
        for r in current.values()
        if r.get("IsClosed", "").lower() in ("false", "0")
        and r.get("IsDeleted", "false").lower() not in ("true", "1")
        and r.get("StageName") in OPEN_STAGES
    ]
    open_rows.sort(key=lambda r: (r["CloseDate"], r["Id"]))

    def stamp() -> str:
        secs = rng.randrange(13 * 3600, 23 * 3600)
        return f"{day.isoformat()}T{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}.000Z"

    rows: list[dict[str, str]] = []
    n_close, n_move = n // 2, n // 4
    for r in open_rows[:n_close]:
        won = rng.random() < 0.4
        rows.append(
            {
                **r,
                "StageName": "Closed Won" if won else "Closed Lost",
                "IsClosed": "true",
                "IsWon": "true" if won else "false",
                "CloseDate": day.isoformat(),
                "SystemModstamp": stamp(),
            }
        )
    for r in rng.sample(open_rows[n_close:], min(n_move, max(0, len(open_rows) - n_close))):
        nxt = OPEN_STAGES[min(OPEN_STAGES.index(r["StageName"]) + 1, len(OPEN_STAGES) - 1)]
        rows.append({**r, "StageName": nxt, "SystemModstamp": stamp()})
    templates = list(current.values())
    for j in range(1, n - len(rows) + 1):
        t = rng.choice(templates)
        created = stamp()
        rows.append(
            {
                **t,
                "Id": f"006D{day:%y%m%d}{j:05d}",
                "Name": f"{t['AccountId'][-4:]} New Business {day.year}",
                "Type": "New Business",
                "StageName": "Prospecting",
                "Amount": f"{round(rng.uniform(5000, 60000), -2):.2f}",
                "CurrencyIsoCode": "USD",
                "CloseDate": (day + timedelta(days=rng.randrange(30, 120))).isoformat(),
                "IsClosed": "false",
                "IsWon": "false",
                "CreatedDate": created,
                "SystemModstamp": created,
                "IsDeleted": "false",
            }
        )
    rows.sort(key=lambda r: r["Id"])
    return columns, rows


def add_day(landing: Path, day: date | None = None) -> AddedDay:
    """Write one more day of messages and an Opportunity delta into ``landing``.

    ``day`` defaults to the day after the newest message day. Existing files are never
    changed; the two new files are returned (remove them to undo)."""
    landing = Path(landing)
    days = message_days(landing)
    if not days:
        raise ValueError(f"{landing}: no product_usage/date=<day>/messages.jsonl.gz to replay")
    newest = days[-1]
    day = day or newest + timedelta(days=1)
    if day <= newest:
        raise ValueError(f"{day} is not after the newest message day {newest}")
    rng = random.Random(f"quotaboard-bench:{day.isoformat()}")
    added = AddedDay(day=day)

    src = landing / "product_usage" / f"date={newest.isoformat()}" / "messages.jsonl.gz"
    lines = gzip.decompress(src.read_bytes()).decode("utf-8").splitlines()
    replayed = replay_messages(lines, day, day - newest)
    msg_path = landing / "product_usage" / f"date={day.isoformat()}" / "messages.jsonl.gz"
    msg_path.parent.mkdir(parents=True, exist_ok=True)
    msg_path.write_bytes(
        gzip.compress(("\n".join(replayed) + "\n").encode("utf-8"), compresslevel=6, mtime=0)
    )
    added.files.append(msg_path)
    added.messages = len(replayed)

    folder = landing / "crm" / "Opportunity"
    if folder.is_dir():
        columns, rows = opportunity_delta(folder, day, rng)
        buf = io.StringIO()
        writer = csv.DictWriter(buf, columns, lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        opp_path = folder / f"{day.isoformat()}-delta.csv"
        opp_path.write_bytes(buf.getvalue().encode("utf-8"))
        added.files.append(opp_path)
        added.opportunity_rows = len(rows)
    return added


def remove_added(added: AddedDay) -> None:
    """Delete the files ``add_day`` wrote (and the day's folder when it is left empty)."""
    for p in added.files:
        p.unlink(missing_ok=True)
        if p.parent.name.startswith("date=") and not any(p.parent.iterdir()):
            p.parent.rmdir()

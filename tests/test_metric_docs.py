"""docs/metrics.md carries every metric's definition, generated from the metric registry and
the dbt docs blocks (dagster_project/metric_docs.py), and the docs of the repository stand
alone: every link resolves inside it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import yaml

from dagster_project import metric_docs, metric_registry

REPO = Path(__file__).resolve().parent.parent
DOCS = [
    REPO / "README.md",
    *sorted((REPO / "docs").glob("*.md")),
    REPO / "seeds" / "README.md",
    REPO / "benchmarks" / "README.md",
    REPO / "dbt" / "models" / "README.md",
]


def test_committed_metrics_page_is_what_the_project_generates():
    committed = metric_docs.OUTPUT.read_text(encoding="utf-8")
    assert committed == metric_docs.render(committed), (
        f"docs/metrics.md is not what the registry and the dbt docs blocks generate: run "
        f"{metric_docs.COMMAND} (make regenerate)"
    )


def test_every_registry_metric_is_defined_with_its_docs_block():
    """Rule: each metric of vars.metrics has a catalogue row and its dbt docs block's text."""
    text = metric_docs.OUTPUT.read_text(encoding="utf-8")
    blocks = metric_docs.docs_blocks()
    for metric in metric_registry.registry().values():
        assert f"[`{metric.name}`](#{metric_docs.metric_anchor(metric.name)})" in text
        assert blocks[metric.definition] in text, metric.name


def test_every_mart_column_is_documented():
    """Rule: every model and column of dbt/models/marts/*.yml is on the page."""
    text = metric_docs.OUTPUT.read_text(encoding="utf-8")
    for path in sorted(metric_docs.MARTS_DIR.glob("*.yml")):
        for model in yaml.safe_load(path.read_text(encoding="utf-8"))["models"]:
            section = text.split(f"### `marts.{model['name']}`", 1)
            assert len(section) == 2, model["name"]
            body = section[1].split("\n### ", 1)[0]
            for column in model.get("columns") or []:
                assert f"| `{column['name']}` |" in body, (model["name"], column["name"])


def test_a_metric_added_to_the_registry_and_a_changed_block_are_regenerated(
    tmp_path, monkeypatch, registry_with_demo_requests
):
    changed = registry_with_demo_requests()
    monkeypatch.setattr(metric_docs, "registry", lambda: metric_registry.load_registry(changed))
    models = tmp_path / "models"
    shutil.copytree(metric_docs.MODELS_DIR, models)
    (models / "marts" / "demo.md").write_text(
        "{% docs metric_demo_requests %}\n**demo_requests** (count). Demos booked.\n{% enddocs %}\n"
    )
    status = models / "marts" / "metrics.md"
    status.write_text(
        status.read_text().replace("**status**, at data_through:", "**status**, CHANGED:")
    )
    page = metric_docs.render(metric_docs.OUTPUT.read_text(encoding="utf-8"), models)
    assert "| [`demo_requests`](#metric-demo-requests) | Demo requests | count |" in page
    assert "**demo_requests** (count). Demos booked." in page
    assert "**status**, CHANGED:" in page
    assert "**status**, at data_through:" not in page


def test_exception_reasons_listed_are_the_published_ones():
    """Rule: §7 lists exactly the reasons fct_quota_exceptions accepts (its dbt test)."""
    model = yaml.safe_load((metric_docs.MARTS_DIR / "fct_quota_exceptions.yml").read_text())
    (reason,) = [c for c in model["models"][0]["columns"] if c["name"] == "reason"]
    accepted = next(
        t["accepted_values"]["arguments"]["values"]
        for t in reason["data_tests"]
        if isinstance(t, dict) and "accepted_values" in t
    )
    text = metric_docs.OUTPUT.read_text(encoding="utf-8")
    section = text.split("## 7. Exceptions", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| `(\w+)` \|", section, re.MULTILINE)
    assert sorted(listed) == sorted(accepted)


_LINK = re.compile(r"\]\(([^)\s]+)\)")


def _anchors(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    found = set(re.findall(r'id="([^"]+)"', text))
    for heading in re.findall(r"^#+ (.*)$", text, re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


def test_docs_links_stay_in_the_repository_and_resolve():
    """Rule: the repository's docs stand alone: no link to a spec outside it, every relative
    link names an existing file (and an existing anchor in a Markdown file)."""
    problems = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for needle in ("../shared", "/work/shared", "shared/spec"):
            if needle in text:
                problems.append(f"{doc.name}: mentions {needle}")
        for target in _LINK.findall(text):
            if re.match(r"^[a-z]+://|^mailto:", target):
                continue  # external tool docs are fine
            file_part, _, fragment = target.partition("#")
            path = (doc.parent / file_part).resolve() if file_part else doc
            if not path.is_relative_to(REPO):
                problems.append(f"{doc.name}: {target} leaves the repository")
            elif not path.exists():
                problems.append(f"{doc.name}: {target} does not exist")
            elif fragment and path.suffix == ".md" and fragment not in _anchors(path):
                problems.append(f"{doc.name}: {target}: no such anchor")
    assert problems == []

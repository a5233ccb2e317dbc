"""The shipped alert rules and dashboard, checked by the real promtool (Debian `prometheus`).

`promtool test rules` runs tests/monitoring/alerts_test.yml: each alert is fed series
that must make it fire and series that must leave it quiet."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import ctxscope

MONITORING = Path(ctxscope.__file__).resolve().parent / "monitoring"
RULES = MONITORING / "alerts.yml"
DASHBOARD = MONITORING / "grafana-dashboard.json"
RULE_TESTS = Path(__file__).resolve().parent / "monitoring" / "alerts_test.yml"
METRICS = {
    "ctxscope_state",
    "ctxscope_resolved_info",
    "ctxscope_authorized",
    "ctxscope_drift",
    "ctxscope_drift_events_total",
    "ctxscope_cloud_up",
    "ctxscope_stale_processes",
    "ctxscope_last_sync_timestamp_seconds",
    "ctxscope_resolve_duration_seconds",
}
ALERTS = {
    "CtxscopeDriftPersists",
    "CtxscopeUnusable",
    "CtxscopeUnauthorized",
    "CtxscopeCloudDown",
    "CtxscopeDriftEventRate",
}

needs_promtool = pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool not installed (Debian package prometheus)"
)


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=120)


@needs_promtool
def test_rules_are_valid():
    done = promtool("check", "rules", str(RULES))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in done.stdout


@needs_promtool
def test_rule_unit_tests_pass():
    done = promtool("test", "rules", str(RULE_TESTS))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_every_alert_has_a_firing_and_a_quiet_case():
    text = RULE_TESTS.read_text()
    defined = set(re.findall(r"^\s+- alert: (\w+)$", RULES.read_text(), re.M))
    assert defined == ALERTS
    for alert in ALERTS:
        blocks = re.findall(
            rf"alertname: {alert}\n\s+exp_alerts:(.*?)(?=\n\s+- eval_time|\n\n|\Z)", text, re.S
        )
        assert any(b.strip() == "[]" for b in blocks), f"{alert} has no quiet case"
        assert any(b.strip() != "[]" for b in blocks), f"{alert} has no firing case"


@needs_promtool
def test_a_broken_expectation_is_caught(tmp_path):
    """The unit tests can fail: a quiet case that expects an alert makes promtool exit 1."""
    broken = (
        RULE_TESTS.read_text()
        .replace("../../ctxscope/monitoring/alerts.yml", str(RULES))
        .replace(
            "      - eval_time: 10m\n        alertname: CtxscopeDriftPersists\n        exp_alerts: []",
            "      - eval_time: 10m\n        alertname: CtxscopeDriftPersists\n        exp_alerts:\n"
            '          - exp_labels: {severity: warning, state: DRIFTED, instance: "a:9464", '
            "job: ctxscope}",
        )
    )
    path = tmp_path / "broken_test.yml"
    path.write_text(broken)
    assert promtool("test", "rules", str(path)).returncode == 1


def _expressions(node) -> list[str]:
    if isinstance(node, dict):
        found = [node["expr"]] if isinstance(node.get("expr"), str) else []
        for value in node.values():
            found += _expressions(value)
        return found
    if isinstance(node, list):
        return [e for item in node for e in _expressions(item)]
    return []


def test_rules_and_dashboard_use_only_metrics_that_exist():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "ctxscope-fleet"
    exprs = _expressions(dashboard) + re.findall(
        r"expr: (?:>-\n)?(.*?)\n\s+(?:for|labels):", RULES.read_text(), re.S
    )
    used = {m for e in exprs for m in re.findall(r"\bctxscope_[a-z_]+", e)}
    assert used and used <= METRICS, used - METRICS
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_they_ship_in_the_package():
    from importlib.resources import files

    shipped = files("ctxscope") / "monitoring"
    assert (shipped / "alerts.yml").is_file()
    assert (shipped / "grafana-dashboard.json").is_file()

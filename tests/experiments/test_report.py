"""The JSON and HTML writers, on fabricated outcomes (no experiment runs)."""

from __future__ import annotations

import base64
import json
import re

from rnnkit.experiments.report import HTML_NAME, JSON_NAME, jsonable, render_html, write_report

from .helpers import fake_outcome


def test_jsonable_makes_strict_json():
    import numpy as np

    value = {"a": np.float32(1.5), "b": np.arange(3), "c": (float("nan"), float("inf"), -float("inf")),
             "d": np.bool_(True), 4: None}
    out = jsonable(value)
    assert out == {"a": 1.5, "b": [0, 1, 2], "c": ["nan", "inf", "-inf"], "d": True, "4": None}
    json.dumps(out, allow_nan=False)


def test_write_report_json(tmp_path):
    outcomes = [fake_outcome(1), fake_outcome(2, verdict="not_supported", error="Traceback: boom")]
    json_path, html_path = write_report(outcomes, tmp_path / "out")
    assert json_path.name == JSON_NAME and html_path.name == HTML_NAME
    records = json.loads(json_path.read_text(), parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    assert [r["id"] for r in records] == ["claim_1", "claim_2"]
    first = records[0]
    for key in ("id", "verdict", "threshold", "measurements", "checks", "statement", "method", "seconds"):
        assert key in first
    assert first["verdict"] == "supported"
    assert first["threshold"] == {"min_accuracy": 0.9, "lags": [10, 100]}
    assert first["measurements"]["curve"] == list(range(40))          # every number, not a preview
    assert first["measurements"]["nan_value"] == "nan"
    assert first["measurements"]["nested"] == {"a": [1.5, "-inf"]}
    assert first["checks"][1]["value"] == "inf"
    assert records[1]["error"] == "Traceback: boom"
    assert not list((tmp_path / "out").glob(".*")), "temporary files left behind"


def test_html_is_self_contained_and_escaped(tmp_path):
    outcomes = [fake_outcome(1), fake_outcome(2, verdict="inconclusive", figure_png=None)]
    page = render_html(outcomes, env={"python": "3.x"})
    assert page.startswith("<!DOCTYPE html>")
    # no external resources of any kind
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
    assert "<link" not in page and "<script" not in page and "@import" not in page
    # figures are embedded PNGs that decode
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 1
    assert base64.b64decode(images[0]).startswith(b"\x89PNG\r\n\x1a\n")
    # text from experiments is escaped
    assert "Claim &lt;1&gt; &amp; co" in page and "<b>tags</b>" not in page
    assert "A note &lt;with&gt; markup" in page
    # per claim: statement, method, thresholds, checks, numbers, verdict
    for needle in ("Statement with", "Method &amp; more", "min_accuracy", "control ok", "accuracy",
                   "40 values (all in verify.json)", "supported", "inconclusive", "Extra"):
        assert needle in page, needle
    assert page.count('<h2 id="claim_') == 2


def test_html_shows_errors(tmp_path):
    page = render_html([fake_outcome(3, verdict="inconclusive", error="ValueError: <bad>")], env={})
    assert "ValueError: &lt;bad&gt;" in page

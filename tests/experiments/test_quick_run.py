"""The whole `rnnkit verify --quick` run (a few minutes), then its report checked in headless Chromium."""

from __future__ import annotations

import json

import pytest

from rnnkit.experiments import cli
from rnnkit.experiments.claims import CLAIMS
from rnnkit.experiments.result import VERDICTS

from .helpers import assert_page_ok, browser_check


@pytest.mark.slow
def test_quick_verify_run(tmp_path):
    out = tmp_path / "verify"
    assert cli.main(["verify", "--quick", "--out", str(out)]) == 0, "an experiment crashed; see the report"
    records = json.loads((out / "verify.json").read_text())
    assert [r["id"] for r in records] == [c.ID for c in CLAIMS]
    for rec, claim in zip(records, CLAIMS, strict=True):
        assert rec["error"] is None, rec["error"]
        assert rec["verdict"] in VERDICTS
        assert rec["threshold"] == claim.THRESHOLD
        assert rec["measurements"] and rec["checks"]
    result = browser_check(out / "verify.html", tmp_path)
    assert_page_ok(result, expected_images=len(CLAIMS))

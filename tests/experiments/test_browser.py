"""The report in a real browser: headless Chromium loads it without errors and decodes every figure.

Needs Debian's `chromium` package (/usr/bin/chromium). Without it the test is skipped, except when the
environment variable CI is true, where it fails.
"""

from __future__ import annotations

import pytest

from rnnkit.experiments.report import write_report

from .helpers import assert_page_ok, browser_check, fake_outcome


def test_report_renders_in_chromium(tmp_path):
    outcomes = [fake_outcome(1), fake_outcome(2, verdict="not_supported"), fake_outcome(3, figure_png=None)]
    _, html_path = write_report(outcomes, tmp_path / "report")
    result = browser_check(html_path, tmp_path)
    assert result["title"].startswith("rnnkit verify")
    assert_page_ok(result, expected_images=2)


def test_browser_check_catches_a_broken_figure(tmp_path):
    """The check is not vacuous: a figure that does not decode is reported."""
    _, html_path = write_report([fake_outcome(1, figure_png=b"not a png")], tmp_path / "report")
    result = browser_check(html_path, tmp_path)
    with pytest.raises(AssertionError, match=r"failed to load|image 0"):
        assert_page_ok(result, expected_images=1)


def test_missing_chromium_skips_locally_but_fails_in_ci(monkeypatch):
    from . import helpers

    monkeypatch.setattr(helpers, "find_chromium", lambda: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="not installed"):
        helpers.require_chromium()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        helpers.require_chromium()

"""Shared by the experiment tests: fabricated outcomes and a headless-Chromium page check."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from rnnkit.experiments.result import Table
from rnnkit.experiments.runner import Outcome


def tiny_png(width: float = 4.0, height: float = 2.5) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rnnkit.experiments.runner import figure_png

    fig, ax = plt.subplots(figsize=(width, height))
    ax.plot([0, 1, 2], [0, 1, 4], "o-")
    ax.set_title("fabricated <figure> & numbers")
    return figure_png(fig)


def fake_outcome(number: int = 1, verdict: str = "supported", **kw) -> Outcome:
    base = dict(
        number=number, id=f"claim_{number}", title=f"Claim <{number}> & co", statement="Statement with <b>tags</b>",
        method="Method & more", threshold={"min_accuracy": 0.9, "lags": [10, 100]}, verdict=verdict,
        checks=[{"kind": "control", "name": "control ok", "value": 1.0, "op": ">=", "limit": 0.9, "passed": True},
                {"kind": "test", "name": "x < y", "value": float("inf"), "op": "<", "limit": 1.0, "passed": False}],
        measurements={"accuracy": 0.97, "curve": list(range(40)), "nan_value": float("nan"), "flag": True,
                      "nested": {"a": [1.5, float("-inf")]}, "text": "a 'snippet' <tag>"},
        seconds=1.25, quick=True, seed=0, notes=["A note <with> markup"],
        tables=[Table("Extra", ["a", "b"], [[1, "x"], [2.5, "<y>"]])], figure_png=tiny_png(), error=None,
    )
    base.update(kw)
    return Outcome(**base)


# ---- headless Chromium ------------------------------------------------------------------------------------
CHECK_SCRIPT = """<script>
window.__errors = [];
window.addEventListener('error', function (e) {
  window.__errors.push(String(e.message || (e.target && e.target.src ? 'failed to load ' + e.target.src.slice(0, 60)
                                                                      : e.type)));
}, true);
window.addEventListener('load', function () {
  var images = Array.prototype.map.call(document.images, function (img) {
    var box = img.getBoundingClientRect();
    return {complete: img.complete, naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight,
            shownWidth: box.width, shownHeight: box.height};
  });
  var out = document.createElement('pre');
  out.id = 'browser-check';
  out.textContent = JSON.stringify({images: images, errors: window.__errors, title: document.title});
  document.body.appendChild(out);
});
</script>"""

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str | None:
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)


def require_chromium() -> str:
    """The browser's path; skip when it is absent, except in CI (CI=true), where its absence fails."""
    path = find_chromium()
    if path is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("CI=true but no headless Chromium found (tried /usr/bin/chromium and "
                        f"{', '.join(CHROMIUM_NAMES)}); .ci/run must install Debian's 'chromium' package")
        pytest.skip("headless Chromium not installed (apt-get install chromium); required when CI=true")
    return path


def browser_check(report: Path, tmp_path: Path, timeout: float = 120) -> dict:
    """Load a copy of `report` (with a checking script injected) in headless Chromium; return what the page
    measured: every <img>'s completeness and sizes, JavaScript errors, and the title."""
    chromium = require_chromium()
    page = tmp_path / "page.html"
    text = report.read_text(encoding="utf-8")
    page.write_text(text.replace("<head>", "<head>" + CHECK_SCRIPT, 1), encoding="utf-8")
    profile = tmp_path / "chromium-profile"
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage",
           f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--dump-dom", page.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    found = re.search(r'<pre id="browser-check">(.*?)</pre>', proc.stdout, re.S)
    assert found, f"no result from Chromium (exit {proc.returncode}); stderr tail:\n{proc.stderr[-2000:]}"
    return json.loads(found.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))


def assert_page_ok(result: dict, expected_images: int) -> None:
    assert result["errors"] == [], result["errors"]
    images = result["images"]
    assert len(images) == expected_images
    for k, img in enumerate(images):
        assert img["complete"], f"image {k} did not finish loading"
        assert img["naturalWidth"] >= 200 and img["naturalHeight"] >= 100, f"image {k} decoded too small: {img}"
        assert img["shownWidth"] > 100 and img["shownHeight"] > 50, f"image {k} not laid out: {img}"

"""Write the verification results: `verify.json` (every number) and one self-contained HTML page.

The HTML page has no external assets: styles are inline and every figure is a base64 PNG data URI, so the
file can be mailed, archived or opened offline.
"""

from __future__ import annotations

import base64
import datetime
import html
import json
import math
import os
import platform
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rnnkit.experiments.result import NOT_SUPPORTED, SUPPORTED
from rnnkit.experiments.runner import Outcome

JSON_NAME, HTML_NAME = "verify.json", "verify.html"
COLORS = {SUPPORTED: "#1a7f37", NOT_SUPPORTED: "#cf222e", "inconclusive": "#9a6700"}
LIST_PREVIEW = 12


def jsonable(value: Any) -> Any:
    """Plain JSON types: numpy scalars and arrays become numbers and lists; NaN and infinities become the
    strings "nan", "inf", "-inf" (JSON has no such numbers); tuples become lists."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return jsonable(value.tolist())
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    return str(value)


def outcome_record(o: Outcome) -> dict[str, Any]:
    return jsonable({
        "id": o.id, "number": o.number, "title": o.title, "verdict": o.verdict, "threshold": o.threshold,
        "checks": o.checks, "measurements": o.measurements, "statement": o.statement, "method": o.method,
        "notes": o.notes, "tables": [{"title": t.title, "columns": t.columns, "rows": t.rows} for t in o.tables],
        "seconds": round(o.seconds, 3), "quick": o.quick, "seed": o.seed, "error": o.error,
    })


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)                  # mkstemp creates 0600; a report is meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(outcomes: Sequence[Outcome], path: Path) -> Path:
    text = json.dumps([outcome_record(o) for o in outcomes], indent=1, allow_nan=False)
    _atomic_write(Path(path), text.encode())
    return Path(path)


def environment() -> dict[str, str]:
    import numpy
    import torch

    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": numpy.__version__,
            "platform": platform.platform(), "cpu threads used": "1",
            "date (UTC)": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M")}


# ---- HTML ---------------------------------------------------------------------------------------------
CSS = """
body { font: 15px/1.45 system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #1f2328; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 2.2em; border-bottom: 1px solid #d0d7de; padding-bottom: 0.2em; }
table { border-collapse: collapse; margin: 0.6em 0 1em; font-size: 13px; }
th, td { border: 1px solid #d0d7de; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; } td.num { font-family: ui-monospace, monospace; text-align: right; }
.badge { display: inline-block; color: white; border-radius: 4px; padding: 1px 8px; font-size: 13px; font-weight: 600; }
.pass { color: #1a7f37; font-weight: 600; } .fail { color: #cf222e; font-weight: 600; }
figure { margin: 0.5em 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
.note { background: #fff8c5; border-left: 4px solid #d4a72c; padding: 0.4em 0.8em; margin: 0.6em 0; }
pre.error { background: #ffebe9; padding: 0.6em; overflow-x: auto; font-size: 12px; }
.muted { color: #59636e; font-size: 13px; }
"""


def _badge(verdict: str) -> str:
    label = verdict.replace("_", " ")
    return f'<span class="badge" style="background:{COLORS.get(verdict, "#59636e")}">{html.escape(label)}</span>'


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return str(v)
        return f"{v:.4g}"
    return html.escape(str(v))


def _value_cell(v: Any) -> str:
    if isinstance(v, dict):
        return html.escape(json.dumps(jsonable(v))[:300])
    if isinstance(v, (list, tuple)):
        flat = list(v)
        if len(flat) <= LIST_PREVIEW and not any(isinstance(x, (list, tuple, dict)) for x in flat):
            return "[" + ", ".join(_fmt(x) for x in flat) + "]"
        return f"<span class='muted'>{len(flat)} values (all in {JSON_NAME})</span>"
    return _fmt(v)


def _table(columns: Sequence[str], rows: Sequence[Sequence[Any]], numeric: bool = True) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for cell in row:
            cls = ' class="num"' if numeric and isinstance(cell, (int, float)) and not isinstance(cell, bool) else ""
            cells.append(f"<td{cls}>{cell if isinstance(cell, _Raw) else _fmt(cell)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


class _Raw(str):
    """HTML that is already escaped."""


def _section(o: Outcome) -> str:
    parts = [f'<h2 id="{html.escape(o.id)}">{o.number}. {html.escape(o.title)} {_badge(o.verdict)}</h2>',
             f"<p><b>Claim.</b> {html.escape(o.statement)}</p>", f"<p><b>Method.</b> {html.escape(o.method)}</p>"]
    parts += [f'<div class="note">{html.escape(n)}</div>' for n in o.notes]
    if o.figure_png:
        data = base64.b64encode(o.figure_png).decode()
        parts.append(f'<figure><img src="data:image/png;base64,{data}" alt="figure for {html.escape(o.id)}">'
                     f"</figure>")
    if o.checks:
        rows = [[c["kind"], c["name"], c["value"], _Raw(html.escape(c["op"])), c["limit"],
                 _Raw('<span class="pass">pass</span>' if c["passed"] else '<span class="fail">fail</span>')]
                for c in o.checks]
        parts.append("<h3>Verdict checks</h3>" + _table(["kind", "check", "measured", "", "threshold", "result"], rows))
        parts.append("<p class='muted'>A failed control makes the verdict inconclusive; otherwise every test must "
                     "pass for 'supported'.</p>")
    parts.append("<h3>Thresholds (fixed before the run)</h3>"
                 + _table(["name", "value"], [[k, _Raw(_value_cell(v))] for k, v in o.threshold.items()]))
    parts.append("<h3>Measured numbers</h3>"
                 + _table(["name", "value"], [[k, _Raw(_value_cell(v))] for k, v in o.measurements.items()]))
    for t in o.tables:
        parts.append(f"<h3>{html.escape(t.title)}</h3>" + _table(t.columns, t.rows))
    if o.error:
        parts.append(f'<h3>Error</h3><pre class="error">{html.escape(o.error)}</pre>')
    parts.append(f"<p class='muted'>{o.seconds:.1f} s, seed {o.seed}, {'quick' if o.quick else 'full'} mode.</p>")
    return "\n".join(parts)


_QUICK_NOTE = """
<p><b>Quick mode</b>: smaller models, data and training budgets than the full run, to check the code path in a
few minutes. Claims that need training to converge (long-range memory, gate use, time scales) or timings
that need large shapes (sequential cost) can come out <i>not supported</i> here and supported in the full run
(<code>rnnkit verify --out DIR</code>).</p>"""


def render_html(outcomes: Sequence[Outcome], env: dict[str, str] | None = None) -> str:
    env = env if env is not None else environment()
    counts = {v: sum(o.verdict == v for o in outcomes) for v in COLORS}
    mode = "quick" if outcomes and all(o.quick for o in outcomes) else "full" if outcomes else "-"
    quick_note = _QUICK_NOTE if mode == "quick" else ""
    summary = _table(["#", "claim", "verdict", "seconds"], [
        [o.number, _Raw(f'<a href="#{html.escape(o.id)}">{html.escape(o.title)}</a>'), _Raw(_badge(o.verdict)),
         round(o.seconds, 1)] for o in outcomes])
    env_rows = _table(["", ""], [[k, v] for k, v in env.items()] + [["mode", mode]])
    tally = ", ".join(f"{n} {v.replace('_', ' ')}" for v, n in counts.items())
    body = "\n".join(_section(o) for o in outcomes)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>rnnkit verify: claims about recurrent networks, tested</title><style>{CSS}</style></head>
<body>
<h1>rnnkit verify</h1>
<p>Claims commonly made about recurrent networks, each tested by a small seeded experiment. Every verdict
comes from thresholds written into the experiment's code before it was run; a claim the data does not
support is reported as such. All numbers are also in <code>{JSON_NAME}</code>.</p>{quick_note}
<p><b>{len(outcomes)} claims:</b> {html.escape(tally)}.</p>
{summary}
{env_rows}
{body}
</body></html>
"""


def write_html(outcomes: Sequence[Outcome], path: Path, env: dict[str, str] | None = None) -> Path:
    _atomic_write(Path(path), render_html(outcomes, env).encode())
    return Path(path)


def write_report(outcomes: Sequence[Outcome], out_dir: Path) -> tuple[Path, Path]:
    out_dir = Path(out_dir)
    return write_json(outcomes, out_dir / JSON_NAME), write_html(outcomes, out_dir / HTML_NAME)

"""Run logs: append-only CSV files (exact floats, truncatable on resume) and an optional TensorBoard writer."""

from __future__ import annotations

import csv
import io
import math
import warnings
from pathlib import Path
from typing import Any

from rnnkit.training.checkpoint import write_atomic


class CSVLog:
    """One CSV file; the first row written fixes the columns. Floats are written with `repr` (exact)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.columns: list[str] | None = None
        if self.path.exists() and self.path.stat().st_size:
            with self.path.open(newline="", encoding="utf-8") as f:
                self.columns = next(csv.reader(f), None)

    def write(self, row: dict[str, Any]) -> None:
        new = self.columns is None
        if new:
            self.columns = list(row)
            self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            if new:
                w.writerow(self.columns)
            w.writerow([_fmt(row.get(c)) for c in self.columns])

    def truncate_after(self, step: int) -> None:
        """Drop rows logged after `step` (a resumed run redoes them), atomically."""
        if not self.path.exists():
            return
        rows = read_csv(self.path)
        keep = [r for r in rows if r.get("step") in (None, "") or int(r["step"]) <= step]
        if len(keep) == len(rows):
            return
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=self.columns or list(rows[0]))
        w.writeheader()
        w.writerows(keep)
        write_atomic(self.path, buf.getvalue().encode())


def read_csv(path: str | Path) -> list[dict[str, str]]:
    with Path(path).open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else str(v)
    return str(v)


class TensorBoardLog:
    """Scalars to TensorBoard; disabled with a warning if tensorboard is not installed."""

    def __init__(self, folder: str | Path, purge_step: int | None = None) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as e:   # tensorboard is an optional dependency (rnnkit[train])
            warnings.warn(f"TensorBoard logging is off: {e}", RuntimeWarning, stacklevel=2)
            self.writer = None
            return
        self.writer = SummaryWriter(str(folder), purge_step=purge_step)

    def scalars(self, prefix: str, values: dict[str, Any], step: int) -> None:
        if self.writer is None:
            return
        for k, v in values.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool) and v is not None:
                self.writer.add_scalar(f"{prefix}/{k}", v, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()

"""The seqclass long CSV: good files parse, malformed ones fail with one line naming file and line."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.tasks.seqclass.csv_format import read_long_csv
from rnnkit.training.errors import DataError

GOOD = """series_id,time,x,y,label
a,0,1.0,10,walk
a,1,2.0,20,walk
b,0,5.0,50,run
a,2,3.0,30,walk
b,1,6.0,60,run
"""


def write(tmp_path, text, name="long.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_good_file_groups_rows_into_series_in_time_order(tmp_path):
    found = read_long_csv(write(tmp_path, GOOD))
    assert found.ids == ["a", "b"] and found.labels == ["walk", "run"] and found.channels == ("x", "y")
    assert found.series[0].tolist() == [[1, 10], [2, 20], [3, 30]] and found.series[1].shape == (2, 2)
    assert found.splits is None and found.series[0].dtype == np.float32


def test_split_column_assigns_whole_series(tmp_path):
    text = "series_id,time,x,label,split\na,0,1,p,train\na,1,2,p,train\nb,0,3,q,TEST\n"
    assert read_long_csv(write(tmp_path, text)).splits == ["train", "test"]


def test_labels_may_be_absent_when_classifying(tmp_path):
    found = read_long_csv(write(tmp_path, "series_id,time,x\na,0,1\na,1,2\n"), require_label=False)
    assert found.labels == [""] and found.series[0].shape == (2, 1)


@pytest.mark.parametrize(("text", "message"), [
    ("series_id,x,label\na,1,p\n", r"long\.csv, line 1: missing column 'time'"),
    ("series_id,time,label\na,0,p\n", r"long\.csv, line 1: no channel columns"),
    ("series_id,time,x,label\na,0,abc,p\n", r"long\.csv, line 2, column 'x': 'abc' is not a number"),
    ("series_id,time,x,label\na,0,,p\n", r"long\.csv, line 2, column 'x': missing value; .*--fill interpolate"),
    ("series_id,time,x,label\na,0,1,p\na,0,2,p\n", r"long\.csv, line 3: duplicate time 0 in series 'a' "
                                                   r"\(also on line 2\)"),
    ("series_id,time,x,label\na,1,1,p\na,0,2,p\n", r"long\.csv, line 3: time 0 of series 'a' comes after time 1 "
                                                   r"\(line 2\); sort each series by time"),
    ("series_id,time,x,label\na,0,1,p\na,1,2,q\n", r"long\.csv, line 3: series 'a' has label 'q' here but 'p' on "
                                                   r"line 2"),
    ("series_id,time,x,label\na,0,1\n", r"long\.csv, line 2: expected 4 fields, got 3"),
    ("series_id,time,x,label\n,0,1,p\n", r"long\.csv, line 2: empty series_id"),
    ("series_id,time,x,label,split\na,0,1,p,dev\n", r"line 2: split must be train or test, got 'dev'"),
    ("series_id,time,x,label\na,t0,1,p\n", r"line 2, column 'time': 't0' is not a number"),
    ("series_id,time,x,label\n", r"long\.csv: no data rows after the header"),
    ("", r"long\.csv, line 1: empty file"),
])
def test_malformed_file_is_one_line_naming_file_line_and_problem(tmp_path, text, message):
    with pytest.raises(DataError, match=message) as err:
        read_long_csv(write(tmp_path, text))
    assert "\n" not in str(err.value)


def test_fill_interpolate_fills_inside_a_series_in_time(tmp_path):
    text = "series_id,time,x,label\na,0,,p\na,1,2,p\na,3,,p\na,4,8,p\n"
    assert read_long_csv(write(tmp_path, text), fill="interpolate").series[0][:, 0].tolist() == [2, 2, 6, 8]


def test_fill_cannot_invent_a_channel_a_series_never_had(tmp_path):
    text = "series_id,time,x,y,label\na,0,1,,p\na,1,2,,p\n"
    with pytest.raises(DataError, match="series 'a' has no value at all in channel 2"):
        read_long_csv(write(tmp_path, text), fill="interpolate")


def test_missing_file_is_named(tmp_path):
    with pytest.raises(DataError, match=r"nope\.csv: no such file"):
        read_long_csv(tmp_path / "nope.csv")

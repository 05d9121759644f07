"""The forecast task's CSV format: good files parse, malformed ones fail with one line naming file and line."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.tasks.forecast.csv_format import read_forecast_input, read_series_csv
from rnnkit.training.errors import DataError


def write(tmp_path, text, name="series.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def monthly(n=6, start=2021):
    return [f"{start + (m // 12)}-{m % 12 + 1:02d}-01" for m in range(n)]


def test_monthly_file_parses_target_covariates_and_season(tmp_path):
    rows = "\n".join(f"{t},{10 + i},{i % 2}" for i, t in enumerate(monthly(6)))
    s = read_series_csv(write(tmp_path, "time,sales,promo\n" + rows + "\n"))
    assert s.target.tolist() == [10, 11, 12, 13, 14, 15]
    assert s.covariate_names == ("promo",) and s.covariates[:, 0].tolist() == [0, 1, 0, 1, 0, 1]
    assert s.season == 12 and s.unit == "M" and s.step == 1
    assert str(s.time[-1]) == "2021-06-01T00:00:00"


def test_target_and_covariates_can_be_named(tmp_path):
    path = write(tmp_path, "when,a,b,c\n1,1,2,3\n2,4,5,6\n3,7,8,9\n")
    s = read_series_csv(path, time_column="when", target="b", covariates=["c"])
    assert s.target.tolist() == [2, 5, 8] and s.covariate_names == ("c",) and s.season == 1


def test_half_hourly_timestamps_infer_a_daily_season(tmp_path):
    rows = "\n".join(f"2024-03-01T{h // 2:02d}:{30 * (h % 2):02d},{h}" for h in range(6))
    s = read_series_csv(write(tmp_path, "time,load\n" + rows))
    assert s.season == 48 and s.unit == "s" and s.step == 1800


def test_month_end_dates_are_monthly(tmp_path):
    s = read_series_csv(write(tmp_path, "time,v\n2021-01-31,1\n2021-02-28,2\n2021-03-31,3\n"))
    assert s.season == 12 and str(s.future_times(2)[1])[:10] == "2021-05-31"


@pytest.mark.parametrize(("text", "message"), [
    ("date,v\n2021-01-01,1\n2021-01-02,2\n", r"series\.csv, line 1: missing time column 'time'"),
    ("time,v\n2021-01-01,1\n2021-01-02,abc\n", r"series\.csv, line 3, column 'v': 'abc' is not a number"),
    ("time,v\n2021-01-02,1\n2021-01-01,2\n", r"series\.csv, line 3: timestamp 2021-01-01 is earlier than the one on "
                                             r"line 2; rows must be sorted"),
    ("time,v\n2021-01-01,1\n2021-01-01,2\n", r"series\.csv, line 3: duplicated timestamp 2021-01-01 "
                                             r"\(also on line 2\)"),
    ("time,v\n2021-01-01,1\n2021-01-02,2\n2021-01-05,3\n", r"series\.csv, line 4: gap of 2 missing step\(s\) after "
                                                           r"line 3 .*--fill interpolate"),
    ("time,v\n2021-01-01,1\n2021-01-02,\n2021-01-03,3\n", r"series\.csv, line 3, column 'v': missing value .*--fill"),
    ("time,v\n2021-01-01,1\n2021-01-02,NaN\n2021-01-03,3\n", r"line 3, column 'v': missing value"),
    ("time,v\n2021-01-01,1\n2021-01-02\n", r"series\.csv, line 3: expected 2 fields, got 1"),
    ("time,v\n31/01/2021,1\n", r"line 2, column 'time': '31/01/2021' is neither an ISO date"),
    ("time,v\n1,1\n2021-01-02,2\n", r"line 3, column 'time': '2021-01-02' is not a number like the rows before"),
    ("time,v\n0,1\n2,2\n5,3\n", r"line 4: irregular spacing: 3 after line 3, not a multiple of the series step 2"),
    ("", r"series\.csv, line 1: empty file"),
    ("time,v\n1,1\n", r"series\.csv: 1 data row\(s\); a series needs at least 2"),
    ("time,v,v\n1,1,1\n", r"line 1: column 'v' appears more than once"),
])
def test_malformed_file_is_one_line_naming_file_line_and_problem(tmp_path, text, message):
    with pytest.raises(DataError, match=message) as err:
        read_series_csv(write(tmp_path, text))
    assert "\n" not in str(err.value)


def test_unknown_target_column_is_named(tmp_path):
    with pytest.raises(DataError, match=r"line 1: no value column 'x' \(value columns: v\)"):
        read_series_csv(write(tmp_path, "time,v\n1,1\n2,2\n"), target="x")


def test_fill_interpolate_repairs_gaps_and_nans(tmp_path):
    path = write(tmp_path, "time,v,c\n2021-01-01,1,0\n2021-01-02,,1\n2021-01-03,3,2\n2021-01-06,6,5\n")
    s = read_series_csv(path, fill="interpolate")
    assert s.target.tolist() == [1, 2, 3, 4, 5, 6]
    assert s.covariates[:, 0].tolist() == [0, 1, 2, 3, 4, 5]
    assert [str(t)[:10] for t in s.time] == [f"2021-01-0{d}" for d in range(1, 7)]


def test_fill_ffill_carries_the_last_value_and_backfills_the_start(tmp_path):
    path = write(tmp_path, "time,v\n1,\n2,2\n3,\n5,5\n")
    assert read_series_csv(path, fill="ffill").target.tolist() == [2, 2, 2, 2, 5]


def test_forecast_input_splits_off_future_covariate_rows(tmp_path):
    path = write(tmp_path, "time,v,temp\n1,10,20\n2,11,21\n3,12,22\n4,,23\n5,,24\n")
    series, future = read_forecast_input(path)
    assert series.target.tolist() == [10, 11, 12] and future.tolist() == [[23], [24]]


def test_forecast_input_rejects_an_interior_missing_target(tmp_path):
    path = write(tmp_path, "time,v\n1,10\n2,\n3,12\n")
    with pytest.raises(DataError, match=r"line 3, column 'v': missing value; only the last rows"):
        read_forecast_input(path)


def test_future_rows_must_follow_without_gaps(tmp_path):
    path = write(tmp_path, "time,v,c\n1,10,0\n2,11,0\n4,,1\n")
    with pytest.raises(DataError, match=r"line 4: .*gap"):
        read_forecast_input(path)
    assert np.isfinite(read_forecast_input(write(tmp_path, "time,v,c\n1,1,0\n2,2,0\n3,,1\n", "ok.csv"))[1]).all()


def test_a_byte_order_mark_from_excel_is_ignored(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufefftime,sales\n1,10\n2,11\n3,12\n".encode())
    s = read_series_csv(path)
    assert s.target.tolist() == [10, 11, 12] and s.target_name == "sales"


def test_a_folder_instead_of_a_file_is_named_as_a_folder(tmp_path):
    with pytest.raises(DataError, match=r": is a folder; expected a CSV file"):
        read_series_csv(tmp_path)


def test_utc_offsets_are_converted_to_utc_and_stay_equally_spaced_across_a_clock_change(tmp_path):
    # Europe/Berlin, 2023-03-26: 02:00 local does not exist; with offsets the hours are still consecutive
    rows = ["2023-03-26T00:00:00+01:00,1", "2023-03-26T01:00:00+01:00,2", "2023-03-26T03:00:00+02:00,3",
            "2023-03-26T04:00:00+02:00,4"]
    s = read_series_csv(write(tmp_path, "time,load\n" + "\n".join(rows) + "\n"))
    assert s.unit == "s" and s.step == 3600 and s.target.tolist() == [1, 2, 3, 4]
    assert str(s.time[0]) == "2023-03-25T23:00:00"


def test_mixing_timestamps_with_and_without_a_utc_offset_is_refused(tmp_path):
    path = write(tmp_path, "time,load\n2023-03-26T00:00:00+01:00,1\n2023-03-26T01:00:00,2\n")
    with pytest.raises(DataError, match=r"line 3, column 'time': .* lacks a UTC offset, unlike the rows before it"):
        read_series_csv(path)

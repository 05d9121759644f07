"""The verdict machinery: how one check compares, and how checks become a verdict."""

from __future__ import annotations

import math

import pytest

from rnnkit.experiments.result import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED, Check, decide


@pytest.mark.parametrize(("value", "op", "limit", "passed"), [
    (0.95, ">=", 0.9, True), (0.9, ">=", 0.9, True), (0.89, ">=", 0.9, False),
    (0.2, "<", 0.45, True), (0.45, "<", 0.45, False), (3, "<=", 3, True), (5, ">", 5, False),
    (math.nan, ">=", 0.0, False), (math.nan, "<", 1.0, False),
    (math.inf, ">", 1e3, True), (math.inf, "<", 1.0, False),
])
def test_check_compares(value, op, limit, passed):
    assert Check("x", value, op, limit).passed is passed


def test_check_rejects_unknown_operator():
    with pytest.raises(ValueError, match="op must be one of"):
        Check("x", 1.0, "==", 1.0)


def test_decide():
    ok, bad = Check("ok", 1, ">=", 0), Check("bad", -1, ">=", 0)
    assert decide([ok], [ok, ok]) == SUPPORTED
    assert decide([], [ok, bad]) == NOT_SUPPORTED
    assert decide([bad], [ok]) == INCONCLUSIVE           # a failed control outranks the tests
    assert decide([bad], [bad]) == INCONCLUSIVE
    with pytest.raises(ValueError, match="at least one test"):
        decide([ok], [])


def test_check_as_dict_is_plain():
    d = Check("acc", 0.5, "<", 0.45).as_dict("test")
    assert d == {"kind": "test", "name": "acc", "value": 0.5, "op": "<", "limit": 0.45, "passed": False}

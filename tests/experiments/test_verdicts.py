"""Each claim's verdict logic on fabricated measurements: it can say supported, and it can fail.

For every claim: one fabricated set of numbers that must be `supported`; for every test check, a variant
that breaks just that check and must be `not_supported`; and a broken control that must be `inconclusive`.
"""

from __future__ import annotations

import copy

import pytest

from rnnkit.experiments.claims import (
    CLAIMS,
    any_length,
    architectures,
    batch_memory,
    deep_rnn,
    future_context,
    gates,
    long_range,
    memory_probe,
    sequential_cost,
    tbptt,
    time_scales,
    vanishing_exploding,
)
from rnnkit.experiments.result import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED


def _geometric(rate: float, n: int = 80) -> list[float]:
    return [rate**d for d in range(n)]


# claim module -> (supported measurements, {label: overrides breaking one test}, overrides breaking a control)
CASES = {
    long_range: (
        {"lags": [10, 100], "accuracy_elman": [1.0, 0.3], "accuracy_lstm": [1.0, 0.97], "accuracy_gru": [1.0, 0.99]},
        {"elman solves the long lag": {"accuracy_elman": [1.0, 0.95]},
         "lstm fails the long lag": {"accuracy_lstm": [1.0, 0.4]},
         "gru fails the long lag": {"accuracy_gru": [1.0, 0.3]}},
        {"accuracy_lstm": [0.5, 0.97]},
    ),
    vanishing_exploding: (
        {"T": 80, "grad_h_gain_0.5": _geometric(0.5), "grad_h_gain_3.0": _geometric(1.3),
         "grad_h_input_0.1": _geometric(0.95), "grad_h_input_5.0": _geometric(0.3), "clip_rescued_fraction": 1.0},
        {"no vanishing": {"grad_h_gain_0.5": _geometric(0.99)},
         "no exploding": {"grad_h_gain_3.0": _geometric(1.0)},
         "saturation harmless": {"grad_h_input_5.0": _geometric(0.95)},
         "clipping does not rescue": {"clip_rescued_fraction": 1 / 3}},
        {"T": 30},
    ),
    gates: (
        {"recall_accuracy": 1.0, "lm_heldout_loss": 2.0, "unigram_entropy": 3.0, "lag": 40,
         "c_over_h_at_marker": 1e6, "i_gate_switching_fraction": 0.4, "f_gate_switching_fraction": 0.3,
         "o_gate_switching_fraction": 0.9, "trace_max_abs_diff_rnnkit": 1e-16},
        {"h path as strong as c": {"c_over_h_at_marker": 2.0},
         "input gates never switch": {"i_gate_switching_fraction": 0.1},
         "forget gates never switch": {"f_gate_switching_fraction": 0.0},
         "output gates never switch": {"o_gate_switching_fraction": 0.2},
         "trace disagrees": {"trace_max_abs_diff_rnnkit": 1e-3}},
        {"recall_accuracy": 0.3},
    ),
    time_scales: (
        {"normalised_mse_mean": 0.01, "spread_trained": 12.0, "spread_init": 1.2, "slowest_tau_trained": 40.0},
        {"narrow spread": {"spread_trained": 3.0},
         "spread unchanged by training": {"spread_init": 8.0},
         "no slow unit": {"slowest_tau_trained": 10.0}},
        {"normalised_mse_mean": 0.9},
    ),
    memory_probe: (
        {"ks": [0, 1, 2, 3, 12], "accuracy_elman": [1.0, 1.0, 0.9, 0.7, 0.26],
         "accuracy_lstm": [1.0, 0.9, 0.7, 0.5, 0.25], "accuracy_gru": [1.0, 0.95, 0.8, 0.6, 0.27],
         "accuracy_no_recurrence": [1.0, 0.25, 0.26, 0.24, 0.25]},
        {"elman forgets at once": {"accuracy_elman": [1.0, 0.3, 0.25, 0.25, 0.25]},
         "lstm forgets at once": {"accuracy_lstm": [1.0, 0.4, 0.3, 0.25, 0.25]},
         "gru forgets at once": {"accuracy_gru": [0.9, 0.5, 0.4, 0.25, 0.25]},
         "elman never forgets": {"accuracy_elman": [1.0, 1.0, 1.0, 1.0, 0.99]},
         "lstm never forgets": {"accuracy_lstm": [1.0, 1.0, 1.0, 1.0, 0.7]},
         "gru never forgets": {"accuracy_gru": [1.0, 1.0, 1.0, 1.0, 1.0]}},
        {"accuracy_no_recurrence": [1.0, 0.9, 0.5, 0.3, 0.25]},
    ),
    any_length: (
        {"longest_stream": 100_000, "stream_rss_growth_bytes": 2.0e5, "lstm_params": [4864] * 6,
         "stream_final_state_finite": True, "sharing_max_rel_diff": 1e-16, "step_vs_forward_max_diff": 1e-7},
        {"params grow": {"lstm_params": [4864, 4864, 5000, 4864, 4864, 4864]},
         "memory grows": {"stream_rss_growth_bytes": 80e6},
         "state blew up": {"stream_final_state_finite": False},
         "weights not shared": {"sharing_max_rel_diff": 0.3},
         "step differs": {"step_vs_forward_max_diff": 1e-2}},
        {"longest_stream": 1000},
    ),
    sequential_cost: (
        {"scan_max_abs_diff": 1e-15, "lstm_linear_r2": 0.999, "lstm_growth": 15.0, "length_growth": 16.0,
         "lstm_over_conv_longest": 40.0, "loop_over_scan_longest": 8.0},
        {"not linear": {"lstm_linear_r2": 0.7},
         "flat in length": {"lstm_growth": 2.0},
         "as fast as conv": {"lstm_over_conv_longest": 1.7},
         "scan no faster": {"loop_over_scan_longest": 0.9}},
        {"scan_max_abs_diff": 1e-3},
    ),
    future_context: (
        {"shift": 2, "accuracy_future_unidirectional": 0.25, "accuracy_future_bidirectional": 1.0,
         "accuracy_past_unidirectional": 1.0, "accuracy_past_bidirectional": 1.0},
        {"unidirectional sees the future": {"accuracy_future_unidirectional": 0.8},
         "bidirectional fails": {"accuracy_future_bidirectional": 0.5}},
        {"accuracy_past_unidirectional": 0.3},
    ),
    batch_memory: (
        {"peak_bytes": [3e6, 6e6, 1.1e7, 2.2e7, 4.4e7], "peak_linear_r2": 1.0, "peak_growth": 14.4,
         "activation_share_of_growth": 0.62, "param_grad_bytes": [3.3e5] * 5},
        {"not linear": {"peak_linear_r2": 0.5},
         "flat": {"peak_growth": 1.1},
         "activations minor": {"activation_share_of_growth": 0.1},
         "grads grow": {"param_grad_bytes": [3.3e5, 3.3e5, 3.3e5, 3.3e5, 6.6e5]}},
        {"peak_bytes": [0.0, 6e6, 1.1e7, 2.2e7, 4.4e7]},
    ),
    tbptt: (
        {"lags": [10, 40], "learn_window": 20, "accuracy_bptt_lag10": 1.0, "accuracy_bptt_lag40": 1.0,
         "accuracy_tbptt_lag10": 1.0, "accuracy_tbptt_lag40": 0.3, "length_growth": 8.0,
         "bptt_memory_growth": 7.7, "tbptt_memory_growth": 1.0, "bptt_time_growth": 6.3, "tbptt_time_growth": 0.95},
        {"bptt memory flat": {"bptt_memory_growth": 2.0},
         "tbptt memory grows": {"tbptt_memory_growth": 8.0},
         "bptt time flat": {"bptt_time_growth": 1.5},
         "tbptt time grows": {"tbptt_time_growth": 7.0},
         "tbptt fails inside its window": {"accuracy_tbptt_lag10": 0.5},
         "tbptt learns beyond its window": {"accuracy_tbptt_lag40": 0.99}},
        {"accuracy_bptt_lag40": 0.3},
    ),
    deep_rnn: (
        {"depths": [1, 2, 4, 8], "ratio_plain": 0.04, "ratio_residual": 2.6, "ratio_large_init": 1200.0},
        {"plain keeps its gradient": {"ratio_plain": 0.8},
         "residual loses it": {"ratio_residual": 0.01},
         "large init does not explode": {"ratio_large_init": 2.0}},
        {"depths": [1, 2]},
    ),
    architectures: (
        {"many_to_one_accuracy": 0.94, "one_to_many_exact": 0.97, "many_to_many_accuracy": 0.96,
         "many_to_many_majority_baseline": 0.68},
        {"many-to-one fails": {"many_to_one_accuracy": 0.4},
         "one-to-many fails": {"one_to_many_exact": 0.2},
         "many-to-many fails": {"many_to_many_accuracy": 0.7},
         "many-to-many only the majority": {"many_to_many_accuracy": 0.91, "many_to_many_majority_baseline": 0.9}},
        None,                                   # no controls: the three examples stand on their own
    ),
}


def _with(base: dict, overrides: dict) -> dict:
    m = copy.deepcopy(base)
    m.update(copy.deepcopy(overrides))
    return m


def test_every_claim_has_cases():
    assert set(CASES) == set(CLAIMS)
    assert len(CLAIMS) == 12
    assert len({c.ID for c in CLAIMS}) == 12


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.ID)
def test_claim_module_interface(claim):
    for name in ("ID", "TITLE", "STATEMENT", "METHOD", "THRESHOLD", "CONFIG"):
        assert getattr(claim, name), f"{claim.ID} lacks {name}"
    assert set(claim.CONFIG) == {True, False}, "CONFIG maps quick=True/False to sizes"
    for name in ("run", "checks", "verdict"):
        assert callable(getattr(claim, name))


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.ID)
def test_supported_case(claim):
    good = CASES[claim][0]
    controls, tests = claim.checks(good)
    assert tests, "a verdict needs tests"
    assert all(c.passed for c in controls + tests), [c for c in controls + tests if not c.passed]
    assert claim.verdict(good) == SUPPORTED


CASE_BREAKS = [(c, label) for c in CLAIMS for label in CASES[c][1]]


@pytest.mark.parametrize(("claim", "label"), CASE_BREAKS, ids=lambda v: v if isinstance(v, str) else v.ID)
def test_unsupported_case(claim, label):
    good, breaks, _ = CASES[claim]
    assert claim.verdict(_with(good, breaks[label])) == NOT_SUPPORTED


def test_every_test_check_can_fail():
    """Each test check of each claim is broken by at least one fabricated case above."""
    for claim in CLAIMS:
        good, breaks, _ = CASES[claim]
        names = [t.name for t in claim.checks(good)[1]]
        failing = set()
        for overrides in breaks.values():
            failing |= {t.name for t in claim.checks(_with(good, overrides))[1] if not t.passed}
        assert set(names) <= failing, f"{claim.ID}: no case fails {set(names) - failing}"


@pytest.mark.parametrize("claim", [c for c in CLAIMS if CASES[c][2] is not None], ids=lambda c: c.ID)
def test_failed_control_is_inconclusive(claim):
    good, breaks, control = CASES[claim]
    assert claim.verdict(_with(good, control)) == INCONCLUSIVE
    first_break = next(iter(breaks.values()))          # a failed control outranks a failed test
    assert claim.verdict(_with(_with(good, first_break), control)) == INCONCLUSIVE


def test_thresholds_are_plain_numbers():
    for claim in CLAIMS:
        for key, value in claim.THRESHOLD.items():
            assert isinstance(value, (int, float)) and not isinstance(value, bool), (claim.ID, key)

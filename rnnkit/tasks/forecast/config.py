"""The forecast task's options (flags `--name`, or the `[forecast]` table of a TOML file) and the sizes they
resolve to for a given series.

Settings left unset take the embedded series' presets (`PRESETS`), or for a user CSV the direct strategy
and sizes from a rule on its season m:
horizon = m (2 <= m <= 96) else 12; context = 2 * max(horizon, m) capped at 336; test part = 3 horizons
or a fifth of the series, whichever is longer; validation part = 2 horizons; one origin every step
unless that gives more than 50.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rnnkit.tasks.base import TaskConfig
from rnnkit.tasks.forecast.baselines import NAMES as BASELINES
from rnnkit.tasks.forecast.csv_format import FILLS
from rnnkit.tasks.forecast.data import EMBEDDED
from rnnkit.tasks.forecast.model import DISTRIBUTIONS, STRATEGIES
from rnnkit.tasks.forecast.scaling import TRANSFORMS
from rnnkit.training.config import option
from rnnkit.training.errors import ConfigError

# Per embedded series: strategy, horizon, context, test, valid, origin step, window step, classical history.
PRESETS = {
    "airline": {"strategy": "autoregressive", "horizon": 12, "context": 24, "test_size": 36, "valid_size": 24,
                "origin_step": 1, "window_step": 1, "classical_history": None},
    "elecdemand": {"strategy": "direct", "horizon": 48, "context": 96, "test_size": 28 * 48, "valid_size": 14 * 48,
                   "origin_step": 48, "window_step": 24, "classical_history": 14 * 48},
}


@dataclass
class ForecastConfig(TaskConfig):
    hidden: int = option(64, "hidden units per recurrent layer", low=1)
    data: str = option("airline", f"an embedded series ({', '.join(EMBEDDED)}) or a CSV file with a time column "
                       "and value columns", metavar="NAME|PATH")
    time_column: str = option("time", "CSV: the name of the time column", metavar="NAME")
    target: str | None = option(None, "CSV: the column to forecast (default: the first value column)",
                                metavar="NAME")
    covariates: str | None = option(None, "CSV: comma-separated covariate columns, known over the horizon "
                                    "(default: every other value column; '' for none)", metavar="A,B")
    fill: str = option("none", "CSV repair: fill gaps and NaN cells by linear interpolation or by carrying the "
                       "last value forward; none rejects them", choices=FILLS)
    season: int | None = option(None, "steps per seasonal cycle (default: from the time step, e.g. 12 for "
                                "monthly data, 48 for half-hourly)", low=1)
    transform: str = option("auto", "target transform before standardising: log (for multiplicative "
                            "seasonality), none, or auto = log when every value is positive", choices=TRANSFORMS)
    horizon: int | None = option(None, "steps to forecast from each origin (default: airline 12, elecdemand 48, "
                                "CSV: the season, or 12)", low=1)
    context: int | None = option(None, "steps of history the networks read (default: airline 24, elecdemand 96, "
                                "CSV: 2 x max(horizon, season), at most 336)", low=2)
    test_size: int | None = option(None, "last steps held out for the rolling-origin test backtest (default: "
                                  "airline 36, elecdemand 28 days, CSV: max(3 horizons, a fifth))", low=1)
    valid_size: int | None = option(None, "steps before the test part held out to pick the best epoch "
                                   "(default: airline 24, elecdemand 14 days, CSV: 2 horizons)", low=1)
    origin_step: int | None = option(None, "steps between backtest origins (default: airline 1, elecdemand 48, CSV: "
                                    "1, or wider to keep <= 50 origins)", low=1)
    window_step: int | None = option(None, "steps between training windows (default: 1; elecdemand 24)", low=1)
    strategy: str | None = option(None, "direct: one many-to-one pass emits all H steps; autoregressive: a "
                                  "many-to-many model rolled out step by step, sampled values fed back (default: "
                                  "autoregressive for airline, direct for elecdemand and CSV files)",
                                  choices=STRATEGIES)
    distribution: str = option("gaussian", "output head: gaussian (mean and scale, NLL loss) or quantile "
                               "(pinball loss; direct strategy only)", choices=DISTRIBUTIONS)
    interval: float = option(0.8, "central prediction interval whose coverage is reported", low=0.0, high=0.99,
                             low_open=True)
    calibrate: str = option("widen", "rescale the network's interval to cover --interval of the validation backtest "
                            "(split conformal) for the test metrics, plots and predict: widen (only ever widen it), "
                            "conformal (widen or narrow), none", choices=("widen", "conformal", "none"))
    samples: int = option(200, "autoregressive: sample paths per forecast", low=10)
    baselines: str = option(",".join(BASELINES), "classical baselines measured in the same run, comma-separated",
                            metavar="LIST")
    classical_history: int | None = option(None, "at most this many steps before an origin for ETS/ARIMA "
                                           "(default: all; preset for long series)", low=10)

    def validate(self) -> None:
        if self.data not in EMBEDDED:
            self.data = str(Path(self.data).expanduser().resolve())   # the saved config works from anywhere
        if self.strategy is None:
            self.strategy = PRESETS.get(self.data, {}).get("strategy", "direct")
        if self.strategy == "autoregressive" and self.distribution != "gaussian":
            raise ConfigError("--strategy autoregressive needs --distribution gaussian: its rollout samples "
                              "values to feed back; use --strategy direct for quantile heads")
        unknown = [b for b in self.baseline_names if b not in BASELINES]
        if unknown:
            raise ConfigError(f"unknown baseline {unknown[0]!r}; choose from {', '.join(BASELINES)}")
        if self.data in EMBEDDED and (self.target or self.covariates is not None or self.fill != "none"):
            raise ConfigError("--target, --covariates and --fill describe a CSV file; pass --data FILE.csv as well")

    @property
    def baseline_names(self) -> tuple[str, ...]:
        return tuple(b.strip() for b in self.baselines.split(",") if b.strip())

    @property
    def covariate_list(self) -> list[str] | None:
        if self.covariates is None:
            return None
        return [c.strip() for c in self.covariates.split(",") if c.strip()]


@dataclass(frozen=True)
class Plan:
    """Concrete sizes for one series: where the parts start and how windows and origins are laid out."""

    horizon: int
    context: int
    n_fit: int              # training windows and the scaler use steps [0, n_fit)
    n_train: int            # validation part [n_fit, n_train); test part [n_train, N)
    origin_step: int
    window_step: int
    classical_history: int | None


def plan(cfg: ForecastConfig, n: int, season: int) -> Plan:
    """Resolve the unset sizes (see the module docstring) and check that the series is long enough."""
    preset = PRESETS.get(cfg.data, {})
    horizon = cfg.horizon or preset.get("horizon") or (season if 2 <= season <= 96 else 12)
    context = cfg.context or preset.get("context") or min(2 * max(horizon, season), 336)
    test = cfg.test_size or preset.get("test_size") or max(3 * horizon, n // 5)
    valid = cfg.valid_size or preset.get("valid_size") or 2 * horizon
    origin_step = cfg.origin_step or preset.get("origin_step") or max(1, -(-(test - horizon + 1) // 50))  # <= 50
    window_step = cfg.window_step or preset.get("window_step") or 1
    history = cfg.classical_history or preset.get("classical_history")
    n_train, n_fit = n - test, n - test - valid
    if test < horizon or valid < horizon:
        raise ConfigError(f"test_size ({test}) and valid_size ({valid}) must each hold at least one horizon "
                          f"({horizon} steps) of the series' {n} steps; lower --horizon or raise the sizes")
    need = context + horizon + valid + test
    if n_fit - horizon < context:
        season_hint = f", or --season (now {season}, which sets the defaults)" if season > 1 and not cfg.horizon \
            else ""
        raise ConfigError(f"the series has {n} steps, too few for context {context} + horizon {horizon} of "
                          f"training windows plus valid {valid} + test {test} steps (needs >= {need}); "
                          f"lower --context, --horizon, --valid-size or --test-size{season_hint}")
    return Plan(horizon, context, n_fit, n_train, origin_step, window_step, history)

"""The `forecast` task: multi-step probabilistic forecasting with rolling-origin backtests (see `task`)."""

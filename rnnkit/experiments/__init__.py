"""Experiments behind `rnnkit verify`: every claim about recurrent networks tested, with figures and verdicts.

Layout: `claims/` holds one module per claim; `result` defines what an experiment returns and how a
verdict follows from thresholds; `common`, `tasks`, `measure` and `gradients` are the shared tools;
`runner` runs claims, `report` writes the HTML and JSON, `cli` is the command line.
"""

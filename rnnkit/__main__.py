"""`python -m rnnkit ...` runs the `rnnkit` command line."""

from rnnkit.cli.main import main

raise SystemExit(main())

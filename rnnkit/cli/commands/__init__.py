"""One module per subcommand, each with `add_parser(subparsers, task)` and `run(args) -> exit code`."""

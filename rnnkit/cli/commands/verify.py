"""`rnnkit verify`: test the course's claims about RNNs by experiment (see `rnnkit.experiments`)."""

from __future__ import annotations

import argparse


def add_parser(sub, task) -> None:
    from rnnkit.experiments import cli

    p = sub.add_parser("verify", help="test the course's claims about RNNs; writes an HTML report",
                       description=cli.__doc__.splitlines()[0], epilog=cli.EPILOG)
    cli.add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rnnkit.experiments import cli

    return cli.execute(args)

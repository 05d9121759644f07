"""`rnnkit` entry point: builds the argparse tree, runs a subcommand, turns user errors into one line.

Exit codes: 0 success; 2 a problem with the options, the data or a checkpoint (one line on stderr);
3 a non-finite loss, gradient or weight stopped training; 128 + N after signal N (130 for SIGINT,
143 for SIGTERM) once the checkpoint is saved. `--debug` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import os
import sys

import rnnkit
from rnnkit.cli.commands import bench, evaluate, info, predict, train, verify
from rnnkit.cli.runs import task_ref
from rnnkit.training import distributed
from rnnkit.training.errors import NonFiniteError, RnnkitError, TrainingInterrupted

EPILOG = """examples:
  rnnkit train --task charlm --quick
  rnnkit train --task charlm --data corpus.txt --bptt tbptt --k1 32 --k2 64 --out runs/mine
  rnnkit evaluate --checkpoint runs/mine
  rnnkit generate --checkpoint runs/mine --prompt "ROMEO:" --temperature 0.7 --top-k 20
  rnnkit info --task charlm --cell gru --hidden 512
  rnnkit verify --quick --out reports/verify
  rnnkit bench --quick

`rnnkit COMMAND --help` explains every option; add --task NAME to see a task's own options."""


class Parser(argparse.ArgumentParser):
    """Errors as one line (no usage dump), pointing at --help."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(task=None) -> Parser:
    parser = Parser(prog="rnnkit", description="rnnkit: recurrent networks from their equations - train, "
                    "evaluate and use them from the command line.", epilog=EPILOG,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"rnnkit {rnnkit.__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks instead of one-line errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    train.add_parser(sub, task)
    evaluate.add_parser(sub, task)
    predict.add_parsers(sub, task)
    info.add_parser(sub, task)
    bench.add_parser(sub, task)
    verify.add_parser(sub, task)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    try:
        if argv and argv[0] == "bench":
            return bench.run(argv[1:])
        args = build_parser(_peek_task(argv)).parse_args(argv)
        return args.func(args)
    except SystemExit as e:          # argparse: --help, --version, or a one-line usage error
        if isinstance(e.code, str):  # a message of its own (rnnkit bench's checks): print it, as Python would
            print(f"rnnkit: error: {e.code}", file=sys.stderr)
        return e.code if isinstance(e.code, int) else 0 if e.code is None else 2
    except TrainingInterrupted as e:
        print(f"rnnkit: {e}", file=sys.stderr)
        return 128 + e.signal_number
    except (RnnkitError, OSError) as e:
        if debug:
            raise
        rank = os.environ.get("RANK", "0") if "LOCAL_RANK" in os.environ else "0"   # under torchrun
        print(f"rnnkit: error{'' if rank == '0' else f' (rank {rank})'}: {_one_line(e)}", file=sys.stderr)
        return 3 if isinstance(e, NonFiniteError) else 2
    except KeyboardInterrupt:
        if debug:
            raise
        print("rnnkit: interrupted", file=sys.stderr)
        return 130
    finally:   # under torchrun, after the error line: torchrun stops the other ranks once this one exits
        distributed.shutdown()


def _peek_task(argv: list[str]):
    """The task named by --task (or a --config file) for `train`/`info`, so its options join the parser."""
    if not argv or argv[0] not in ("train", "info"):
        return None
    name = _value(argv, "--task")
    if name is None and _value(argv, "--config"):
        from rnnkit.cli.options import read_toml

        name = read_toml(_value(argv, "--config")).get("task")   # a bad file: its error, not argparse's
    if name is None and "--resume" in argv and _value(argv, "--out"):
        import json
        from pathlib import Path

        try:
            name = task_ref(json.loads((Path(_value(argv, "--out")) / "config.json").read_text(encoding="utf-8")))
        except (OSError, ValueError, AttributeError):
            return None
    if not isinstance(name, str):
        return None
    from rnnkit.tasks import get_task

    return get_task(name)      # an unknown task: its error now, before argparse rejects the task's flags


def _value(argv: list[str], option: str) -> str | None:
    for i, a in enumerate(argv):
        if a == option and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith(option + "="):
            return a.split("=", 1)[1]
    return None


def _one_line(e: BaseException) -> str:
    text = str(e) if not isinstance(e, OSError) or not e.filename else f"{e.filename}: {e.strerror}"
    return " ".join(text.split()) or type(e).__name__


if __name__ == "__main__":
    raise SystemExit(main())

"""`rnnkit predict` (one JSON result per input) and `rnnkit generate` (sample a sequence) from a checkpoint."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rnnkit.cli.runs import load_trained, set_threads
from rnnkit.tasks.textfiles import read_text
from rnnkit.training.errors import ConfigError

PREDICT_DESCRIPTION = """\
Apply a trained model to each input and print one JSON object per line.

What an input is, and what comes out, per task:
  charlm     a text: its bits per character and the likeliest next characters
  sentiment  a text: the label and every class's probability
  translate  a source sentence: the beam-search translation and its log-probability
  forecast   a CSV in the training format (with covariates: its last horizon rows leave the
             target empty), or an embedded series name: the next horizon steps with intervals
  seqclass   a CSV in the training format (labels optional): each series' class and probabilities
  caption    an image file: the greedy and the beam-search caption
  video      a clip as a .npy array (frames, height, width[, channels]): its class and probabilities
  asr        a WAV file: the transcript"""


def add_parsers(sub, task) -> None:
    p = sub.add_parser("predict", help="apply a trained model to inputs (JSON lines out)",
                       description=PREDICT_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(p)
    p.add_argument("--input", action="append", default=[], metavar="TEXT", help="an input (repeatable)")
    p.add_argument("--input-file", type=Path, metavar="FILE",
                   help="inputs, one per line ('-' reads standard input)")
    p.set_defaults(func=run_predict)

    g = sub.add_parser("generate", help="sample a sequence from a trained generative model",
                       description="Sample from a trained sequence model (charlm: characters after a prompt).")
    _common(g)
    g.add_argument("--prompt", default="", help="text to start from (default: a newline)")
    g.add_argument("--length", type=int, default=500, metavar="N", help="symbols to generate (default: 500)")
    g.add_argument("--temperature", type=float, default=0.8, metavar="T",
                   help="divide the logits by T: < 1 is more conservative, 0 is greedy (default: 0.8)")
    g.add_argument("--top-k", type=int, default=0, metavar="K",
                   help="sample only among the K likeliest symbols; 0 keeps all (default: 0)")
    g.add_argument("--seed", type=int, default=0, help="sampling seed (default: 0)")
    g.set_defaults(func=run_generate)


def _common(p) -> None:
    p.add_argument("--checkpoint", type=Path, required=True, metavar="DIR",
                   help="a run folder (uses checkpoints/best, else last) or a checkpoint folder")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default: auto)")
    p.add_argument("--threads", type=int, metavar="N", help="torch CPU threads")


def run_predict(args: argparse.Namespace) -> int:
    inputs = list(args.input)
    if args.input_file is not None:
        text = sys.stdin.read() if str(args.input_file) == "-" else read_text(args.input_file)
        inputs.extend(line for line in text.splitlines() if line)
    if not inputs:
        raise ConfigError("nothing to predict: pass --input TEXT or --input-file FILE")
    set_threads(args.threads)
    t = load_trained(args.checkpoint, args.device)
    for result in t.task.predict(t.model, t.meta, inputs):
        print(json.dumps(result, ensure_ascii=False))
    return 0


def run_generate(args: argparse.Namespace) -> int:
    set_threads(args.threads)
    t = load_trained(args.checkpoint, args.device)
    if not hasattr(t.task, "generate"):
        raise ConfigError(f"task {t.task.name} does not generate sequences; use rnnkit predict")
    print(t.task.generate(t.model, t.meta, prompt=args.prompt, length=args.length, temperature=args.temperature,
                          top_k=args.top_k, seed=args.seed))
    return 0

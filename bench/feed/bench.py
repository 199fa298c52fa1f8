"""bench/feed — the personal mix on the Elm study's six accounts (../shared/data/seed-tweets), not a
test: trains configs/seed-accounts.ini with [train] condition = account (sizes overridable), then
generates, per account, N texts conditioned on it and N unconditioned ones, runs elm validate's
account classifier on them and prints, per account, the share of its conditioned texts attributed
to it against the unconditioned texts' share and the real-tweet ceiling, as a table.

    python3 bench/feed/bench.py --elm build/elm --out /tmp/feedbench [--n 300] [--set KEY=VALUE ...]

The defaults are the config's own (GPT-2 355M-sized, meant for a GPU; mix generation itself runs on
the CPU, docs/feed.md). Pass e.g. --set model.init=/abs/models/gpt2-medium to fine-tune GPT-2,
or shrink with --set model.preset=custom --set model.n_layer=4 ... for a CPU trial."""
import argparse
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CFG = os.path.join(HERE, "..", "..", "configs", "seed-accounts.ini")


def elm(args, *cmd):
    sets = []
    for kv in ["run.out_dir=" + args.out, "train.condition=account"] + args.set:
        sets += ["--set", kv]
    p = subprocess.run([args.elm, *cmd, CFG, *sets], text=True, capture_output=True)
    if p.returncode:
        sys.exit(f"elm {' '.join(cmd)} failed: {p.stderr.strip()}")
    return p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--elm", default="elm")
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=300, help="texts per account, and unconditioned")
    ap.add_argument("--set", action="append", default=[])
    args = ap.parse_args()
    for stage in ("ingest", "clean", "tokenize", "train"):
        elm(args, stage)
    run = os.path.join(args.out, "seed-accounts")
    accounts = list(json.load(open(os.path.join(run, "tokens.json")))["accounts"])
    gdir = os.path.join(args.out, "feed-bench-generated")
    shutil.rmtree(gdir, ignore_errors=True)
    os.makedirs(gdir)
    out = os.path.join(run, "generated", "tweets.jsonl")
    mix = ", ".join(f"{a}:1" for a in accounts)
    for name, extra in (("cond", [f"generate.accounts={mix}", f"generate.count={args.n * len(accounts)}"]),
                        ("none", ["generate.accounts=", f"generate.count={args.n}"])):
        elm(args, "generate", *[x for e in extra + ["generate.device=cpu"] for x in ("--set", e)])
        shutil.copy(out, os.path.join(gdir, name + ".jsonl"))
    elm(args, "validate", "--set", f"validate.generated={gdir}", "--set", "validate.models=nb",
        "--set", "validate.grid.n_estimators=", "--set", "validate.grid.criterion=",
        "--set", "validate.grid.max_depth=", "--set", "validate.grid.min_samples_split=",
        "--set", "validate.grid.min_samples_leaf=", "--set", "validate.grid.max_features=",
        "--set", "validate.grid.bootstrap=")
    attr = json.load(open(os.path.join(run, "validate", "metrics.json")))["attribution"]
    gen, real = attr["generated"], attr["real"]
    print(f"real-tweet ceiling (held-out accuracy): {real['accuracy']:.3f}")
    print(f"{'account':<14}{'real recall':>12}{'conditioned':>13}{'unconditioned':>15}{'ratio':>8}")
    for a in accounts:
        asked, base = gen[a]["share_asked"], gen["none"]["attributed"][a]
        print(f"{a:<14}{real['recall'][a]:>12.3f}{asked:>13.3f}{base:>15.3f}"
              f"{asked / base if base else float('inf'):>8.2f}")


if __name__ == "__main__":
    main()

"""bench/feed/header_loss.py — [train] header_loss = on vs off, measured (not a test): the demo
corpus (configs/demo.ini, three accounts), the small model of tests/generate/test_mix.py trained
twice from the same seed, then per setting N account-conditioned texts (an even mix) and N
unconditioned ones, and elm validate's account classifier on them. Prints, per account, the share
of its conditioned texts attributed to it, the unconditioned texts' share, and the final
validation loss (text tokens only under both settings).

    python3 bench/feed/header_loss.py --elm build/elm --out /tmp/hl [--n 150] [--steps 1000]"""
import argparse
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEMO = os.path.join(HERE, "..", "..", "configs", "demo.ini")
ACCOUNTS = ["ada_bakes", "coach_rivera", "orbit_otto"]


def elm(args, out, *cmd):
    p = subprocess.run([args.elm, cmd[0], DEMO, "--set", f"run.out_dir={out}", "--quiet", *cmd[1:]],
                       text=True, capture_output=True)
    if p.returncode:
        sys.exit(f"elm {cmd[0]} failed: {p.stderr.strip()}")


def measure(args, setting):
    out = os.path.join(args.out, setting)
    shutil.rmtree(out, ignore_errors=True)
    train = ["--set", "train.condition=account", "--set", f"train.header_loss={setting}",
             "--set", f"train.eval_every={args.steps}", "--set", "train.checkpoint_every=0",
             "--set", f"train.steps={args.steps}", "--set", "train.lr=5e-3",
             "--set", "train.min_lr=5e-4", "--set", "model.n_layer=2", "--set", "model.n_embd=64",
             "--set", "model.n_head=2", "--set", "train.device=cpu"]
    for stage in ("ingest", "clean", "tokenize", "train"):
        elm(args, out, stage, *train)
    run = os.path.join(out, "demo")
    gdir = os.path.join(out, "attr")
    os.makedirs(gdir)
    gen = train + ["--set", "generate.temperature=0.6", "--set", f"generate.count={args.n}",
                   "--set", "generate.max_new_tokens=24", "--set", "generate.device=cpu"]
    even = "generate.accounts=" + ", ".join(f"{a}:1" for a in ACCOUNTS)
    for name, extra in (("cond", [even, "generate.seed=7"]), ("none", ["generate.accounts=", "generate.seed=8"])):
        elm(args, out, "generate", *gen, *[x for e in extra for x in ("--set", e)])
        shutil.copy(os.path.join(run, "generated", "tweets.jsonl"), os.path.join(gdir, name + ".jsonl"))
    elm(args, out, "validate", *gen, "--set", f"validate.generated={gdir}", "--set", "validate.models=nb",
        "--set", "validate.grid.n_estimators=", "--set", "validate.grid.criterion=",
        "--set", "validate.grid.min_samples_leaf=")
    attr = json.load(open(os.path.join(run, "validate", "metrics.json")))["attribution"]
    log = [json.loads(l) for l in open(os.path.join(run, "train_log.jsonl"))]
    val = [r["val_loss"] for r in log if "val_loss" in r]
    return attr, (val[-1] if val else float("nan"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--elm", default="elm")
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=150)
    ap.add_argument("--steps", type=int, default=1000)
    args = ap.parse_args()
    rows = {s: measure(args, s) for s in ("on", "off")}
    print(f"{'header_loss':<12}{'account':<14}{'conditioned':>12}{'unconditioned':>15}{'ratio':>8}")
    for s, (attr, val) in rows.items():
        g = attr["generated"]
        for a in ACCOUNTS:
            asked, base = g[a]["share_asked"], g["none"]["attributed"][a]
            print(f"{s:<12}{a:<14}{asked:>12.3f}{base:>15.3f}"
                  f"{asked / base if base else float('inf'):>8.2f}")
        print(f"{s:<12}ceiling {attr['real']['accuracy']:.3f}, final val loss {val:.4f}")


if __name__ == "__main__":
    main()

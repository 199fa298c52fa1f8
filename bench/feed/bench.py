"""bench/feed — the personal mix on the Elm study's six accounts (../shared/data/seed-tweets), not a
test: trains configs/seed-accounts.ini with [train] condition = account+topic (topicfit's LDA
names the topics; sizes overridable), then generates N texts conditioned on each account, N
conditioned on each topic and N unconditioned ones. It prints two tables: per account, the share
of its conditioned texts elm validate's account classifier attributes to it against the
unconditioned texts' share and the real-tweet ceiling; per topic, the share of its conditioned
texts whose dominant topic under topicfit's LDA is that topic (elm topics' "conditioning")
against the unconditioned texts' share (the base rate).

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
    for kv in ["run.out_dir=" + args.out, "train.condition=account+topic"] + args.set:
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
    for stage in ("ingest", "clean", "topicfit", "tokenize", "train"):
        elm(args, stage)
    run = os.path.join(args.out, "seed-accounts")
    tokens = json.load(open(os.path.join(run, "tokens.json")))
    accounts, topics = list(tokens["accounts"]), list(tokens["topics"])
    gdir = os.path.join(args.out, "feed-bench-generated")
    shutil.rmtree(gdir, ignore_errors=True)
    os.makedirs(gdir)
    out = os.path.join(run, "generated", "tweets.jsonl")
    tdir = os.path.join(args.out, "feed-bench-topics")
    shutil.rmtree(tdir, ignore_errors=True)
    os.makedirs(tdir)
    mix = ", ".join(f"{a}:1" for a in accounts)
    tmix = ", ".join(f"{t}:1" for t in topics)
    for name, extra, dirs in (
            ("cond", [f"generate.accounts={mix}", f"generate.count={args.n * len(accounts)}"], [gdir]),
            ("topic", ["generate.accounts=", f"generate.topics={tmix}",
                       f"generate.count={args.n * len(topics)}"], [tdir]),
            ("none", ["generate.accounts=", f"generate.count={args.n}"], [gdir, tdir])):
        elm(args, "generate", *[x for e in extra + ["generate.device=cpu"] for x in ("--set", e)])
        for d in dirs:
            shutil.copy(out, os.path.join(d, name + ".jsonl"))
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
    elm(args, "topics", "--set", f"topics.generated={tdir}", "--set", "topics.sweep.k=",
        "--set", "topics.sweep.alpha=", "--set", "topics.sweep.beta=")
    cond = json.load(open(os.path.join(run, "topics", "topics.json")))["conditioning"]
    fit = {t["name"]: t for t in json.load(open(os.path.join(run, "topicfit", "topicfit.json")))["topics"]}
    print(f"topic hit rate (dominant topic under topicfit's LDA = the one asked for): "
          f"{cond['hit_rate']:.3f} vs base rate {cond['base_rate']:.3f} "
          f"({cond['conditioned']} conditioned, {cond['unconditioned']} unconditioned texts)")
    print(f"{'topic':<14}{'top words':<40}{'asked':>7}{'hit rate':>10}{'base rate':>11}{'ratio':>8}")
    for t in cond["topics"]:
        hit, base = t.get("hit_rate", 0.0), t["base_rate"]
        words = ", ".join(fit[t["name"]]["words"][:5])
        print(f"{t['name']:<14}{words:<40}{t['asked']:>7}{hit:>10.3f}{base:>11.3f}"
              f"{hit / base if base else float('inf'):>8.2f}")


if __name__ == "__main__":
    main()

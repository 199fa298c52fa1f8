"""Bad input to `elm validate` / `elm topics`: one class only, empty documents, a vocabulary
emptied by min_df, k larger than the vocabulary, grid values out of range, bad labels, a missing
column -> a one-line error naming the file/key, a non-zero exit and no output file."""
import os

from elmtest import Checks, run_elm, tmpdir, write

c = Checks()
d = tmpdir("elm-eval-bad-")

real = write(os.path.join(d, "real.jsonl"), "".join(
    f'{{"text": "real tweet number {i} about cats and dogs {i % 7}"}}\n' for i in range(40)))
gen = write(os.path.join(d, "gen.jsonl"), "".join(
    f'{{"text": "generated words {i} about birds and fish {i % 5}"}}\n' for i in range(40)))
empty = write(os.path.join(d, "empty.jsonl"), '{"text": "fine words here"}\n{"text": "  "}\n')
one = write(os.path.join(d, "one.csv"), "tweet_clean,label\n" +
            "".join(f"real text {i} words,1\n" for i in range(20)))
badlab = write(os.path.join(d, "badlab.csv"), "tweet_clean,label\nsome words,1\nmore words,7\n")
nocol = write(os.path.join(d, "nocol.csv"), "body,label\nsome words,1\n")


def case(name, cmd, section, settings, expect):
    run_dir = os.path.join(d, "out", name)
    lines = ["[run]", f"name = {name}", f"out_dir = {d}/out", "threads = 1", f"[{section}]"]
    lines += [f"{k} = {v}" for k, v in settings.items()]
    cfg = write(os.path.join(d, name + ".ini"), "\n".join(lines) + "\n")
    p = run_elm(cmd, cfg)
    err = p.stderr.strip()
    c.check(p.returncode != 0, f"{name}: exit 0")
    c.check(len(err.splitlines()) == 1 and err.startswith(f"elm {cmd}: "),
            f"{name}: not one 'elm {cmd}:' line: {err!r}")
    c.check(expect in err, f"{name}: {expect!r} not in {err!r}")
    out = os.path.join(run_dir, "validate" if cmd == "validate" else "topics")
    c.check(not os.path.exists(out) or not os.listdir(out), f"{name}: left output in {out}")
    print(f"{name}: {err}")


case("one_class", "validate", "validate", {"data": one}, "need both classes")
case("only_real", "validate", "validate", {"real": real, "generated": os.path.join(d, "none")},
     "no generated tweets")
case("empty_doc", "validate", "validate", {"real": real, "generated": empty}, "empty.jsonl:2: empty text")
case("min_df", "validate", "validate", {"real": real, "generated": gen, "min_df": 50},
     "no terms remain after min_df")
case("grid_range", "validate", "validate",
     {"real": real, "generated": gen, "grid.min_samples_split": "1,5"}, "grid.min_samples_split")
case("grid_word", "validate", "validate",
     {"real": real, "generated": gen, "grid.criterion": "gini,gino"}, "gino")
case("grid_depth", "validate", "validate",
     {"real": real, "generated": gen, "grid.max_depth": "None,-2"}, "out of range")
case("max_features", "validate", "validate",
     {"real": real, "generated": gen, "rf.max_features": "lots"}, "validate.rf.max_features")
case("bad_label", "validate", "validate", {"data": badlab}, "label 7")
case("no_column", "validate", "validate", {"data": nocol}, "no column")
case("k_too_big", "topics", "topics", {"real": real, "generated": gen, "k": 500, "min_df": 1},
     "larger than the vocabulary")
case("topics_min_df", "topics", "topics", {"real": real, "min_df": 10, "max_df": 0.5}, "no terms remain")
case("sweep_bad", "topics", "topics", {"real": real, "min_df": 1, "sweep.k": "2,x"}, "topics.sweep.k")
case("topics_empty", "topics", "topics", {"real": empty}, "empty text")
c.done()

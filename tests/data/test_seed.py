"""Acceptance 2: `elm ingest` + `elm clean` on the six tab-separated seed CSVs and the comma one.

Python's csv module reads the same files and is the reference: per-file and per-account `read`
counts in ingest.json must equal its row counts (13,412 tweets in the six tab files, 14,412 with
the comma one), and with every filter off corpus.jsonl must hold every row's id, user name and
text, in order. With the default filters the drops (retweets, repeated ids, repeated texts per
account) are recomputed here from the csv rows. Then `elm clean` must account for every post.
"""
import csv
import glob
import json
import os

from elmtest import SHARED, Checks, read_jsonl, run_elm, tmpdir, write

c = Checks()
csv.field_size_limit(1 << 30)
seed = os.path.join(SHARED, "data", "seed-tweets")
tab_files = sorted(p for p in glob.glob(os.path.join(seed, "*.csv"))
                   if "comma" not in p and "real_vs" not in p)
comma_file = os.path.join(seed, "lexfridman_1000_comma.csv")
c.check(len(tab_files) == 6, f"six tab-separated seed files, found {len(tab_files)}")

rows = {}  # path -> list of dict rows, as Python's csv reads them
for path in tab_files + [comma_file]:
    with open(path, newline="", encoding="utf-8") as f:
        rows[path] = list(csv.DictReader(f, delimiter="," if path == comma_file else "\t"))
n_tab = sum(len(rows[p]) for p in tab_files)
c.check(n_tab == 13412, f"Python's csv reads {n_tab} rows from the tab files, expected 13412")

d = tmpdir()
sources = "\n".join(f"source = auto : {p}" for p in tab_files + [comma_file])
cfg = write(os.path.join(d, "seed.ini"), f"[run]\nname = seed\nout_dir = {d}/out\n[data]\n{sources}\n")
run_dir = os.path.join(d, "out", "seed")

# 1. every filter off: the corpus is the csv, row for row
off = ["--set", "data.drop_retweets=false", "--set", "data.dedupe_ids=false",
       "--set", "data.dedupe_text=false", "--quiet"]
r = run_elm("ingest", cfg, *off)
c.check(r.returncode == 0, f"elm ingest failed: {r.stderr}")
rep = json.load(open(os.path.join(run_dir, "ingest.json")))
by_path = {s["path"]: s for s in rep["sources"]}
for path, rs in rows.items():
    got = by_path.get(path, {}).get("read")
    c.check(got == len(rs), f"{os.path.basename(path)}: elm read {got}, Python's csv {len(rs)}")
c.check(sum(by_path[p]["read"] for p in tab_files) == 13412, "13,412 tweets from the tab files")
want_acc = {}
for rs in rows.values():
    for row in rs:
        want_acc[row["username"]] = want_acc.get(row["username"], 0) + 1
for acc, n in want_acc.items():
    got = rep["accounts"].get(acc, {})
    c.check(got.get("read") == n and got.get("kept") == n,
            f"account {acc}: read/kept {got.get('read')}/{got.get('kept')}, csv rows {n}")
c.check(rep["total"]["read"] == 14412 and rep["total"]["kept"] == 14412, f"total {rep['total']}")
corpus = read_jsonl(os.path.join(run_dir, "corpus.jsonl"))
want = [(row["id"], row["username"], row["tweet"], path)
        for path in tab_files + [comma_file] for row in rows[path]]
c.check(len(corpus) == len(want), f"corpus has {len(corpus)} posts, expected {len(want)}")
mismatch = [(w, (o["id"], o["account"], o["text"], o["source"]))
            for w, o in zip(want, corpus) if w != (o["id"], o["account"], o["text"], o["source"])]
c.check(not mismatch, f"{len(mismatch)} posts differ from the csv, first: {mismatch[:1]}")
keys = {"id", "account", "created_at", "text", "is_retweet", "is_reply", "lang", "source"}
c.check(all(set(o) == keys for o in corpus), "every post has exactly the documented fields")
c.check(all(o["lang"] == row["language"] for o, row in
            zip(corpus, [r for p in tab_files + [comma_file] for r in rows[p]])), "lang column")

# 2. default filters: drops recomputed from the csv rows
r = run_elm("ingest", cfg, "--quiet")
c.check(r.returncode == 0, f"elm ingest failed: {r.stderr}")
rep = json.load(open(os.path.join(run_dir, "ingest.json")))
seen_ids, seen_text, exp = set(), set(), {}
for path in tab_files + [comma_file]:
    for row in rows[path]:
        e = exp.setdefault(row["username"], {"read": 0, "kept": 0, "retweet": 0,
                                              "duplicate_id": 0, "duplicate_text": 0})
        e["read"] += 1
        text = row["tweet"]
        if row["retweet"] == "True" or text.startswith("RT @"):
            e["retweet"] += 1
        elif row["id"] in seen_ids:
            e["duplicate_id"] += 1
        else:
            seen_ids.add(row["id"])  # an id seen once is a repeat later, even if its post went
            if (row["username"], text) in seen_text:
                e["duplicate_text"] += 1
            else:
                seen_text.add((row["username"], text))
                e["kept"] += 1
for acc, e in exp.items():
    got = rep["accounts"][acc]
    for k in ("read", "kept"):
        c.check(got[k] == e[k], f"{acc} {k}: elm {got[k]}, expected {e[k]}")
    for k in ("retweet", "duplicate_id", "duplicate_text"):
        c.check(got["dropped"][k] == e[k], f"{acc} dropped {k}: elm {got['dropped'][k]}, expected {e[k]}")
    c.check(got["read"] == got["kept"] + sum(got["dropped"].values()), f"{acc}: counts add up")
kept = sum(e["kept"] for e in exp.values())
c.check(len(read_jsonl(os.path.join(run_dir, "corpus.jsonl"))) == kept, "corpus lines == kept")
print(f"ingest: read {rep['total']['read']}, kept {rep['total']['kept']}, dropped {rep['total']['dropped']}")

# 3. elm clean on that corpus
r = run_elm("clean", cfg, "--quiet")
c.check(r.returncode == 0, f"elm clean failed: {r.stderr}")
crep = json.load(open(os.path.join(run_dir, "clean.json")))
cleaned = read_jsonl(os.path.join(run_dir, "clean.jsonl"))
c.check(crep["total"]["read"] == kept, f"clean read {crep['total']['read']}, ingest kept {kept}")
c.check(crep["total"]["kept"] == len(cleaned), "clean.jsonl lines == clean kept")
c.check(crep["total"]["read"] == crep["total"]["kept"] + sum(crep["total"]["dropped"].values()),
        "clean counts add up")
for acc, e in exp.items():
    c.check(crep["accounts"][acc]["read"] == e["kept"], f"clean read for {acc}")
c.check(all(set(o) == {"id", "account", "created_at", "text"} for o in cleaned), "clean fields")
c.check(all(o["text"] == " ".join(o["text"].split()) and o["text"] for o in cleaned),
        "clean texts are non-empty with whitespace normalised")
c.check(not any("https://t.co/" in o["text"] for o in cleaned), "no t.co links left")
print(f"clean: read {crep['total']['read']}, kept {crep['total']['kept']}, dropped {crep['total']['dropped']}")
c.done()

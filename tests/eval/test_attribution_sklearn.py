"""The account classifier of `elm validate` (metrics.json "attribution", validate/attribution.jsonl)
against scikit-learn: on the demo corpus's three accounts, TfidfVectorizer + MultinomialNB fitted on
the same train rows give every held-out real row's and every generated text's class probabilities
within 1e-9 and the same predicted account; the ceiling accuracy, each account's recall, the
confusion matrix, the per-asked-account shares and lifts equal those recomputed from sklearn's
predictions; metrics.json's "keywords" (hit rates and mean log-probs of steered vs unsteered tweets)
equal a recomputation with sklearn's analyzer; the held-out rows are a stratified round(0.2 * n) per account. A labelled [validate]
data file and a corpus of one account give "skipped" with the reason and an empty file."""
import json
import os
import sys

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.naive_bayes import MultinomialNB

from elmtest import SOURCE, Checks, run_elm, tmpdir, write

c = Checks()
d = tmpdir("elm-attr-")
corpus = os.path.join(SOURCE, "configs", "demo-corpus")


def study(name, sources, extra=""):
    cfg = write(os.path.join(d, name + ".ini"),
                f"[run]\nname = {name}\nout_dir = {d}/out\nseed = 7\nthreads = 2\n[data]\n"
                + "".join(f"source = auto : {s}\n" for s in sources)
                + f"[validate]\nmodels = nb\n{extra}")
    for cmd in ("ingest", "clean"):
        p = run_elm(cmd, cfg, "--quiet")
        c.check(p.returncode == 0, f"{name}: elm {cmd}: {p.stderr.strip()}")
    return cfg, os.path.join(d, "out", name)


cfg, run = study("mix", [os.path.join(corpus, "*.txt")], "ngram_max = 2\n")
real = [json.loads(x) for x in open(os.path.join(run, "clean.jsonl"), encoding="utf-8")]
# Generated stand-ins: every 5th real tweet shuffled word by word (seeded), asked for its own
# account, another account, or none.
rng = np.random.default_rng(3)
names = sorted({r["account"] for r in real})
gen = []
for i, r in enumerate(real[::5]):
    words = r["text"].split()
    rng.shuffle(words)
    o = {"index": i, "text": " ".join(words)}
    k = i % 3
    if k == 1:
        o["account"] = r["account"]
    elif k == 2:
        o["account"] = names[(names.index(r["account"]) + 1) % len(names)]
    o["mean_logprob"] = -1.0 - (i % 7) / 10
    if i % 4 == 1:
        o["keywords"] = "bread, starter dough" if i % 8 == 1 else "Moon"
    gen.append(o)
os.makedirs(os.path.join(run, "generated"), exist_ok=True)
write(os.path.join(run, "generated", "tweets.jsonl"), "".join(json.dumps(o) + "\n" for o in gen))
p = run_elm("validate", cfg, "--quiet")
c.check(p.returncode == 0, f"elm validate: {p.stderr.strip()}")
m = json.load(open(os.path.join(run, "validate", "metrics.json")))["attribution"]
rows = [json.loads(x) for x in open(os.path.join(run, "validate", "attribution.jsonl"), encoding="utf-8")]
c.check(m.get("accounts") == names, f"accounts {m.get('accounts')} vs {names}")

test = [r for r in rows if r["set"] == "real_test"]
gen_rows = [r for r in rows if r["set"] == "generated"]
c.check([r["index"] for r in gen_rows] == list(range(len(gen))), "one line per generated text, in order")
test_idx = [r["row"] for r in test]
c.check(len(set(test_idx)) == len(test_idx), "held-out rows are distinct")
is_test = np.zeros(len(real), bool)
is_test[test_idx] = True
y = np.array([names.index(r["account"]) for r in real])
for k, a in enumerate(names):
    n_c = int((y == k).sum())
    c.check(int((is_test & (y == k)).sum()) == int(round(0.2 * n_c)),
            f"{a}: {int((is_test & (y == k)).sum())} held out of {n_c}")

texts = [r["text"] for r in real]
vec = TfidfVectorizer(ngram_range=(1, 2), max_features=200000, stop_words="english")
Xtr = vec.fit_transform([t for t, s in zip(texts, is_test) if not s])
nb = MultinomialNB(alpha=1.0).fit(Xtr, y[~is_test])
c.check(list(nb.classes_) == list(range(len(names))), "every account is in the train rows")
p_te = nb.predict_proba(vec.transform([texts[i] for i in test_idx]))
p_gen = nb.predict_proba(vec.transform([o["text"] for o in gen]))
for what, mine, theirs in (("real_test", test, p_te), ("generated", gen_rows, p_gen)):
    got = np.array([r["proba"] for r in mine])
    if c.check(got.shape == theirs.shape, f"{what}: {got.shape} vs {theirs.shape}"):
        diff = np.abs(got - theirs).max()
        c.check(diff <= 1e-9, f"{what}: probabilities differ from predict_proba by {diff}")
        want = [names[k] for k in theirs.argmax(1)]
        bad = sum(r["predicted"] != w for r, w in zip(mine, want))
        c.check(bad == 0, f"{what}: {bad} predicted accounts differ from sklearn's")
        print(f"{what}: {len(mine)} rows, max |p - sklearn| = {diff:.1e}")

# The ceiling and the shares, recomputed from sklearn's predictions.
pred_te = p_te.argmax(1)
yt = y[test_idx]
c.check(abs(m["real"]["accuracy"] - (pred_te == yt).mean()) < 1e-12,
        f"accuracy {m['real']['accuracy']} vs {(pred_te == yt).mean()}")
cm = [[int(((yt == t) & (pred_te == q)).sum()) for q in range(len(names))] for t in range(len(names))]
c.check(m["real"]["confusion"] == cm, f"confusion {m['real']['confusion']} vs {cm}")
for k, a in enumerate(names):
    c.check(abs(m["real"]["recall"][a] - cm[k][k] / sum(cm[k])) < 1e-12, f"{a}: recall")
pred_gen = p_gen.argmax(1)
groups = {}
for o, q in zip(gen, pred_gen):
    groups.setdefault(o.get("account", "none"), []).append(q)
base = np.bincount(groups["none"], minlength=len(names)) / len(groups["none"])
c.check(set(m["generated"]) == set(groups), f"groups {sorted(m['generated'])} vs {sorted(groups)}")
for g, qs in groups.items():
    e = m["generated"].get(g, {})
    share = np.bincount(qs, minlength=len(names)) / len(qs)
    c.check(e.get("count") == len(qs), f"{g}: count {e.get('count')} vs {len(qs)}")
    c.check(all(abs(e["attributed"][a] - share[k]) < 1e-12 for k, a in enumerate(names)),
            f"{g}: attributed {e.get('attributed')} vs {share}")
    if g != "none":
        k = names.index(g)
        c.check(abs(e["share_asked"] - share[k]) < 1e-12, f"{g}: share_asked")
        c.check(abs(e["lift"] - share[k] / base[k]) < 1e-9, f"{g}: lift {e['lift']} vs {share[k] / base[k]}")
print(f"ceiling (held-out real accuracy) {m['real']['accuracy']:.3f}; asked-account shares "
      + ", ".join(f"{g} {m['generated'][g]['share_asked']:.2f}" for g in names if g in m["generated"]))

# Keyword steering's figures: hit rates (a keyword's word tokens in a row) and mean log-probs
# of the steered tweets per keyword list, against the unsteered tweets of the file.
from sklearn.feature_extraction.text import CountVectorizer  # noqa: E402
words = CountVectorizer().build_analyzer()


def hit(text, spec):
    t = words(text)
    for k in spec.split(","):
        kt = words(k)
        if kt and any(t[i:i + len(kt)] == kt for i in range(len(t) - len(kt) + 1)):
            return True
    return False


kw = json.load(open(os.path.join(run, "validate", "metrics.json"))).get("keywords", {})
specs = sorted({o["keywords"] for o in gen if "keywords" in o})
c.check(sorted(kw) == specs, f"keyword lists {sorted(kw)} vs {specs}")
base = [o for o in gen if "keywords" not in o]
for spec in specs:
    mine = [o for o in gen if o.get("keywords") == spec]
    e = kw.get(spec, {})
    for pfx, rows in (("", mine), ("base_", base)):
        want = (len(rows), sum(hit(o["text"], spec) for o in rows) / len(rows),
                sum(o["mean_logprob"] for o in rows) / len(rows))
        got = (e.get(pfx + "count"), e.get(pfx + "hit_rate"), e.get(pfx + "mean_logprob"))
        c.check(got[0] == want[0] and abs(got[1] - want[1]) < 1e-12 and abs(got[2] - want[2]) < 1e-12,
                f"keywords {spec!r} {pfx or 'steered'}: {got} vs {want}")
    print(f"keywords {spec!r}: hit rate {e.get('hit_rate'):.3f} vs {e.get('base_hit_rate'):.3f} unsteered")

# The report's keyword table shows those figures.
p = run_elm("report", cfg, "--quiet")
c.check(p.returncode == 0, f"elm report: {p.stderr.strip()}")
page = open(os.path.join(run, "report", "index.html"), encoding="utf-8").read()
for spec in specs:
    e = kw.get(spec, {})
    row = (f"<tr><td>{spec}</td><td>{e.get('count')}</td><td>{100 * e.get('hit_rate', 0):.1f}%</td>"
           f"<td>{100 * e.get('base_hit_rate', 0):.1f}%</td><td>{e.get('mean_logprob', 0):.3f}</td>"
           f"<td>{e.get('base_mean_logprob', 0):.3f}</td></tr>")
    c.check(row in page, f"the report's keyword row for {spec!r}: {row}")

# Nothing to attribute: one account; a labelled CSV.
cfg1, run1 = study("one", [os.path.join(corpus, "ada_bakes.txt")])
os.makedirs(os.path.join(run1, "generated"), exist_ok=True)
write(os.path.join(run1, "generated", "tweets.jsonl"), "".join(json.dumps(o) + "\n" for o in gen[:30]))
csv = write(os.path.join(d, "lab.csv"), "text,label\n" + "".join(
    f"\"{r['text'].replace(chr(34), '')}\",{i % 2}\n" for i, r in enumerate(real[:80])))
for what, cf, extra in (("one account", cfg1, ()), ("labelled data", cfg, ("--set", f"validate.data={csv}"))):
    p = run_elm("validate", cf, "--quiet", *extra)
    r = run1 if cf == cfg1 else run
    c.check(p.returncode == 0, f"{what}: elm validate: {p.stderr.strip()}")
    a = json.load(open(os.path.join(r, "validate", "metrics.json"))).get("attribution", {})
    c.check(list(a) == ["skipped"] and a["skipped"], f"{what}: {a}")
    c.check(os.path.getsize(os.path.join(r, "validate", "attribution.jsonl")) == 0, f"{what}: empty rows file")
sys.exit(c.done())

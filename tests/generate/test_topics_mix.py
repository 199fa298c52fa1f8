"""Topic conditioning (issue #14): [train] condition = account+topic on the demo corpus (three
accounts), a small model trained from scratch:
- `elm topicfit` names each topic by its heaviest word (recomputed here from lda.json's lambda)
  not naming an earlier one, and doc_topics.txt gives every clean.jsonl line a topic;
- tokenize's documents carry "@<account> [<topic>]: " (text bytes recomputed), tokens.json's
  "topics" and "pairs" are the counts of doc_topics.txt (recomputed);
- a 1,000-text run with topics = t0:3, t1:1, t2:2 gives each text the topic of its own Weyl
  sequence (frac(sqrt 2) step, recomputed here for every text), holds the shares within 3 points,
  and draws each text's header account from the data's accounts of that topic (recomputed);
  an unconditioned text gets "prior_account" and "prior_topic" (recomputed), never "topic";
- texts are identical for batch sizes 1, 8 and 32;
- under topicfit's LDA, topic-conditioned texts hit the topic asked for more often than the
  unconditioned texts of the same model have it (elm topics' "conditioning", computed from the
  per-topic counts here too), and the report's "Topic conditioning" section, in headless
  Chromium, shows those numbers (every row, the confusion matrix) as metrics.json holds them;
- bad input (a topic not in the data, a weight that is not a positive number, a topic twice) is
  one line naming generate.topics and the value, a non-zero exit and no output file."""
import json
import os
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from elmtest import GOLDEN, Checks, read_jsonl, run_elm, tmpdir, weyl_pick  # noqa: E402
from demo_model import DEMO  # noqa: E402

c = Checks()
root = tmpdir("elm-topics-mix-")
SQRT2 = 0x6A09E667F3BCC909
TRAIN = ["--set", f"run.out_dir={root}", "--set", "train.condition=account+topic",
         "--set", "topicfit.k=3", "--set", "topicfit.iterations=60",
         "--set", "train.eval_every=0", "--set", "train.checkpoint_every=0",
         "--set", "train.steps=1000", "--set", "train.lr=5e-3", "--set", "train.min_lr=5e-4",
         "--set", "model.n_layer=2", "--set", "model.n_embd=64", "--set", "model.n_head=2",
         "--quiet"]
for stage in ("ingest", "clean", "topicfit", "tokenize", "train"):
    run_elm(stage, DEMO, *TRAIN, check=True)
run_dir = os.path.join(root, "demo")
out = os.path.join(run_dir, "generated", "tweets.jsonl")
GEN = TRAIN + ["--set", "generate.temperature=0.6", "--set", "generate.accounts="]

# ---- topicfit: names, assignments -------------------------------------------------------------
fit = json.load(open(os.path.join(run_dir, "topicfit", "topicfit.json")))
lda = json.load(open(os.path.join(run_dir, "topicfit", "lda.json")))
names = [t["name"] for t in fit["topics"]]
lam = np.array(lda["lambda"])
c.check(lam.shape == (3, len(lda["terms"])), f"lambda shape {lam.shape}")
for t, topic in enumerate(fit["topics"]):
    order = np.argsort(-lam[t], kind="stable")
    words = [lda["terms"][i] for i in order[:len(topic["words"])]]
    c.check(words == topic["words"], f"topic {t}: words {topic['words']} != lambda's {words}")
    want = next(w for w in words if w not in names[:t] and not w[0].isdigit())
    c.check(topic["name"] == want, f"topic {t}: name {topic['name']} != {want}")
c.check(len(set(names)) == 3, f"names not unique: {names}")
clean_lines = open(os.path.join(run_dir, "clean.jsonl")).read().splitlines()
assign = [int(x) for x in open(os.path.join(run_dir, "topicfit", "doc_topics.txt")).read().split()]
c.check(len(assign) == len(clean_lines), f"{len(assign)} topics for {len(clean_lines)} lines")
clean = [json.loads(x) for x in clean_lines if x.strip()]
topic_of = [assign[i] for i, x in enumerate(clean_lines) if x.strip()]
c.check(all(0 <= t < 3 for t in topic_of), "a document without a topic")
for t, topic in enumerate(fit["topics"]):
    c.check(topic["documents"] == topic_of.count(t), f"topic {t}: documents {topic['documents']}")

# ---- tokenize: headers, counts -------------------------------------------------------------------
tokens = json.load(open(os.path.join(run_dir, "tokens.json")))
c.check(tokens.get("condition") == "account+topic", f"condition {tokens.get('condition')}")
want_bytes = sum(len(f"@{r['account']} [{names[t]}]: {r['text']}".encode())
                 for r, t in zip(clean, topic_of))
c.check(tokens["text_bytes"] == want_bytes, f"text bytes {tokens['text_bytes']} != {want_bytes}")
c.check(tokens["topics"] == {n: topic_of.count(t) for t, n in enumerate(names)},
        f"tokens.json topics {tokens['topics']}")
pairs = {}
for r, t in zip(clean, topic_of):
    row = pairs.setdefault(r["account"], {n: 0 for n in names})
    row[names[t]] += 1
c.check(tokens["pairs"] == pairs, f"tokens.json pairs {tokens['pairs']}")


PRIOR, PTOPIC, TOPIC = 0x7072696F72, 0x70746F706963, 0x746F706963
ACC_DOCS = [(a, float(n)) for a, n in tokens["accounts"].items()]


def header_for(seed, index, topic):
    """The header account and topic the mix gives a text asked for `topic` (or None)."""
    if topic is not None:
        w = [(a, float(pairs[a][topic])) for a, _ in ACC_DOCS]
        return weyl_pick(seed, index, w, PRIOR, GOLDEN) or weyl_pick(seed, index, ACC_DOCS, PRIOR, GOLDEN), topic
    acc = weyl_pick(seed, index, ACC_DOCS, PRIOR, GOLDEN)
    w = [(n, float(pairs[acc][n])) for n in names]
    return acc, weyl_pick(seed, index, w, PTOPIC, SQRT2)


def generate(count, *extra, tokens=24, batch=16):
    if os.path.exists(out):
        os.remove(out)
    sets = list(GEN) + ["--set", f"generate.count={count}", "--set", f"generate.max_new_tokens={tokens}",
                        "--set", f"generate.batch_size={batch}"]
    for e in extra:
        sets += ["--set", e]
    run_elm("generate", DEMO, *sets, check=True)
    return read_jsonl(out)


# ---- the topics' mix ----------------------------------------------------------------------------
WEIGHTS = [(names[0], 3.0), (names[1], 1.0), (names[2], 2.0)]
lines = generate(1000, "generate.topics=" + ", ".join(f"{n}:{w:g}" for n, w in WEIGHTS), tokens=4, batch=64)
c.check(len(lines) == 1000, f"{len(lines)} lines")
wrong = [r["index"] for r in lines if r.get("topic") != weyl_pick(1337, r["index"], WEIGHTS, TOPIC, SQRT2)]
c.check(not wrong, f"texts with another topic than the mix's sequence: {wrong[:10]}")
wrong = [r["index"] for r in lines if r.get("prior_account") != header_for(1337, r["index"], r["topic"])[0]]
c.check(not wrong, f"texts with another header account than the topic's data: {wrong[:10]}")
c.check(all("prior_topic" not in r and "account" not in r for r in lines), "a topic text has prior_topic")
total = sum(w for _, w in WEIGHTS)
for n, w in WEIGHTS:
    share = sum(1 for r in lines if r.get("topic") == n) / len(lines)
    print(f"topic mix: {n} asked {w / total:.3f} got {share:.3f}")
    c.check(abs(share - w / total) <= 0.03, f"{n}: share {share:.3f} vs {w / total:.3f}")
c.check(not [r for r in lines if r["text"].startswith(("@", "["))], "a text shows its header")
# topics by id, weights left out: an even mix of topics 0 and 2
ids = generate(60, "generate.topics=0, 2", tokens=2)
even = [(names[0], 1.0), (names[2], 1.0)]
c.check(all(r.get("topic") == weyl_pick(1337, r["index"], even, TOPIC, SQRT2) for r in ids), "topics by id")

# ---- batch sizes --------------------------------------------------------------------------------
EQUAL = "generate.topics=" + ", ".join(names)
by_batch = {b: [(r["topic"], r["text"]) for r in generate(40, EQUAL, batch=b)] for b in (1, 8, 32)}
c.check(by_batch[1] == by_batch[8] == by_batch[32], "texts differ between batch sizes 1, 8, 32")

# ---- hit rate: conditioned vs unconditioned -------------------------------------------------------
gdir = os.path.join(root, "gen")
os.makedirs(gdir)
N = 150
cond = generate(N, EQUAL, "generate.seed=7")
shutil.copy(out, os.path.join(gdir, "cond.jsonl"))
none = generate(N, "generate.seed=8")
shutil.copy(out, os.path.join(gdir, "none.jsonl"))
wrong = [r["index"] for r in none
         if (r.get("prior_account"), r.get("prior_topic")) != header_for(8, r["index"], None)]
c.check(not wrong, f"unconditioned texts with another prior header: {wrong[:10]}")
c.check(all("topic" not in r for r in none), "an unconditioned text has a topic")
run_elm("topics", DEMO, *GEN, "--set", f"topics.generated={gdir}", check=True)
cj = json.load(open(os.path.join(run_dir, "topics", "topics.json")))["conditioning"]
c.check(cj["base_source"] == "unconditioned" and cj["conditioned"] == N, f"conditioning {cj}")
conf = np.array(cj["confusion"])
hits = sum(t["hits"] for t in cj["topics"])
c.check(hits == int(np.trace(conf)), f"hits {hits} != the confusion's diagonal {np.trace(conf)}")
base = {t["name"]: t["base_rate"] for t in cj["topics"]}
expect = sum(t["asked"] * base[t["name"]] for t in cj["topics"]) / N
c.check(abs(cj["base_rate"] - expect) < 1e-12 and abs(cj["hit_rate"] - hits / N) < 1e-12,
        "conditioning rates do not follow from the counts")
for t in cj["topics"]:
    print(f"topic hit: {t['name']} asked {t['asked']} hit rate {t.get('hit_rate', 0):.3f} "
          f"base {t['base_rate']:.3f}")
print(f"topic hit rate {cj['hit_rate']:.3f} vs base rate {cj['base_rate']:.3f}")
c.check(cj["hit_rate"] > cj["base_rate"], f"hit rate {cj['hit_rate']:.3f} <= base {cj['base_rate']:.3f}")

# ---- the report's section, in Chromium's DOM ----------------------------------------------------
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "app"))
import chromium  # noqa: E402

p = run_elm("report", DEMO, *GEN)
c.check(p.returncode == 0, f"elm report: {p.stderr}")
dom, console = chromium.render(os.path.join(run_dir, "report", "index.html"))
c.check(console == [], f"console messages: {console}")
sec = dom[dom.find('<section id="topic-conditioning">'):]
sec = sec[:sec.find("</section>")]
c.check(f"<b>{100 * cj['hit_rate']:.1f}%</b>" in sec and f"base rate of {100 * cj['base_rate']:.1f}%" in sec,
        "the report's overall topic hit rate / base rate")
for t in cj["topics"]:
    hit = f"{100 * t['hit_rate']:.1f}%" if "hit_rate" in t else "—"
    row = (f'<tr><td>{t["name"]}</td><td class="n">{t["asked"]}</td><td class="n">'
           f'{100 * t["asked"] / N:.1f}%</td><td class="n">{hit}</td><td class="n">'
           f'{100 * t["base_rate"]:.1f}%</td></tr>')
    c.check(row in sec, f"report row of topic {t['name']} missing: {row}")
for t, row in zip(cj["topics"], cj["confusion"]):
    cells = "".join(f'<td class="n">{v}</td>' for v in row)
    c.check(f"<tr><th>{t['name']}</th>{cells}</tr>" in sec, f"confusion row of {t['name']} missing")
m = json.load(open(os.path.join(run_dir, "metrics.json")))
c.check(m.get("topic_conditioning") == cj, "metrics.json topic_conditioning differs from topics.json")

# ---- bad input: one line, non-zero exit, nothing written -----------------------------------------
for value, bad in [("nothing_here", "nothing_here"), (f"{names[0]}:0", "0"), (f"{names[0]}:-1", "-1"),
                   (f"{names[0]}, {names[0]}", names[0]), ("7", "7"), (f"{names[1]}:x", "x")]:
    if os.path.exists(out):
        os.remove(out)
    p = run_elm("generate", DEMO, *GEN, "--set", "generate.count=3", "--set", f"generate.topics={value}")
    msg = p.stderr.strip()
    c.check(p.returncode != 0, f"topics={value}: exit 0")
    c.check(len(msg.splitlines()) == 1 and "generate.topics" in msg and bad in msg,
            f"topics={value}: message {msg!r}")
    c.check(not os.path.exists(out) and not os.path.exists(out + ".part"), f"topics={value}: wrote output")

shutil.rmtree(root, ignore_errors=True)
c.done()

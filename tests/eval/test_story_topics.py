"""The stories' topics (issue #14, the seed's "topic model to explore our stories"), against
scikit-learn: `elm topics` on the demo corpus' cleaned posts, with a hand-made
generated/stories.jsonl (seeded: each story a post's opening words as its prompt, followed by the
rest of that post, or of a post of another account, or by words no vocabulary holds).
- each story's three dominant topics (whole story, prompt, continuation) are those of
  scikit-learn's LatentDirichletAllocation.transform holding elm's exported topic-word matrix
  (components_ = lambda, doc_topic_prior = alpha) over CountVectorizer(vocabulary=elm's
  vocabulary) counts: exactly where sklearn's top topic leads by 0.05, else within 0.05 of it;
  -1 exactly where the part has no vocabulary word;
- "stays", the per-topic counts, stay_rate and chance_rate are recomputed from the list;
- stories that keep their own post stay on topic more often than those continued by another
  account's post (the measure can tell them apart);
- the report's "Topics of the stories" section, in headless Chromium, shows the stay rate, the
  chance rate and every story's row, as metrics.json holds them;
- a malformed stories.jsonl line is one error naming the file and line; no topics.json is
  written over the good one."""
import json
import os
import random
import sys

import numpy as np
from sklearn.decomposition import LatentDirichletAllocation
from sklearn.decomposition._online_lda_fast import _dirichlet_expectation_2d
from sklearn.feature_extraction.text import CountVectorizer

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "app"))
from elmtest import Checks, read_jsonl, run_elm, tmpdir, write  # noqa: E402
import chromium  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
c = Checks()
d = tmpdir("elm-story-topics-")
K = 3
cfg = write(os.path.join(d, "s.ini"), f"""[run]
name = s
out_dir = {d}/out
seed = 11
[data]
source = auto : {ROOT}/configs/demo-corpus/*.txt
[clean]
urls = remove
mentions = remove
[topics]
k = {K}
iterations = 40
""")
run_dir = os.path.join(d, "out", "s")
for stage in ("ingest", "clean"):
    run_elm(stage, cfg, "--quiet", check=True)
posts = read_jsonl(os.path.join(run_dir, "clean.jsonl"))
rng = random.Random(23)
stories, kind = [], []
for i in range(90):
    p = rng.choice(posts)
    words = p["text"].split()
    cut = max(3, len(words) // 2)
    prompt = " ".join(words[:cut])
    if i % 3 == 0:
        rest = " ".join(words[cut:])
    elif i % 3 == 1:
        other = rng.choice([q for q in posts if q["account"] != p["account"]])
        rest = other["text"]
    else:
        rest = "zzqx vvbnm" if i % 2 else ""
    text = prompt + (" " + rest if rest else "")
    stories.append({"index": i, "seed": 11, "prompt": prompt, "text": text})
    kind.append(i % 3)
os.makedirs(os.path.join(run_dir, "generated"), exist_ok=True)
spath = os.path.join(run_dir, "generated", "stories.jsonl")
write(spath, "".join(json.dumps(s) + "\n" for s in stories))
exp = os.path.join(d, "export")
run_elm("topics", cfg, f"--export={exp}", "--quiet", check=True)
tj = json.load(open(os.path.join(run_dir, "topics", "topics.json")))
st = tj.get("stories")
if not c.check(st is not None, "topics.json has no \"stories\""):
    c.done()

# ---- sklearn: the same vocabulary and topics, its own E-step ------------------------------------
vocab = open(os.path.join(exp, "vocab.txt"), encoding="utf-8").read().split("\n")[:-1]
lam = np.load(os.path.join(exp, "lambda.npy")).reshape(K, len(vocab))
m = LatentDirichletAllocation(n_components=K, learning_method="batch", random_state=0)
m.components_ = lam
m.exp_dirichlet_component_ = np.exp(_dirichlet_expectation_2d(lam))
m.n_features_in_ = len(vocab)
m.doc_topic_prior_ = tj["lda"]["alpha"]
m.topic_word_prior_ = tj["lda"]["beta"]
m.random_state_ = np.random.RandomState(0)
cv = CountVectorizer(vocabulary=vocab)
parts = {"topic": [s["text"] for s in stories], "prompt_topic": [s["prompt"] for s in stories],
         "continuation_topic": [s["text"][len(s["prompt"]):] for s in stories]}
MARGIN = 0.05
c.check(st["n"] == len(stories) and len(st["list"]) == len(stories), f"story count {st['n']}")
exact = 0
for key, texts in parts.items():
    X = cv.transform(texts)
    theta = m.transform(X)
    for i, e in enumerate(st["list"]):
        got = e[key]
        if X[i].nnz == 0:
            c.check(got == -1, f"story {i} {key}: no vocabulary word but topic {got}")
            continue
        th = np.sort(theta[i])[::-1]
        best = int(np.argmax(theta[i]))
        if th[0] - th[1] >= MARGIN:
            c.check(got == best, f"story {i} {key}: elm {got}, sklearn {best} (theta {theta[i]})")
        else:
            c.check(0 <= got < K and theta[i][got] >= th[0] - MARGIN,
                    f"story {i} {key}: elm {got} not within {MARGIN} of sklearn's top ({theta[i]})")
        exact += got == best
print(f"story topics agreeing exactly with sklearn's argmax: {exact} of "
      f"{sum(cv.transform(t).getnnz(axis=1).astype(bool).sum() for t in parts.values())}")

# ---- the summary follows from the list ----------------------------------------------------------
lst = st["list"]
scored = [e for e in lst if e["prompt_topic"] >= 0 and e["continuation_topic"] >= 0]
stays = [e for e in scored if e["prompt_topic"] == e["continuation_topic"]]
c.check(all(("stays" in e) == (e in scored) for e in lst), "\"stays\" on unscored stories")
c.check(all(e["stays"] == (e["prompt_topic"] == e["continuation_topic"]) for e in scored), "stays")
c.check(st["scored"] == len(scored) and st["stays"] == len(stays), f"scored/stays {st}")
c.check(abs(st["stay_rate"] - len(stays) / len(scored)) < 1e-12, "stay_rate")
chance = sum(sum(e["prompt_topic"] == t for e in scored) * sum(e["continuation_topic"] == t for e in scored)
             for t in range(K)) / len(scored) ** 2
c.check(abs(st["chance_rate"] - chance) < 1e-12, f"chance_rate {st['chance_rate']} vs {chance}")
for t, e in enumerate(st["topics"]):
    want = {"topic": t, "stories": sum(x["topic"] == t for x in lst),
            "prompts": sum(x["prompt_topic"] == t for x in lst),
            "continuations": sum(x["continuation_topic"] == t for x in lst),
            "stays": sum(x["prompt_topic"] == t for x in stays)}
    c.check(e == want, f"topic {t}: {e} vs {want}")
own = [e for e, k in zip(lst, kind) if k == 0 and "stays" in e]
other = [e for e, k in zip(lst, kind) if k == 1 and "stays" in e]
r_own, r_other = (sum(e["stays"] for e in x) / len(x) for x in (own, other))
print(f"stay rate: own post {r_own:.3f}, another account's post {r_other:.3f}, "
      f"all {st['stay_rate']:.3f}, chance {st['chance_rate']:.3f}")
c.check(r_own > r_other, f"own-post stories stay {r_own:.3f} <= other-post {r_other:.3f}")

# ---- the report, in Chromium's DOM --------------------------------------------------------------
p = run_elm("report", cfg, "--quiet")
c.check(p.returncode == 0, f"elm report: {p.stderr}")
dom, console = chromium.render(os.path.join(run_dir, "report", "index.html"))
c.check(console == [], f"console messages: {console}")
sec = dom[dom.find('<section id="story-topics">'):]
sec = sec[:sec.find("</section>")]
c.check(f"<b>{100 * st['stay_rate']:.1f}%</b>" in sec and
        f"{100 * st['chance_rate']:.1f}% by chance" in sec, "the report's stay / chance rates")


def cell(t):
    return str(t + 1) if t >= 0 else "—"


for e in lst:
    stay = "—" if "stays" not in e else ("yes" if e["stays"] else "no")
    row = (f'<tr><td class="n">{e["index"] + 1}</td><td class="n">{cell(e["topic"])}</td>'
           f'<td class="n">{cell(e["prompt_topic"])}</td><td class="n">'
           f'{cell(e["continuation_topic"])}</td><td>{stay}</td></tr>')
    c.check(row in sec, f"report row of story {e['index']} missing: {row}")
mj = json.load(open(os.path.join(run_dir, "metrics.json")))
c.check(mj.get("story_topics") == st, "metrics.json story_topics differs from topics.json")

# ---- bad input -----------------------------------------------------------------------------------
before = open(os.path.join(run_dir, "topics", "topics.json"), "rb").read()
with open(spath, "a") as f:
    f.write('{"index": 90, "prompt": "x", "text": \n')
p = run_elm("topics", cfg, "--quiet")
msg = p.stderr.strip()
c.check(p.returncode != 0 and len(msg.splitlines()) == 1 and "stories.jsonl:91" in msg,
        f"malformed stories line: rc {p.returncode} {msg!r}")
c.check(open(os.path.join(run_dir, "topics", "topics.json"), "rb").read() == before,
        "topics.json changed after the failed run")
c.done()

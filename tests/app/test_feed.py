"""`elm feed` (issue #14's daily dose) on a hand-made run folder: viable.jsonl (ranked), the
generated tweets with the account each was asked for, and tokens.json's accounts; no model.
- feed.jsonl equals a reimplementation line for line: slot g asks for the account of the mix's
  Weyl sequence under run.seed, takes the best-ranked unused viable text of that account whose word
  set has Jaccard < near_duplicate with every text already in the feed, else the best of any
  account (its "why" says so), and ends early when nothing is left;
- no two texts of the feed are near-duplicates; the delivered mix in feed.json is recounted;
- the same seed gives a byte-identical feed.jsonl, another seed another one;
- no mix: rank order; a bad mix is one line naming generate.accounts and nothing is written;
- with topics (a run tokenized under condition = account+topic): slot g asks for the mix's account
  and the topic of the topics' own Weyl sequence (step frac(sqrt 2), salt "topic"); it takes the
  best text of both, else of the account, else of the topic, else any, says which in "why", and
  feed.json's "topics" holds the topic shares asked for against those delivered; a topic the
  data lacks is one line naming generate.topics;
- the report's "Your daily dose" section, rendered in headless Chromium, shows the mix asked for
  against the one delivered (feed.json's numbers), every day and every text with its account and
  why it was chosen, and metrics.json's "feed" holds the same."""
import html
import json
import os
import random
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from elmtest import Checks, read_jsonl, run_elm, tmpdir, weyl_pick, write  # noqa: E402

c = Checks()
root = tmpdir("elm-feed-")
run_dir = os.path.join(root, "mix")
os.makedirs(os.path.join(run_dir, "generated"))
ACCOUNTS = ["ada", "bob", "cy"]
rng = random.Random(5)
WORDS = "bread dough oven loaf run mile crew pace moon star orbit sky coffee rain tea night day".split()
gen, viable = [], []
for i in range(90):
    acc = ACCOUNTS[i % 3] if i % 10 else None
    # Some texts repeat earlier ones with a word changed: near-duplicates the feed must skip.
    if i > 5 and i % 7 == 0:
        words = gen[i - 5]["text"].split()
        words[0] = "so"
    else:
        words = [rng.choice(WORDS) for _ in range(rng.randint(4, 9))]
    line = {"index": i, "seed": 1, "prompt": "", "text": " ".join(words)}
    if acc:
        line["account"] = acc
    gen.append(line)
order = list(range(90))
rng.shuffle(order)
for rank, i in enumerate(order[:70], 1):
    viable.append({"rank": rank, "text": gen[i]["text"], "p_real": 0.9 - rank / 1000})
write(os.path.join(run_dir, "generated", "tweets.jsonl"), "".join(json.dumps(g) + "\n" for g in gen))
write(os.path.join(run_dir, "viable.jsonl"), "".join(json.dumps(v) + "\n" for v in viable))
write(os.path.join(run_dir, "tokens.json"), json.dumps({"condition": "account",
                                                        "accounts": {a: 30 for a in ACCOUNTS}}))
cfg = write(os.path.join(root, "feed.ini"), f"[run]\nname = mix\nout_dir = {root}\n")
out = os.path.join(run_dir, "feed", "feed.jsonl")


def pick(seed, g, weights):
    return weyl_pick(seed, g, weights, 0x6D6978)


def words(t):
    return set(w.lower() for w in re.findall(r"[A-Za-z0-9']+", t))


def jaccard(a, b):
    wa, wb = words(a), words(b)
    return len(wa & wb) / len(wa | wb) if wa | wb else 1.0


SQRT2, TOPIC = 0x6A09E667F3BCC909, 0x746F706963


def expected(seed, weights, days, per_day, near, gen=gen, viable=viable, topics=()):
    first = {}
    for g in gen:  # the first line of a text says what it was conditioned on
        first.setdefault(g["text"], g)
    used, chosen, lines = set(), [], []
    for d in range(days):
        for s in range(per_day):
            g_ = d * per_day + s
            want = pick(seed, g_, weights) if weights else None
            topic = weyl_pick(seed, g_, list(topics), TOPIC, SQRT2) if topics else None

            def ok(v, acc, top):
                f = first[v["text"]]
                return v["rank"] not in used and (acc is None or f.get("account") == acc) and \
                    (top is None or f.get("topic") == top) and \
                    all(jaccard(v["text"], t) < near for t in chosen)
            cand = []
            for acc, top in ((want, topic), (want, None), (None, topic), (None, None)):
                cand = cand or [v for v in viable if ok(v, acc, top)]
            if not cand:
                return lines
            v = cand[0]
            used.add(v["rank"])
            chosen.append(v["text"])
            f = first[v["text"]]
            line = {"day": d + 1, "slot": s + 1, "asked": want, "account": f.get("account"),
                    "text": v["text"], "rank": v["rank"]}
            if topics:
                line.update(asked_topic=topic, topic=f.get("topic"))
            lines.append(line)
    return lines


def feed(seed, spec, days, per_day, near=0.5):
    if os.path.exists(out):
        os.remove(out)
    p = run_elm("feed", cfg, "--set", f"run.seed={seed}", "--set", f"generate.accounts={spec}",
                "--set", f"feed.days={days}", "--set", f"feed.per_day={per_day}",
                "--set", f"feed.near_duplicate={near}", "--quiet")
    return p


def check_feed(seed, weights, days, per_day, near=0.5):
    spec = ", ".join(f"{a}:{w:g}" for a, w in weights)
    p = feed(seed, spec, days, per_day, near)
    if not c.check(p.returncode == 0, f"elm feed failed: {p.stderr}"):
        return None
    got = read_jsonl(out)
    want = expected(seed, weights, days, per_day, near)
    simple = [{k: g.get(k) for k in ("day", "slot", "asked", "account", "text", "rank")} for g in got]
    c.check(simple == want, f"seed {seed} {spec}: feed differs from the reference "
            f"({len(simple)} vs {len(want)} lines; first diff "
            f"{next((i for i, (a, b) in enumerate(zip(simple, want)) if a != b), None)})")
    texts = [g["text"] for g in got]
    dups = [(i, j) for i in range(len(texts)) for j in range(i) if jaccard(texts[i], texts[j]) >= near]
    c.check(not dups, f"near-duplicates in the feed: {dups[:5]}")
    for g in got:
        if g.get("asked") and g.get("account") != g["asked"]:
            c.check("no viable text of it was left" in g["why"], f"fallback without saying so: {g}")
    summ = json.load(open(os.path.join(run_dir, "feed", "feed.json")))
    c.check(summ["texts"] == len(got) and summ["viable"] == len(viable), f"feed.json counts {summ}")
    for a, w in weights:
        share = sum(1 for g in got if g.get("account") == a) / max(1, len(got))
        c.check(abs(summ["delivered"][a] - share) < 1e-9, f"delivered {a}: {summ['delivered'][a]}")
        c.check(abs(summ["asked"][a] - w / sum(x for _, x in weights)) < 1e-9, f"asked {a}")
    return open(out, "rb").read()


W = [("ada", 3.0), ("bob", 1.0), ("cy", 2.0)]
a = check_feed(1337, W, 7, 3)
b = check_feed(1337, W, 7, 3)
c.check(a is not None and a == b, "same seed: feed.jsonl differs")
c.check(check_feed(99, W, 7, 3) != a, "another seed gave the same feed")
check_feed(1337, W, 30, 4)        # runs out of some accounts, then of everything
check_feed(1337, [], 5, 3)         # no mix: rank order
check_feed(7, W, 4, 2, near=0.2)  # a stricter near-duplicate threshold

for spec in ("ada:0", "nobody:1", "ada:x"):
    p = feed(1, spec, 2, 2)
    msg = p.stderr.strip()
    c.check(p.returncode != 0 and len(msg.splitlines()) == 1 and "generate.accounts" in msg,
            f"bad mix {spec}: rc {p.returncode} {msg!r}")
    c.check(not os.path.exists(out), f"bad mix {spec}: feed.jsonl written")

# ---- topics: a run tokenized under condition = account+topic ---------------------------------
trun = os.path.join(root, "mixt")
os.makedirs(os.path.join(trun, "generated"))
TOPICS = ["bread", "moon", "rain"]
tgen, tviable = [], []
for i in range(120):
    acc, top = ACCOUNTS[i % 3], TOPICS[(i // 3 + i % 5) % 3]
    ws = [rng.choice(WORDS) for _ in range(rng.randint(4, 9))]
    line = {"index": i, "seed": 1, "prompt": "", "text": " ".join(ws), "account": acc}
    if i % 11:
        line["topic"] = top
    else:
        line["prior_topic"] = top  # an account-only text: no "topic"
    tgen.append(line)
order = list(range(120))
rng.shuffle(order)
for rank, i in enumerate(order[:80], 1):
    tviable.append({"rank": rank, "text": tgen[i]["text"], "p_real": 0.8 - rank / 1000})
write(os.path.join(trun, "generated", "tweets.jsonl"), "".join(json.dumps(g) + "\n" for g in tgen))
write(os.path.join(trun, "viable.jsonl"), "".join(json.dumps(v) + "\n" for v in tviable))
write(os.path.join(trun, "tokens.json"), json.dumps({
    "condition": "account+topic", "accounts": {a: 40 for a in ACCOUNTS},
    "topics": {t: 40 for t in TOPICS}, "pairs": {a: {t: 13 for t in TOPICS} for a in ACCOUNTS}}))
tcfg = write(os.path.join(root, "feedt.ini"), f"[run]\nname = mixt\nout_dir = {root}\n")
tout = os.path.join(trun, "feed", "feed.jsonl")


def check_topic_feed(seed, weights, topics, days, per_day, near=0.5):
    spec = ", ".join(f"{a}:{w:g}" for a, w in weights)
    tspec = ", ".join(f"{t}:{w:g}" for t, w in topics)
    if os.path.exists(tout):
        os.remove(tout)
    p = run_elm("feed", tcfg, "--set", f"run.seed={seed}", "--set", f"generate.accounts={spec}",
                "--set", f"generate.topics={tspec}", "--set", f"feed.days={days}",
                "--set", f"feed.per_day={per_day}", "--set", f"feed.near_duplicate={near}", "--quiet")
    if not c.check(p.returncode == 0, f"elm feed (topics) failed: {p.stderr}"):
        return None
    got = read_jsonl(tout)
    want = expected(seed, weights, days, per_day, near, tgen, tviable, topics)
    keys = ("day", "slot", "asked", "account", "text", "rank", "asked_topic", "topic")
    simple = [{k: g.get(k) for k in keys if k in want[0]} for g in got] if want else got
    c.check(simple == want, f"topics {tspec} / {spec}: feed differs from the reference "
            f"({len(simple)} vs {len(want)} lines; first diff "
            f"{next((i for i, (a, b) in enumerate(zip(simple, want)) if a != b), None)})")
    for g in got:
        hit = g.get("asked", g.get("account")) == g.get("account") and \
            g.get("asked_topic") == g.get("topic")
        c.check(hit != ("no viable text of it was left" in g["why"]), f"why of {g}")
        c.check(("about " + g["asked_topic"]) in g["why"], f"why names no topic: {g}")
    summ = json.load(open(os.path.join(trun, "feed", "feed.json")))
    total = sum(w for _, w in topics)
    for t, w in topics:
        share = sum(1 for g in got if g.get("topic") == t) / max(1, len(got))
        c.check(abs(summ["topics"]["delivered"][t] - share) < 1e-9, f"topic delivered {t}")
        c.check(abs(summ["topics"]["asked"][t] - w / total) < 1e-9, f"topic asked {t}")
    return got


T = [("bread", 2.0), ("moon", 1.0), ("rain", 1.0)]
got = check_topic_feed(1337, W, T, 5, 3)
c.check(got and any(g.get("topic") != g.get("asked_topic") for g in check_topic_feed(1337, W, T, 20, 4)),
        "the long topic feed never fell back (the test would not see the fallback order)")
check_topic_feed(4, [], T, 6, 3)  # topics alone: the account is whatever the text has
asked = [g["asked_topic"] for g in check_topic_feed(1337, [], [("bread", 1.0), ("moon", 1.0), ("rain", 1.0)], 10, 3)]
c.check(all(abs(asked.count(t) - 10) <= 1 for t in TOPICS), f"even topics not even: {asked}")
p = run_elm("feed", tcfg, "--set", "generate.topics=coffee", "--quiet")
c.check(p.returncode != 0 and "generate.topics" in p.stderr and "coffee" in p.stderr and
        len(p.stderr.strip().splitlines()) == 1, f"unknown topic: {p.returncode} {p.stderr!r}")

# ---- the report's section, in Chromium's DOM ------------------------------------------------
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chromium  # noqa: E402

check_feed(1337, W, 4, 3)
p = run_elm("report", cfg, "--quiet")
c.check(p.returncode == 0, f"elm report: {p.stderr}")
dom, console = chromium.render(os.path.join(run_dir, "report", "index.html"))
c.check(console == [], f"console messages: {console}")
sec = dom[dom.find('<section id="feed">'):]
sec = sec[:sec.find("</section>")]
c.check("Your daily dose" in sec, "no 'Your daily dose' section")
summ = json.load(open(os.path.join(run_dir, "feed", "feed.json")))
for a in summ["asked"]:
    row = f"<tr><td>{a}</td><td>{100 * summ['asked'][a]:.1f}%</td><td>{100 * summ['delivered'][a]:.1f}%</td></tr>"
    c.check(row in sec, f"mix row of {a} missing: {row}")
lines = read_jsonl(out)
for d in sorted({g["day"] for g in lines}):
    c.check(f"<h3>Day {d}</h3>" in sec, f"day {d} missing")
pos = 0
for g in lines:  # in order, each with its account and why
    item = (f'<span class="account">@{g.get("account", "(unconditioned)")}</span> <span class="tweet">{html.escape(g["text"], False)}'
            f'</span><span class="score">{html.escape(g["why"], False)}</span>')
    at = sec.find(item, pos)
    c.check(at >= 0, f"feed text missing or out of order: {item}")
    pos = max(pos, at)
# With topics: the topic table next to the account one, and each text's topic.
check_topic_feed(1337, W, T, 4, 3)
p = run_elm("report", tcfg, "--quiet")
c.check(p.returncode == 0, f"elm report (topics): {p.stderr}")
tdom, console = chromium.render(os.path.join(trun, "report", "index.html"))
c.check(console == [], f"console messages: {console}")
tsec = tdom[tdom.find('<section id="feed">'):]
tsec = tsec[:tsec.find("</section>")]
tsumm = json.load(open(os.path.join(trun, "feed", "feed.json")))
c.check("<th>topic</th><th>mix asked for</th><th>mix delivered</th>" in tsec, "no topic mix table")
for t in tsumm["topics"]["asked"]:
    row = (f"<tr><td>{t}</td><td>{100 * tsumm['topics']['asked'][t]:.1f}%</td>"
           f"<td>{100 * tsumm['topics']['delivered'][t]:.1f}%</td></tr>")
    c.check(row in tsec, f"topic mix row of {t} missing: {row}")
pos = 0
for g in read_jsonl(tout):
    topic = f'<span class="topic">[{g["topic"]}]</span> ' if "topic" in g else ""
    item = (f'<span class="account">@{g["account"]}</span> {topic}<span class="tweet">'
            f'{html.escape(g["text"], False)}</span>')
    at = tsec.find(item, pos)
    c.check(at >= 0, f"topic feed text missing or out of order: {item}")
    pos = max(pos, at)
tm = json.load(open(os.path.join(trun, "metrics.json")))
c.check(tm.get("feed", {}).get("topics", {}).get("delivered") == tsumm["topics"]["delivered"],
        "metrics.json feed.topics.delivered")

m = json.load(open(os.path.join(run_dir, "metrics.json")))
c.check(m.get("feed", {}).get("delivered") == summ["delivered"], "metrics.json feed.delivered")
c.check([x["text"] for x in m.get("feed", {}).get("items", [])] == [g["text"] for g in lines],
        "metrics.json feed.items")
c.done()

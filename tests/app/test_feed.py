"""`elm feed` (issue #14's daily dose) on a hand-made run folder: viable.jsonl (ranked), the
generated tweets with the account each was asked for, and tokens.json's accounts; no model.
- feed.jsonl equals a reimplementation line for line: slot g asks for the account of the mix's
  Weyl sequence under run.seed, takes the best-ranked unused viable text of that account whose word
  set has Jaccard < near_duplicate with every text already in the feed, else the best of any
  account (its "why" says so), and ends early when nothing is left;
- no two texts of the feed are near-duplicates; the delivered mix in feed.json is recounted;
- the same seed gives a byte-identical feed.jsonl, another seed another one;
- no mix: rank order; a bad mix is one line naming generate.accounts and nothing is written;
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


def expected(seed, weights, days, per_day, near):
    account = {g["text"]: g.get("account") for g in reversed(gen)}  # the first line wins
    used, chosen, lines = set(), [], []
    for d in range(days):
        for s in range(per_day):
            want = pick(seed, d * per_day + s, weights) if weights else None

            def ok(v, any_account):
                return v["rank"] not in used and (any_account or account[v["text"]] == want) and \
                    all(jaccard(v["text"], t) < near for t in chosen)
            cand = [v for v in viable if ok(v, want is None)]
            if not cand and want:
                cand = [v for v in viable if ok(v, True)]
            if not cand:
                return lines
            v = cand[0]
            used.add(v["rank"])
            chosen.append(v["text"])
            lines.append({"day": d + 1, "slot": s + 1, "asked": want, "account": account[v["text"]],
                          "text": v["text"], "rank": v["rank"]})
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
m = json.load(open(os.path.join(run_dir, "metrics.json")))
c.check(m.get("feed", {}).get("delivered") == summ["delivered"], "metrics.json feed.delivered")
c.check([x["text"] for x in m.get("feed", {}).get("items", [])] == [g["text"] for g in lines],
        "metrics.json feed.items")
c.done()

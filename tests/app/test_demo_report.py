"""End to end on the shipped demo config, shrunk to seconds: `elm run` twice with the same seed
gives identical metrics.json (timings excluded); a second run re-runs no stage; changing a
[generate] key re-runs generate and the stages after it only; the report renders in headless
Chromium with data in every chart, every section present and no console errors."""
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
import chromium  # noqa: E402
from elmtest import Checks, SOURCE, run_elm, tmpdir  # noqa: E402

c = Checks()
out = tmpdir()
demo = os.path.join(SOURCE, "configs", "demo.ini")
small = ["--set", "train.steps=40", "--set", "train.eval_every=10", "--set", "train.checkpoint_every=20",
         "--set", "generate.count=120", "--set", "generate.stories=2", "--set", "generate.max_new_tokens=40",
         "--set", "validate.rf.n_estimators=20", "--set", "topics.iterations=10", "--set", f"run.out_dir={out}",
         "--quiet"]


def run(name, *extra):
    p = run_elm("run", demo, *small, "--set", f"run.name={name}", *extra)
    c.check(p.returncode == 0, f"elm run {name} {extra}: {p.stderr.strip()[-400:]}")
    man = json.load(open(os.path.join(out, name, "manifest.json")))
    return {s["name"]: s["status"] for s in man["stages"]}


def metrics(name):
    """metrics.json without what may differ between two runs: timings and the run's name."""
    m = json.load(open(os.path.join(out, name, "metrics.json")))
    m.pop("timings", None)
    m.get("run", {}).pop("name", None)
    return m


status = run("a")
c.check(all(v == "ran" for v in status.values()), f"first run runs every stage: {status}")
status = run("a")
c.check(all(v == "cached" for v in status.values()), f"second run is all cached: {status}")
status = run("b")
ma, mb = metrics("a"), metrics("b")
c.check(ma == mb, "two runs with the same seed give identical metrics.json; differing keys: "
        + str([k for k in set(ma) | set(mb) if ma.get(k) != mb.get(k)]))

status = run("a", "--set", "generate.temperature=0.7")
before = ["ingest", "clean", "tokenize", "train"]
after = ["generate", "validate", "topics", "viable", "report"]
c.check(all(status[s] == "cached" for s in before), f"stages before generate stay cached: {status}")
c.check(all(status[s] == "ran" for s in after), f"generate and later re-run: {status}")

report = os.path.join(out, "a", "report", "index.html")
dom, console = chromium.render(report, screenshot=os.path.join(out, "report.png"))
c.check(console == [], f"no console messages: {console}")
charts = chromium.charts(dom)
c.check(len(charts) >= 10, f"at least 10 charts, got {len(charts)}")
for title, points in charts:
    c.check(points > 0, f"chart '{title}' has no data")
for section in ["summary", "accounts", "training", "words", "topics", "classifiers", "caught",
                "attribution", "viable", "stories", "outputs"]:
    c.check(f'<section id="{section}">' in dom, f"section {section} present")
c.check("not run" not in dom.lower() and "has not run" not in dom, "no section says its stage did not run")
c.check(os.path.getsize(os.path.join(out, "report.png")) > 10000, "screenshot written")
m = metrics("a")
for key in ["accounts", "training", "classifiers", "topics", "top_words", "viable", "stories",
            "caught_vs_passed", "attribution"]:
    c.check(key in m, f"metrics.json has {key}")
# The attribution and caught/passed sections show metrics.json's numbers.
att = m.get("attribution", {})
c.check(f"<b>{100 * att.get('ceiling', -1):.1f}%</b>" in dom, f"the page shows the ceiling {att.get('ceiling')}")
c.check(len(att.get("accounts", [])) == 3, f"three demo accounts attributed: {att.get('accounts')}")
for a in att.get("accounts", []):
    c.check(f"<td>{a['account']}</td><td>{100 * a['recall']:.1f}%</td>" in dom, f"row of {a['account']}")
for g in ("caught", "passed"):
    n = m.get("caught_vs_passed", {}).get(g, {}).get("count", -1)
    c.check(f"</td><td>{n}</td>" in dom, f"the page shows the {g} count {n}")
shutil.rmtree(out, ignore_errors=True)
c.done()

"""elm fetch against a local stand-in of X, Bluesky and Mastodon (tests/data/fetchserver.py):
every expected post exactly once, in the schema, with replies and reposts told apart; ingest and
clean read the result; a second fetch asks only for the newer posts; a kill -9 in the middle of an
account's pages, then a rerun, leaves the same file as an uninterrupted fetch."""
import json
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import fetchserver as fs  # noqa: E402
from elmtest import ELM, Checks, read_jsonl, run_elm, tmpdir, write  # noqa: E402

c = Checks()
SCHEMA = ["id", "created_at", "text", "lang", "is_reply", "is_repost", "platform", "account"]


def fixture():
    fx = fs.Fixture()
    fx.x["conan"] = ("2244994945", fs.make_posts(11, seed=1))
    fx.bsky["someone.bsky.social"] = fs.make_posts(10, seed=2)
    fx.masto["user@m.example"] = ("77", fs.make_posts(9, seed=3))
    return fx


def config(d, base, extra=""):
    return write(os.path.join(d, "fetch.ini"), f"""[run]
name = f
out_dir = {d}/out
[fetch]
source = x : conan
source = bluesky : someone.bsky.social
source = mastodon : @user@m.example
x_api = {base}
bluesky_api = {base}
mastodon_api = {base}
backoff = 0.01
{extra}
""")


def env():
    e = dict(os.environ)
    e["ELM_X_BEARER_TOKEN"] = "secret-token"
    return e


def fetch(cfg, *sets):
    args = [ELM, "fetch", cfg]
    for s in sets:
        args += ["--set", s]
    return subprocess.run(args, capture_output=True, text=True, env=env())


def expected(fx, replies=False, reposts=False):
    """platform -> list of (id, text, is_reply, is_repost), newest first (the order of pages)."""
    out = {}
    for name, (uid, posts) in fx.x.items():
        out["x/" + name] = [(fs.x_id(p), fs.x_expected(p), p.kind == "reply", p.kind == "repost")
                            for p in reversed(posts)]
    for name, posts in fx.bsky.items():
        out["bluesky/" + name] = [(fs.bsky_id(p), p.text, p.kind == "reply",
                                   p.kind == "repost") for p in reversed(posts)]
    for name, (uid, posts) in fx.masto.items():
        out["mastodon/" + name] = [(fs.masto_id(p), fs.masto_expected(p), p.kind == "reply",
                                    p.kind == "repost") for p in reversed(posts)]
    for k in out:
        out[k] = [e for e in out[k] if (replies or not e[2]) and (reposts or not e[3])]
    return out


def file_of(d, key):
    plat, acc = key.split("/")
    return os.path.join(d, "out", "f", "fetch", plat, acc + ".jsonl")


def check_files(d, fx, what, replies=False, reposts=False, ordered=True):
    """Every expected post exactly once in its account's file, in the schema; in page order
    (newest first) when `ordered`."""
    exp = expected(fx, replies, reposts)
    for key, posts in exp.items():
        path = file_of(d, key)
        if not c.check(os.path.exists(path), f"{what}: {path} missing"):
            continue
        got = read_jsonl(path)
        c.check(len(got) == len(posts), f"{what}: {key}: {len(got)} posts, expected {len(posts)}")
        if not ordered:
            by_id = {e[0]: e for e in posts}
            posts = [by_id.get(g["id"], ("?",) * 4) for g in got]
        for g, e in zip(got, posts):
            c.check(list(g.keys()) == SCHEMA, f"{what}: {key}: fields {list(g.keys())}")
            c.check(g["id"] == e[0], f"{what}: {key}: id {g['id']} != {e[0]}")
            c.check(g["text"] == e[1], f"{what}: {key} {e[0]}: text {g['text']!r} != {e[1]!r}")
            c.check(g["is_reply"] is e[2] and g["is_repost"] is e[3],
                    f"{what}: {key} {e[0]}: flags {g['is_reply']},{g['is_repost']} != {e[2:]}")
            c.check(g["platform"] == key.split("/")[0] and g["account"] == key.split("/")[1],
                    f"{what}: {key}: platform/account {g['platform']}/{g['account']}")
            c.check(len(g["created_at"]) == 20 and g["created_at"].endswith("Z"),
                    f"{what}: created_at {g['created_at']}")
            c.check(g["lang"] == "en", f"{what}: lang {g['lang']}")
        ids = [g["id"] for g in got]
        c.check(len(ids) == len(set(ids)), f"{what}: {key}: an id twice")
    return exp


def test_fetch_and_ingest():
    fx = fixture()
    srv, base = fs.start(fx)
    d = tmpdir()
    cfg = config(d, base)
    p = fetch(cfg)
    c.check(p.returncode == 0, f"fetch failed: {p.stderr}")
    exp = check_files(d, fx, "first fetch")
    for key in exp:
        c.check(f"fetch {key}: done" in p.stderr, f"no progress line for {key}: {p.stderr}")
    # The created_at of each post: the fixture's time in UTC.
    got = read_jsonl(file_of(d, "x/conan"))
    want = {fs.x_id(q): q.when + "Z" for q in fx.x["conan"][1]}
    c.check(all(g["created_at"] == want[g["id"]] for g in got), "X created_at differ")
    state = json.load(open(os.path.join(d, "out", "f", "fetch", "state.json")))
    for key, posts in exp.items():
        e = state["accounts"].get(key, {})
        c.check(e.get("posts") == len(posts) and e.get("fetched_at") and "sweep" not in e,
                f"state.json {key}: {e}")
    # ingest reads the fetched files with no [data] source; clean reads its output.
    r = run_elm("ingest", cfg)
    c.check(r.returncode == 0, f"ingest failed: {r.stderr}")
    corpus = read_jsonl(os.path.join(d, "out", "f", "corpus.jsonl"))
    for key, posts in exp.items():
        acc = key.split("/")[1]
        mine = [x for x in corpus if x["account"] == acc]
        c.check(sorted(x["id"] for x in mine) == sorted(e[0] for e in posts),
                f"corpus.jsonl {acc}: ids {len(mine)} != {len(posts)}")
        texts = {x["id"]: x["text"] for x in mine}
        c.check(all(texts.get(e[0]) == e[1] for e in posts), f"corpus texts of {acc} differ")
    r = run_elm("clean", cfg)
    c.check(r.returncode == 0, f"clean failed: {r.stderr}")
    clean = read_jsonl(os.path.join(d, "out", "f", "clean.jsonl"))
    c.check(len(clean) == sum(len(v) for v in exp.values()),
            f"clean.jsonl holds {len(clean)} posts")
    # Replies and reposts kept on request, each flagged.
    d2 = tmpdir()
    p = fetch(config(d2, base), "fetch.replies=true", "fetch.reposts=true")
    c.check(p.returncode == 0, f"fetch with replies failed: {p.stderr}")
    exp2 = check_files(d2, fx, "replies+reposts", True, True)
    c.check(all(any(e[2] for e in v) and any(e[3] for e in v) for v in exp2.values()),
            "the fixture has no reply or repost")
    srv.shutdown()


def test_since_max_posts_and_run():
    fx = fixture()
    srv, base = fs.start(fx)
    # since: only posts from then on (X is also asked with start_time); max_posts: the newest N.
    posts = fx.x["conan"][1]
    since = posts[5].when + "Z"
    d = tmpdir()
    p = fetch(config(d, base), f"fetch.since={since}")
    c.check(p.returncode == 0, f"since: fetch failed: {p.stderr}")
    when = {}  # every post's time by id, from the fixture
    for uid, ps in fx.x.values():
        when.update({fs.x_id(q): q.when + "Z" for q in ps})
    for ps in fx.bsky.values():
        when.update({fs.bsky_id(q): q.when + "Z" for q in ps})
    for uid, ps in fx.masto.values():
        when.update({fs.masto_id(q): q.when + "Z" for q in ps})
    for key, exp in expected(fx).items():
        got = [g["id"] for g in read_jsonl(file_of(d, key))]
        want = [e[0] for e in exp if when[e[0]] >= since]
        c.check(got == want and 0 < len(want) < len(exp),
                f"since: {key}: {got} != {want} (of {len(exp)})")
    xs = [q for _, path, q, _ in fx.log if path.endswith("/tweets")]
    c.check(xs and all(q.get("start_time") == since for q in xs), f"since: X requests {xs}")
    d = tmpdir()
    p = fetch(config(d, base), "fetch.max_posts=4")
    c.check(p.returncode == 0, f"max_posts: fetch failed: {p.stderr}")
    for key, exp in expected(fx).items():
        got = [g["id"] for g in read_jsonl(file_of(d, key))]
        c.check(got == [e[0] for e in exp[:4]], f"max_posts: {key}: {got}")
    # elm run's fetch stage, then its ingest stage reading fetch/*/*.jsonl.
    d = tmpdir()
    cfg = config(d, base)
    e = env()
    for stage in ("fetch", "ingest"):
        p = subprocess.run([ELM, "run", cfg, "--only", stage], capture_output=True, text=True,
                           env=e)
        c.check(p.returncode == 0, f"elm run --only {stage}: {p.stderr}")
    corpus = read_jsonl(os.path.join(d, "out", "f", "corpus.jsonl"))
    c.check(len(corpus) == sum(len(v) for v in expected(fx).values()),
            f"elm run: corpus.jsonl holds {len(corpus)} posts")
    man = json.load(open(os.path.join(d, "out", "f", "manifest.json")))
    st = {s["name"]: s for s in man["stages"]}
    c.check("fetch/state.json" in st.get("fetch", {}).get("outputs", {}),
            f"manifest: fetch outputs {st.get('fetch', {}).get('outputs')}")
    c.check(any(k.startswith("fetch/x/") for k in st.get("ingest", {}).get("inputs", {})),
            f"manifest: ingest inputs {st.get('ingest', {}).get('inputs')}")
    srv.shutdown()


def test_incremental():
    fx = fixture()
    srv, base = fs.start(fx)
    d = tmpdir()
    cfg = config(d, base)
    p = fetch(cfg)
    c.check(p.returncode == 0, f"first fetch failed: {p.stderr}")
    old = expected(fx)
    before = {k: open(file_of(d, k), "rb").read() for k in old}
    newest = {"x": old["x/conan"][0][0], "m": old["mastodon/user@m.example"][0][0]}
    # Two newer posts on each account (non-replies, non-reposts: ids 11.. give post kinds).
    fx.x["conan"][1].extend(fs.make_posts(2, start=11, seed=1)[0:2])
    fx.bsky["someone.bsky.social"].extend(fs.make_posts(2, start=10, seed=2))
    fx.masto["user@m.example"][1].extend(fs.make_posts(2, start=9, seed=3))
    fx.log.clear()
    p = fetch(cfg)
    c.check(p.returncode == 0, f"second fetch failed: {p.stderr}")
    exp = check_files(d, fx, "incremental", ordered=False)
    for key in exp:  # the old lines stay as they were, the new ones follow
        now = open(file_of(d, key), "rb").read()
        c.check(now.startswith(before[key]) and len(now) > len(before[key]),
                f"{key}: the old lines changed or nothing was appended")
    log = [(path, q) for _, path, q, _ in fx.log]
    xs = [q for path, q in log if path.startswith("/2/")]
    c.check(len(xs) == 1 and xs[0].get("since_id") == newest["x"],
            f"X: requests {xs}, expected one with since_id={newest['x']}")
    # Bluesky has no since parameter: pages are asked for until one reaches a post the file
    # had (the server's list lacks replies; a repost, not kept, does not count as known).
    bs = [q for path, q in log if path.startswith("/xrpc/")]
    served = [p for p in reversed(fx.bsky["someone.bsky.social"]) if p.kind != "reply"]
    known = {e[0] for e in old["bluesky/someone.bsky.social"]}
    first_known = next(i for i, p in enumerate(served) if fs.bsky_id(p) in known)
    pages = first_known // fs.PAGE + 1
    c.check(len(bs) == pages and "cursor" not in bs[0],
            f"Bluesky: requests {bs}, expected {pages} from the first page")
    ms = [q for path, q in log if path.startswith("/api/")]
    c.check(ms and all(q.get("since_id") == newest["m"] for q in ms) and len(ms) <= 2,
            f"Mastodon: requests {ms}, expected only since_id={newest['m']}")
    srv.shutdown()


def test_kill_and_resume():
    fx = fixture()
    for name in ("conan",):
        fx.x[name] = (fx.x[name][0], fs.make_posts(20, seed=1))
    srv, base = fs.start(fx)
    # The reference: an uninterrupted fetch.
    ref = tmpdir()
    p = fetch(config(ref, base))
    c.check(p.returncode == 0, f"reference fetch failed: {p.stderr}")
    d = tmpdir()
    cfg = config(d, base)
    fx.gate = threading.Event()  # X's second page waits: the kill comes after the first
    proc = subprocess.Popen([ELM, "fetch", cfg, "--quiet"], env=env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    path = file_of(d, "x/conan")
    state = os.path.join(d, "out", "f", "fetch", "state.json")
    deadline = time.time() + 30
    while time.time() < deadline:  # until the first page is stored and recorded
        n = len(open(path).read().splitlines()) if os.path.exists(path) else 0
        try:
            pages = json.load(open(state))["accounts"]["x/conan"]["sweep"]["pages"]
        except (OSError, ValueError, KeyError, TypeError):
            pages = 0
        if n >= 1 and pages >= 1:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    fx.gate.set()
    fx.gate = None
    partial = open(path).read().splitlines() if os.path.exists(path) else []
    total = len(read_jsonl(file_of(ref, "x/conan")))
    c.check(0 < len(partial) < total, f"the kill came at {len(partial)} of {total} posts")
    # A page written after the state was saved (a kill between the two): cut back on rerun.
    with open(path, "a") as f:
        f.write('{"id":"1000000000099","created_at":"2020-01-01T00:00:00Z","text":"x"}\n{"id":"12')
    p = fetch(cfg)
    c.check(p.returncode == 0, f"rerun failed: {p.stderr}")
    for key in expected(fx):
        a, b = open(file_of(ref, key), "rb").read(), open(file_of(d, key), "rb").read()
        c.check(a == b, f"{key}: the resumed file differs from the uninterrupted one")
    srv.shutdown()


test_fetch_and_ingest()
test_since_max_posts_and_run()
test_incremental()
test_kill_and_resume()
c.done()

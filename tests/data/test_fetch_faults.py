"""elm fetch's rate limits, faults and token handling against the local stand-in server
(tests/data/fetchserver.py): a 429 with x-rate-limit-reset is waited out (the retried request
arrives after the reset), Retry-After is honoured, 503 twice then 200 is retried; a connection
reset, a truncated body, invalid JSON, a 401 and unknown accounts end in one line naming the
platform and account, a non-zero exit, and the earlier pages kept; the bearer token is in no file
of the run folder and not in stderr; a token file others may read is refused."""
import glob
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import fetchserver as fs  # noqa: E402
from elmtest import ELM, Checks, read_jsonl, tmpdir, write  # noqa: E402

c = Checks()
TOKEN = "tok-" + os.urandom(12).hex()
runs = []     # run folders to grep for the token
stderrs = []  # every stderr


def fixture():
    fx = fs.Fixture()
    fx.token = TOKEN
    fx.x["conan"] = ("2244994945", fs.make_posts(11, seed=1))
    fx.bsky["someone.bsky.social"] = fs.make_posts(10, seed=2)
    fx.masto["user@m.example"] = ("77", fs.make_posts(9, seed=3))
    return fx


def fetch(base, source, *sets, token=TOKEN, extra=""):
    d = tmpdir()
    runs.append(d)
    cfg = write(os.path.join(d, "f.ini"), f"""[run]
name = f
out_dir = {d}/out
[fetch]
source = {source}
x_api = {base}
bluesky_api = {base}
mastodon_api = {base}
backoff = 0.01
retries = 2
{extra}
""")
    args = [ELM, "fetch", cfg]
    for s in sets:
        args += ["--set", s]
    e = dict(os.environ)
    e.pop("ELM_X_BEARER_TOKEN", None)
    if token is not None:
        e["ELM_X_BEARER_TOKEN"] = token
    p = subprocess.run(args, capture_output=True, text=True, env=e)
    stderrs.append(p.stderr)
    return d, p


def posts_in(d, rel):
    path = os.path.join(d, "out", "f", "fetch", rel)
    return read_jsonl(path) if os.path.exists(path) else []


def check_failure(p, d, key, rel, words, min_kept, what):
    """Non-zero exit, one error line naming the account and saying why, earlier pages kept."""
    lines = [ln for ln in p.stderr.splitlines() if ln.startswith("elm fetch:")]
    c.check(p.returncode != 0, f"{what}: exit 0")
    c.check(len(lines) == 1, f"{what}: {len(lines)} error lines: {p.stderr}")
    line = lines[0] if lines else ""
    c.check(key in line, f"{what}: the error does not name {key}: {line}")
    for w in words:
        c.check(w in line, f"{what}: the error does not say '{w}': {line}")
    kept = posts_in(d, rel)
    c.check(len(kept) >= min_kept, f"{what}: {len(kept)} posts kept, expected {min_kept}+")
    c.check(f"kept {len(kept)} posts" in line, f"{what}: the error does not say what was kept")


def page_requests(fx, prefix):
    return [(t, q) for t, path, q, _ in fx.log if path.startswith(prefix)]


fx = fixture()
srv, base = fs.start(fx)

# A 429 whose x-rate-limit-reset is 2 s ahead: the retry waits until then.
reset = int(time.time()) + 2
fx.faults["x_tweets"] = [(429, reset)]
d, p = fetch(base, "x : conan")
c.check(p.returncode == 0, f"429: fetch failed: {p.stderr}")
tw = page_requests(fx, "/2/users/2244994945/tweets")
c.check(len(tw) >= 2 and tw[1][0] >= reset, f"429: the retry came at {tw[1][0] if len(tw) > 1 else None}, "
        f"before the reset {reset}")
c.check("waiting until" in p.stderr, f"429: no waiting line: {p.stderr}")
c.check(len(posts_in(d, "x/conan.jsonl")) == 6, "429: not every post fetched")

# Retry-After (Bluesky's 429s carry no x-rate-limit headers).
fx.log.clear()
fx.faults["bsky"] = [("retry-after", 1)]
d, p = fetch(base, "bluesky : someone.bsky.social")
c.check(p.returncode == 0, f"Retry-After: fetch failed: {p.stderr}")
bs = page_requests(fx, "/xrpc/")
c.check(len(bs) >= 2 and bs[1][0] - bs[0][0] >= 1.0, f"Retry-After: waited {bs[1][0] - bs[0][0] if len(bs) > 1 else None} s")

# 503 twice, then 200.
fx.log.clear()
fx.faults["masto"] = [503, 503]
d, p = fetch(base, "mastodon : @user@m.example")
c.check(p.returncode == 0, f"503: fetch failed: {p.stderr}")
first = [q for _, q in page_requests(fx, "/api/v1/accounts/77/") if "max_id" not in q]
c.check(len(first) == 3, f"503: the first page was asked {len(first)} times, expected 3")
c.check(len(posts_in(d, "mastodon/user@m.example.jsonl")) == 5, "503: not every post fetched")

# Mastodon's rate-limit headers: an answer with X-RateLimit-Remaining: 0 makes the next request
# wait for X-RateLimit-Reset (an ISO 8601 time).
fx.log.clear()
reset = int(time.time()) + 2
iso = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(reset))
fx.headers["masto"] = [[("X-RateLimit-Limit", "300"), ("X-RateLimit-Remaining", "0"),
                        ("X-RateLimit-Reset", iso)]]
d, p = fetch(base, "mastodon : @user@m.example")
c.check(p.returncode == 0, f"X-RateLimit-Reset: fetch failed: {p.stderr}")
ms = page_requests(fx, "/api/v1/accounts/77/")
c.check(len(ms) >= 2 and ms[1][0] >= reset, f"X-RateLimit-Reset: the next page came at "
        f"{ms[1][0] if len(ms) > 1 else None}, before {reset}")
c.check("rate limit reached, waiting until" in p.stderr, f"no waiting line: {p.stderr}")

# Faults on the second page: the first page stays, the error names the account.
cases = [
    # (curl itself retries once when a reused connection dies: more resets than retries)
    ("bsky", ["ok"] + ["reset"] * 10, "bluesky : someone.bsky.social", "bluesky/someone.bsky.social",
     "bluesky/someone.bsky.social.jsonl", ["page 2", "after 2 retries"], "connection reset"),
    ("x_tweets", ["ok"] + ["truncated"] * 10, "x : conan", "x/conan", "x/conan.jsonl",
     ["page 2", "after 2 retries"], "truncated body"),
    ("masto", ["ok", "badjson"], "mastodon : @user@m.example", "mastodon/user@m.example",
     "mastodon/user@m.example.jsonl", ["page 2", "not a JSON array"], "invalid JSON"),
    ("x_tweets", ["ok", 500, 500, 500], "x : conan", "x/conan", "x/conan.jsonl",
     ["page 2", "HTTP 500", "retries exhausted"], "500 until the retries run out"),

    ("bsky", ["ok"] + ["hang"] * 3, "bluesky : someone.bsky.social",
     "bluesky/someone.bsky.social", "bluesky/someone.bsky.social.jsonl",
     ["page 2", "after 2 retries", "timed out"], "no answer within [fetch] timeout"),
]
for endpoint, faults, source, key, rel, words, what in cases:
    fx.faults[endpoint] = list(faults)
    d, p = fetch(base, source, "fetch.timeout=1")
    check_failure(p, d, key, rel, words, 1, what)
    fx.faults.clear()
    # The rerun continues from the page that failed and ends complete.
    e = dict(os.environ, ELM_X_BEARER_TOKEN=TOKEN)
    q = subprocess.run([ELM, "fetch", os.path.join(d, "f.ini")], capture_output=True, text=True,
                       env=e)
    stderrs.append(q.stderr)
    ref = {"x/conan": 6, "bluesky/someone.bsky.social": 5, "mastodon/user@m.example": 5}[key]
    got = posts_in(d, rel)
    c.check(q.returncode == 0 and len(got) == ref and len({g["id"] for g in got}) == ref,
            f"{what}: the rerun has {len(got)} posts, expected {ref}: {q.stderr}")

# A bad token (401), unknown accounts (X answers 200 with errors, Mastodon 404, Bluesky 400).
d, p = fetch(base, "x : conan", token="wrong-" + TOKEN[4:])
check_failure(p, d, "x/conan", "x/conan.jsonl", ["HTTP 401", "token"], 0, "401")
d, p = fetch(base, "x : nobody")
check_failure(p, d, "x/nobody", "x/nobody.jsonl", ["not found"], 0, "unknown X user")
d, p = fetch(base, "mastodon : @nobody@m.example")
check_failure(p, d, "mastodon/nobody@m.example", "mastodon/nobody@m.example.jsonl",
              ["HTTP 404", "no such account"], 0, "unknown Mastodon account")
d, p = fetch(base, "bluesky : nobody.bsky.social")
check_failure(p, d, "bluesky/nobody.bsky.social", "bluesky/nobody.bsky.social.jsonl",
              ["HTTP 400"], 0, "unknown Bluesky actor")
# One account failing does not stop the others; the error says which failed.
d, p = fetch(base, "x : nobody", extra="source = bluesky : someone.bsky.social")
c.check(p.returncode != 0 and len(posts_in(d, "bluesky/someone.bsky.social.jsonl")) == 5,
        f"a failed account stopped the others: {p.stderr}")

# No token at all; a token file others may read; a token file of mode 0600.
d, p = fetch(base, "x : conan", token=None)
c.check(p.returncode != 0 and "ELM_X_BEARER_TOKEN" in p.stderr, f"no token: {p.stderr}")
tdir = tmpdir()
tfile = write(os.path.join(tdir, "token"), TOKEN + "\n")
os.chmod(tfile, 0o644)
d, p = fetch(base, "x : conan", token=None, extra=f"token_file = {tfile}")
c.check(p.returncode != 0 and "chmod 600" in p.stderr and "0644" in p.stderr,
        f"a 0644 token file was not refused: {p.stderr}")
c.check(not posts_in(d, "x/conan.jsonl"), "posts were fetched with a refused token file")
os.chmod(tfile, 0o600)
d, p = fetch(base, "x : conan", token=None, extra=f"token_file = {tfile}")
c.check(p.returncode == 0 and len(posts_in(d, "x/conan.jsonl")) == 6,
        f"a 0600 token file was not used: {p.stderr}")
c.check(all(a == "Bearer " + TOKEN for _, path, _, a in fx.log[-2:]), "the token was not sent")

# A server whose cursor never moves: the sweep ends when the cursor comes back unchanged.
fx.log.clear()
fx.stuck = True
d, p = fetch(base, "bluesky : someone.bsky.social")
fx.stuck = False
bs = page_requests(fx, "/xrpc/")
got = posts_in(d, "bluesky/someone.bsky.social.jsonl")
c.check(p.returncode == 0 and len(bs) == 2 and len(got) == 2 and len({g["id"] for g in got}) == 2,
        f"stuck cursor: {len(bs)} requests, {len(got)} posts: {p.stderr}")

# Nothing to fetch, a bad account name, a plain http:// base URL that is not loopback: refused.
nd = tmpdir()
p = subprocess.run([ELM, "fetch", write(os.path.join(nd, "n.ini"), f"[run]\nout_dir = {nd}\n")],
                   capture_output=True, text=True)
c.check(p.returncode != 0 and "[fetch] lists no source" in p.stderr, f"no source: {p.stderr}")
d, p = fetch(base, "x : not/a/name")
c.check(p.returncode != 0 and "not an X user name" in p.stderr, f"bad X name: {p.stderr}")
d, p = fetch(base, "bluesky : a.bsky.social", "fetch.bluesky_api=http://example.com")
c.check(p.returncode != 0 and "refusing plain http://" in p.stderr, f"http base: {p.stderr}")
d, p = fetch(base, "mastodon : nobody")
c.check(p.returncode != 0 and "@user@instance" in p.stderr, f"bad Mastodon name: {p.stderr}")

# The token is nowhere: not in any file under the run folders, not in stderr.
for d in runs:
    for path in glob.glob(os.path.join(d, "out", "**"), recursive=True):
        if os.path.isfile(path):
            data = open(path, "rb").read()
            c.check(TOKEN[4:].encode() not in data, f"the token is in {path}")
c.check(all(TOKEN[4:] not in s for s in stderrs), "the token is in stderr")
c.check(len(runs) > 10, "too few runs")
srv.shutdown()
c.done()

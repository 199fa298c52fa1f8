"""`elm import hf:owner/name` and [model] init = hf:owner/name against a local stand-in of the
Hugging Face Hub (hubstub.py) serving the gpt2-tiny fixture with GPT-2's vocabulary, as one
model.safetensors and as a 2-shard index written here with the safetensors package:

- the import of hf:... gives the same checkpoint, file for file and byte for byte, as
  `elm import` of the folder; the cache holds the files (no .part left) and a second import
  asks the server nothing; [model] init = hf:... trains (one step at lr 0) to the same
  checkpoint as init = the folder;
- a dropped connection and a 503 are retried (from the byte reached), a Hub that stays at 503
  is one line after 3 retries;
- a download SIGKILLed halfway (the server stalls after N bytes) resumes from the byte the
  .part reached: the server logs that Range, and the result is the same checkpoint; a server
  that ignores the Range makes it start over, still right; a second elm meanwhile finds the
  .part locked;
- a flipped byte (the sha256 in X-Linked-Etag is the real file's) is one line naming the file
  and its sha256, and neither the file nor its .part is kept; then a good download succeeds;
- a 404 (no repo, no weights), a 401 without or with a wrong $HF_TOKEN, a bad repo name and
  plain http:// to a non-loopback host are one clear line and a non-zero exit;
- $HF_TOKEN goes to the server as "Authorization: Bearer" and into no file, stdout or stderr."""
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys

import numpy as np
from safetensors.numpy import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from elmtest import ELM, SHARED, Checks, tmpdir, write  # noqa: E402
from hubstub import Hub, wait_for  # noqa: E402

c = Checks()
work = tmpdir("elm-hub-")
FIX = os.path.join(SHARED, "fixtures", "gpt2-tiny")
GPT2 = os.path.join(SHARED, "data", "gpt2-vocab")
BUILD = os.environ.get("ELM_BUILD", ".")
KIT = os.path.join(BUILD, "tests", "train_test_trainkit")
CACHE = os.path.join(work, "cache")
TOKEN = "hf_s3cretTOKENdoNotLeak4242"


def read(path):
    with open(path, "rb") as f:
        return f.read()


def folder_files(d):
    return {f: read(os.path.join(d, f)) for f in sorted(os.listdir(d))}


hub = Hub()
BASE_ENV = {k: v for k, v in os.environ.items()
            if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "hf_token")}


def elm(*args, token=None, endpoint=None, popen=False):
    env = dict(BASE_ENV, HF_ENDPOINT=endpoint or hub.url, ELM_CACHE=CACHE)
    if token:
        env["HF_TOKEN"] = token
    cmd = [ELM, *args]
    if popen:
        return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
    return subprocess.run(cmd, env=env, capture_output=True, text=True)


def one_line_error(p, words, what):
    lines = p.stderr.strip().splitlines()
    ok = p.returncode != 0 and len(lines) == 1 and all(w in p.stderr for w in words)
    c.check(ok, f"{what}: rc {p.returncode}, want one line with {words}: {p.stderr!r}")
    if os.environ.get("ELM_TEST_SHOW"):
        print(f"{what}: {p.stderr.strip()}")


def cache_dir(repo):
    return os.path.join(CACHE, "hub", repo.replace("/", "--"), "main")


# ---- the repos: the fixture as one file, and as two shards ---------------------------------
files = {"config.json": read(os.path.join(FIX, "config.json")),
         "model.safetensors": read(os.path.join(FIX, "model.safetensors")),
         "vocab.json": read(os.path.join(GPT2, "encoder.json")),
         "merges.txt": read(os.path.join(GPT2, "vocab.bpe"))}
single = os.path.join(work, "single")
os.makedirs(single)
for name, data in files.items():
    write(os.path.join(single, name), data, "wb")
sharded = os.path.join(work, "sharded")
os.makedirs(sharded)
tensors = load_file(os.path.join(FIX, "model.safetensors"))
names = sorted(tensors)
half = {"model-00001-of-00002.safetensors": names[: len(names) // 2],
        "model-00002-of-00002.safetensors": names[len(names) // 2:]}
weight_map = {}
for shard, ns in half.items():
    save_file({n: tensors[n] for n in ns}, os.path.join(sharded, shard), metadata={"format": "pt"})
    weight_map.update({n: shard for n in ns})
total = sum(v.nbytes for v in tensors.values())
write(os.path.join(sharded, "model.safetensors.index.json"),
      json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}, indent=2))
for name in ("config.json", "vocab.json", "merges.txt"):
    write(os.path.join(sharded, name), files[name], "wb")
hub.repos["test/tiny"] = dict(files)
hub.repos["test/tiny-sharded"] = folder_files(sharded)
c.check(len(hub.repos["test/tiny-sharded"]) == 6 and "model.safetensors" not in
        hub.repos["test/tiny-sharded"], "the sharded repo")

# ---- hf: import == folder import -----------------------------------------------------------
want = os.path.join(work, "want")
p = subprocess.run([ELM, "import", single, want], capture_output=True, text=True)
c.check(p.returncode == 0, f"import of the folder: {p.stderr}")
want_files = folder_files(want)
c.check("vocab.json" in want_files and "tokenizer_config.json" in want_files,
        f"the folder import: {sorted(want_files)}")
for repo, local in (("test/tiny", single), ("test/tiny-sharded", sharded)):
    out = os.path.join(work, "out-" + repo.split("/")[1])
    p = elm("import", f"hf:{repo}", out, "-q")
    if not c.check(p.returncode == 0, f"import hf:{repo}: {p.stderr}"):
        continue
    got = folder_files(out)
    c.check(sorted(got) == sorted(want_files), f"hf:{repo}: files {sorted(got)}")
    for name, data in want_files.items():
        c.check(got.get(name) == data, f"hf:{repo}: {name} differs from the folder import")
    cached = folder_files(cache_dir(repo))
    for name, data in hub.repos[repo].items():
        c.check(cached.get(name) == data, f"hf:{repo}: the cached {name} differs from the Hub's")
    c.check(not [f for f in cached if f.endswith(".part")], f"hf:{repo}: .part left: {sorted(cached)}")
    manifest = json.loads(cached.get("hub.json", b"{}"))
    c.check(manifest.get("repo") == repo and sorted(manifest.get("files", {})) ==
            sorted(hub.repos[repo]), f"hf:{repo}: hub.json {manifest}")
    lfs = [n for n in hub.repos[repo] if n.endswith(".safetensors")]
    for n in lfs:
        c.check(manifest.get("files", {}).get(n) == hashlib.sha256(hub.repos[repo][n]).hexdigest(),
                f"hf:{repo}: hub.json's sha256 of {n}")
    # The same import again is served from the cache: not one request.
    before = len(hub.log)
    p = elm("import", f"hf:{repo}", out + "-again", "-q")
    c.check(p.returncode == 0 and len(hub.log) == before and folder_files(out + "-again") == got,
            f"hf:{repo} again: rc {p.returncode}, {len(hub.log) - before} requests")

# ---- a download killed halfway resumes from the byte it reached ----------------------------
N = 5_000_000
for mode in ("range", "ignore-range"):
    repo = f"test/resume-{mode}"
    hub.repos[repo] = dict(files)
    hub.stall[(repo, "model.safetensors")] = N
    hub.stalled.clear()
    hub.release.clear()
    out = os.path.join(work, "out-" + mode)
    proc = elm("import", f"hf:{repo}", out, "-q", popen=True)
    stalled = wait_for(hub.stalled.is_set, 60)
    part = os.path.join(cache_dir(repo), "model.safetensors.part")
    size = lambda: os.path.getsize(part) if os.path.exists(part) else -1  # noqa: E731
    sizes = []
    # Until the .part stops growing (what curl has handed to the file), then SIGKILL.
    wait_for(lambda: (sizes.append(size()),
                      len(sizes) > 5 and sizes[-1] > 0 and len(set(sizes[-5:])) == 1)[1], 30)
    if mode == "range":  # a second elm meanwhile: the .part is locked
        p = elm("import", f"hf:{repo}", out + "-second", "-q")
        one_line_error(p, ["model.safetensors", "another elm is downloading it"],
                       "a second download of the same file")
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    hub.release.set()
    reached = size()
    c.check(stalled and proc.returncode == -signal.SIGKILL, f"{mode}: the stall: {proc.returncode}")
    c.check(0 < reached <= N, f"{mode}: the .part holds {reached} bytes after the kill (sent {N})")
    c.check(not os.path.exists(os.path.join(cache_dir(repo), "model.safetensors")),
            f"{mode}: a half download is in place")
    hub.ignore_range = mode == "ignore-range"
    n_before = len(hub.requests("lfs/" + repo + "/model.safetensors"))
    p = elm("import", f"hf:{repo}", out, "-q")
    hub.ignore_range = False
    c.check(p.returncode == 0, f"{mode}: resumed import: {p.stderr}")
    reqs = hub.requests("lfs/" + repo + "/model.safetensors")[n_before:]
    ranges = [r[1] for r in reqs]
    if mode == "range":
        c.check(ranges == [f"bytes={reached}-"], f"resume: the server saw {ranges}, want "
                f"bytes={reached}-")
    else:  # a 200 to the resumed request: the download starts over, without a Range
        c.check(ranges == [f"bytes={reached}-", None], f"ignored Range: the server saw {ranges}")
    c.check(os.path.exists(os.path.join(out, "model.safetensors")) and
            folder_files(out) == want_files, f"{mode}: the resumed import differs")
    c.check(not os.path.exists(part), f"{mode}: the .part is left")

# ---- a dropped connection and 503s are retried in the same run -----------------------------
repo = "test/flaky"
hub.repos[repo] = dict(files)
hub.drop[(repo, "model.safetensors")] = 3_000_000
hub.unavailable[(repo, "config.json")] = 1
out = os.path.join(work, "out-flaky")
p = elm("import", f"hf:{repo}", out, "-q")
c.check(p.returncode == 0 and folder_files(out) == want_files, f"flaky: {p.stderr}")
ranges = [r[1] for r in hub.requests(f"lfs/{repo}/model.safetensors")]
c.check(ranges == [None, "bytes=3000000-"], f"a dropped connection: the server saw {ranges}")
c.check(len(hub.requests(f"{repo}/resolve/main/config.json")) == 2, "the 503 was not retried")
hub.repos["test/down"] = dict(files)
hub.unavailable[("test/down", "config.json")] = 10
p = elm("import", "hf:test/down", os.path.join(work, "x"), "-q")
one_line_error(p, ["hf:test/down", "config.json", "503"], "a Hub that stays unavailable")
c.check(len(hub.requests("test/down/resolve/main/config.json")) == 4, "503: not 1 + 3 tries")

# ---- a corrupted byte ----------------------------------------------------------------------
rng = random.Random(19)
for repo, name in (("test/corrupt", "model.safetensors"),
                   ("test/corrupt-shard", "model-00002-of-00002.safetensors")):
    hub.repos[repo] = dict(files) if repo == "test/corrupt" else folder_files(sharded)
    at = rng.randrange(len(hub.repos[repo][name]))
    hub.corrupt[(repo, name)] = at
    out = os.path.join(work, "out-" + repo.split("/")[1])
    p = elm("import", f"hf:{repo}", out, "-q")
    one_line_error(p, [name, "sha256", hashlib.sha256(hub.repos[repo][name]).hexdigest()],
                   f"byte {at} of {name} flipped")
    d = cache_dir(repo)
    c.check(not os.path.exists(os.path.join(d, name)) and
            not os.path.exists(os.path.join(d, name + ".part")), f"{repo}: the bad file is kept")
    c.check(not os.path.exists(os.path.join(out, "model.safetensors")),
            f"{repo}: an output from a bad download")
    del hub.corrupt[(repo, name)]
    p = elm("import", f"hf:{repo}", out, "-q")
    c.check(p.returncode == 0 and folder_files(out) == want_files,
            f"{repo}: the download after the fix: {p.stderr}")

# ---- 404, 401, names, plain http -----------------------------------------------------------
p = elm("import", "hf:test/nothere", os.path.join(work, "x"), "-q")
one_line_error(p, ["hf:test/nothere", "config.json"], "an unknown repo")
hub.repos["test/noweights"] = {"config.json": files["config.json"]}
p = elm("import", "hf:test/noweights", os.path.join(work, "x"), "-q")
one_line_error(p, ["hf:test/noweights", "model.safetensors"], "a repo without weights")
hub.repos["test/badindex"] = {"config.json": files["config.json"],
                              "model.safetensors.index.json": json.dumps(
                                  {"weight_map": {"a": "missing.safetensors"}}).encode()}
p = elm("import", "hf:test/badindex", os.path.join(work, "x"), "-q")
one_line_error(p, ["missing.safetensors"], "an index naming a shard the Hub lacks")
for bad in ("hf:../etc", "hf:a/b/c", "hf:", "hf:a/.x", "hf:a b/c"):
    p = elm("import", bad, os.path.join(work, "x"), "-q")
    one_line_error(p, ["not a Hub repo name"], f"repo name {bad!r}")
p = elm("import", "hf:test/tiny-x", os.path.join(work, "x"), "-q", endpoint="http://example.com")
one_line_error(p, ["refusing plain http://", "example.com", "HF_ENDPOINT"],
               "plain http:// to another host")
c.check(not os.path.exists(cache_dir("test/tiny-x")), "a refused endpoint made a cache folder")
c.check(not os.path.exists(os.path.join(work, "x")), "a failed import left an output folder")

hub.repos["test/gated"] = dict(files)
hub.token["test/gated"] = TOKEN
out = os.path.join(work, "out-gated")
p = elm("import", "hf:test/gated", out, "-q")
one_line_error(p, ["hf:test/gated", "401", "$HF_TOKEN"], "a gated repo without a token")
p = elm("import", "hf:test/gated", out, "-q", token="hf_wrong")
one_line_error(p, ["401", "not accepted"], "a wrong token")
n_before = len(hub.log)
p = elm("import", "hf:test/gated", out, token=TOKEN)
c.check(p.returncode == 0 and folder_files(out) == want_files, f"the gated repo: {p.stderr}")
auth = {r[2] for r in hub.log[n_before:] if "/resolve/" in r[0]}
c.check(auth == {f"Bearer {TOKEN}"}, f"Authorization sent: {auth}")
c.check(TOKEN not in p.stdout + p.stderr, "the token is printed")
leaks = []
for root, _, fs in os.walk(work):
    for f in fs:
        if TOKEN.encode() in read(os.path.join(root, f)):
            leaks.append(os.path.join(root, f))
c.check(not leaks, f"the token is written to {leaks}")

# ---- [model] init = hf:... -----------------------------------------------------------------
TRAIN = """[run]
name = {name}
out_dir = {root}
threads = 2
seed = 7
[model]
init = {init}
preset = custom
n_layer = 2
n_head = 4
n_embd = 64
n_ctx = 64
[train]
batch_size = 2
seq_len = 16
steps = 1
lr = 0
min_lr = 0
warmup_steps = 0
eval_every = 50
eval_batches = 1
checkpoint_every = 1
[tokenizer]
vocab = {vocab}
"""
def train_run(name, init):
    root = os.path.join(work, "train")
    run = os.path.join(root, name)
    os.makedirs(os.path.join(run, "tokens"), exist_ok=True)
    for split, n, seed in (("train", 4000, 1), ("val", 400, 2)):
        subprocess.run([KIT, "shard", os.path.join(run, "tokens", split + ".bin"), "50257",
                        str(n), str(seed)], check=True)
    cfg = write(os.path.join(root, name + ".ini"),
                TRAIN.format(name=name, root=root, init=init, vocab=GPT2))
    ck = os.path.join(run, "checkpoints", "step_1", "model.safetensors")
    return elm("train", cfg, "-q"), ck


cks = {}
shutil.rmtree(CACHE)
for name, init in (("folder", single), ("hub", "hf:test/tiny")):
    p, ck = train_run(name, init)
    c.check(p.returncode == 0, f"train with init = {init}: {p.stderr}")
    c.check(p.stderr == "", f"train -q with init = {init} printed: {p.stderr[-300:]!r}")
    cks[name] = read(ck) if os.path.exists(ck) else None
c.check(cks["hub"] is not None and cks["hub"] == cks["folder"],
        "init = hf:test/tiny trains to another checkpoint than init = the folder")
c.check(os.path.exists(os.path.join(cache_dir("test/tiny"), "hub.json")), "init: no cache")
p, _ = train_run("bad", "hf:test/nothere")
one_line_error(p, ["bad.ini:", "hf:test/nothere", "config.json"],
               "init = an unknown repo")

hub.close()
shutil.rmtree(work)
c.done()

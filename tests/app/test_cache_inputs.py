"""The cache of `elm run` hashes every file a stage reads, inside the run folder or named by a
config key (issue #21, item 6), and a config folder whose name holds glob characters works:
- the whole study runs from a config in a folder named "cfg [1]*?" (its `[data] source`
  pattern is a glob, the folder around it is matched literally), and a second run is all cached;
- changing the content (not the name) of `[generate] prompts_file`, of the folder
  `[generate] checkpoint` names, of `[train] data`, of `[validate] real` and `[topics] real`,
  and of an X archive's data/account.js beside the tweets.js a source names re-runs the stage
  that reads it (and nothing before it); an unchanged rerun stays cached; new stories alone
  re-run topics (which scores them) but not validate;
- a cached stage reports its own wall time (the check) and no memory of its own, and keeps the
  wall time and memory of the run that made its outputs as ran_wall_s / ran_peak_rss_mb, in the
  manifest (through two cached reruns) and in metrics.json's timings (issue #21, item 11)."""
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
from elmtest import Checks, SOURCE, run_elm, tmpdir  # noqa: E402

c = Checks()
root = tmpdir()
cfg_dir = os.path.join(root, "cfg [1]*?")
out = os.path.join(root, "out")
os.makedirs(cfg_dir)
shutil.copytree(os.path.join(SOURCE, "configs", "demo-corpus"), os.path.join(cfg_dir, "demo-corpus"))
ini = os.path.join(cfg_dir, "study.ini")
shutil.copy(os.path.join(SOURCE, "configs", "demo.ini"), ini)

# An X archive as a second source (its account name comes from account.js beside tweets.js).
arch = os.path.join(cfg_dir, "archive", "data")
os.makedirs(arch)
tweets = [{"tweet": {"id_str": str(100 + i), "created_at": "Mon Jan 0%d 10:00:00 +0000 2024" % (1 + i % 9),
                     "full_text": "archive post number %d about the sea and the sky" % i, "lang": "en"}}
          for i in range(40)]
with open(os.path.join(arch, "tweets.js"), "w") as f:
    f.write("window.YTD.tweets.part0 = " + json.dumps(tweets))


def write_account(name):
    with open(os.path.join(arch, "account.js"), "w") as f:
        f.write('window.YTD.account.part0 = [ {"account": {"username": "%s", "accountId": "1"}} ]' % name)


write_account("archivist")
with open(os.path.join(cfg_dir, "prompts.txt"), "w") as f:
    f.write("The sea\nTonight\n")

small = ["--set", "train.steps=20", "--set", "train.eval_every=10", "--set", "train.checkpoint_every=10",
         "--set", "generate.count=16", "--set", "generate.stories=0", "--set", "generate.max_new_tokens=20",
         "--set", "generate.prompts_file=prompts.txt",
         "--set", "validate.models=nb", "--set", "topics.iterations=5", "--set", "topics.sweep.k=2,3",
         "--set", f"run.out_dir={out}", "--set", "run.name=study",
         "--set", "data.source=auto : demo-corpus/*.txt", "--set", "data.source=auto : archive/data/tweets.js"]
run_dir = os.path.join(out, "study")


def run(what, *extra):
    p = run_elm("run", ini, *small, *extra, "--quiet")
    c.check(p.returncode == 0, f"{what}: elm run failed: {p.stderr.strip()[-400:]}")
    try:
        man = json.load(open(os.path.join(run_dir, "manifest.json")))
    except (OSError, ValueError):
        return {}
    return {s["name"]: s.get("status") for s in man["stages"]}


def manifest():
    return {s["name"]: s for s in json.load(open(os.path.join(run_dir, "manifest.json")))["stages"]}


def expect(st, what, ran):
    """Stages in `ran` ran, every stage before the first of them was cached."""
    names = list(st)
    c.check(bool(names), f"{what}: no manifest")
    if not names:
        return
    first = min(names.index(r) for r in ran)
    for n in names[:first]:
        c.check(st[n] == "cached", f"{what}: {n} is {st[n]}, expected cached")
    for r in ran:
        c.check(st.get(r) == "ran", f"{what}: {r} is {st.get(r)}, expected ran")


st = run("first run from a folder with glob characters")
c.check(st and all(v == "ran" for v in st.values()), f"first run: every stage ran ({st})")
corpus = open(os.path.join(run_dir, "corpus.jsonl"), encoding="utf-8").read()
c.check("archivist" in corpus, "the archive's account name (from account.js) is in the corpus")

# Real tweets for validate/topics, a token folder for train and a model folder for generate,
# all named by config keys and lying outside the run folder.
real = os.path.join(cfg_dir, "real [x].jsonl")
shutil.copy(os.path.join(run_dir, "clean.jsonl"), real)
tok = os.path.join(cfg_dir, "tok[2]")
shutil.copytree(os.path.join(run_dir, "tokens"), tok)
ck = os.path.join(cfg_dir, "ck*3")
shutil.copytree(os.path.join(run_dir, "checkpoints", "step_10"), ck)
tok_vocab = os.path.join(run_dir, "tokenizer")
for name in os.listdir(tok_vocab):  # the model folder carries its vocabulary
    if not os.path.exists(os.path.join(ck, name)):
        shutil.copy(os.path.join(tok_vocab, name), ck)
keys = ["--set", "validate.real=real [x].jsonl", "--set", "topics.real=real [x].jsonl",
        "--set", "train.data=tok[2]", "--set", "generate.checkpoint=ck*3"]
st = run("with config-named inputs", *keys)
expect(st, "with config-named inputs", ["train"])
ran = manifest()
for what in ("unchanged rerun", "second unchanged rerun"):
    st = run(what, *keys)
    c.check(st and all(v == "cached" for v in st.values()), f"{what} is all cached ({st})")
    now = manifest()
    for name, e in now.items():
        first = ran[name].get("ran_wall_s", ran[name]["wall_s"])
        c.check(e.get("ran_wall_s") == first, f"{what}: {name}'s ran_wall_s {e.get('ran_wall_s')} != {first}")
        c.check(e["wall_s"] != first and e["peak_rss_mb"] == 0,
                f"{what}: {name} reports the run's wall time or memory as its own: {e}")

# [generate] prompts_file: same name, new content.
with open(os.path.join(cfg_dir, "prompts.txt"), "w") as f:
    f.write("The wind\nTomorrow\n")
expect(run("prompts_file changed", *keys), "prompts_file changed", ["generate"])

# [generate] checkpoint: the folder now holds another model.
for name in ("model.safetensors", "config.json"):
    shutil.copy(os.path.join(run_dir, "checkpoints", "step_20", name), os.path.join(ck, name))
expect(run("checkpoint folder changed", *keys), "checkpoint folder changed", ["generate"])

# [validate] real / [topics] real: one more line.
with open(real, "a", encoding="utf-8") as f:
    f.write(json.dumps({"text": "one more real tweet about the weather today", "account": "x"}) + "\n")
expect(run("real tweets changed", *keys), "real tweets changed", ["validate", "topics", "report"])
timings = json.load(open(os.path.join(run_dir, "metrics.json"))).get("timings", {})
for name, e in manifest().items():
    if e["status"] == "cached":
        c.check(timings.get(name, {}).get("ran_wall_s") == e["ran_wall_s"],
                f"metrics.json timings.{name} {timings.get(name)} lacks ran_wall_s {e['ran_wall_s']}")

# [train] data: two blocks of token ids swapped (same size, valid ids).
shard = os.path.join(tok, "train.bin")
b = bytearray(open(shard, "rb").read())
a, z = bytes(b[-16:-8]), bytes(b[-8:])
c.check(a != z, "the shard's last two 8-byte blocks differ")
b[-16:-8], b[-8:] = z, a
open(shard, "wb").write(bytes(b))
expect(run("train data changed", *keys), "train data changed", ["train"])

# An X archive's account.js: same tweets.js, another user name.
write_account("renamed")
st = run("account.js changed", *keys)
expect(st, "account.js changed", ["ingest"])
corpus = open(os.path.join(run_dir, "corpus.jsonl"), encoding="utf-8").read()
c.check("renamed" in corpus and "archivist" not in corpus, "the corpus carries the new account name")

# Stories only: generate writes the same tweets and new stories; topics scores the stories, so it
# re-runs, and validate (tweets alone) stays cached.
st = run("stories asked for", *keys, "--set", "generate.stories=1")
expect(st, "stories asked for", ["generate", "topics", "report"])
c.check(st.get("validate") == "cached", f"stories asked for: validate is {st.get('validate')}")
tj = json.load(open(os.path.join(run_dir, "topics", "topics.json")))
c.check(tj.get("stories", {}).get("n") == 1, f"topics.json scores the new story: {tj.get('stories')}")

sys.exit(c.done())

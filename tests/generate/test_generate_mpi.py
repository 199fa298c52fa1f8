"""`mpirun -np N elm generate`: the CPU batches spread over the ranks, rank 0 merges (issue 15,
acceptance 2 for generation, and 6's bad input), on a demo model trained for a few steps with
[train] condition = account+topic:
- 50 tweets in batches of 8 (7 batches: uneven over 2 and 3 ranks) in demo.ini's account mix and
  a topic mix, with keyword steering and three prompts taken round-robin, and 2 stories in
  batches of 1, at
  -np 1, 2 and 3: tweets.jsonl and stories.jsonl equal one process's byte for byte, no .part or
  side file is left, and rank 0 alone reports progress (one final line per run);
- resume at -np 2 and 3: a .part of 21 whole lines and a torn one, beside the side file a run
  that could not rename its output left: the job keeps 21 and ends byte-identical;
- bad input: generate.device = cuda at -np 2, configs that differ across the ranks, and a
  --count that differs: one line from rank 0, a non-zero exit, nothing written.
Skipped without mpirun or an MPI build."""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from elmtest import ELM, Checks, mpi_env_or_skip, run_elm, tmpdir, write  # noqa: E402
from demo_model import DEMO  # noqa: E402

c = Checks()
ENV = mpi_env_or_skip("test_generate_mpi")

root = tmpdir("elm-gen-mpi-")
MODEL = ["--set", "model.n_layer=2", "--set", "model.n_embd=64", "--set", "model.n_head=2",
         "--set", "run.threads=1"]
TRAIN = ["--set", f"run.out_dir={root}", "--set", "train.steps=30", "--set", "train.eval_every=0",
         "--set", "train.checkpoint_every=0", "--set", "train.condition=account+topic",
         "--set", "topicfit.k=3", "--set", "topicfit.iterations=60", *MODEL, "--quiet"]
for stage in ("ingest", "clean", "topicfit", "tokenize", "train"):
    run_elm(stage, DEMO, *TRAIN, check=True)
gen_dir = os.path.join(root, "demo", "generated")
prompts = write(os.path.join(root, "prompts.txt"), "I think\nToday the\nWhy does\n")
TWEETS = ["--set", f"run.out_dir={root}", *MODEL, "--set", "generate.count=50",
          "--set", "generate.batch_size=8", "--set", "generate.max_new_tokens=24",
          "--set", f"generate.prompts_file={prompts}", "--set", "generate.keywords=bread, game",
          "--set", "generate.topics=0:2, 2:1",
          "--set", "generate.max_chars=400"]
STORIES = TWEETS + ["--set", "generate.batch_size=1", "--set", "generate.story_max_new_tokens=40",
                    "--mode", "story", "--count", "2"]


def mpirun(*blocks, quiet=True):
    """mpirun with one `-np N elm generate DEMO ARGS...` block per (N, args)."""
    cmd = ["timeout", "600", "mpirun", "--oversubscribe"]
    for i, (n, args) in enumerate(blocks):
        cmd += ([":"] if i else []) + ["-np", str(n), ELM, "generate", DEMO, *args]
        cmd += ["--quiet"] if quiet else []
    return subprocess.run(cmd, capture_output=True, text=True, env=ENV)


def read(name):
    with open(os.path.join(gen_dir, name), "rb") as f:
        return f.read()


def elm_lines(text):
    return [l for l in text.splitlines() if l.startswith("elm ")]


def leftovers():
    return [f for f in os.listdir(gen_dir) if ".part" in f] if os.path.isdir(gen_dir) else []


# ---- one process: the reference --------------------------------------------------------------
run_elm("generate", DEMO, *TWEETS, "--quiet", check=True)
ref_tweets = read("tweets.jsonl")
run_elm("generate", DEMO, *STORIES, "--quiet", check=True)
ref_stories = read("stories.jsonl")
n_tweets, n_stories = ref_tweets.count(b"\n"), ref_stories.count(b"\n")
c.check(n_tweets == 50, f"one process wrote {n_tweets} tweets")
c.check(n_stories == 2, f"one process wrote {n_stories} stories")
c.check(b'"account":' in ref_tweets and b'"topic":' in ref_tweets and b'"keywords":' in ref_tweets,
        "the reference's tweets carry no account, topic or keywords")

# ---- -np 1, 2, 3: the same bytes ------------------------------------------------------------
for n in (1, 2, 3):
    shutil.rmtree(gen_dir, ignore_errors=True)
    p = mpirun((n, TWEETS), quiet=False)
    if not c.check(p.returncode == 0, f"-np {n} tweets: exit {p.returncode}: {p.stderr[-2000:]}"):
        continue
    same = c.check(read("tweets.jsonl") == ref_tweets, f"-np {n}: tweets.jsonl differs from one process's")
    finals = re.findall(r"generate: 50/50 \(100%\) tweets", p.stderr)
    c.check(len(finals) == 1, f"-np {n}: {len(finals)} final progress lines: {p.stderr[-1500:]}")
    p = mpirun((n, STORIES))
    if not c.check(p.returncode == 0, f"-np {n} stories: exit {p.returncode}: {p.stderr[-2000:]}"):
        continue
    same &= c.check(read("stories.jsonl") == ref_stories,
                    f"-np {n}: stories.jsonl differs from one process's")
    c.check(not leftovers(), f"-np {n} left {leftovers()}")
    if same:
        print(f"-np {n}: tweets.jsonl ({len(ref_tweets)} bytes) and stories.jsonl "
              f"({len(ref_stories)} bytes) as one process's")

# ---- resume at -np 2 and 3 ------------------------------------------------------------------
# A run whose output cannot be renamed into place (a folder of that name is there) fails with its
# .part complete and the side file that names its settings: the side file of a killed run.
out = os.path.join(gen_dir, "tweets.jsonl")
lines = ref_tweets.splitlines(keepends=True)
for n in (2, 3):
    shutil.rmtree(gen_dir, ignore_errors=True)
    os.makedirs(os.path.join(out, "x"))
    p = run_elm("generate", DEMO, *TWEETS, "--quiet")
    side = out + ".part.json"
    if not c.check(p.returncode != 0 and os.path.exists(side),
                   f"a blocked rename: exit {p.returncode}, side file {os.path.exists(side)}"):
        break
    shutil.rmtree(out)
    write(out + ".part", b"".join(lines[:21]) + lines[21][: len(lines[21]) // 2], "wb")
    p = mpirun((n, TWEETS), quiet=False)
    kept = re.findall(r"(\d+) kept from the \.part", p.stderr)
    c.check(p.returncode == 0 and kept and kept[-1] == "21",
            f"-np {n} resume: exit {p.returncode}, kept {kept}: {p.stderr[-1500:]}")
    c.check(os.path.exists(out) and read("tweets.jsonl") == ref_tweets,
            f"-np {n} resume: tweets.jsonl differs from one process's")
    c.check(not leftovers(), f"-np {n} resume left {leftovers()}")

# ---- bad input: one line from rank 0, nothing written ---------------------------------------
cases = [
    ("generate.device = cuda at -np 2", [(2, TWEETS + ["--set", "generate.device=cuda"])],
     "generate.device = cuda samples on the GPU, which elm does with one rank only (this job has 2)"),
    ("configs that differ", [(1, TWEETS), (1, TWEETS + ["--set", "generate.temperature=0.5"])],
     "rank 1 has generate.temperature"),
    ("a --count that differs", [(1, TWEETS), (1, TWEETS + ["--count", "10"])],
     "rank 1: the ranks ask for different texts: tweets 10 here, tweets 50 on rank 0"),
]
for what, blocks, want in cases:
    shutil.rmtree(gen_dir, ignore_errors=True)
    p = mpirun(*blocks)
    got = elm_lines(p.stderr)
    c.check(p.returncode != 0 and len(got) == 1 and want in got[0],
            f"{what}: exit {p.returncode}, {got}: {p.stderr[-1500:]}")
    written = os.listdir(gen_dir) if os.path.exists(gen_dir) else []
    c.check(not written, f"{what} wrote {written}")

c.done()

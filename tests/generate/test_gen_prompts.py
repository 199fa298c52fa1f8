"""Prompts, stories and the tweets' first character (issue #21, items 10 and 11), on a demo model
trained for a few steps:
- a prompt too long in tokens (prompt 22 of 22: one from generate.prompts, then 21 from the
  prompts file, blank lines between) fails before anything is written: no tweets.jsonl, no
  .part, one line "prompt 22 (<file> line L) has N tokens; the model's context holds 128"; one
  too long in characters names generate.prompts the same way;
- with generate.prompts set, `elm run`'s stories are prompted by their own openings (those of
  the most likely generated tweets), not by the tweets' prompt;
- stories have their own limits: the tweets' max_new_tokens / max_chars do not cap them,
  story_max_new_tokens / story_max_chars do;
- an unprompted tweet never starts with white space, and a prompted one starts with its prompt."""
import json
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from elmtest import Checks, read_jsonl, run_elm, tmpdir  # noqa: E402
from demo_model import DEMO, train_demo  # noqa: E402

c = Checks()
root = tmpdir("elm-genprompts-")
run_dir = train_demo(root)
gen_dir = os.path.join(run_dir, "generated")
tweets, stories = os.path.join(gen_dir, "tweets.jsonl"), os.path.join(gen_dir, "stories.jsonl")
BASE = ["--set", f"run.out_dir={root}", "--set", "generate.max_new_tokens=20"]
SPACE = " \t\n\r\v\f"


def clear():
    shutil.rmtree(gen_dir, ignore_errors=True)


def left_behind():
    return sorted(os.listdir(gen_dir)) if os.path.isdir(gen_dir) else []


# ---- item 10: prompts too long, before anything is written ----------------------------------
pf = os.path.join(root, "prompts.txt")
lines = []
for i in range(21):
    lines.append(f"short prompt {i}" if i < 20 else " ".join(["ok"] * 200))
    if i % 4 == 0:
        lines.append("")  # blank lines are no prompts: prompt numbers and line numbers differ
with open(pf, "w") as f:
    f.write("\n".join(lines) + "\n")
long_line = lines.index(" ".join(["ok"] * 200)) + 1
clear()
p = run_elm("generate", DEMO, *BASE, "--quiet", "--set", "generate.count=40", "--set", "generate.prompts=Hello",
            "--set", f"generate.prompts_file={pf}", "--set", "generate.max_chars=5000")
err = p.stderr.strip().splitlines()
print("too many tokens:", err[-1] if err else "")
m = re.fullmatch(r"(?:elm \w+: )?prompt (\d+) \((.*) line (\d+)\) has (\d+) tokens; "
                 r"the model's context holds 128", err[-1] if err else "")
c.check(p.returncode != 0 and len(err) == 1 and m is not None, f"expected one line: {p.stderr!r}")
if m:
    c.check(m.group(1) == "22" and m.group(2) == pf and int(m.group(3)) == long_line and int(m.group(4)) >= 128,
            f"prompt {m.group(1)} at {m.group(2)} line {m.group(3)}: expected 22 at {pf} line {long_line}")
c.check(left_behind() == [], f"a failed run left {left_behind()}")

words = " ".join(["word"] * 30)
clear()
p = run_elm("generate", DEMO, *BASE, "--quiet", "--set", "generate.prompts=Hello", "--set", f"generate.prompts={words}",
            "--set", "generate.max_chars=100")
err = p.stderr.strip().splitlines()
print("too many characters:", err[-1] if err else "")
c.check(p.returncode != 0 and len(err) == 1 and err[0].endswith(
    f"prompt 2 (generate.prompts) has {len(words)} characters, more than max_chars 100"), f"expected one line: {p.stderr!r}")
c.check(left_behind() == [], f"a failed run left {left_behind()}")


# ---- item 11: the stories' prompts and limits ------------------------------------------------
def opening(text, n):
    """The first n words of text with the spacing between them (stories.c's opening)."""
    i = 0
    while i < len(text) and text[i] in SPACE:
        i += 1
    start, w = i, 0
    while i < len(text) and w < n:
        while i < len(text) and text[i] not in SPACE:
            i += 1
        w += 1
        if w < n:
            while i < len(text) and text[i] in SPACE:
                i += 1
    return text[start:i]


RUN = [*BASE, "--set", "generate.count=60", "--set", "generate.stories=3", "--set", "generate.prompts=Hello",
       "--set", "generate.max_new_tokens=6", "--set", "generate.max_chars=50", "--only", "generate", "--quiet"]
clear()
p = run_elm("run", DEMO, *RUN)
c.check(p.returncode == 0, f"elm run --only generate: {p.stderr[-400:]}")
tw, st = read_jsonl(tweets), read_jsonl(stories)
best = sorted(tw, key=lambda r: (-r["mean_logprob"], r["index"]))
want = [opening(r["text"], 16) for r in best[:3]]
got = [r["prompt"] for r in st]
print("story prompts:", got)
c.check(got == want, f"stories prompted by {got}, expected the openings {want}")
c.check(all(r["text"].startswith(r["prompt"]) for r in st), "a story does not start with its prompt")
c.check(all(r["prompt"] == "Hello" and r["text"].startswith("Hello") for r in tw),
        "a prompted tweet does not start with its prompt")
c.check(all(r["tokens"] <= 6 and len(r["text"]) <= 50 for r in tw), "a tweet over its limits")
longest = max(len(r["text"]) for r in st)
most = max(r["tokens"] for r in st)
print(f"tweets capped at 6 tokens / 50 characters; the longest story has {longest} characters, {most} tokens")
c.check(longest > 50 and most > 6, "the tweets' max_chars / max_new_tokens capped the stories")

clear()
p = run_elm("run", DEMO, *RUN, "--set", "generate.story_max_chars=80", "--set", "generate.story_max_new_tokens=30")
c.check(p.returncode == 0, f"elm run with story limits: {p.stderr[-400:]}")
st = read_jsonl(stories) if p.returncode == 0 else []
c.check(len(st) == 3 and all(r["tokens"] <= 30 and len(r["text"]) <= 80 for r in st),
        f"stories over story_max_chars 80 / story_max_new_tokens 30: {[(len(r['text']), r['tokens']) for r in st]}")

# ---- item 11: no leading space on unprompted tweets --------------------------------------------
clear()
run_elm("generate", DEMO, *BASE, "--quiet", "--set", "generate.count=100", check=True)
tw = read_jsonl(tweets)
spaced = sum(1 for r in tw if r["text"][:1] in tuple(SPACE))
print(f"unprompted tweets starting with white space: {spaced} of {len(tw)}")
c.check(len(tw) == 100 and spaced == 0, f"{spaced} of {len(tw)} unprompted tweets start with white space")

shutil.rmtree(root, ignore_errors=True)
c.done()

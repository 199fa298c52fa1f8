"""`elm generate` with [generate] device: cpu always works; cuda either runs on the GPU (then the
JSONL has every index in order, and greedy texts equal the CPU's) or, in a build or on a machine
without a usable GPU, fails with one line naming generate.device and leaves no output file;
auto falls back to the CPU without a GPU (same file as device = cpu)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from elmtest import SHARED, Checks, read_jsonl, run_elm, tmpdir  # noqa: E402

CONFIG = """[run]
name = g
out_dir = {root}
threads = 1
seed = 7
[tokenizer]
vocab = {vocab}
[generate]
checkpoint = {fixture}
count = 9
batch_size = 4
prompts = I think
prompts =
temperature = 0
max_new_tokens = 16
max_chars = 1000
"""


def main():
    c = Checks()
    root = tmpdir("elm-gendev-")
    cfg = os.path.join(root, "g.ini")
    with open(cfg, "w") as f:
        f.write(CONFIG.format(root=root, vocab=os.path.join(SHARED, "data", "gpt2-vocab"),
                              fixture=os.path.join(SHARED, "fixtures", "gpt2-tiny")))
    out = os.path.join(root, "g", "generated", "tweets.jsonl")

    p = run_elm("generate", cfg, "--quiet", "--set", "generate.device=cpu")
    c.check(p.returncode == 0, f"device = cpu failed: {p.stderr}")
    cpu = read_jsonl(out)
    c.check([r["index"] for r in cpu] == list(range(9)), f"cpu rows: {cpu}")
    os.remove(out)

    p = run_elm("generate", cfg, "--quiet", "--set", "generate.device=cuda")
    if p.returncode == 0:
        gpu = read_jsonl(out)
        c.check([r["index"] for r in gpu] == list(range(9)), f"gpu rows: {gpu}")
        same = sum(a["text"] == b["text"] for a, b in zip(cpu, gpu))
        print(f"device = cuda: {same}/9 greedy texts equal to the CPU's")
        c.check(same >= 8, f"only {same} of 9 greedy texts equal the CPU's")
        os.remove(out)
    else:
        lines = p.stderr.strip().splitlines()
        print(f"device = cuda refused: {lines[-1] if lines else ''}")
        c.check(len(lines) == 1 and "generate.device = cuda" in lines[0]
                and ("without CUDA" in lines[0] or "no GPU" in lines[0]),
                f"expected one line naming generate.device: {p.stderr!r}")
        c.check(not os.path.exists(out) and not os.path.exists(out + ".part"),
                "a refused run left an output file")
        p = run_elm("generate", cfg, "--quiet", "--set", "generate.device=auto")
        c.check(p.returncode == 0, f"device = auto failed: {p.stderr}")
        c.check(read_jsonl(out) == cpu, "device = auto without a GPU differs from device = cpu")
    c.done()


if __name__ == "__main__":
    main()

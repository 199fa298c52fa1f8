"""`elm export` of a checkpoint trained with an elm-made vocabulary (the demo corpus, its own BPE,
a few steps of a tiny GPT-2) is a folder that elm and transformers use as it is:

- the export holds vocab.json + merges.txt (byte copies of the run's tokenizer files),
  tokenizer_config.json / special_tokens_map.json / generation_config.json / config.json with
  <|endoftext|> (the vocabulary's id) as bos/eos and model_max_length = n_ctx; exporting twice
  gives the same bytes;
- `elm generate` from a config that names only [generate] checkpoint = the export (no
  [tokenizer], another run folder) writes the same tweets and stories, line for line, as the
  run's own config with the checkpoint;
- transformers' GPT2TokenizerFast.from_pretrained(export) (no torch) loads it and encodes every
  cleaned post and every line of the demo corpus to elm's ids (`elm tokenize --batch` on the
  exported files), <|endoftext|> included, and decodes them back;
- --vocab adds a vocabulary to a folder that has none (the gpt2-tiny fixture + GPT-2's files);
  a vocabulary larger than the model and a damaged vocab.json are one-line errors."""
import glob
import json
import os
import shutil
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the tokenizer comes from a local folder only
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tokenizer"))
from transformers import GPT2TokenizerFast  # noqa: E402

from elmtest import SHARED, SOURCE, Checks, read_jsonl, run_elm, tmpdir, write  # noqa: E402
import tokref  # noqa: E402

c = Checks()
work = tmpdir("elm-export-")
CORPUS = os.path.join(SOURCE, "configs", "demo-corpus")
N_CTX = 64

# The demo config, shrunk: its own BPE on the demo corpus, a 2-layer model, 30 steps.
RUN = f"""[run]
name = ex
out_dir = {work}/out
seed = 11
threads = 2
[data]
source = auto : {CORPUS}/*.txt
[clean]
urls = remove
mentions = remove
hashtags = word
[tokenizer]
train = true
vocab_size = 400
[model]
preset = custom
n_layer = 2
n_head = 2
n_embd = 32
n_ctx = {N_CTX}
[train]
batch_size = 4
seq_len = 32
steps = 30
lr = 2e-3
warmup_steps = 2
eval_every = 30
eval_batches = 2
checkpoint_every = 30
keep_last = 1
"""
GEN = """[generate]
checkpoint = {ck}
count = 12
temperature = 0.9
top_k = 40
top_p = 0.95
batch_size = 4
prompts =
prompts = The dough
"""
# A user's config elsewhere: only the export, no tokenizer, another run folder.
USER = f"""[run]
name = user
out_dir = {work}/user
seed = 11
threads = 2
"""


def read(path, mode="rb"):
    """The file's bytes (or text), None when it is missing."""
    if not os.path.exists(path):
        return None
    with open(path, mode) as f:
        return f.read()


def load(path):
    """A JSON file, {} when it is missing (the checks on its keys then fail)."""
    text = read(path)
    return json.loads(text) if text is not None else {}


run_cfg = write(os.path.join(work, "run.ini"), RUN)
for stage in ("ingest", "clean", "tokenize", "train"):
    p = run_elm(stage, run_cfg, "-q")
    if not c.check(p.returncode == 0, f"elm {stage}: {p.stderr}"):
        c.done()
run_dir = os.path.join(work, "out", "ex")
ck = sorted(glob.glob(os.path.join(run_dir, "checkpoints", "step_*")))[-1]
tok_dir = os.path.join(run_dir, "tokenizer")
exp = os.path.join(work, "export")
p = run_elm("export", ck, exp)
c.check(p.returncode == 0 and p.stderr == "", f"export: rc {p.returncode} {p.stderr}")

# ---- the files -----------------------------------------------------------------------------
c.check(read(os.path.join(exp, "vocab.json")) == read(os.path.join(tok_dir, "encoder.json")),
        "vocab.json is not the run's encoder.json")
c.check(read(os.path.join(exp, "merges.txt")) == read(os.path.join(tok_dir, "vocab.bpe")),
        "merges.txt is not the run's vocab.bpe")
encoder = load(os.path.join(tok_dir, "encoder.json"))
EOT = encoder.get("<|endoftext|>")
c.check(EOT is not None and len(encoder) == 400, f"elm's vocabulary: {len(encoder)}, eot {EOT}")
tc = load(os.path.join(exp, "tokenizer_config.json"))
want_tc = {"tokenizer_class": "GPT2Tokenizer", "bos_token": "<|endoftext|>",
           "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
           "model_max_length": N_CTX, "add_prefix_space": False, "add_bos_token": False}
for k, v in want_tc.items():
    c.check(tc.get(k) == v, f"tokenizer_config.json {k}: {tc.get(k)!r}, want {v!r}")
added = tc.get("added_tokens_decoder", {})
c.check(list(added) == [str(EOT)] and added[str(EOT)].get("content") == "<|endoftext|>"
        and added[str(EOT)].get("special") is True, f"added_tokens_decoder: {added}")
stm = load(os.path.join(exp, "special_tokens_map.json"))
c.check(sorted(stm) == ["bos_token", "eos_token", "unk_token"] and all(
    v.get("content") == "<|endoftext|>" for v in stm.values()), f"special_tokens_map.json: {stm}")
gc = load(os.path.join(exp, "generation_config.json"))
cfg = load(os.path.join(exp, "config.json"))
for name, d in (("generation_config.json", gc), ("config.json", cfg)):
    c.check(d.get("bos_token_id") == EOT and d.get("eos_token_id") == EOT,
            f"{name}: bos/eos {d.get('bos_token_id')}/{d.get('eos_token_id')}, want {EOT}")
c.check(read(os.path.join(exp, "model.safetensors")) == read(os.path.join(ck, "model.safetensors")),
        "the exported weights differ from the checkpoint's")
exp2 = os.path.join(work, "export2")
run_elm("export", ck, exp2, check=True)
for f in sorted(os.listdir(exp)):
    c.check(read(os.path.join(exp, f)) == read(os.path.join(exp2, f)), f"export twice: {f} differs")
c.check(sorted(os.listdir(exp)) == sorted(os.listdir(exp2)) == sorted(
    ["config.json", "model.safetensors", "vocab.json", "merges.txt", "tokenizer_config.json",
     "special_tokens_map.json", "generation_config.json"]), f"export files: {os.listdir(exp)}")

def hf_tokenizer(folder):
    """GPT2TokenizerFast.from_pretrained(folder), or None (a failed check) when it cannot."""
    try:
        return GPT2TokenizerFast.from_pretrained(folder)
    except Exception as e:  # noqa: BLE001 - any failure to load is the finding
        c.check(False, f"GPT2TokenizerFast.from_pretrained({folder}): {type(e).__name__}: {e}")
        return None


# ---- elm generate: the export gives the checkpoint's texts ----------------------------------
ck_cfg = write(os.path.join(work, "gen_ck.ini"), RUN + GEN.format(ck=ck))
user_cfg = write(os.path.join(work, "gen_user.ini"), USER + GEN.format(ck=exp))
for mode, name in (("tweet", "tweets.jsonl"), ("story", "stories.jsonl")):
    a = run_elm("generate", ck_cfg, "-q", "--mode", mode, "--count", "6")
    b = run_elm("generate", user_cfg, "-q", "--mode", mode, "--count", "6")
    if not c.check(a.returncode == 0 and b.returncode == 0,
                   f"generate {mode}: {a.stderr} | {b.stderr}"):
        continue
    la = read_jsonl(os.path.join(run_dir, "generated", name))
    lb = read_jsonl(os.path.join(work, "user", "user", "generated", name))
    c.check(len(la) == 6 and len(lb) == 6, f"{mode}: {len(la)} and {len(lb)} lines")
    for x, y in zip(la, lb):
        c.check(x == y, f"{mode} {x.get('index')}: checkpoint {x} vs export {y}")
    c.check(any(x["text"] for x in la), f"{mode}: every text is empty")

# ---- transformers loads the export and encodes the corpus to elm's ids ---------------------
hf = hf_tokenizer(exp)
if hf is None:
    c.done()
c.check(len(hf) == len(encoder), f"transformers' vocabulary: {len(hf)}, elm's {len(encoder)}")
c.check(hf.eos_token_id == EOT and hf.bos_token_id == EOT, f"eos/bos {hf.eos_token_id}")
c.check(hf.model_max_length == N_CTX, f"model_max_length {hf.model_max_length}")

texts = [r["text"] for r in read_jsonl(os.path.join(run_dir, "clean.jsonl"))]
for path in sorted(glob.glob(os.path.join(CORPUS, "*.txt"))):
    texts += [line for line in read(path, "r").split("\n") if line]
texts += ["", "  two  spaces\n\nand a new line ", "café naïve 🎉🍞 — “quotes”", "x's we'll 1234567"]
special = ["<|endoftext|>", "one<|endoftext|>two", " <|endoftext|> spaced<|endoftext|>"]
elm_names = os.path.join(work, "elm-names")  # the exported files under elm's tokenizer names
os.makedirs(elm_names)
shutil.copy(os.path.join(exp, "vocab.json"), os.path.join(elm_names, "encoder.json"))
shutil.copy(os.path.join(exp, "merges.txt"), os.path.join(elm_names, "vocab.bpe"))
want = tokref.elm_encode_batch(os.environ.get("ELM_BIN", "elm"), elm_names,
                               [t.encode() for t in texts + special], work, special=True)
bad = 0
for text, ids in zip(texts + special, want):
    got = hf(text, add_special_tokens=True)["input_ids"]
    if got != ids:
        bad += 1
        if bad <= 5:
            c.check(False, f"transformers encodes {text!r} to {got}, elm to {ids}")
    elif hf.decode(got) != text:
        bad += 1
        c.check(False, f"transformers decodes {text!r} to {hf.decode(got)!r}")
c.check(bad == 0, f"{bad} of {len(want)} texts differ")
c.check(len(want) > 1200 and sum(map(len, want)) > 20000, f"only {len(want)} texts encoded")
c.check(sum(t == EOT for t in want[-1]) == 2, "<|endoftext|> is not the special id")

# ---- --vocab and bad vocabularies ----------------------------------------------------------
FIX = os.path.join(SHARED, "fixtures", "gpt2-tiny")
GPT2 = os.path.join(SHARED, "data", "gpt2-vocab")
p = run_elm("export", FIX, os.path.join(work, "noval"))
c.check(p.returncode == 0 and "has no vocab.json + merges.txt" in p.stderr
        and not os.path.exists(os.path.join(work, "noval", "vocab.json")),
        f"a folder without a vocabulary: rc {p.returncode} {p.stderr!r}")
tiny = os.path.join(work, "tiny")
p = run_elm("export", FIX, tiny, "--vocab", GPT2)
c.check(p.returncode == 0 and p.stderr == "", f"--vocab: {p.stderr}")
c.check(read(os.path.join(tiny, "vocab.json")) == read(os.path.join(GPT2, "encoder.json")),
        "--vocab: vocab.json is not GPT-2's encoder.json")
t2 = hf_tokenizer(tiny)
s = "Hello world, it's 2019 🎉"
c.check(t2 is not None and t2.eos_token_id == 50256 and t2(s)["input_ids"] == tokref.tiktoken_from_dir(GPT2).encode(s),
        "--vocab GPT-2: transformers disagrees with tiktoken")
c.check(load(os.path.join(tiny, "tokenizer_config.json")).get("model_max_length")
        == load(os.path.join(FIX, "config.json"))["n_positions"],
        "gpt2-tiny: model_max_length is not its n_positions")
p = run_elm("export", ck, os.path.join(work, "big"), "--vocab", GPT2)
c.check(p.returncode != 0 and len(p.stderr.strip().splitlines()) == 1
        and "encoder.json" in p.stderr and "50257" in p.stderr,
        f"a vocabulary larger than the model: rc {p.returncode} {p.stderr!r}")
p = run_elm("export", ck, os.path.join(work, "none"), "--vocab", work)
c.check(p.returncode != 0 and "--vocab" in p.stderr, f"--vocab without files: {p.stderr!r}")
broken = os.path.join(work, "broken")
shutil.copytree(ck, broken)
write(os.path.join(broken, "vocab.json"), '{"a": 0, ')
p = run_elm("export", broken, os.path.join(work, "broken-out"))
c.check(p.returncode != 0 and len(p.stderr.strip().splitlines()) == 1
        and "vocab.json" in p.stderr, f"a damaged vocab.json: rc {p.returncode} {p.stderr!r}")
c.check(not os.path.exists(os.path.join(work, "broken-out", "vocab.json")),
        "a damaged vocab.json was exported")

shutil.rmtree(work)
c.done()

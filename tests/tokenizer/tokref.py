"""Reference tokenizers for the tokenizer tests and benchmark: tiktoken built from GPT-2's files
(or an elm-trained folder), and helpers to run `elm tokenize --batch` on many strings at once."""
import os
import subprocess

os.environ["TIKTOKEN_CACHE_DIR"] = ""  # tiktoken caches by path; trained files change per run
import tiktoken  # noqa: E402
import tiktoken.load  # noqa: E402

# tiktoken's own pattern for its "gpt2" encoding.
GPT2_PAT = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


def tiktoken_from_dir(vocab_dir, name="gpt2"):
    ranks = tiktoken.load.data_gym_to_mergeable_bpe_ranks(
        os.path.join(vocab_dir, "vocab.bpe"), os.path.join(vocab_dir, "encoder.json"))
    return tiktoken.Encoding(name=name, pat_str=GPT2_PAT, mergeable_ranks=ranks,
                             special_tokens={"<|endoftext|>": len(ranks)})


def elm_encode_batch(elm, vocab_dir, texts, tmp, special=False):
    """texts: list of bytes. Returns a list of id lists from one elm process."""
    path = os.path.join(tmp, "batch.hex")
    with open(path, "w") as f:
        for t in texts:
            f.write(t.hex() + "\n")
    args = [elm, "tokenize", "--vocab", vocab_dir, "--batch", path] + (["--special"] if special else [])
    p = subprocess.run(args, capture_output=True)
    if p.returncode != 0:
        raise RuntimeError(f"elm --batch failed: {p.stderr.decode(errors='replace')}")
    lines = p.stdout.decode().split("\n")
    assert lines[-1] == "" and len(lines) == len(texts) + 1, (len(lines), len(texts))
    return [[int(x) for x in l.split()] for l in lines[:-1]]


def elm_decode_batch(elm, vocab_dir, id_lists, tmp):
    """Returns a list of bytes, one per id list, from one elm process."""
    path = os.path.join(tmp, "batch.ids")
    with open(path, "w") as f:
        for ids in id_lists:
            f.write(" ".join(map(str, ids)) + "\n")
    p = subprocess.run([elm, "tokenize", "--vocab", vocab_dir, "--decode-batch", path],
                       capture_output=True)
    if p.returncode != 0:
        raise RuntimeError(f"elm --decode-batch failed: {p.stderr.decode(errors='replace')}")
    lines = p.stdout.decode().split("\n")
    assert lines[-1] == "" and len(lines) == len(id_lists) + 1
    return [bytes.fromhex(l) for l in lines[:-1]]

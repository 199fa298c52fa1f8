"""elm's GPT-2 BPE against tiktoken's gpt2 encoding built from ../shared/data/gpt2-vocab:
0 mismatches on every seed tweet, every string of the twitter-text conformance files and
>= 200,000 random strings (scripts, emoji with modifiers and ZWJ, combining marks, digits,
punctuation runs, contractions in both cases, every kind of whitespace, long pieces), with and
without <|endoftext|> as a special token; decode(encode(x)) == x byte for byte; decoding
tiktoken's ids gives x back. Invalid UTF-8: elm treats each stray byte as U+FFFD for splitting
and keeps the bytes; checked against an independent reference (the `regex` module splits, tiktoken
merges each piece) and for exact round trips.

ELM_TEST_SEED picks the random seed (printed); ELM_PARITY_N the number of random strings."""
import csv
import glob
import json
import os
import random
import sys
import time
import unicodedata

import regex
import yaml

from elmtest import ELM, SHARED, Checks, tmpdir
import tokref

csv.field_size_limit(1 << 30)
VOCAB = os.path.join(SHARED, "data", "gpt2-vocab")
N_RANDOM = int(os.environ.get("ELM_PARITY_N", "200000"))

# ---- corpora ----


def seed_tweets():
    out = []
    for path in sorted(glob.glob(os.path.join(SHARED, "data", "seed-tweets", "*.csv"))):
        with open(path, newline="", encoding="utf-8") as f:
            head = f.readline()
            f.seek(0)
            delim = "\t" if head.count("\t") > head.count(",") else ","
            for row in csv.DictReader(f, delimiter=delim):
                for col in ("tweet", "tweet_clean"):
                    if row.get(col) is not None:
                        out.append(row[col])
    return out


def conformance_strings():
    out = []

    def walk(x):
        if isinstance(x, str):
            out.append(x)
        elif isinstance(x, dict):
            for k, v in x.items():
                walk(k)
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    d = os.path.join(SHARED, "data", "twitter-text-conformance")
    for path in sorted(glob.glob(os.path.join(d, "*.json"))):
        with open(path, encoding="utf-8") as f:
            try:
                walk(json.load(f))
            except json.JSONDecodeError:  # extract.json is not strict JSON; extract.yml is
                pass
    for path in sorted(glob.glob(os.path.join(d, "*.yml"))):
        with open(path, encoding="utf-8") as f:
            walk(yaml.safe_load(f))
    return out


# ---- random strings ----

WS_CHARS = [" ", "\t", "\n", "\r\n", "\r", "\x0b", "\x0c", "\x85", "\u00a0", "\u1680", "\u2000",
            "\u2003", "\u2009", "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000",
            "\u180e", "\u200b", "\x1c", "\x1f"]  # the last three are NOT White_Space
PUNCT = list("!?.,;:-_'\"()[]{}@#$%^&*+=<>/\\|~`") + ["\u2014", "\u2026", "\u201c", "\u201d",
                                                       "\u2018", "\u2019", "\u00ab", "\u00bb",
                                                       "\u00bf", "\u00a1", "\u00b7", "\u3002"]
CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'VE", "'M", "'LL",
                "'D", "'Ll", "'x", "\u2019s", "\u2019ll"]
SKIN = [chr(c) for c in range(0x1F3FB, 0x1F400)]
EMOJI = [chr(c) for c in list(range(0x1F600, 0x1F650)) + list(range(0x1F466, 0x1F46A)) +
         list(range(0x1F900, 0x1F930))] + ["\u2764", "\u2600", "\u263a", "\u270c", "\u2b50"]
COMBINING = [chr(c) for c in range(0x300, 0x370)] + ["\u20e3", "\u093c", "\u0651", "\ufe0f"]


def rng_range(r, lo, hi, k):
    return "".join(chr(r.randint(lo, hi)) for _ in range(k))


def assigned_chars():
    out = []
    for c in range(0x20, 0x30000):
        if 0xD800 <= c <= 0xDFFF:
            continue
        if unicodedata.category(chr(c)) not in ("Cn", "Cs", "Co"):
            out.append(chr(c))
    return out


def emoji_seq(r):
    e = r.choice(EMOJI)
    if r.random() < 0.4:
        e += r.choice(SKIN)
    if r.random() < 0.2:
        e += "\ufe0f"
    for _ in range(r.choice([0, 0, 1, 2, 3])):
        e += "\u200d" + r.choice(EMOJI) + (r.choice(SKIN) if r.random() < 0.3 else "")
    if r.random() < 0.05:  # a flag, a keycap
        e += chr(0x1F1E6 + r.randrange(26)) + chr(0x1F1E6 + r.randrange(26))
    if r.random() < 0.05:
        e += r.choice("0123456789#*") + "\ufe0f\u20e3"
    return e


def segment(r, allchars):
    k = r.random()
    n = r.choice([1, 1, 2, 3, 4, 6, 9])
    if k < 0.14:
        w = "".join(r.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
                    for _ in range(r.randint(1, 12)))
        if r.random() < 0.2:
            w += rng_range(r, 0xC0, 0x17F, r.randint(1, 3))  # accented Latin
        return w
    if k < 0.20:
        return r.choice([rng_range(r, 0x4E00, 0x9FFF, n), rng_range(r, 0x3041, 0x3096, n),
                         rng_range(r, 0x30A1, 0x30FA, n), rng_range(r, 0xAC00, 0xD7A3, n)])
    if k < 0.25:
        return rng_range(r, 0x0621, 0x064A, n) + (rng_range(r, 0x064B, 0x0652, 1)
                                                  if r.random() < 0.5 else "")
    if k < 0.30:
        return rng_range(r, 0x0905, 0x0939, n) + (rng_range(r, 0x093E, 0x094D, 1)
                                                  if r.random() < 0.6 else "")
    if k < 0.37:
        return "".join(emoji_seq(r) for _ in range(r.choice([1, 1, 2, 3])))
    if k < 0.41:
        return "".join(r.choice(COMBINING) for _ in range(r.choice([1, 1, 2, 3])))
    if k < 0.49:
        d = "".join(r.choice("0123456789") for _ in range(r.randint(1, 8)))
        if r.random() < 0.15:
            d += r.choice(["\u0661\u0662", "\u0967\u0968", "\uff11\uff12", "\u00b2", "\u00bd",
                           "\u216b", "\u2460"])
        return d
    if k < 0.58:
        return "".join(r.choice(PUNCT) for _ in range(r.choice([1, 1, 2, 3, 5, 8])))
    if k < 0.66:
        return r.choice(CONTRACTIONS)
    if k < 0.80:
        return "".join(r.choice(WS_CHARS) for _ in range(r.choice([1, 1, 1, 2, 3, 5, 9])))
    if k < 0.86:
        return "".join(r.choice(allchars) for _ in range(r.choice([1, 2, 3])))
    if k < 0.87:
        return "<|endoftext|>"
    if k < 0.875:  # long pieces: the heap merge path, long whitespace runs
        m = r.randint(50, 2000)
        return r.choice(["".join(r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(m)),
                         "".join(r.choice("0123456789") for _ in range(m)),
                         " " * m, " \t" * (m // 2), "!?" * (m // 2),
                         rng_range(r, 0x4E00, 0x4E40, m // 4),
                         "".join(emoji_seq(r) for _ in range(m // 20))])
    return r.choice([" ", " ", ". ", ", ", "\n", " the", " a", "I", "http://t.co/x"])


def random_strings(seed, n):
    r = random.Random(seed)
    allchars = assigned_chars()
    out = []
    for _ in range(n):
        out.append("".join(segment(r, allchars) for _ in range(r.choice([1, 2, 3, 4, 6, 8, 12]))))
    return out


# ---- invalid UTF-8 reference ----

WS = r"\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
REF_PAT = regex.compile(r"'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^" + WS + r"\p{L}\p{N}]+|[" +
                        WS + r"]+(?![^" + WS + r"])|[" + WS + r"]+")


def ref_pieces(b):
    """Pieces (as bytes) of b, each stray byte counting as U+FFFD for the split."""
    s = b.decode("utf-8", "surrogateescape")
    sub, offs, o = [], [], 0
    for ch in s:
        offs.append(o)
        if 0xDC80 <= ord(ch) <= 0xDCFF:
            sub.append("\ufffd")
            o += 1
        else:
            sub.append(ch)
            o += len(ch.encode("utf-8"))
    offs.append(o)
    return [b[offs[m.start()]:offs[m.end()]] for m in REF_PAT.finditer("".join(sub))]


def corrupt(r, b):
    bad = [b"\x80", b"\xbf", b"\xc0\xaf", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\xf0\x9f\x98",
           b"\xf4\x90\x80\x80", b"\xf8", b"\xfe\xff", b"\xff", bytes([r.randrange(128, 256)])]
    out = bytearray(b)
    for _ in range(r.choice([1, 1, 2, 4])):
        i = r.randrange(len(out) + 1)
        out[i:i] = r.choice(bad)
    if len(out) > 3 and r.random() < 0.3:  # cut a string inside a multi-byte character
        del out[r.randrange(len(out)):]
    return bytes(out)


def compare(c, what, texts, got, want):
    bad = [i for i in range(len(texts)) if got[i] != want[i]]
    c.check(not bad, f"{what}: {len(bad)} of {len(texts)} differ")
    for i in bad[:5]:
        print(f"  {what}: {texts[i]!r}\n    elm      {got[i]}\n    expected {want[i]}",
              file=sys.stderr)
    return len(bad)


def main():
    c = Checks()
    tmp = tmpdir()
    enc = tokref.tiktoken_from_dir(VOCAB)
    seed = int(os.environ.get("ELM_TEST_SEED", str(int(time.time()) % 1000000)))
    print(f"random seed {seed} (set ELM_TEST_SEED={seed} to repeat)")

    t0 = time.time()
    tweets = seed_tweets()
    conf = conformance_strings()
    rnd = random_strings(seed, N_RANDOM)
    c.check(len(tweets) >= 14412, f"seed tweets read: {len(tweets)}")
    c.check(len(conf) > 1000, f"conformance strings read: {len(conf)}")
    print(f"{len(tweets)} tweets, {len(conf)} conformance strings, {len(rnd)} random strings "
          f"generated in {time.time() - t0:.1f}s")

    for name, texts in (("seed tweets", tweets), ("conformance", conf), ("random", rnd)):
        t0 = time.time()
        data = [t.encode("utf-8") for t in texts]
        want = enc.encode_ordinary_batch(texts, num_threads=2)
        got = tokref.elm_encode_batch(ELM, VOCAB, data, tmp)
        compare(c, name, texts, got, want)
        # Decoding tiktoken's ids, and elm's own, gives the bytes back exactly.
        back = tokref.elm_decode_batch(ELM, VOCAB, want, tmp)
        c.check(back == data, f"{name}: decode(tiktoken ids) != text for "
                f"{sum(1 for a, b in zip(back, data) if a != b)} strings")
        back = tokref.elm_decode_batch(ELM, VOCAB, got, tmp)
        c.check(back == data, f"{name}: decode(encode(x)) != x")
        print(f"{name}: {len(texts)} strings, {sum(map(len, data))} bytes, "
              f"{sum(map(len, want))} tokens checked in {time.time() - t0:.1f}s")

    # Long runs (the regex backtracks through \s+(?!\S); tiktoken itself overflows its stack
    # somewhere above 50,000 characters of whitespace, elm does not).
    longs = []
    for n in (5000, 20000, 50000):
        longs += [" " * n + "x", " \t" * (n // 2) + "\n\nab", "\n" * n + " " * n, "a" * n + " " * 5,
                  "\u3000" * n, "\r\n" * n + "q", "!" * n, "7" * n + "a", "\u4e00" * n]
    compare(c, "long runs", [t[:20] + "..." for t in longs],
            tokref.elm_encode_batch(ELM, VOCAB, [t.encode() for t in longs], tmp),
            [enc.encode_ordinary(t) for t in longs])

    # <|endoftext|> as the special token (allowed), on the random strings that hold it + tweets.
    special = [t for t in rnd if "<|endoftext|>" in t][:20000] + tweets[:2000]
    c.check(sum("<|endoftext|>" in t for t in special) > 100, "few strings hold <|endoftext|>")
    want = enc.encode_batch(special, allowed_special="all", num_threads=2)
    got = tokref.elm_encode_batch(ELM, VOCAB, [t.encode() for t in special], tmp, special=True)
    compare(c, "allow_special", special, got, want)

    # The reference splitter agrees with tiktoken on valid text (so it can judge invalid text).
    r = random.Random(seed + 1)
    sample = r.sample(rnd, 5000)
    ref = [[i for p in ref_pieces(t.encode()) for i in enc._encode_single_piece(p)] for t in sample]
    compare(c, "reference splitter vs tiktoken", sample, ref, enc.encode_ordinary_batch(sample))

    # Every code point (all 1,112,064 scalar values): c + "'s" ends in the token "'s" exactly when
    # c is a letter or number, so this checks the character classes over all of Unicode.
    cps = [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]
    every = ["".join(chr(cp) + "'s\n" for cp in cps[i:i + 512]) for i in range(0, len(cps), 512)]
    want = enc.encode_ordinary_batch(every, num_threads=2)
    got = tokref.elm_encode_batch(ELM, VOCAB, [t.encode() for t in every], tmp)
    compare(c, "every code point", [t[:40] + "..." for t in every], got, want)

    # Invalid UTF-8. The reference splitter's classes come from the `regex` module, which calls
    # some unassigned code points letters, so strings where corruption made one are left out.
    broken = [corrupt(r, t.encode()) for t in r.sample(rnd, 20000)]
    broken = [b for b in broken if all(0xDC80 <= ord(ch) <= 0xDCFF or unicodedata.category(ch)
                                       != "Cn" for ch in b.decode("utf-8", "surrogateescape"))]
    broken += [bytes([b]) for b in range(256)] + [bytes(range(256)), b"\xff" * 100,
                                                   b" \xff \xfe", b"\xe2\x80", b"a\xc3"]
    broken = [b for b in broken if b]
    got = tokref.elm_encode_batch(ELM, VOCAB, broken, tmp)
    want = [[i for p in ref_pieces(b) for i in enc._encode_single_piece(p)] for b in broken]
    compare(c, "invalid UTF-8", broken, got, want)
    back = tokref.elm_decode_batch(ELM, VOCAB, got, tmp)
    c.check(back == broken, "invalid UTF-8: decode(encode(x)) != x")
    # For the record: where this differs from tiktoken's private _encode_bytes (which runs BPE
    # over everything after the first stray byte without splitting).
    diff = sum(1 for b, g in zip(broken, got) if enc._encode_bytes(b) != g)
    print(f"invalid UTF-8: {len(broken)} strings; tiktoken._encode_bytes differs on {diff}")
    c.done()


if __name__ == "__main__":
    main()

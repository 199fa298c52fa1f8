"""The sampler and the text cuts against a numpy reimplementation of docs/train.md's semantics.

Random logits (some with ties), random contexts with repeated n-grams, every filter alone and
all together: the C distribution after steps 1-5 must keep exactly the reference's tokens with
the same probabilities (1e-12 relative); the draws (step 6) must equal the reference's draw for
the same uniforms token for token; and sampled histograms must pass a chi-square test against
the expected distribution. The tweet/story cuts are checked the same way on random texts."""
import os
import struct
import subprocess
import sys

import numpy as np
from scipy import stats

from elmtest import Checks, tmpdir

BUILD = os.environ.get("ELM_BUILD", ".")
WORKER = os.path.join(BUILD, "tests", "generate_test_sample")
M64 = (1 << 64) - 1


def splitmix64(x):
    z = (x + 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def uniform(seed, index, position):
    h = splitmix64((splitmix64((splitmix64(seed) + index) & M64) + position) & M64)
    return (h >> 11) * 2.0**-53


def uniforms(seed, index, n):
    """uniform(seed, index, position) for positions 0..n-1, vectorised (uint64 wraps)."""
    with np.errstate(over="ignore"):
        def mix(x):
            z = x + np.uint64(0x9E3779B97F4A7C15)
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            return z ^ (z >> np.uint64(31))
        base = np.uint64(splitmix64((splitmix64(seed) + index) & M64))
        h = mix(base + np.arange(n, dtype=np.uint64))
    return (h >> np.uint64(11)).astype(np.float64) * 2.0**-53


def draw_many(q, us):
    """draw() for many uniforms: the running sum is np.cumsum's sequential one, like C's."""
    kept = np.nonzero(q > 0)[0]
    if len(kept) == 0:
        return np.full(len(us), -1)
    cum = np.cumsum(q[kept])
    total = 0.0
    for x in q[kept]:
        total += x
    idx = np.searchsorted(cum, us * total, side="right")
    return kept[np.minimum(idx, len(kept) - 1)]


def reference(logits, temp, top_k, top_p, pen, ngram, ctx):
    """Steps 1-5 of the semantics, in float64 from the float32 parameters."""
    V = len(logits)
    z = logits.astype(np.float64)
    pen = float(np.float32(pen))
    if pen != 1.0:
        for t in set(ctx):
            z[t] = z[t] / pen if z[t] > 0 else z[t] * pen
    L = len(ctx)
    if ngram > 0 and L >= ngram - 1 and L >= 1:
        tail = ctx[L - ngram + 1:] if ngram > 1 else []
        for i in range(L - ngram + 1):
            if list(ctx[i:i + ngram - 1]) == list(tail):
                z[ctx[i + ngram - 1]] = -np.inf
    q = np.zeros(V)
    if temp == 0:
        fin = np.isfinite(z)
        if fin.any():
            q[int(np.argmax(np.where(fin, z, -np.inf)))] = 1.0
        return q
    z = z * (1.0 / float(np.float32(temp)))
    fin = np.isfinite(z)
    n = int(fin.sum())
    if n == 0:
        return q
    if 0 < top_k < n:
        kth = np.sort(z[fin])[::-1][top_k - 1]
        z[z < kth] = -np.inf
        fin = np.isfinite(z)
    mx = z[fin].max()
    q[fin] = np.exp(z[fin] - mx)
    q /= q.sum()
    p = float(np.float32(top_p))
    if p < 1.0 and fin.sum() > 1:
        order = sorted(np.nonzero(fin)[0], key=lambda t: (-q[t], t))
        keep, cum = [], 0.0
        for t in order:
            if cum >= p:
                break
            keep.append(t)
            cum += q[t]
        r = np.zeros(V)
        r[keep] = q[keep]
        q = r / r.sum()
    return q


def draw(q, u):
    """Step 6 on a given distribution: walk ids upwards until the running sum exceeds u*sum."""
    kept = np.nonzero(q > 0)[0]
    if len(kept) == 0:
        return -1
    total = 0.0
    for t in kept:
        total += q[t]
    target, cum = u * total, 0.0
    for t in kept:
        cum += q[t]
        if cum > target:
            return int(t)
    return int(kept[-1])


def make_cases(rng):
    cases = []
    settings = [  # temperature, top_k, top_p, penalty, ngram
        (1.0, 0, 1.0, 1.0, 0), (0.7, 0, 1.0, 1.0, 0), (1.3, 0, 1.0, 1.0, 0),
        (1.0, 5, 1.0, 1.0, 0), (1.0, 1, 1.0, 1.0, 0), (1.0, 0, 0.9, 1.0, 0),
        (1.0, 0, 0.5, 1.0, 0), (1.0, 0, 1.0, 1.3, 0), (1.0, 0, 1.0, 0.8, 0),
        (1.0, 0, 1.0, 1.0, 2), (1.0, 0, 1.0, 1.0, 3), (1.0, 0, 1.0, 1.0, 1),
        (0.8, 40, 0.95, 1.1, 3), (0.0, 0, 1.0, 1.2, 2), (0.9, 10, 0.8, 1.5, 2),
    ]
    for V in (8, 50, 1000, 50257):
        for temp, k, p, pen, ng in settings:
            scale = rng.choice([0.5, 2.0, 5.0])
            logits = (rng.standard_normal(V) * scale).astype(np.float32)
            if rng.random() < 0.3:  # ties
                logits = (np.round(logits * 2) / 2).astype(np.float32)
            alphabet = min(V, 12)
            ctx = rng.integers(0, alphabet, size=int(rng.integers(0, 40))).astype(np.int32)
            cases.append((V, temp, k, p, pen, ng, ctx, logits))
    return cases


def write_cases(path, cases):
    with open(path, "wb") as f:
        f.write(struct.pack("<i", len(cases)))
        for V, temp, k, p, pen, ng, ctx, logits in cases:
            f.write(struct.pack("<ififfii", V, temp, k, p, pen, ng, len(ctx)))
            f.write(ctx.astype("<i4").tobytes())
            f.write(logits.astype("<f4").tobytes())


def run_worker(*args):
    p = subprocess.run([WORKER, *args], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"worker {args} failed: {p.stderr}")


# ---- the cuts ----------------------------------------------------------------------------
SPACE = b" \t\n\r\x0b\x0c"


def chars_of(b):
    """(start, end) byte ranges of the characters of b; an invalid byte is one character."""
    s = b.decode("utf-8", "surrogateescape")
    out, pos = [], 0
    for ch in s:
        n = 1 if 0xDC80 <= ord(ch) <= 0xDCFF else len(ch.encode("utf-8"))
        out.append((pos, pos + n))
        pos += n
    assert pos == len(b)
    return out


def ref_limit(b, max_chars):
    ch = chars_of(b)
    return ch[max_chars - 1][1] if len(ch) > max_chars else len(b)


def ref_cut_words(b, keep_min, max_chars, whole):
    lim = ref_limit(b, max_chars)
    if whole and lim == len(b):
        return len(b)
    best = None
    for i in range(keep_min + 1, min(lim, len(b) - 1) + 1):
        if b[i] in SPACE and b[i - 1] not in SPACE:
            best = i
    if best is not None:
        return best
    return lim if lim > keep_min else keep_min


CLOSERS = [b'"', b"'", b")", b"]", b"}", "\u201d".encode(), "\u2019".encode(), "\u00bb".encode()]


def ref_cut_sentence(b, keep_min, max_chars):
    lim = ref_limit(b, max_chars)
    best = 0
    for start, end in chars_of(b[:lim]):
        c = b[start:end]
        if c not in (b".", b"!", b"?", "\u2026".encode()):
            continue
        j = end
        while True:
            m = next((x for x in CLOSERS if b[j:j + len(x)] == x and j + len(x) <= lim), None)
            if m is None:
                break
            j += len(m)
        if j > keep_min and (j == len(b) or b[j] in SPACE):
            best = j
    if best:
        return best
    return ref_cut_words(b, keep_min, max_chars, 0)


def random_text(rng):
    pieces = [b"word", b"go", b"a", b"caf\xc3\xa9", "\u6f22\u5b57".encode(), "\U0001F600".encode(),
              b".", b"!", b"?", "\u2026".encode(), b'"', b")", "\u201d".encode(), b" ", b"  ", b"\n",
              b"\t", b"\xff", b"\xe2\x80", b"Dr.", b"ok"]
    n = int(rng.integers(0, 60))
    return b"".join(pieces[int(rng.integers(0, len(pieces)))] for _ in range(n))


def main():
    c = Checks()
    rng = np.random.default_rng(20261125)
    d = tmpdir()
    cases = make_cases(rng)
    cin, cout = os.path.join(d, "cases.bin"), os.path.join(d, "dist.bin")
    write_cases(cin, cases)
    run_worker("dist", cin, cout)
    raw = open(cout, "rb").read()
    off, cq = 0, []
    for i, (V, temp, k, p, pen, ng, ctx, logits) in enumerate(cases):
        kept = struct.unpack_from("<i", raw, off)[0]
        q = np.frombuffer(raw, "<f8", V, off + 4)
        off += 4 + 8 * V
        cq.append(q)
        ref = reference(logits, temp, k, p, pen, ng, list(ctx))
        name = f"case {i} (V={V} T={temp} k={k} p={p} pen={pen} ngram={ng})"
        c.check(kept == int((ref > 0).sum()), f"{name}: kept {kept} vs {(ref > 0).sum()}")
        c.check(np.array_equal(q > 0, ref > 0), f"{name}: different kept sets")
        err = np.max(np.abs(q - ref) / np.maximum(ref, 1e-300)) if (ref > 0).any() else 0
        c.check(err < 1e-12, f"{name}: probabilities differ by {err:.3g} (relative)")

    us = uniforms(3, 5, 64)
    c.check(all(us[k] == uniform(3, 5, k) for k in range(64)), "vectorised uniforms differ")
    c.check(all(draw_many(cq[0], us)[k] == draw(cq[0], us[k]) for k in range(64)),
            "vectorised draws differ")

    # Step 6 exactly: 2,000 draws per case with the C uniforms, against the reference draw.
    N = 2000
    small = [i for i, cs in enumerate(cases) if cs[0] <= 1000]
    sub = [cases[i] for i in small]
    sin, sout = os.path.join(d, "small.bin"), os.path.join(d, "draws.bin")
    write_cases(sin, sub)
    run_worker("draw", sin, sout, str(N))
    counts = np.frombuffer(open(sout, "rb").read(), "<i8")
    off = 0
    for j, i in enumerate(small):
        V = cases[i][0]
        got = counts[off:off + V]
        off += V
        want = np.zeros(V, np.int64)
        for t in draw_many(cq[i], uniforms(1000 + j, 7, N)):
            if t >= 0:
                want[t] += 1
        c.check(np.array_equal(got, want), f"case {i}: draws differ from the reference draw")

    # Chi-square of 200,000 draws against the expected distribution.
    chi_cases = [cs for cs in cases if cs[0] == 50 and cs[1] > 0][:8]
    hin, hout = os.path.join(d, "chi.bin"), os.path.join(d, "hist.bin")
    write_cases(hin, chi_cases)
    N = 200000
    run_worker("draw", hin, hout, str(N))
    hist = np.frombuffer(open(hout, "rb").read(), "<i8").reshape(len(chi_cases), 50)
    for j, (V, temp, k, p, pen, ng, ctx, logits) in enumerate(chi_cases):
        q = reference(logits, temp, k, p, pen, ng, list(ctx))
        kept = q > 0
        c.check(hist[j][~kept].sum() == 0, f"chi case {j}: sampled a removed token")
        if kept.sum() < 2:
            continue
        exp = q[kept] * N
        chi = float(((hist[j][kept] - exp) ** 2 / exp).sum())
        pval = float(stats.chi2.sf(chi, int(kept.sum()) - 1))
        c.check(pval > 1e-4, f"chi case {j}: chi2 {chi:.1f} on {kept.sum() - 1} df, p {pval:.2g}")

    # The cuts: random texts with multi-byte, invalid and closing characters.
    texts = []
    for _ in range(3000):
        b = random_text(rng)
        mode = int(rng.integers(0, 2))
        whole = int(rng.integers(0, 2))
        keep = int(rng.integers(0, min(len(b), 12) + 1))
        while keep < len(b) and keep > 0 and (b[keep] & 0xC0) == 0x80:
            keep -= 1
        max_chars = int(rng.integers(max(1, len(chars_of(b[:keep]))), 80))
        texts.append((mode, whole, keep, max_chars, b))
    tin, tout = os.path.join(d, "cut.bin"), os.path.join(d, "cuts.bin")
    with open(tin, "wb") as f:
        f.write(struct.pack("<i", len(texts)))
        for mode, whole, keep, mc, b in texts:
            f.write(struct.pack("<iiiii", mode, whole, keep, mc, len(b)))
            f.write(b)
    run_worker("cut", tin, tout)
    cuts = np.frombuffer(open(tout, "rb").read(), "<i8")
    for (mode, whole, keep, mc, b), got in zip(texts, cuts):
        want = ref_cut_words(b, keep, mc, whole) if mode == 0 else ref_cut_sentence(b, keep, mc)
        c.check(got == want, f"cut mode {mode} whole {whole} keep {keep} max {mc} {b!r}: "
                             f"{got} vs {want}")
        c.check(keep <= got <= len(b), f"cut {got} outside [{keep}, {len(b)}]")
        c.check(got == keep or len(chars_of(b[:got])) <= mc, f"cut {got} over {mc} chars: {b!r}")
    c.done()


if __name__ == "__main__":
    main()

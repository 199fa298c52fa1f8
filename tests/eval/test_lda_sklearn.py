"""elm's LDA against scikit-learn's LatentDirichletAllocation (batch variational Bayes, the same
priors and passes) on 5,000 rows of real_vs_generated.csv: at k = 4, 10, 20 elm's held-out
perplexity — computed by scikit-learn's own perplexity() from elm's topic-word matrix — is at
most 5% above scikit-learn's, elm's own perplexity figure agrees with scikit-learn's formula,
and NPMI coherence is reported for both (sklearn's topics scored by elm's c_npmi: gensim is not
in the venv)."""
import json
import os

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import LatentDirichletAllocation
from sklearn.decomposition._online_lda_fast import _dirichlet_expectation_2d

from elmtest import Checks, run_elm, tmpdir, write
from evalcommon import CSV

c = Checks()
ITER = 10


def load(exp, k):
    ip = np.load(os.path.join(exp, "indptr.npy"))
    ix = np.load(os.path.join(exp, "indices.npy"))
    dt = np.load(os.path.join(exp, "data.npy"))
    with open(os.path.join(exp, "vocab.txt"), encoding="utf-8") as f:
        V = len(f.read().split("\n")) - 1
    X = sp.csr_matrix((dt, ix, ip), shape=(len(ip) - 1, V))
    held = np.load(os.path.join(exp, "heldout.npy")).astype(bool)
    lam = np.load(os.path.join(exp, "lambda.npy")).reshape(k, V)
    return X, held, lam


def sklearn_with(lam, k):
    """A LatentDirichletAllocation holding elm's topics, so sklearn's code scores them."""
    m = LatentDirichletAllocation(n_components=k, learning_method="batch", random_state=0)
    m.components_ = lam
    m.exp_dirichlet_component_ = np.exp(_dirichlet_expectation_2d(lam))
    m.n_features_in_ = lam.shape[1]
    m.doc_topic_prior_ = m.topic_word_prior_ = 1.0 / k
    m.random_state_ = np.random.RandomState(0)
    m.n_batch_iter_ = m.n_iter_ = 1
    m.bound_ = 0
    return m


def token_ids(exp, vocab):
    """Each text's tokens (sklearn's analyzer: the tokenisation elm matches) as vocab ids."""
    import csv
    from sklearn.feature_extraction.text import CountVectorizer
    with open(CSV, newline="") as f:
        rows = list(csv.reader(f))
    recs = np.load(os.path.join(exp, "records.npy"))
    an = CountVectorizer(stop_words="english").build_analyzer()
    ids = {w: i for i, w in enumerate(vocab)}
    return [[ids.get(t, -1) for t in an(rows[r - 1][0])] for r in recs]


def npmi(docs, topics, window=10, eps=1e-12):
    """gensim's c_npmi: boolean sliding windows (a shorter text is one window; texts without a
    topic word are skipped), all ordered pairs, mean over pairs then topics."""
    rel = {w for t in topics for w in t}
    single, pair, n_win = {}, {}, 0
    for d in docs:
        if not any(w in rel for w in d):
            continue
        wins = [d] if len(d) <= window else [d[i:i + window] for i in range(len(d) - window + 1)]
        for win in wins:
            s = {w for w in win if w in rel}
            for a in s:
                single[a] = single.get(a, 0) + 1
                for b in s:
                    if a != b:
                        pair[a, b] = pair.get((a, b), 0) + 1
            n_win += 1
    scores = []
    for t in topics:
        v = []
        for a in t:
            for b in t:
                if a == b:
                    continue
                pab = pair.get((a, b), 0) / n_win
                pa, pb = single.get(a, 0) / n_win, single.get(b, 0) / n_win
                v.append(np.log((pab + eps) / (pa * pb)) / -np.log(pab + eps))
        scores.append(np.mean(v))
    return float(np.mean(scores))


d = tmpdir("elm-lda-")
for k in (4, 10, 20):
    cfg = write(os.path.join(d, f"t{k}.ini"),
                f"[run]\nname = t{k}\nout_dir = {d}/out\nthreads = 2\n[topics]\ndata = {CSV}\n"
                f"max_rows = 5000\nk = {k}\niterations = {ITER}\ntop_n = 10\n")
    exp = os.path.join(d, f"exp{k}")
    p = run_elm("topics", cfg, f"--export={exp}", "--quiet")
    if not c.check(p.returncode == 0, f"elm topics k={k} failed: {p.stderr}"):
        continue
    with open(os.path.join(d, "out", f"t{k}", "topics", "topics.json")) as f:
        res = json.load(f)
    X, held, lam = load(exp, k)
    sk = LatentDirichletAllocation(n_components=k, learning_method="batch", max_iter=ITER,
                                   random_state=0).fit(X[~held])
    sk_perp = sk.perplexity(X[held])
    elm_perp = sklearn_with(lam, k).perplexity(X[held])
    own = res["lda"]["heldout_perplexity"]
    # NPMI (gensim's c_npmi) recomputed here from the texts, for elm's topics (to check elm's
    # figure) and for sklearn's (reported beside it).
    vocab = open(os.path.join(exp, "vocab.txt"), encoding="utf-8").read().split("\n")[:-1]
    if k == 4:
        docs = token_ids(exp, vocab)
    elm_top = [[vocab.index(w) for w in t["words"]] for t in res["topics"]]
    sk_top = [list(np.argsort(-row, kind="stable")[:10]) for row in sk.components_]
    elm_npmi_py, sk_npmi = npmi(docs, elm_top), npmi(docs, sk_top)
    c.check(abs(elm_npmi_py - res["lda"]["coherence_npmi"]) < 1e-9,
            f"k={k}: elm NPMI {res['lda']['coherence_npmi']} vs reference {elm_npmi_py}")
    print(f"k={k}: held-out perplexity elm {elm_perp:.6g} (elm's own figure {own:.6g}) "
          f"sklearn {sk_perp:.6g} ratio {elm_perp / sk_perp:.4f}; elm NPMI "
          f"{res['lda']['coherence_npmi']:.4f} c_v {res['lda']['coherence_c_v']:.4f} "
          f"u_mass {res['lda']['coherence_umass']:.4f}; sklearn NPMI {sk_npmi:.4f}")
    c.check(elm_perp <= 1.05 * sk_perp, f"k={k}: elm perplexity {elm_perp} > 1.05 x {sk_perp}")
    c.check(abs(own - elm_perp) <= 1e-3 * elm_perp,
            f"k={k}: elm's perplexity {own} differs from sklearn's formula {elm_perp}")
    c.check(len(res["topics"]) == k and all(len(t["words"]) == 10 for t in res["topics"]),
            f"k={k}: topics.json lacks {k} topics of 10 words")
    shares = sum(t["share_real"] for t in res["topics"])
    c.check(abs(shares - 1) < 1e-6, f"k={k}: real topic shares sum to {shares}")
c.done()

"""elm's validators against scikit-learn on the study's real_vs_generated.csv (subsets, so the
test fits in CI's budget): TF-IDF features equal element by element, MultinomialNB and
GaussianNB accuracy on the same 5 stratified folds within 0.5 points, random forest mean
accuracy over 3 seeds within 1.5 points. Full-size comparisons: bench/validators."""
import os
import sys

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.naive_bayes import GaussianNB, MultinomialNB

from elmtest import Checks
from evalcommon import csv_rows, load_export, metrics, validate

c = Checks()
rows = csv_rows()


def texts_of(e):
    recs = e["records"]
    # elm's labels must be the CSV's labels of the same records
    c.check(all(int(rows[r - 1][1]) == y for r, y in zip(recs, e["labels"])),
            "exported labels differ from the CSV's")
    return [rows[r - 1][0] for r in recs]


def compare_features(name, settings, vec):
    run, exp, p = validate(dict(settings, models="nb"))
    if not c.check(p.returncode == 0, f"{name}: elm validate failed: {p.stderr}"):
        return None
    e = load_export(exp)
    Xs = vec.fit_transform(texts_of(e))
    sv = vec.get_feature_names_out().tolist()
    if not c.check(sv == e["vocab"], f"{name}: vocabulary differs: {len(sv)} vs {len(e['vocab'])}"
                   f" terms; only sklearn {sorted(set(sv) - set(e['vocab']))[:5]}, only elm "
                   f"{sorted(set(e['vocab']) - set(sv))[:5]}"):
        return e
    diff = abs(Xs - e["X"])
    c.check(diff.nnz == 0 or diff.max() <= 1e-6, f"{name}: values differ by {diff.max()}")
    c.check(Xs.nnz == e["X"].nnz, f"{name}: {Xs.nnz} vs {e['X'].nnz} stored values")
    print(f"{name}: {len(sv)} terms, {Xs.nnz} values equal to sklearn's (max diff "
          f"{diff.max() if diff.nnz else 0:.2e})")
    return e


def cv_accuracy(model, X, y, folds):
    acc = []
    for f in range(folds.max() + 1):
        tr, te = folds != f, folds == f
        acc.append((model().fit(X[tr], y[tr]).predict(X[te]) == y[te]).mean())
    return float(np.mean(acc))


def compare_proba(name, model, e, X, exp, file, tol):
    """elm's test-split probabilities against sklearn's predict_proba, every element."""
    te = e["test"].astype(bool)
    sk = model.fit(X[~te], e["labels"][~te]).predict_proba(X[te])
    got = np.load(os.path.join(exp, file)).reshape(-1, 2)
    if not c.check(got.shape == sk.shape, f"{name}: {got.shape} vs {sk.shape} probabilities"):
        return
    d = float(np.abs(got - sk).max())
    print(f"{name} predict_proba on the {te.sum()} test rows: max |elm - sklearn| = {d:.2e}")
    c.check(d <= tol, f"{name}: probabilities differ by {d:.3g} (> {tol})")


# 1. TF-IDF as the study built it (stop words, 1-3 grams, 200,000 features) on 4,000 rows.
study = dict(max_rows=4000, cv="true", folds=5, stop_words="true", ngram_min=1, ngram_max=3,
             max_features=200000)
e = compare_features("tfidf 1-3 grams", study,
                     TfidfVectorizer(stop_words="english", ngram_range=(1, 3), max_features=200000))
# Other settings: document-frequency limits, binary counts, raw counts.
compare_features("tfidf min_df=2 max_df=0.3 binary",
                 dict(max_rows=3000, min_df=2, max_df=0.3, binary="true", ngram_max=2,
                      stop_words="false"),
                 TfidfVectorizer(min_df=2, max_df=0.3, binary=True, ngram_range=(1, 2)))
compare_features("counts 1-2 grams", dict(max_rows=3000, tfidf="false", ngram_max=2,
                                          stop_words="true", max_features=0),
                 CountVectorizer(stop_words="english", ngram_range=(1, 2)))

# max_features: sklearn breaks ties in total count in no defined order, so compare the terms
# whose count is above the cut-off, and the size.
run, exp, p = validate(dict(max_rows=3000, max_features=2000, ngram_max=1, models="nb"))
if c.check(p.returncode == 0, f"max_features run failed: {p.stderr}"):
    ee = load_export(exp)
    cv = CountVectorizer(ngram_range=(1, 1), stop_words="english")
    counts = np.asarray(cv.fit_transform(texts_of(ee)).sum(axis=0)).ravel()
    names = cv.get_feature_names_out()
    cut = np.sort(counts)[::-1][1999]
    sure = set(names[counts > cut])
    c.check(len(ee["vocab"]) == 2000, f"max_features=2000 kept {len(ee['vocab'])}")
    c.check(sure <= set(ee["vocab"]), "a term above the max_features cut-off is missing")
    c.check(all(counts[cv.vocabulary_[t]] >= cut for t in ee["vocab"]),
            "a term below the max_features cut-off was kept")

# 2. MultinomialNB on the same features and folds.
if e is not None:
    run, exp, p = validate(dict(study, models="nb"))
    e = load_export(exp)
    elm_acc = metrics(run)["cv"]["multinomial_nb"]["mean_accuracy"]
    sk_acc = cv_accuracy(MultinomialNB, e["X"], e["labels"], e["folds"])
    print(f"MultinomialNB 5-fold accuracy: elm {elm_acc:.4f} sklearn {sk_acc:.4f}")
    c.check(abs(elm_acc - sk_acc) <= 0.005, "MultinomialNB accuracy differs by more than 0.5 points")
    compare_proba("MultinomialNB", MultinomialNB(), e, e["X"], exp, "proba_mnb.npy", 1e-10)

# 3. GaussianNB (dense in sklearn, so a 3,000-term vocabulary).
run, exp, p = validate(dict(max_rows=4000, cv="true", folds=5, max_features=3000, models="gnb"))
if c.check(p.returncode == 0, f"gnb run failed: {p.stderr}"):
    e = load_export(exp)
    elm_acc = metrics(run)["cv"]["gaussian_nb"]["mean_accuracy"]
    sk_acc = cv_accuracy(GaussianNB, e["X"].toarray(), e["labels"], e["folds"])
    print(f"GaussianNB 5-fold accuracy: elm {elm_acc:.4f} sklearn {sk_acc:.4f}")
    c.check(abs(elm_acc - sk_acc) <= 0.005, "GaussianNB accuracy differs by more than 0.5 points")
    compare_proba("GaussianNB", GaussianNB(), e, e["X"].toarray(), exp, "proba_gnb.npy", 1e-9)

# 4. Random forest, scikit-learn's defaults (100 trees), 3 seeds, on 3,000 rows (fewer rows than the
# study, to fit the test budget; bench/validators runs all 30,000).
TREES = 100
run, exp, p = validate(dict(max_rows=3000, cv="true", folds=5, cv_repeats=3, models="rf",
                            **{"rf.n_estimators": TREES, "rf.oob_score": "false"}))
if c.check(p.returncode == 0, f"rf run failed: {p.stderr}"):
    e = load_export(exp)
    elm_acc = metrics(run)["cv"]["random_forest"]["mean_accuracy"]
    sk = [cv_accuracy(lambda: RandomForestClassifier(TREES, random_state=s, n_jobs=2), e["X"],
                      e["labels"], e["folds"]) for s in range(3)]
    sk_acc = float(np.mean(sk))
    print(f"RandomForest ({TREES} trees) 5-fold accuracy over 3 seeds: elm {elm_acc:.4f} "
          f"sklearn {sk_acc:.4f}")
    c.check(abs(elm_acc - sk_acc) <= 0.015, "random forest accuracy differs by more than 1.5 points")

c.done()

"""Acceptance 5: bad input, each a case. Every one must give a single-line error that names the
file and line (or the config key), a non-zero exit, no output file in a fresh run folder, and
leave the outputs of an earlier good run byte for byte as they were (no temporary files left)."""
import gzip
import os
import re

from elmtest import Checks, run_elm, tmpdir, write

c = Checks()
d = tmpdir()
good = write(os.path.join(d, "good.txt"), "first post\nsecond post\n")


def config(name, body, run="r"):
    return write(os.path.join(d, name + ".ini"), f"[run]\nname = {run}\nout_dir = {d}/out\n{body}")


def outputs(run):
    """The run folder's files, less .lock (the writers' lock: its content is the last holder's pid)."""
    folder = os.path.join(d, "out", run)
    if not os.path.isdir(folder):
        return {}
    return {f: open(os.path.join(folder, f), "rb").read() for f in sorted(os.listdir(folder)) if f != ".lock"}


# a good run first: its outputs must survive every bad run into the same folder
r = run_elm("ingest", config("good", f"[data]\nsource = me : {good}\n"), "--quiet")
c.check(r.returncode == 0, f"good ingest: {r.stderr}")
r = run_elm("clean", config("good", f"[data]\nsource = me : {good}\n"), "--quiet")
c.check(r.returncode == 0, f"good clean: {r.stderr}")
before = outputs("r")
c.check(set(before) == {"corpus.jsonl", "ingest.json", "clean.jsonl", "clean.json"}, f"{list(before)}")


def bad(name, body, pattern, command="ingest"):
    """Runs a bad case into the good run folder and into a fresh one."""
    for run in ("r", "fresh_" + name):
        cfg = config(name, body, run)
        res = run_elm(command, cfg)
        err = res.stderr.strip()
        c.check(res.returncode != 0, f"{name}: exit status {res.returncode}")
        c.check(len(err.splitlines()) == 1, f"{name}: error is not one line: {err!r}")
        c.check(err.startswith(f"elm {command}: "), f"{name}: {err!r}")
        c.check(re.search(pattern, err) is not None, f"{name}: {err!r} does not match {pattern!r}")
        if run == "r":
            c.check(outputs("r") == before, f"{name}: the earlier good outputs changed")
        else:
            c.check(outputs(run) == {}, f"{name}: output left in a fresh run: {list(outputs(run))}")
    print(f"{name:22s} -> {err}")


# files
bad("missing_file", f"[data]\nsource = me : {d}/nope.csv\n",
    r"missing_file\.ini:\d+: .*nope\.csv: no such file")
bad("missing_glob", f"[data]\nsource = me : {d}/nothing*.jsonl\n", r"missing_glob\.ini:\d+: .*no such file")
empty = write(os.path.join(d, "empty.csv"), "")
bad("empty_file", f"[data]\nsource = me : {empty}\n", r"empty\.csv:1: empty file")
blank = write(os.path.join(d, "blank.txt"), "\n  \n")
bad("blank_file", f"[data]\nsource = me : {blank}\n", r"blank\.txt:1: empty file")
whole = gzip.compress(("id\ttweet\n" + "".join(f"{i}\tpost number {i}\n" for i in range(5000))).encode())
trunc = os.path.join(d, "cut.csv.gz")
open(trunc, "wb").write(whole[: len(whole) // 2])
bad("truncated_gz", f"[data]\nsource = me : {trunc}\n", r"cut\.csv\.gz: corrupt or truncated gzip")
# CSV
q_end = write(os.path.join(d, "q_end.csv"), 'id\ttweet\n1\tfine\n2\t"never closed\n3\tmore\n4\tand more\n')
bad("csv_open_quote_eof", f"[data]\nsource = me : {q_end}\n", r"q_end\.csv:3: .*never closed")
q_mid = write(os.path.join(d, "q_mid.csv"), 'id,tweet,lang\n1,fine,en\n2,"broken,en\n3,x",en,en\n4,ok,en\n')
bad("csv_open_quote_mid", f"[data]\nsource = me : {q_mid}\n", r"q_mid\.csv:3: the row has 4 fields but the header has 3")
q_last = write(os.path.join(d, "q_last.csv"), 'id,tweet\n1,fine\n2,"no newline at the end')
bad("csv_open_quote_last", f"[data]\nsource = me : {q_last}\n", r"q_last\.csv:3: .*never closed")
# JSON
js = write(os.path.join(d, "tweets.js"), 'window.YTD.tweets.part0 = [\n {"tweet": {"full_text": "a"}},\n {"tweet": {"full_text": "b"}\n]\n')
bad("tweets_js_malformed", f"[data]\nsource = me : {js}\n", r"tweets\.js:4: malformed JSON")
js2 = write(os.path.join(d, "cut_tweets.js"), 'window.YTD.tweets.part0 = [\n {"tweet": {"full_text": "a"}},\n {"tweet": {"full_')
bad("tweets_js_truncated", f"[data]\nsource = me : {js2}\n", r"cut_tweets\.js:3: malformed JSON")
arr = write(os.path.join(d, "arr.json"), '[{"text": "a"},\n{"text": "b"} {"text": "c"}]')
bad("json_array_malformed", f"[data]\nsource = me : {arr}\n", r"arr\.json:2: malformed JSON")
notext = write(os.path.join(d, "notext.json"), '[{"text": "a"},\n{"body": "b"}]')
bad("json_post_without_text", f"[data]\nsource = me : {notext}\n", r"notext\.json:2: the post has no text")
jl = write(os.path.join(d, "lines.jsonl"), '{"text": "a"}\n{"text": "b"}\n{"text": "c",}\n')
bad("jsonl_malformed", f"[data]\nsource = me : {jl}\n", r"lines\.jsonl:3: malformed JSON")
# invalid UTF-8 when the config asks for an error (replace and drop: test_formats.py)
bb = os.path.join(d, "bytes.txt")
open(bb, "wb").write(b"good\nalso good\nbad \xff\xfe here\n")
bad("invalid_utf8", f"[data]\ninvalid_utf8 = error\nsource = me : {bb}\n", r"bytes\.txt:3: invalid UTF-8")
# config
bad("unknown_key", f"[data]\nsorce = me : {good}\n", r"unknown_key\.ini:5: unknown key 'sorce' .*data\.source")
bad("unknown_key_clean", f"[data]\nsource = me : {good}\n[clean]\nurl = remove\n",
    r"unknown_key_clean\.ini:7: unknown key 'url'.*clean\.urls", command="clean")
bad("wrong_type", f"[data]\nsource = me : {good}\ndrop_retweets = maybe\n", r"wrong_type\.ini:6: .*drop_retweets")
bad("wrong_enum", f"[data]\nsource = me : {good}\n[clean]\nurls = delete\n", r"wrong_enum\.ini:7: .*urls",
    command="clean")
bad("wrong_range", f"[data]\nsource = me : {good}\n[clean]\nmin_chars = -3\n", r"wrong_range\.ini:7: .*min_chars",
    command="clean")
# clean on a damaged corpus
r = run_elm("ingest", config("c2", f"[data]\nsource = me : {good}\n", "damaged"), "--quiet")
corpus = os.path.join(d, "out", "damaged", "corpus.jsonl")
with open(corpus, "a") as f:
    f.write('{"id": "9", "account": "me", "text": "unfinished\n')
res = run_elm("clean", config("c2", "", "damaged"))
c.check(res.returncode != 0 and re.search(r"corpus\.jsonl:3: malformed JSON", res.stderr) is not None,
        f"damaged corpus: {res.stderr!r}")
c.check(not os.path.exists(os.path.join(d, "out", "damaged", "clean.jsonl")), "no clean.jsonl after a failure")
res = run_elm("clean", config("c3", "", "never_ingested"))
c.check(res.returncode != 0 and "run `elm ingest` first" in res.stderr, f"clean before ingest: {res.stderr!r}")
left = [f for f in os.listdir(os.path.join(d, "out", "r")) if ".tmp" in f]
c.check(not left, f"temporary files left: {left}")
c.done()

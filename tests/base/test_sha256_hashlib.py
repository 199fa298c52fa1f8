"""elm_hash_sha256_file (through test_sha256's file mode) against Python's hashlib.sha256 on
seeded random files: every length from 0 to 300 bytes (all the padding cases), lengths around
the 1 MiB read size, and a few MiB."""
import hashlib
import os
import random
import subprocess

from elmtest import Checks, tmpdir

BUILD = os.environ.get("ELM_BUILD", ".")
TOOL = os.path.join(BUILD, "tests", "base_test_sha256")
c = Checks()
work = tmpdir("elm-sha256-")
rng = random.Random(20261202)
lengths = list(range(301)) + [(1 << 20) + d for d in (-65, -1, 0, 1, 63, 64)] + [5_000_003]
paths, want = [], []
for i, n in enumerate(lengths):
    data = rng.randbytes(n)
    path = os.path.join(work, f"f{i}")
    with open(path, "wb") as f:
        f.write(data)
    paths.append(path)
    want.append(hashlib.sha256(data).hexdigest())
p = subprocess.run([TOOL, *paths], capture_output=True, text=True)
c.check(p.returncode == 0, f"test_sha256 failed: {p.stderr}")
got = p.stdout.split("\n")
c.check(len(got) == len(paths) + 1 and got[-1] == "", f"{len(got)} lines for {len(paths)} files")
for n, g, w in zip(lengths, got, want):
    c.check(g == w, f"length {n}: elm {g}, hashlib {w}")
for path in paths:
    os.remove(path)
os.rmdir(work)
c.done()

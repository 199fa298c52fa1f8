"""The include-direction rule holds on the tree (layers.py), and the check can fail: copies of
the tree with an upward include, a sideways include between two folders of one layer, and a
relative include added are each reported, naming the file and line."""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from elmtest import SOURCE, Checks  # noqa: E402
import layers  # noqa: E402

c = Checks()
found = layers.violations(SOURCE)
c.check(found == [], "upward includes in the tree:\n  " + "\n  ".join(found))


def with_line(path, line):
    """Violations of a copy of the layered folders with `line` added at the top of path."""
    with tempfile.TemporaryDirectory() as tmp:
        for top in ("engine", "tokenizer", "eval", "kernels"):
            shutil.copytree(os.path.join(SOURCE, top), os.path.join(tmp, top))
        with open(os.path.join(tmp, path), encoding="utf-8") as f:
            text = f.read()
        with open(os.path.join(tmp, path), "w", encoding="utf-8") as f:
            f.write(line + "\n" + text)
        return layers.violations(tmp)


cases = [
    ("engine/base/error.c", '#include "engine/app/cli.h"', "engine/base/error.c:1: includes engine/app/cli.h"),
    ("engine/model/gpt2.c", '#include "engine/train/train.h"', "engine/model/gpt2.c:1: includes engine/train/train.h"),
    ("eval/lda.c", '#include "tokenizer/bpe.h"', "eval/lda.c:1: includes tokenizer/bpe.h"),
    ("engine/generate/generate.c", '#include "engine/generate/gen_device.h"',
     "engine/generate/generate.c:1: includes engine/generate/gen_device.h"),
    ("kernels/matmul.h", '#include "kernels/gpu/gpu.h"', "kernels/matmul.h:1: includes kernels/gpu/gpu.h"),
    ("engine/data/clean.c", '#include "utf8.h"', 'engine/data/clean.c:1: include "utf8.h" is not root-relative'),
]
for path, line, want in cases:
    got = with_line(path, line)
    c.check(len(got) == 1 and got[0].startswith(want), f"{path} + {line}: {got}")
# A downward and a same-folder include are fine.
c.check(with_line("engine/app/report.c", '#include "engine/base/utf8.h"') == [], "downward flagged")
c.check(with_line("eval/lda.c", '#include "eval/sparse.h"') == [], "same folder flagged")
c.done()

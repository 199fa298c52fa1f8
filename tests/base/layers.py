"""layers.py — the include-direction rule (CONTRIBUTING.md): a source file may include only
files of its own folder or of a lower layer. Used by test_layers.py; run by hand as
`python3 tests/base/layers.py [ROOT]` to list the upward includes."""
import os
import re
import sys

# Layer of each folder (a longer prefix wins). Folders of one layer do not include each other.
LAYERS = [
    ("engine/base", 0),
    ("engine/config", 1),
    ("engine/data", 2),
    ("engine/model", 2),
    ("tokenizer", 2),
    ("eval", 2),
    ("kernels", 2),  # the shipped ops, one per file
    ("engine/generate", 3),
    ("kernels/gpu", 4),  # the GPU model, decoder, batcher backend, plugin and its loader
    # The generate stage picks its device, so it sits above the GPU side, with train.
    ("engine/generate/gen_device", 5),
    ("engine/train", 5),
    ("engine/app", 6),
]
CHECKED = ("engine/", "tokenizer/", "eval/", "kernels/")
SKIPPED = ("kernels/dev/",)  # development versions, emulators and mocks: not shipped
SOURCE = re.compile(r"\.(c|h|cu|cuh)$")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layer(path):
    """(rank, folder) of a root-relative path, or None outside the layered folders."""
    stem = os.path.splitext(path)[0]
    best = None
    for prefix, rank in LAYERS:
        if stem == prefix or stem.startswith(prefix + "/"):
            if best is None or len(prefix) > len(best[1]):
                best = (rank, prefix)
    return best


def violations(root):
    """Every include that points up a layer or across to a sibling folder of the same layer."""
    out = []
    for dirpath, _, names in os.walk(root):
        for name in sorted(names):
            path = os.path.relpath(os.path.join(dirpath, name), root).replace(os.sep, "/")
            if not SOURCE.search(path) or not path.startswith(CHECKED):
                continue
            if path.startswith(SKIPPED):
                continue
            me = layer(path)
            with open(os.path.join(root, path), encoding="utf-8") as f:
                text = f.read()
            for m in INCLUDE.finditer(text):
                target = m.group(1)
                line = text.count("\n", 0, m.start()) + 1
                if "/" not in target or target.startswith("."):
                    out.append(f"{path}:{line}: include \"{target}\" is not root-relative")
                    continue
                to = layer(target)
                if to is None or me is None:
                    continue
                if to[0] > me[0] or (to[0] == me[0] and to[1] != me[1]):
                    out.append(f"{path}:{line}: includes {target}, layer {to[0]} ({to[1]}) "
                               f"above or beside its own {me[0]} ({me[1]})")
    return out


if __name__ == "__main__":
    found = violations(sys.argv[1] if len(sys.argv) > 1 else ".")
    print("\n".join(found) if found else "layers: every include points down")
    sys.exit(1 if found else 0)

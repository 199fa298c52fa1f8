"""A small model for generate's tests: configs/demo.ini's corpus, tokenizer and model, trained for
a few steps by `elm ingest/clean/tokenize/train` into <root>/demo (checkpoints/step_N)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from elmtest import SOURCE, run_elm  # noqa: E402

DEMO = os.path.join(SOURCE, "configs", "demo.ini")


def train_demo(root, steps=30):
    """Trains the demo model under root; returns the run folder."""
    sets = ["--set", f"run.out_dir={root}", "--set", f"train.steps={steps}",
            "--set", "train.eval_every=0", "--quiet"]
    for stage in ("ingest", "clean", "tokenize", "train"):
        run_elm(stage, DEMO, *sets, check=True)
    return os.path.join(root, "demo")

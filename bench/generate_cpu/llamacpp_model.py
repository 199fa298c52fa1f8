"""Writes a random GPT-2 124M as an elm checkpoint folder (config.json + model.safetensors, the
Hugging Face GPT-2 layout elm's checkpoints use), initialised as elm_gpt2_init_random does:
weights N(0, 0.02), the two residual projections N(0, 0.02/sqrt(2L)), layer-norm weights 1,
biases 0 (numpy's generator, seeded, not elm's: the bench times the model, the values do not
matter). Part of bench/generate_cpu/llamacpp.sh; usage: python llamacpp_model.py OUT_DIR"""
import json
import os
import sys

import numpy as np
from safetensors.numpy import save_file

out = sys.argv[1]
L, H, C, V, T = 12, 12, 768, 50257, 1024
rng = np.random.default_rng(0)


def normal(shape, std):
    return (rng.standard_normal(shape, dtype=np.float32) * std).astype(np.float32)


resid = 0.02 / np.sqrt(2 * L)
t = {"transformer.wte.weight": normal((V, C), 0.02), "transformer.wpe.weight": normal((T, C), 0.02)}
for i in range(L):
    p = f"transformer.h.{i}."
    t[p + "ln_1.weight"], t[p + "ln_1.bias"] = np.ones(C, np.float32), np.zeros(C, np.float32)
    t[p + "attn.c_attn.weight"], t[p + "attn.c_attn.bias"] = normal((C, 3 * C), 0.02), np.zeros(3 * C, np.float32)
    t[p + "attn.c_proj.weight"], t[p + "attn.c_proj.bias"] = normal((C, C), resid), np.zeros(C, np.float32)
    t[p + "ln_2.weight"], t[p + "ln_2.bias"] = np.ones(C, np.float32), np.zeros(C, np.float32)
    t[p + "mlp.c_fc.weight"], t[p + "mlp.c_fc.bias"] = normal((C, 4 * C), 0.02), np.zeros(4 * C, np.float32)
    t[p + "mlp.c_proj.weight"], t[p + "mlp.c_proj.bias"] = normal((4 * C, C), resid), np.zeros(C, np.float32)
t["transformer.ln_f.weight"], t["transformer.ln_f.bias"] = np.ones(C, np.float32), np.zeros(C, np.float32)
os.makedirs(out, exist_ok=True)
save_file(t, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
cfg = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "activation_function": "gelu_new",
       "bos_token_id": 50256, "eos_token_id": 50256, "layer_norm_epsilon": 1e-05, "n_ctx": T,
       "n_embd": C, "n_head": H, "n_inner": None, "n_layer": L, "n_positions": T,
       "tie_word_embeddings": True, "vocab_size": V}
with open(os.path.join(out, "config.json"), "w") as f:
    json.dump(cfg, f, indent=2)

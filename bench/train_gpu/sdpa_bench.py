"""PyTorch SDPA (flash backend) causal attention timings at the GPT-2 training shapes, bf16:
the peer for elm's attention kernel (tests/gpu/test_attention --bench). One JSON line each."""
import json

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel


def median_ms(fn, warmup=5, reps=50):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    times.sort()
    return times[len(times) // 2]


def bench(B, T, NH, HS):
    torch.manual_seed(0)
    q, k, v = (torch.randn(B, NH, T, HS, device="cuda", dtype=torch.bfloat16, requires_grad=True)
               for _ in range(3))
    do = torch.randn(B, NH, T, HS, device="cuda", dtype=torch.bfloat16)
    with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
        fwd = median_ms(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True))
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        bwd = median_ms(lambda: torch.autograd.grad(out, (q, k, v), do, retain_graph=True))
    print(json.dumps({"peer": "torch-sdpa-flash", "B": B, "T": T, "NH": NH, "HS": HS,
                      "forward_ms": fwd, "backward_ms": bwd, "torch": torch.__version__}),
          flush=True)


if __name__ == "__main__":
    bench(32, 1024, 12, 64)  # GPT-2 124M at B=32
    bench(16, 1024, 16, 64)  # GPT-2 355M at B=16

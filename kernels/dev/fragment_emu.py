# fragment_emu.py — lane-level emulation of ldmatrix (.x4, .trans) and mma.m16n8k16 as the PTX
# ISA defines them. A development check of the fragment index math in kernels/matmul.cu and
# kernels/attention.cu, transcribed by hand (not a test of the compiled code; see docs/cuda.md).
import numpy as np

def ldsm_x4(smem, addrs, trans=False):
    """smem: flat array; addrs[l] = element offset of the row lane l provides.
    returns regs[4][32] of (lo, hi) pairs."""
    regs = [[None]*32 for _ in range(4)]
    for j in range(4):
        rows = [addrs[8*j + r] for r in range(8)]
        for l in range(32):
            g, t = l // 4, l % 4
            if not trans:
                regs[j][l] = (smem[rows[g] + 2*t], smem[rows[g] + 2*t + 1])
            else:
                regs[j][l] = (smem[rows[2*t] + g], smem[rows[2*t + 1] + g])
    return regs

def mma(c, a, b):
    """c: [32][4] floats; a: 4 regs, each [32] pairs; b: 2 regs [32] pairs."""
    A = np.zeros((16, 16)); B = np.zeros((16, 8)); C = np.zeros((16, 8))
    for l in range(32):
        g, t = l // 4, l % 4
        for e in range(2):
            A[g][2*t+e] = a[0][l][e]; A[g+8][2*t+e] = a[1][l][e]
            A[g][2*t+8+e] = a[2][l][e]; A[g+8][2*t+8+e] = a[3][l][e]
            B[2*t+e][g] = b[0][l][e]; B[2*t+8+e][g] = b[1][l][e]
            C[g][2*t+e] = c[l][e]; C[g+8][2*t+e] = c[l][2+e]
    D = A @ B + C
    for l in range(32):
        g, t = l // 4, l % 4
        for e in range(2):
            c[l][e] = D[g][2*t+e]; c[l][2+e] = D[g+8][2*t+e]

def lane_regs(regs_per_lane_fn):
    return [regs_per_lane_fn(l) for l in range(32)]

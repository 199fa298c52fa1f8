# matmul_emu.py — matmul v2 fragment math for one 128x128x32 block, all four operand layouts,
# transcribed from kernels/matmul.cu; compares with numpy. Run: python3 kernels/dev/matmul_emu.py
import os, sys
import numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fragment_emu import ldsm_x4, mma
BM = BN = 128; BK = 32
rng = np.random.default_rng(0)
for TA in (0, 1):
  for TB in (0, 1):
    A = rng.standard_normal((BM, BK)); B = rng.standard_normal((BK, BN))  # op(A), op(B)
    # smem as stored: !TA [m][k] stride BK+8; TA [k][m] stride BM+8
    if TA: sa = np.zeros(BK*(BM+8)); [sa.__setitem__(k*(BM+8)+m, A[m][k]) for m in range(BM) for k in range(BK)]
    else: sa = np.zeros(BM*(BK+8)); [sa.__setitem__(m*(BK+8)+k, A[m][k]) for m in range(BM) for k in range(BK)]
    if TB: sb = np.zeros(BN*(BK+8)); [sb.__setitem__(n*(BK+8)+k, B[k][n]) for n in range(BN) for k in range(BK)]
    else: sb = np.zeros(BK*(BN+8)); [sb.__setitem__(k*(BN+8)+n, B[k][n]) for n in range(BN) for k in range(BK)]
    Cout = np.zeros((BM, BN))
    for warp in range(8):
        wm, wn = warp // 4, warp % 4
        acc = [[[ [0.0]*4 for l in range(32)] for j in range(4)] for i in range(4)]
        for kk in (0, 16):
            af = []
            for i in range(4):
                mb = wm*64 + i*16
                addrs = []
                for lane in range(32):
                    mat, mr = lane >> 3, lane & 7
                    if TA: addrs.append((kk + mr + (mat >> 1)*8)*(BM+8) + mb + (mat & 1)*8)
                    else: addrs.append((mb + mr + (mat & 1)*8)*(BK+8) + kk + (mat >> 1)*8)
                af.append(ldsm_x4(sa, addrs, trans=bool(TA)))
            bfr = [None]*4
            for jp in range(2):
                nb = wn*32 + jp*16
                addrs = []
                for lane in range(32):
                    mat, mr = lane >> 3, lane & 7
                    if TB: addrs.append((nb + mr + (mat >> 1)*8)*(BK+8) + kk + (mat & 1)*8)
                    else: addrs.append((kk + mr + (mat & 1)*8)*(BN+8) + nb + (mat >> 1)*8)
                r = ldsm_x4(sb, addrs, trans=not TB)
                bfr[2*jp] = [r[0], r[1]]; bfr[2*jp+1] = [r[2], r[3]]
            for i in range(4):
                for j in range(4):
                    mma(acc[i][j], af[i], bfr[j])
        for i in range(4):
            for j in range(4):
                for lane in range(32):
                    g, t = lane >> 2, lane & 3
                    m = wm*64 + i*16 + g; n = wn*32 + j*8 + 2*t
                    Cout[m][n], Cout[m][n+1], Cout[m+8][n], Cout[m+8][n+1] = acc[i][j][lane]
    err = np.abs(Cout - A @ B).max()
    print(f"TA={TA} TB={TB}: max abs err {err:.2e}")

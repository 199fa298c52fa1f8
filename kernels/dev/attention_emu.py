# attention_emu.py — attention v2 forward and backward fragment math for one (b, h), transcribed
# from kernels/attention.cu; compares with numpy at odd T. Run: python3 kernels/dev/attention_emu.py
import os, sys
import numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fragment_emu import ldsm_x4, mma
TILE = 64
def bf(x):  # round to bf16
    x = np.asarray(x, dtype=np.float32); u = x.view(np.uint32).astype(np.uint64)
    u = ((u + 0x7fff + ((u >> 16) & 1)) >> 16) << 16
    return u.astype(np.uint32).view(np.float32).astype(np.float64)

def tile_smem(X, r0, T, HS):  # rows r0..r0+63 of X (T, HS) into [64][HS+8], zero past T
    SLD = HS + 8; s = np.zeros(TILE*SLD)
    for r in range(TILE):
        if r0 + r < T: s[r*SLD:r*SLD+HS] = X[r0+r]
    return s

def forward(Q, K, V, T, HS):
    SLD = HS + 8; KS = HS // 16; NT = HS // 8
    scale = HS ** -0.5 * np.log2(np.e)
    out = np.zeros((T, HS)); lse = np.zeros(T)
    nq = (T + TILE - 1) // TILE
    for qt in range(nq):
        q0 = qt * TILE; qs = tile_smem(Q, q0, T, HS)
        for warp in range(4):
            qf = []
            for kk in range(KS):
                addrs = [(warp*16 + (l & 7) + ((l >> 3) & 1)*8)*SLD + kk*16 + ((l >> 3) >> 1)*8 for l in range(32)]
                qf.append(ldsm_x4(qs, addrs))
            o = [[[0.0]*4 for l in range(32)] for j in range(NT)]
            m = np.full((32, 2), -3.4e38); lsum = np.zeros((32, 2))
            for kt in range(qt + 1):
                k0 = kt * TILE; ks = tile_smem(K, k0, T, HS); vs = tile_smem(V, k0, T, HS)
                s = [[[0.0]*4 for l in range(32)] for j in range(8)]
                for kk in range(KS):
                    for np_ in range(4):
                        addrs = [(np_*16 + (l & 7) + ((l >> 3) >> 1)*8)*SLD + kk*16 + ((l >> 3) & 1)*8 for l in range(32)]
                        r = ldsm_x4(ks, addrs)
                        mma(s[2*np_], qf[kk], [r[0], r[1]]); mma(s[2*np_+1], qf[kk], [r[2], r[3]])
                mx = m.copy()
                for l in range(32):
                    g, t4 = l >> 2, l & 3
                    row0 = q0 + warp*16 + g
                    for j in range(8):
                        for e in range(4):
                            row = row0 + (e >> 1)*8; col = k0 + j*8 + 2*t4 + (e & 1)
                            v = s[j][l][e]*scale if (col <= row and col < T) else -3.4e38
                            s[j][l][e] = v; mx[l][e >> 1] = max(mx[l][e >> 1], v)
                for l in range(32):  # quad reduction (xor 1, 2)
                    for r_ in range(2):
                        quad = [mx[(l & ~3) + i][r_] for i in range(4)]
                        mx[l][r_] = max(quad)
                corr = np.exp2(m - mx); m = mx; lsum *= corr
                for j in range(NT):
                    for l in range(32):
                        o[j][l][0] *= corr[l][0]; o[j][l][1] *= corr[l][0]
                        o[j][l][2] *= corr[l][1]; o[j][l][3] *= corr[l][1]
                pf = [[None]*4 for _ in range(4)]
                for kk in range(4):
                    for q in range(4): pf[kk][q] = [None]*32
                for l in range(32):
                    for j in range(8):
                        p = [0.0 if s[j][l][e] == -3.4e38 else 2.0 ** (s[j][l][e] - m[l][e >> 1]) for e in range(4)]
                        lsum[l][0] += p[0] + p[1]; lsum[l][1] += p[2] + p[3]
                        pf[j//2][(j & 1)*2 + 0][l] = (bf(p[0]), bf(p[1]))
                        pf[j//2][(j & 1)*2 + 1][l] = (bf(p[2]), bf(p[3]))
                for kk in range(4):
                    for np_ in range(NT // 2):
                        addrs = [(kk*16 + (l & 7) + ((l >> 3) & 1)*8)*SLD + np_*16 + ((l >> 3) >> 1)*8 for l in range(32)]
                        r = ldsm_x4(vs, addrs, trans=True)
                        mma(o[2*np_], pf[kk], [r[0], r[1]]); mma(o[2*np_+1], pf[kk], [r[2], r[3]])
            l0 = lsum.copy()
            for l in range(32):
                for r_ in range(2):
                    lsum[l][r_] = sum(l0[(l & ~3) + i][r_] for i in range(4))
            # note: the kernel reduces l after the loop with xor shuffles: same sum per quad
            for l in range(32):
                g, t4 = l >> 2, l & 3
                for r_ in range(2):
                    row = q0 + warp*16 + g + r_*8
                    if row >= T: continue
                    for j in range(NT):
                        out[row][j*8 + 2*t4] = o[j][l][2*r_] / lsum[l][r_]
                        out[row][j*8 + 2*t4 + 1] = o[j][l][2*r_+1] / lsum[l][r_]
                    lse[row] = (m[l][r_] + np.log2(lsum[l][r_])) * np.log(2)
    return out, lse

def reference(Q, K, V, T, HS):
    S = Q @ K.T / np.sqrt(HS); S[np.triu_indices(T, 1)] = -np.inf
    mx = S.max(1, keepdims=True); P = np.exp(S - mx); l = P.sum(1, keepdims=True)
    return (P / l) @ V, (mx + np.log(l))[:, 0], P / l

rng = np.random.default_rng(1)
for T, HS in ((37, 16), (100, 64), (130, 32)):
    Q, K, V = (bf(rng.uniform(-1, 1, (T, HS))) for _ in range(3))
    out, lse = forward(Q, K, V, T, HS)
    ro, rl, _ = reference(Q, K, V, T, HS)
    print(f"fwd T={T} HS={HS}: out rel {np.linalg.norm(out-ro)/np.linalg.norm(ro):.2e}  lse rel {np.linalg.norm(lse-rl)/np.linalg.norm(rl):.2e}")

def backward(Q, K, V, dO, lse, Dv, T, HS):
    SLD = HS + 8; KS = HS // 16; NT = HS // 8; DSLD = TILE + 8
    scale = HS ** -0.5; LOG2E = np.log2(np.e)
    dQacc = np.zeros((T, HS)); dK = np.zeros((T, HS)); dV = np.zeros((T, HS))
    for kt in range((T + TILE - 1) // TILE):
        k0 = kt * TILE; ks = tile_smem(K, k0, T, HS); vs = tile_smem(V, k0, T, HS)
        dk = [[[[0.0]*4 for l in range(32)] for j in range(NT)] for w in range(4)]
        dv = [[[[0.0]*4 for l in range(32)] for j in range(NT)] for w in range(4)]
        q0 = k0
        while q0 < T:
            qs = tile_smem(Q, q0, T, HS); dos = tile_smem(dO, q0, T, HS)
            ls = [lse[q0+r]*LOG2E if q0+r < T else 0.0 for r in range(TILE)]
            dd = [Dv[q0+r] if q0+r < T else 0.0 for r in range(TILE)]
            dss = np.zeros(TILE*DSLD)
            dsf_all = []
            for warp in range(4):
                st = [[[0.0]*4 for l in range(32)] for j in range(8)]
                dpt = [[[0.0]*4 for l in range(32)] for j in range(8)]
                for kk in range(KS):
                    a_addr = [(warp*16 + (l & 7) + ((l >> 3) & 1)*8)*SLD + kk*16 + ((l >> 3) >> 1)*8 for l in range(32)]
                    kf = ldsm_x4(ks, a_addr); vf = ldsm_x4(vs, a_addr)
                    for np_ in range(4):
                        off = [(np_*16 + (l & 7) + ((l >> 3) >> 1)*8)*SLD + kk*16 + ((l >> 3) & 1)*8 for l in range(32)]
                        r = ldsm_x4(qs, off); mma(st[2*np_], kf, [r[0], r[1]]); mma(st[2*np_+1], kf, [r[2], r[3]])
                        r = ldsm_x4(dos, off); mma(dpt[2*np_], vf, [r[0], r[1]]); mma(dpt[2*np_+1], vf, [r[2], r[3]])
                pf = [[[None]*32 for q in range(4)] for kk in range(4)]
                dsf = [[[None]*32 for q in range(4)] for kk in range(4)]
                for l in range(32):
                    g, t4 = l >> 2, l & 3
                    key0 = k0 + warp*16 + g
                    for j in range(8):
                        p = [0.0]*4; ds = [0.0]*4
                        for e in range(4):
                            key = key0 + (e >> 1)*8; qc = j*8 + 2*t4 + (e & 1); q = q0 + qc
                            ok = q >= key and q < T and key < T
                            p[e] = 2.0 ** (st[j][l][e]*scale*LOG2E - ls[qc]) if ok else 0.0
                            ds[e] = p[e]*(dpt[j][l][e] - dd[qc])
                        pf[j//2][(j & 1)*2][l] = (bf(p[0]), bf(p[1])); pf[j//2][(j & 1)*2+1][l] = (bf(p[2]), bf(p[3]))
                        dsf[j//2][(j & 1)*2][l] = (bf(ds[0]), bf(ds[1])); dsf[j//2][(j & 1)*2+1][l] = (bf(ds[2]), bf(ds[3]))
                        a0 = (warp*16 + g)*DSLD + j*8 + 2*t4; a1 = (warp*16 + g + 8)*DSLD + j*8 + 2*t4
                        dss[a0], dss[a0+1] = dsf[j//2][(j & 1)*2][l]; dss[a1], dss[a1+1] = dsf[j//2][(j & 1)*2+1][l]
                for kk in range(4):
                    for np_ in range(NT // 2):
                        off = [(kk*16 + (l & 7) + ((l >> 3) & 1)*8)*SLD + np_*16 + ((l >> 3) >> 1)*8 for l in range(32)]
                        r = ldsm_x4(dos, off, trans=True)
                        mma(dv[warp][2*np_], pf[kk], [r[0], r[1]]); mma(dv[warp][2*np_+1], pf[kk], [r[2], r[3]])
                        r = ldsm_x4(qs, off, trans=True)
                        mma(dk[warp][2*np_], dsf[kk], [r[0], r[1]]); mma(dk[warp][2*np_+1], dsf[kk], [r[2], r[3]])
            for warp in range(4):  # after the barrier: dQ
                dq = [[[0.0]*4 for l in range(32)] for j in range(NT)]
                for kk in range(4):
                    addrs = [(kk*16 + (l & 7) + ((l >> 3) >> 1)*8)*DSLD + warp*16 + ((l >> 3) & 1)*8 for l in range(32)]
                    af = ldsm_x4(dss, addrs, trans=True)
                    for np_ in range(NT // 2):
                        off = [(kk*16 + (l & 7) + ((l >> 3) & 1)*8)*SLD + np_*16 + ((l >> 3) >> 1)*8 for l in range(32)]
                        r = ldsm_x4(ks, off, trans=True)
                        mma(dq[2*np_], af, [r[0], r[1]]); mma(dq[2*np_+1], af, [r[2], r[3]])
                for l in range(32):
                    g, t4 = l >> 2, l & 3
                    for r_ in range(2):
                        q = q0 + warp*16 + g + r_*8
                        if q >= T: continue
                        for j in range(NT):
                            dQacc[q][j*8 + 2*t4] += dq[j][l][2*r_]*scale
                            dQacc[q][j*8 + 2*t4 + 1] += dq[j][l][2*r_+1]*scale
            q0 += TILE
        for warp in range(4):
            for l in range(32):
                g, t4 = l >> 2, l & 3
                for r_ in range(2):
                    key = k0 + warp*16 + g + r_*8
                    if key >= T: continue
                    for j in range(NT):
                        dK[key][j*8 + 2*t4] = dk[warp][j][l][2*r_]*scale; dK[key][j*8 + 2*t4 + 1] = dk[warp][j][l][2*r_+1]*scale
                        dV[key][j*8 + 2*t4] = dv[warp][j][l][2*r_]; dV[key][j*8 + 2*t4 + 1] = dv[warp][j][l][2*r_+1]
    return dQacc, dK, dV

for T, HS in ((37, 16), (100, 64), (130, 32)):
    Q, K, V, dO = (bf(rng.uniform(-1, 1, (T, HS))) for _ in range(4))
    ro, rl, P = reference(Q, K, V, T, HS)
    Dv = (dO * ro).sum(1)
    dQ, dK, dV = backward(Q, K, V, dO, rl, Dv, T, HS)
    rdV = P.T @ dO; dP = dO @ V.T; dS = P * (dP - Dv[:, None])
    rdQ = dS @ K / np.sqrt(HS); rdK = dS.T @ Q / np.sqrt(HS)
    rel = lambda a, b: np.linalg.norm(a-b)/np.linalg.norm(b)
    print(f"bwd T={T} HS={HS}: dQ {rel(dQ, rdQ):.2e} dK {rel(dK, rdK):.2e} dV {rel(dV, rdV):.2e}")

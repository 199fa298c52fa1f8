// test_layers.c — every layer's backward against central finite differences of its forward, on
// random tiny shapes with odd T and C; matmul loops vs BLAS; results identical on 1 and 2 threads.
#include "elmtest.h"

#include "engine/model/layers.h"

#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 12345;
static float frand(void) { // uniform in [-1, 1)
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng >> 40) * (1.0 / (1 << 23)) - 1.0);
}
static float *rand_buf(size_t n, float scale) {
    float *x = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = frand() * scale;
    return x;
}
static float *zeros(size_t n) {
    return calloc(n, sizeof(float));
}

// The scalar objective of a layer: sum(out * R), R random, so the backward gets dout = R.
typedef void (*Forward)(float *out);
static Forward g_fwd;
static const float *g_R;
static size_t g_nout;
static float *g_out;

static double objective(void) {
    g_fwd(g_out);
    double s = 0;
    for (size_t i = 0; i < g_nout; i++) s += (double)g_out[i] * g_R[i];
    return s;
}

// max |numeric - analytic| / max |analytic| over every element of x.
static void check_grad(const char *what, float *x, size_t n, const float *analytic, double tol) {
    const float h = 3e-3f;
    double num_err = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        float old = x[i];
        x[i] = old + h;
        double fp = objective();
        x[i] = old - h;
        double fm = objective();
        x[i] = old;
        double num = (fp - fm) / (2.0 * h);
        double d = fabs(num - analytic[i]);
        if (d > num_err) num_err = d;
        if (fabs(analytic[i]) > den) den = fabs(analytic[i]);
    }
    double rel = den > 0 ? num_err / den : num_err;
    CHECK(rel <= tol && den > 0, "%s: finite-difference rel err %g (max |grad| %g)", what, rel,
          den);
}

// ---- per-layer setups (globals are the closure of each forward) -----------------------------
static int B, T, C, OC, NH, V;
static int *tok, *tgt;
static float *x1, *x2, *w, *bias, *aux1, *aux2;

static void f_encoder(float *out) {
    elm_encoder_forward(out, tok, x1, x2, B, T, C);
}
static void f_layernorm(float *out) {
    elm_layernorm_forward(out, aux1, aux2, x1, w, bias, B, T, C);
}
static int g_impl; // 0 loops (AVX-512 where available), 1 BLAS, 2 portable loops
static const char *impl_name[3] = {"matmul(loops)", "matmul(blas)", "matmul(portable)"};
static void f_matmul(float *out) {
    if (g_impl == 1)
        elm_matmul_forward_blas(out, x1, w, bias, B, T, C, OC);
    else if (g_impl == 2)
        elm_matmul_forward_portable(out, x1, w, bias, B, T, C, OC);
    else
        elm_matmul_forward_loops(out, x1, w, bias, B, T, C, OC);
}
static void f_attention(float *out) {
    elm_attention_forward(out, aux1, x1, B, T, C, NH);
}
static void f_gelu(float *out) {
    elm_gelu_forward(out, x1, B * T * C);
}
static void f_residual(float *out) {
    elm_residual_forward(out, x1, x2, B * T * C);
}
static void f_crossentropy(float *out) {
    elm_crossentropy_forward(out, aux1, x1, tgt, B * T, V);
}

static void setup_objective(Forward f, size_t nout) {
    g_fwd = f;
    g_nout = nout;
    free(g_out);
    g_out = zeros(nout);
    free((void *)g_R);
    g_R = rand_buf(nout, 1.0f);
}

static void random_shape(void) {
    B = 1 + (int)(frand() * 0.5f + 1.5f);              // 1..2
    T = 2 * (2 + (int)((frand() + 1) * 2)) + 1;        // odd, 5..13
    NH = 1 + (int)((frand() + 1) * 1.5f);              // 1..3
    C = NH * (2 * (1 + (int)((frand() + 1) * 2)) + 1); // odd head size
    OC = 3 + (int)((frand() + 1) * 10);
    V = 7 + (int)((frand() + 1) * 10);
}

static void fd_checks(void) {
    random_shape();
    size_t BT = (size_t)B * T, N = BT * C;
    char what[128];
    snprintf(what, sizeof what, "B=%d T=%d C=%d NH=%d OC=%d V=%d", B, T, C, NH, OC, V);
    tok = malloc(BT * sizeof(int));
    tgt = malloc(BT * sizeof(int));
    for (size_t i = 0; i < BT; i++) {
        tok[i] = (int)((frand() + 1) * 0.5f * V) % V;
        tgt[i] = i == 1 ? -1 : (int)((frand() + 1) * 0.5f * V) % V; // one ignored position
    }

    // encoder: wte (V,C) in x1, wpe (T,C) in x2
    x1 = rand_buf((size_t)V * C, 1), x2 = rand_buf((size_t)T * C, 1);
    setup_objective(f_encoder, N);
    float *d1 = zeros((size_t)V * C), *d2 = zeros((size_t)T * C);
    elm_encoder_backward(d1, d2, g_R, tok, B, T, C);
    check_grad("encoder dwte", x1, (size_t)V * C, d1, 1e-2);
    check_grad("encoder dwpe", x2, (size_t)T * C, d2, 1e-2);
    free(x1), free(x2), free(d1), free(d2);

    // layernorm
    x1 = rand_buf(N, 2), w = rand_buf(C, 1), bias = rand_buf(C, 1);
    aux1 = zeros(BT), aux2 = zeros(BT);
    setup_objective(f_layernorm, N);
    objective();
    float *dx = zeros(N), *dw = zeros(C), *db = zeros(C);
    elm_layernorm_backward(dx, dw, db, g_R, x1, w, aux1, aux2, B, T, C);
    check_grad("layernorm dinp", x1, N, dx, 1e-2);
    check_grad("layernorm dweight", w, C, dw, 1e-2);
    check_grad("layernorm dbias", bias, C, db, 1e-2);
    free(x1), free(w), free(bias), free(aux1), free(aux2), free(dx), free(dw), free(db);

    // matmul, every implementation; under 64 rows (the forward on gemm_few.c where AVX-512) and
    // B x 65 rows too, where the loops switch to the AVX-512 gemm
    for (int big = 0; big <= 1; big++) {
        int T0 = T;
        if (big) T = 65;
        size_t bt = (size_t)B * T, n = bt * C;
        for (g_impl = 0; g_impl <= 2; g_impl++) {
            char name[64];
            x1 = rand_buf(n, 1), w = rand_buf((size_t)OC * C, 1), bias = rand_buf(OC, 1);
            setup_objective(f_matmul, bt * OC);
            float *ddx = zeros(n), *ddw = zeros((size_t)OC * C), *ddb = zeros(OC);
            if (g_impl == 1)
                elm_matmul_backward_blas(ddx, ddw, ddb, g_R, x1, w, B, T, C, OC);
            else if (g_impl == 2)
                elm_matmul_backward_portable(ddx, ddw, ddb, g_R, x1, w, B, T, C, OC);
            else
                elm_matmul_backward_loops(ddx, ddw, ddb, g_R, x1, w, B, T, C, OC);
            snprintf(name, sizeof name, "%s T=%d dinp", impl_name[g_impl], T);
            check_grad(name, x1, n, ddx, 1e-2);
            snprintf(name, sizeof name, "%s T=%d dweight", impl_name[g_impl], T);
            check_grad(name, w, (size_t)OC * C, ddw, 1e-2);
            snprintf(name, sizeof name, "%s T=%d dbias", impl_name[g_impl], T);
            check_grad(name, bias, OC, ddb, 1e-2);
            free(x1), free(w), free(bias), free(ddx), free(ddw), free(ddb);
        }
        T = T0;
    }

    // attention over packed qkv (B,T,3C)
    x1 = rand_buf(BT * 3 * C, 1.5f);
    aux1 = zeros((size_t)B * NH * T * T);
    setup_objective(f_attention, N);
    objective();
    // the causal mask: nothing above the diagonal, rows sum to 1
    int mask_ok = 1;
    for (int r = 0; r < B * NH; r++)
        for (int t = 0; t < T; t++) {
            double s = 0;
            for (int j = 0; j < T; j++) {
                float a = aux1[((size_t)r * T + t) * T + j];
                if (j > t && a != 0.0f) mask_ok = 0;
                s += a;
            }
            if (fabs(s - 1) > 1e-5) mask_ok = 0;
        }
    CHECK(mask_ok, "attention: causal mask / softmax rows (%s)", what);
    dx = zeros(BT * 3 * C);
    float *datt = zeros((size_t)B * NH * T * T);
    elm_attention_backward(dx, datt, g_R, x1, aux1, B, T, C, NH);
    check_grad("attention dinp", x1, BT * 3 * C, dx, 1e-2);
    free(x1), free(aux1), free(dx), free(datt);

    // gelu
    x1 = rand_buf(N, 3);
    setup_objective(f_gelu, N);
    dx = zeros(N);
    elm_gelu_backward(dx, x1, g_R, (int)N);
    check_grad("gelu dinp", x1, N, dx, 1e-2);
    // GELU values against the formula in double
    float *o = zeros(N);
    elm_gelu_forward(o, x1, (int)N);
    double gerr = 0;
    for (size_t i = 0; i < N; i++) {
        double xx = x1[i];
        double ref = 0.5 * xx * (1 + tanh(sqrt(2 / M_PI) * (xx + 0.044715 * xx * xx * xx)));
        if (fabs(ref - o[i]) > gerr) gerr = fabs(ref - o[i]);
    }
    CHECK(gerr < 1e-6, "gelu value error %g", gerr);
    free(x1), free(dx), free(o);

    // residual
    x1 = rand_buf(N, 1), x2 = rand_buf(N, 1);
    setup_objective(f_residual, N);
    dx = zeros(N);
    float *dx2 = zeros(N);
    elm_residual_backward(dx, dx2, g_R, (int)N);
    check_grad("residual dinp1", x1, N, dx, 1e-2);
    check_grad("residual dinp2", x2, N, dx2, 1e-2);
    free(x1), free(x2), free(dx), free(dx2);

    // softmax + cross-entropy: losses (BT), objective sum(losses * R)
    x1 = rand_buf(BT * V, 3);
    aux1 = zeros(BT * V);
    setup_objective(f_crossentropy, BT);
    objective();
    CHECK(g_out[1] == 0.0f, "crossentropy: ignored target has loss %g", g_out[1]);
    dx = zeros(BT * V);
    elm_crossentropy_backward(dx, aux1, tgt, g_R, (int)BT, V);
    check_grad("crossentropy dlogits", x1, BT * V, dx, 1e-2);
    free(x1), free(aux1), free(dx);
    free(tok), free(tgt);
}

// ---- one thread vs two: bit-identical; loops vs BLAS: close ---------------------------------

static int same(const float *a, const float *b, size_t n) {
    return !memcmp(a, b, n * 4);
}

static void run_all(int threads, float **outs, const float *x, const float *wt, const float *bs,
                    const float *qkv, const float *dout, const int *tk, int b_, int t_, int c_,
                    int oc, int nh) {
    omp_set_num_threads(threads);
    size_t N = (size_t)b_ * t_ * c_, BT = (size_t)b_ * t_;
    // outs: 0 ln out, 1 ln dinp, 2 ln dw, 3 mm out, 4 mm dinp, 5 mm dw, 6 mm db, 7 att out,
    // 8 att dinp, 9 enc dwte, 10 gelu dinp
    float *mean = zeros(BT), *rstd = zeros(BT), *db = zeros(c_);
    elm_layernorm_forward(outs[0], mean, rstd, x, wt, bs, b_, t_, c_);
    elm_layernorm_backward(outs[1], outs[2], db, dout, x, wt, mean, rstd, b_, t_, c_);
    elm_matmul_forward_loops(outs[3], x, wt, bs, b_, t_, c_, oc);
    elm_matmul_backward_loops(outs[4], outs[5], outs[6], qkv, x, wt, b_, t_, c_, oc);
    float *att = zeros((size_t)b_ * nh * t_ * t_), *datt = zeros((size_t)b_ * nh * t_ * t_);
    elm_attention_forward(outs[7], att, qkv, b_, t_, c_, nh);
    elm_attention_backward(outs[8], datt, dout, qkv, att, b_, t_, c_, nh);
    float *dwpe = zeros(N);
    elm_encoder_backward(outs[9], dwpe, dout, tk, b_, t_, c_);
    elm_gelu_backward(outs[10], x, dout, (int)N);
    free(mean), free(rstd), free(db), free(att), free(datt), free(dwpe);
}

static void thread_checks(void) {
    int b_ = 3, t_ = 131, c_ = 192, oc = 200, nh = 4, vocab = 50; // above ELM_PAR_MIN
    size_t N = (size_t)b_ * t_ * c_;
    float *x = rand_buf(N, 1), *wt = rand_buf((size_t)oc * c_, 1), *bs = rand_buf(oc, 1);
    float *qkv = rand_buf(N * 3 > (size_t)b_ * t_ * oc ? N * 3 : (size_t)b_ * t_ * oc, 1);
    float *dout = rand_buf(N, 1);
    int *tk = malloc((size_t)b_ * t_ * sizeof(int));
    for (int i = 0; i < b_ * t_; i++) tk[i] = (i * 7) % vocab;
    size_t sizes[11] = {N,          N, (size_t)c_, (size_t)b_ * t_ * oc, N, (size_t)oc * c_,
                        (size_t)oc, N, N * 3,      (size_t)vocab * c_,   N};
    float *o1[11], *o2[11];
    for (int i = 0; i < 11; i++) o1[i] = zeros(sizes[i]), o2[i] = zeros(sizes[i]);
    run_all(1, o1, x, wt, bs, qkv, dout, tk, b_, t_, c_, oc, nh);
    run_all(2, o2, x, wt, bs, qkv, dout, tk, b_, t_, c_, oc, nh);
    for (int i = 0; i < 11; i++)
        CHECK(same(o1[i], o2[i], sizes[i]), "output %d differs between 1 and 2 threads", i);
    // BLAS and the portable loops agree with the (AVX-512) loops
    for (int impl = 1; impl <= 2; impl++) {
        float *ob = zeros(sizes[3]), *dxb = zeros(N), *dwb = zeros(sizes[5]), *dbb = zeros(oc);
        if (impl == 1) {
            elm_matmul_forward_blas(ob, x, wt, bs, b_, t_, c_, oc);
            elm_matmul_backward_blas(dxb, dwb, dbb, qkv, x, wt, b_, t_, c_, oc);
        } else {
            elm_matmul_forward_portable(ob, x, wt, bs, b_, t_, c_, oc);
            elm_matmul_backward_portable(dxb, dwb, dbb, qkv, x, wt, b_, t_, c_, oc);
        }
        const float *pairs[4][2] = {{ob, o1[3]}, {dxb, o1[4]}, {dwb, o1[5]}, {dbb, o1[6]}};
        size_t pn[4] = {sizes[3], N, sizes[5], (size_t)oc};
        for (int k = 0; k < 4; k++) {
            double num = 0, den = 0;
            for (size_t i = 0; i < pn[k]; i++) {
                double d = fabs((double)pairs[k][0][i] - pairs[k][1][i]);
                if (d > num) num = d;
                if (fabs(pairs[k][1][i]) > den) den = fabs(pairs[k][1][i]);
            }
            CHECK(num / den < 1e-5, "%s vs loops (%d): rel %g", impl_name[impl], k, num / den);
        }
        free(ob), free(dxb), free(dwb), free(dbb);
    }
    for (int i = 0; i < 11; i++) free(o1[i]), free(o2[i]);
    free(x), free(wt), free(bs), free(qkv), free(dout), free(tk);
}

// GELU values over a wide range against the formula in double (tanh from libm).
static void gelu_values(void) {
    const float xs[] = {-1e4f, -50,   -10,  -5, -3, -1, -0.3f, -1e-3f, -1e-7f, 0,
                        1e-7f, 1e-3f, 0.3f, 1,  3,  5,  10,    50,     1e4f};
    int n = (int)(sizeof xs / sizeof xs[0]);
    float out[32], dx[32] = {0}, ones[32];
    for (int i = 0; i < n; i++) ones[i] = 1.0f;
    elm_gelu_forward(out, xs, n);
    elm_gelu_backward(dx, xs, ones, n);
    for (int i = 0; i < n; i++) {
        double x = xs[i], k = sqrt(2 / M_PI), th = tanh(k * (x + 0.044715 * x * x * x));
        double ref = 0.5 * x * (1 + th);
        double dref = 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * k * (1 + 3 * 0.044715 * x * x);
        CHECK(fabs(out[i] - ref) <= 1e-6 * fmax(1, fabs(ref)), "gelu(%g) = %.9g, want %.9g", x,
              out[i], ref);
        CHECK(fabs(dx[i] - dref) <= 1e-6 * fmax(1, fabs(dref)), "gelu'(%g) = %.9g, want %.9g", x,
              dx[i], dref);
    }
}

int main(void) {
    omp_set_num_threads(1);
    gelu_values();
    for (int rep = 0; rep < 3; rep++) fd_checks();
    thread_checks();
    free(g_out);
    free((void *)g_R);
    ELM_TEST_DONE();
}

#include "engine/app/svg.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *palette[] = {"#2b6cb0", "#dd6b20", "#2f855a", "#9b2c2c",
                                "#6b46c1", "#b7791f", "#2c7a7b", "#702459"};

const char *elm_svg_color(int i) {
    return palette[((i % 8) + 8) % 8];
}

// A "nice" tick step (1, 2 or 5 times a power of ten) giving about `want` ticks over span.
static double nice_step(double span, int want) {
    if (!(span > 0)) return 1;
    double raw = span / want, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

static void fmt_num(char *out, size_t cap, double v) {
    double a = fabs(v);
    if (a != 0 && (a >= 1e5 || a < 1e-3))
        snprintf(out, cap, "%.2g", v);
    else
        snprintf(out, cap, "%.4g", v);
}

void elm_svg_line_chart(ElmBuf *b, const char *title, const char *xlabel, const char *ylabel,
                        const ElmSeries *series, int n_series, int width, int height) {
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    int points = 0;
    for (int s = 0; s < n_series; s++)
        for (int i = 0; i < series[s].n; i++) {
            double x = series[s].x[i], y = series[s].y[i];
            if (!isfinite(x) || !isfinite(y)) continue;
            x0 = fmin(x0, x), x1 = fmax(x1, x), y0 = fmin(y0, y), y1 = fmax(y1, y);
            points++;
        }
    if (points == 0) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
    if (x1 == x0) x1 = x0 + 1;
    if (y1 == y0) y1 = y0 + 1, y0 -= 1;
    double pad = (y1 - y0) * 0.05;
    y0 -= pad, y1 += pad;
    const int L = 60, R = 20, T = 34, B = 44;
    double pw = width - L - R, ph = height - T - B;
#define SX(x) (L + ((x)-x0) / (x1 - x0) * pw)
#define SY(y) (T + ph - ((y)-y0) / (y1 - y0) * ph)
    elm_buf_printf(b,
                   "<svg class=\"chart\" data-points=\"%d\" viewBox=\"0 0 %d %d\" width=\"%d\" "
                   "height=\"%d\" role=\"img\"><title>",
                   points, width, height, width, height);
    elm_buf_html(b, title);
    elm_buf_printf(b, "</title><text x=\"%d\" y=\"20\" class=\"ct\">", L);
    elm_buf_html(b, title);
    elm_buf_printf(b, "</text>");
    double ys = nice_step(y1 - y0, 5), xs = nice_step(x1 - x0, 6);
    char num[32];
    for (double y = ceil(y0 / ys) * ys; y <= y1 + 1e-12; y += ys) {
        fmt_num(num, sizeof num, fabs(y) < ys * 1e-9 ? 0 : y);
        elm_buf_printf(b,
                       "<line x1=\"%d\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>"
                       "<text x=\"%d\" y=\"%.1f\" class=\"tick\" text-anchor=\"end\">%s</text>",
                       L, L + pw, SY(y), SY(y), L - 6, SY(y) + 4, num);
    }
    for (double x = ceil(x0 / xs) * xs; x <= x1 + 1e-12; x += xs) {
        fmt_num(num, sizeof num, x);
        elm_buf_printf(
            b, "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\" text-anchor=\"middle\">%s</text>", SX(x),
            T + ph + 16, num);
    }
    elm_buf_printf(b, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%.1f\" class=\"axis\"/>", L, L, T,
                   T + ph);
    elm_buf_printf(b, "<line x1=\"%d\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" class=\"axis\"/>", L,
                   L + pw, T + ph, T + ph);
    elm_buf_printf(b, "<text x=\"%.1f\" y=\"%d\" class=\"lab\" text-anchor=\"middle\">", L + pw / 2,
                   height - 6);
    elm_buf_html(b, xlabel);
    elm_buf_printf(b,
                   "</text><text transform=\"translate(14 %.1f) rotate(-90)\" class=\"lab\" "
                   "text-anchor=\"middle\">",
                   T + ph / 2);
    elm_buf_html(b, ylabel);
    elm_buf_printf(b, "</text>");
    for (int s = 0; s < n_series; s++) {
        const char *c = elm_svg_color(s);
        elm_buf_printf(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\" points=\"",
                       c);
        for (int i = 0; i < series[s].n; i++)
            if (isfinite(series[s].x[i]) && isfinite(series[s].y[i]))
                elm_buf_printf(b, "%.1f,%.1f ", SX(series[s].x[i]), SY(series[s].y[i]));
        elm_buf_printf(b, "\"/>");
        if (series[s].n == 1 || series[s].n < 40)
            for (int i = 0; i < series[s].n; i++)
                if (isfinite(series[s].x[i]) && isfinite(series[s].y[i]))
                    elm_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>",
                                   SX(series[s].x[i]), SY(series[s].y[i]), c);
        elm_buf_printf(b,
                       "<rect x=\"%.1f\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/>"
                       "<text x=\"%.1f\" y=\"%d\" class=\"tick\">",
                       L + pw - 150, T + 4 + 16 * s, c, L + pw - 135, T + 13 + 16 * s);
        elm_buf_html(b, series[s].name);
        elm_buf_printf(b, "</text>");
    }
    elm_buf_printf(b, "</svg>\n");
#undef SX
#undef SY
}

void elm_svg_bar_chart(ElmBuf *b, const char *title, const char *const *labels, int n,
                       const double *const *values, const char *const *series_names, int n_series,
                       const char *value_fmt, int width) {
    double vmax = 0;
    for (int s = 0; s < n_series; s++)
        for (int i = 0; i < n; i++)
            if (isfinite(values[s][i])) vmax = fmax(vmax, values[s][i]);
    if (vmax <= 0) vmax = 1;
    const int L = 150, R = 70, T = n_series > 1 ? 46 : 30, bar = 12, gap = 6;
    int row = n_series * bar + gap, height = T + n * row + 10;
    double pw = width - L - R;
    elm_buf_printf(b,
                   "<svg class=\"chart\" data-points=\"%d\" viewBox=\"0 0 %d %d\" width=\"%d\" "
                   "height=\"%d\" role=\"img\"><title>",
                   n * n_series, width, height, width, height);
    elm_buf_html(b, title);
    elm_buf_printf(b, "</title><text x=\"4\" y=\"18\" class=\"ct\">");
    elm_buf_html(b, title);
    elm_buf_printf(b, "</text>");
    if (n_series > 1)
        for (int s = 0; s < n_series; s++) {
            elm_buf_printf(b,
                           "<rect x=\"%d\" y=\"26\" width=\"10\" height=\"10\" fill=\"%s\"/>"
                           "<text x=\"%d\" y=\"35\" class=\"tick\">",
                           L + 130 * s, elm_svg_color(s), L + 130 * s + 14);
            elm_buf_html(b, series_names[s]);
            elm_buf_printf(b, "</text>");
        }
    char num[64];
    for (int i = 0; i < n; i++) {
        int y = T + i * row;
        elm_buf_printf(b, "<text x=\"%d\" y=\"%d\" class=\"tick\" text-anchor=\"end\">", L - 6,
                       y + (n_series * bar) / 2 + 4);
        elm_buf_html(b, labels[i]);
        elm_buf_printf(b, "</text>");
        for (int s = 0; s < n_series; s++) {
            double v = isfinite(values[s][i]) ? values[s][i] : 0;
            double w = fmax(0, v) / vmax * pw;
            snprintf(num, sizeof num, value_fmt, v);
            elm_buf_printf(b,
                           "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\">"
                           "<title>%s</title></rect>"
                           "<text x=\"%.1f\" y=\"%d\" class=\"val\">%s</text>",
                           L, y + s * bar, w, bar - 1, elm_svg_color(s), num, L + w + 4,
                           y + s * bar + bar - 2, num);
        }
    }
    elm_buf_printf(b, "</svg>\n");
}

void elm_svg_heatmap(ElmBuf *b, const char *title, const char *const *row_labels,
                     const char *const *col_labels, const double *values, int rows, int cols,
                     const char *value_fmt, int cell) {
    double vmax = 0;
    for (int i = 0; i < rows * cols; i++)
        if (isfinite(values[i])) vmax = fmax(vmax, values[i]);
    if (vmax <= 0) vmax = 1;
    const int L = 110, T = 44;
    int width = L + cols * cell + 10, height = T + rows * cell + 10;
    int title_w = (int)strlen(title) * 7 + 10; // about 7 px a character at 13 px bold
    if (width < title_w) width = title_w;
    elm_buf_printf(b,
                   "<svg class=\"chart\" data-points=\"%d\" viewBox=\"0 0 %d %d\" width=\"%d\" "
                   "height=\"%d\" role=\"img\"><title>",
                   rows * cols, width, height, width, height);
    elm_buf_html(b, title);
    elm_buf_printf(b, "</title><text x=\"4\" y=\"16\" class=\"ct\">");
    elm_buf_html(b, title);
    elm_buf_printf(b, "</text>");
    for (int c = 0; c < cols; c++) {
        elm_buf_printf(b, "<text x=\"%d\" y=\"%d\" class=\"tick\" text-anchor=\"middle\">",
                       L + c * cell + cell / 2, T - 6);
        elm_buf_html(b, col_labels[c]);
        elm_buf_printf(b, "</text>");
    }
    char num[64];
    for (int r = 0; r < rows; r++) {
        elm_buf_printf(b, "<text x=\"%d\" y=\"%d\" class=\"tick\" text-anchor=\"end\">", L - 6,
                       T + r * cell + cell / 2 + 4);
        elm_buf_html(b, row_labels[r]);
        elm_buf_printf(b, "</text>");
        for (int c = 0; c < cols; c++) {
            double v = values[r * cols + c];
            double t = isfinite(v) ? fmax(0, v) / vmax : 0;
            int shade = (int)(245 - 160 * t);
            snprintf(num, sizeof num, value_fmt, v);
            elm_buf_printf(b,
                           "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
                           "fill=\"rgb(%d,%d,255)\" stroke=\"#fff\"/>"
                           "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" class=\"%s\">%s</text>",
                           L + c * cell, T + r * cell, cell, cell, shade, shade,
                           L + c * cell + cell / 2, T + r * cell + cell / 2 + 4,
                           t > 0.6 ? "valw" : "val", num);
        }
    }
    elm_buf_printf(b, "</svg>\n");
}

#define _POSIX_C_SOURCE 200809L
#include "engine/base/progress.h"
#include "engine/base/fsutil.h"

#include <stdio.h>
#include <unistd.h>

static void fmt_time(double s, char *out, size_t cap) {
    if (s < 0 || s > 1e7)
        snprintf(out, cap, "?");
    else if (s < 60)
        snprintf(out, cap, "%.0fs", s);
    else if (s < 3600)
        snprintf(out, cap, "%dm%02ds", (int)s / 60, (int)s % 60);
    else
        snprintf(out, cap, "%dh%02dm", (int)s / 3600, ((int)s % 3600) / 60);
}

static void draw(ElmProgress *p, int final) {
    double el = elm_now() - p->t0;
    double rate = el > 0 ? (double)p->done / el : 0;
    char eta[32] = "", els[32];
    fmt_time(el, els, sizeof els);
    if (p->total && !final && rate > 0) {
        char t[24];
        fmt_time((double)(p->total - (p->done < p->total ? p->done : p->total)) / rate, t,
                 sizeof t);
        snprintf(eta, sizeof eta, " ETA %s", t);
    }
    char count[64];
    if (p->total)
        snprintf(count, sizeof count, "%llu/%llu (%.0f%%)", (unsigned long long)p->done,
                 (unsigned long long)p->total, 100.0 * (double)p->done / (double)p->total);
    else
        snprintf(count, sizeof count, "%llu", (unsigned long long)p->done);
    fprintf(stderr, "%s%s: %s %s, %.1f %s/s, %s%s%s%s%s", p->tty ? "\r\033[K" : "", p->label, count,
            p->unit, rate, p->unit, els, eta, p->extra[0] ? "  " : "", p->extra,
            (final || !p->tty) ? "\n" : "");
    fflush(stderr);
}

void elm_progress_start(ElmProgress *p, const char *label, const char *unit, uint64_t total,
                        int quiet) {
    p->label = label, p->unit = unit, p->total = total, p->done = 0;
    p->t0 = p->last = elm_now();
    p->quiet = quiet;
    p->tty = isatty(2);
    p->extra[0] = '\0';
}

void elm_progress_update(ElmProgress *p, uint64_t done) {
    p->done = done;
    if (p->quiet) return;
    double now = elm_now();
    if (now - p->last < (p->tty ? 0.2 : 5.0)) return;
    p->last = now;
    draw(p, 0);
}

void elm_progress_finish(ElmProgress *p) {
    if (!p->quiet) draw(p, 1);
}

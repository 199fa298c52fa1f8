// progress.h — the one progress line every long loop reports through (rate, ETA), on stderr.
// Silent under --quiet; redraws in place on a terminal, prints a line every few seconds otherwise.
#ifndef ELM_PROGRESS_H
#define ELM_PROGRESS_H

#include <stdint.h>

typedef struct ElmProgress {
    const char *label;
    const char *unit; // "tweets", "tok", "steps"...
    uint64_t total;   // 0 = unknown
    uint64_t done;
    double t0, last;
    int quiet, tty;
    char extra[160]; // free text appended to the line (loss, lr...)
} ElmProgress;

void elm_progress_start(ElmProgress *p, const char *label, const char *unit, uint64_t total,
                        int quiet);
// Sets the count done so far; prints at most a few times a second.
void elm_progress_update(ElmProgress *p, uint64_t done);
// Prints the final line (count, elapsed, rate).
void elm_progress_finish(ElmProgress *p);

#endif

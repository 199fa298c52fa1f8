// stats.h — the summaries `elm bench` reports of repeated timings: median and minimum.
// Used by eval/bench_validators.c and engine/app/bench_model.c.
#ifndef ELM_STATS_H
#define ELM_STATS_H

// The median of v[0..n) (mean of the two middle values when n is even); v is not changed.
// n >= 1.
double elm_median(const double *v, int n);
// The smallest of v[0..n); n >= 1.
double elm_min(const double *v, int n);

#endif

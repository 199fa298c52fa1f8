// vlog.h — natural logarithm of many doubles at once: a branch-free log that the compiler
// vectorises, within 2 ulp of libm's log. Used by eval/naive_bayes.c's hot loop.
#ifndef ELM_VLOG_H
#define ELM_VLOG_H

#include <float.h>

// y[i] = log(x[i]) for x[i] a positive normal double (x >= DBL_MIN, finite); y may equal x.
// Other inputs (zero, negative, subnormal, inf, NaN) give unspecified results: callers check.
void elm_vlog(const double *x, double *y, int n);

#endif

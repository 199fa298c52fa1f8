// rng.h — elm's one random number generator: SplitMix64 (Steele, Lea & Flood 2014), as a mixer
// of one value and as a stream whose whole state is one uint64_t the caller owns and seeds.
#ifndef ELM_RNG_H
#define ELM_RNG_H

#include <stdint.h>

#define ELM_RNG_GOLDEN 0x9E3779B97F4A7C15ull // 2^64 / golden ratio, SplitMix64's increment

// SplitMix64's output for x: the finaliser applied to x + ELM_RNG_GOLDEN. A stateless hash of
// a counter: elm_rng_mix(elm_rng_mix(seed) + i) is draw i of stream `seed`.
static inline uint64_t elm_rng_mix(uint64_t x) {
    uint64_t z = x + ELM_RNG_GOLDEN;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// The next value of the stream with state *s (advances *s by ELM_RNG_GOLDEN).
static inline uint64_t elm_rng_next(uint64_t *s) {
    uint64_t x = *s;
    *s += ELM_RNG_GOLDEN;
    return elm_rng_mix(x);
}

// A uniform double in [0, 1): the next value's top 53 bits.
static inline double elm_rng_unif(uint64_t *s) {
    return (double)(elm_rng_next(s) >> 11) * 0x1.0p-53;
}

// A uniform integer in [0, n), by scaling a uniform double (no modulo bias for n < 2^53).
static inline uint64_t elm_rng_below(uint64_t *s, uint64_t n) {
    return (uint64_t)((elm_rng_next(s) >> 11) * 0x1.0p-53 * n);
}

#endif

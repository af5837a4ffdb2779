/* rng.c — the runtime's random numbers: xoshiro256** (Blackman & Vigna)
 * seeded through splitmix64, so that any 64-bit seed, including 0, gives a
 * well-mixed state and the same stream on every platform. Used for data
 * shuffling; generated code carries its own generator for initialization. */
#include <math.h>

#include "nnc_rt.h"

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void nnc_rng_seed(nnc_rng *r, uint64_t seed) {
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

uint64_t nnc_rng_u64(nnc_rng *r) {
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

/* The high bits are the strongest ones of xoshiro's output. */
uint32_t nnc_rng_u32(nnc_rng *r) { return (uint32_t)(nnc_rng_u64(r) >> 32); }

/* Lemire's multiply-and-reject: no modulo bias, rarely more than one draw. */
uint32_t nnc_rng_below(nnc_rng *r, uint32_t n) {
    uint64_t m = (uint64_t)nnc_rng_u32(r) * n;
    uint32_t lo = (uint32_t)m;
    if (lo < n) {
        uint32_t t = (uint32_t)(-n) % n;
        while (lo < t) {
            m = (uint64_t)nnc_rng_u32(r) * n;
            lo = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

/* 24 random bits: every value is an exact float and 1.0 is never reached. */
float nnc_rng_uniform(nnc_rng *r) {
    return (float)(nnc_rng_u64(r) >> 40) * (1.0f / 16777216.0f);
}

/* Box-Muller on 53-bit doubles; u1 is in (0, 1] so log() is finite. The
 * second variate is dropped to keep the generator's state a plain seed. */
float nnc_rng_normal(nnc_rng *r) {
    const double two_pi = 6.283185307179586476925286766559;
    double u1 = (double)((nnc_rng_u64(r) >> 11) + 1) * (1.0 / 9007199254740992.0);
    double u2 = (double)(nnc_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(two_pi * u2));
}

void nnc_shuffle(int *idx, int n, nnc_rng *r) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)nnc_rng_below(r, (uint32_t)i + 1);
        int t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}

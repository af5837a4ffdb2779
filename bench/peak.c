/* bench/peak.c — this core's peak single-precision FLOP/s: many independent
 * chains of vector FMAs (enough to cover FMA latency on every port), widest
 * vectors the compiler allows with -march=native. 2 flops per FMA lane.
 *   peak REPEATS   prints "peak_gflops v1 v2 ..." (one sample per repeat) */
#include "common.h"
#include <immintrin.h>

#if defined(__AVX512F__)
typedef __m512 vec;
#define LANES 16
#define VSET(x) _mm512_set1_ps(x)
#define VFMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define VADD(a, b) _mm512_add_ps(a, b)
#define VSUM(a) _mm512_reduce_add_ps(a)
#define ISA "avx512"
#elif defined(__FMA__)
typedef __m256 vec;
#define LANES 8
#define VSET(x) _mm256_set1_ps(x)
#define VFMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define VADD(a, b) _mm256_add_ps(a, b)
static float VSUM(__m256 a) { float t[8]; _mm256_storeu_ps(t, a); return t[0]+t[1]+t[2]+t[3]+t[4]+t[5]+t[6]+t[7]; }
#define ISA "avx2+fma"
#else
#error "peak.c needs FMA (compile with -march=native on an FMA machine)"
#endif

#define CHAINS 16 /* >= FMA ports x FMA latency on current x86 cores */

/* iters x CHAINS x LANES FMAs; the result is returned so nothing is dead. */
__attribute__((noinline)) static float kernel(long iters, float seed) {
    vec acc[CHAINS];
    const vec a = VSET(0.999999f), b = VSET(seed * 1e-7f);
    for (int c = 0; c < CHAINS; c++) acc[c] = VSET(seed + (float)c);
    for (long i = 0; i < iters; i++) {
#pragma GCC unroll 16
        for (int c = 0; c < CHAINS; c++) acc[c] = VFMA(acc[c], a, b);
    }
    vec s = acc[0];
    for (int c = 1; c < CHAINS; c++) s = VADD(s, acc[c]);
    return VSUM(s);
}

int main(int argc, char **argv) {
    int repeats = argc > 1 ? atoi(argv[1]) : 15;
    const long iters = 2000000; /* ~ 64 M FMAs per sample: a few ms */
    double *g = malloc(sizeof(double) * (size_t)repeats);
    volatile float sink = 0;
    sink += kernel(iters * 4, (float)argc); /* warm up: let the clock ramp */
    for (int r = 0; r < repeats; r++) {
        double t0 = now_sec();
        sink += kernel(iters, (float)argc + (float)r);
        double t = now_sec() - t0;
        g[r] = 2.0 * LANES * CHAINS * (double)iters / t / 1e9;
    }
    print_samples("peak_gflops", g, repeats);
    printf("peak_isa %s\npeak_lanes %d\n", ISA, LANES);
    free(g);
    return 0;
}

/* nnc's --no-libm math against the C library's (double precision, then
 * rounded: the reference is the correctly rounded float in all but rare
 * ties). Built with the output of `nnc --no-libm-source` as "nolibm.h".
 * For each function: a dense sweep of its domain (every 64th float of the
 * range that matters, both signs where the range starts above zero) and the
 * special values;
 * prints the worst error in ulp of the reference and fails if it exceeds the
 * bound documented in compiler/nolibm.c. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "nolibm.h"

static int failures;

/* |a - b| in units of the last place of b (b finite). */
static double ulps(float a, float b) {
    if (a == b)
        return 0;
    if (isnan(a) || isinf(a))
        return 1e30;
    int e;
    frexpf(b, &e);
    double ulp = ldexp(1.0, (e - 24 < -149 ? -149 : e - 24));
    return fabs((double)a - (double)b) / ulp;
}

static int same_special(float a, float b) {
    if (isnan(b))
        return isnan(a);
    return a == b && signbit(a) == signbit(b);
}

typedef float (*fn)(float);
typedef double (*ref)(double);

/* Every float from lo to hi in steps of 2^step bits (both signs as given). */
static void sweep(const char *name, fn f, ref r, float lo, float hi, int step, double bound) {
    double worst = 0;
    float at = 0;
    long n = 0;
    for (int sign = 0; sign < 2; sign++) {
        float a = sign ? -hi : lo, b = sign ? -lo : hi;
        if (sign && lo < 0)
            break;                  /* the range already spans zero */
        uint32_t u, end;
        float x = a;
        for (;;) {
            float want = (float)r((double)x), got = f(x);
            if (isfinite(want)) {
                double e = ulps(got, want);
                if (e > worst)
                    worst = e, at = x;
            } else if (!same_special(got, want)) {
                worst = 1e30, at = x;
            }
            n++;
            if (x >= b)
                break;
            /* next float up by 2^step ulps */
            memcpy(&u, &x, 4);
            memcpy(&end, &b, 4);
            if (x < 0) {
                uint32_t m = u & 0x7fffffffu;
                m = m > (1u << step) ? m - (1u << step) : 0;
                u = m ? (m | 0x80000000u) : 0;
            } else {
                u += 1u << step;
            }
            memcpy(&x, &u, 4);
            if (x > b)
                x = b;
        }
    }
    int ok = worst <= bound;
    failures += !ok;
    printf("%s: %s max %.2f ulp over [%g, %g] (%ld points, worst at %.9g), bound %.0f\n", ok ? "PASS" : "FAIL",
           name, worst, (double)lo, (double)hi, n, (double)at, bound);
}

static void special(const char *name, fn f, ref r) {
    const float inf = (float)INFINITY;
    const float xs[] = {0.0f, -0.0f, 1e-45f, -1e-45f, 1e-38f, -1e-38f, 1e-20f, -1e-20f, 1.0f, -1.0f, 1e30f, -1e30f,
                        3.4e38f, -3.4e38f, inf, -inf, NAN};
    int ok = 1;
    for (size_t i = 0; i < sizeof xs / sizeof *xs; i++) {
        float want = (float)r((double)xs[i]), got = f(xs[i]);
        if (isfinite(want) && want != 0 ? ulps(got, want) > 8 : !same_special(got, want)) {
            printf("FAIL: %s(%g) = %.9g, libm %.9g\n", name, (double)xs[i], (double)got, (double)want);
            ok = 0;
        }
    }
    failures += !ok;
    if (ok)
        printf("PASS: %s special values (0, -0, subnormal, 1, huge, inf, NaN)\n", name);
}

static double log1p_(double x) { return log1p(x); }
static double expm1_(double x) { return expm1(x); }
static double sqrt_(double x) { return sqrt(x); }

int main(void) {
    /* exp: all of [-104, 89] at every 16th float, then the whole range to huge. */
    sweep("expf", nnc_expf, exp, -104.0f, 89.0f, 6, 2);
    special("expf", nnc_expf, exp);
    sweep("logf", nnc_logf, log, 1e-45f, 3.4e38f, 6, 3);
    special("logf", nnc_logf, log);
    sweep("log1pf", nnc_log1pf, log1p_, -0.99999994f, 3.4e38f, 6, 4);
    sweep("log1pf", nnc_log1pf, log1p_, 1e-45f, 0.99999994f, 6, 4);   /* and its negatives */
    special("log1pf", nnc_log1pf, log1p_);
    sweep("expm1f", nnc_expm1f, expm1_, 1e-45f, 89.0f, 6, 4);   /* and -89 .. 0 */
    special("expm1f", nnc_expm1f, expm1_);
    sweep("tanhf", nnc_tanhf, tanh, 1e-45f, 20.0f, 6, 3);
    special("tanhf", nnc_tanhf, tanh);
    sweep("erff", nnc_erff, erf, 1e-45f, 10.0f, 6, 3);
    special("erff", nnc_erff, erf);
    sweep("sqrtf", nnc_sqrtf, sqrt_, 1e-45f, 3.4e38f, 6, 1);
    special("sqrtf", nnc_sqrtf, sqrt_);
    /* the double helpers */
    int ok = 1;
    for (int t = 1; t < 100000; t += 7)
        ok &= fabs(nnc_pow(0.999, t) - pow(0.999, t)) <= 1e-11 * pow(0.999, t) &&
              fabs(nnc_pow(0.9, t) - pow(0.9, t)) <= 1e-11 * pow(0.9, t) + 1e-300;
    for (double e = 0.0; e < 20.0; e += 0.01)
        ok &= fabs(nnc_pow(0.96, e) - pow(0.96, e)) <= 1e-6 * pow(0.96, e);
    for (double x = -1e6; x < 1e6; x += 0.37)
        ok &= nnc_floor(x) == floor(x) && nnc_ceil(x) == ceil(x);
    for (double x = 0.0; x < 4.0; x += 1e-5)
        ok &= fabs(nnc_sqrt(x) - sqrt(x)) <= 2.3e-16 * sqrt(x);
    printf("%s: nnc_pow (whole exponents 1e-11, fractions 1e-6), nnc_floor, nnc_ceil, nnc_sqrt\n",
           ok ? "PASS" : "FAIL");
    failures += !ok;
    return failures != 0;
}

/* init_test.c — checks the initial weights a generated model draws.
 *
 * Built against tests/init/inits.nn (one big dense layer per initializer,
 * named after it) included with -include, -DP=inits -DUP=INITS. For every
 * tensor it recomputes, from the tensor's shape alone, what Keras's formula
 * says (fans, limits, standard deviations) and checks the drawn values:
 *   - constants exactly;
 *   - random draws: the mean within 4 standard errors, the variance within 5
 *     of its standard errors, the bounds respected (uniform, truncated) and
 *     reached, and normal draws beyond 2 stddev present (not truncated);
 *   - orthogonal: W W^T (wide) or W^T W (tall) = gain^2 I to 1e-4;
 *   - the same seed gives the same parameters bit for bit, another seed
 *     different ones.
 * Tensors the table does not name must be all zero (the default bias). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define F(name) CAT(P, CAT(_, name))
#define M(name) CAT(UP, CAT(_, name))

enum { CONST, UNIFORM, NORMAL, TRUNC, ORTHO };

/* The variance of a standard normal truncated at +-2, and its square root:
 * Keras's variance-scaling normals divide their stddev by the latter. */
#define TRUNC_VAR 0.77373452
#define TRUNC_CORRECTION 0.87962566103423978

typedef struct Expect {
    const char *name;
    const char *init;   /* initializer, for the formulas that need fans */
    double a, b;        /* CONST value; UNIFORM lo, hi; NORMAL/TRUNC mean, stddev; ORTHO gain */
} Expect;

static const Expect expect[] = {
    {"zeros.weight", "constant", 0, 0},
    {"zeros.bias", "constant", 1, 0},
    {"ones.weight", "constant", 1, 0},
    {"ones.bias", "constant", 0.5, 0},
    {"constant.weight", "constant", -0.25, 0},
    {"constant.bias", "random_normal", 1, 2},
    {"random_uniform.weight", "random_uniform", -0.05, 0.05},
    {"uniform_1_3.weight", "random_uniform", 1, 3},
    {"random_normal.weight", "random_normal", 0, 0.05},
    {"normal_m1.weight", "random_normal", -1, 0.5},
    {"truncated_normal.weight", "truncated_normal", 0, 0.05},
    {"truncated_2_3.weight", "truncated_normal", 2, 3},
    {"truncated_2_3.bias", "truncated_normal", 0, 0.05},
    {"glorot_uniform.weight", "glorot_uniform", 0, 0},
    {"glorot_normal.weight", "glorot_normal", 0, 0},
    {"glorot_normal.bias", "he_uniform", 0, 0},
    {"he_uniform.weight", "he_uniform", 0, 0},
    {"he_normal.weight", "he_normal", 0, 0},
    {"lecun_uniform.weight", "lecun_uniform", 0, 0},
    {"lecun_normal.weight", "lecun_normal", 0, 0},
    {"orthogonal_tall.weight", "orthogonal", 1, 0},
    {"orthogonal_wide.weight", "orthogonal", 2, 0},
    {"orthogonal_square.weight", "orthogonal", 0.5, 0},
};
#define NEXPECT ((int)(sizeof expect / sizeof expect[0]))

static F(model) m, m2;
static int fails, checks;

static void check(int ok, const char *tensor, const char *what, double got, double want) {
    checks++;
    if (!ok) {
        fails++;
        printf("  %s: %s: got %.9g, want %.9g\n", tensor, what, got, want);
    }
}

/* Which family a tensor's draws are in, with their constants from Keras's
 * formulas: fan_in = shape[1], fan_out = shape[0] (a 1-D bias: both its size). */
static int family(const Expect *e, const F(tensor) *t, double *a, double *b) {
    double fan_out = t->shape[0], fan_in = t->ndim > 1 ? t->shape[1] : fan_out;
    const char *n = e->init;
    *a = e->a, *b = e->b;
    if (!strcmp(n, "constant")) return CONST;
    if (!strcmp(n, "random_uniform")) return UNIFORM;
    if (!strcmp(n, "random_normal")) return NORMAL;
    if (!strcmp(n, "truncated_normal")) return TRUNC;
    if (!strcmp(n, "orthogonal")) return ORTHO;
    double limit = 0, stddev = 0;
    if (!strcmp(n, "glorot_uniform")) limit = sqrt(6 / (fan_in + fan_out));
    if (!strcmp(n, "he_uniform")) limit = sqrt(6 / fan_in);
    if (!strcmp(n, "lecun_uniform")) limit = sqrt(3 / fan_in);
    if (!strcmp(n, "glorot_normal")) stddev = sqrt(2 / (fan_in + fan_out)) / TRUNC_CORRECTION;
    if (!strcmp(n, "he_normal")) stddev = sqrt(2 / fan_in) / TRUNC_CORRECTION;
    if (!strcmp(n, "lecun_normal")) stddev = sqrt(1 / fan_in) / TRUNC_CORRECTION;
    if (limit > 0) {
        *a = -limit, *b = limit;
        return UNIFORM;
    }
    if (stddev <= 0) {
        printf("  %s: unknown initializer %s in the test's table\n", e->name, n);
        fails++;
    }
    *a = 0, *b = stddev;
    return TRUNC;
}

static void check_stats(const char *name, int fam, double a, double b, const float *w, long count) {
    double mu, var, kurt, lo = -INFINITY, hi = INFINITY;
    if (fam == UNIFORM) {
        mu = (a + b) / 2, var = (b - a) * (b - a) / 12, kurt = 1.8, lo = a, hi = b;
    } else if (fam == NORMAL) {
        mu = a, var = b * b, kurt = 3;
    } else {
        mu = a, var = b * b * TRUNC_VAR, kurt = 3, lo = a - 2 * b, hi = a + 2 * b;
    }
    double sum = 0, sq = 0, mn = INFINITY, mx = -INFINITY;
    long beyond = 0;
    for (long i = 0; i < count; i++) {
        double x = w[i];
        sum += x;
        mn = fmin(mn, x);
        mx = fmax(mx, x);
        beyond += fabs(x - a) > 2 * b;
    }
    double mean = sum / count;
    for (long i = 0; i < count; i++)
        sq += (w[i] - mean) * (w[i] - mean);
    double v = sq / (count - 1), n = (double)count;
    check(fabs(mean - mu) < 4 * sqrt(var / n), name, "mean", mean, mu);
    check(fabs(v - var) < 5 * var * sqrt((kurt - 1) / n), name, "variance", v, var);
    if (fam != NORMAL) {
        double slack = 1e-6 * (hi - lo);
        check(mn >= lo - slack, name, "minimum", mn, lo);
        check(mx <= hi + slack, name, "maximum", mx, hi);
        /* The bounds are reached (in big tensors, where missing the last 1%
         * of the range is all but impossible): a limit too narrow would pass
         * the checks above only by luck of the variance tolerance. */
        if (count >= 100000) {
            check(mn < lo + 0.01 * (hi - lo), name, "minimum near the bound", mn, lo);
            check(mx > hi - 0.01 * (hi - lo), name, "maximum near the bound", mx, hi);
        }
    } else {
        /* An untruncated normal has 4.55% of its draws beyond 2 stddev. */
        double frac = beyond / n;
        check(fabs(frac - 0.0455) < 5 * sqrt(0.0455 * 0.9545 / n), name,
              "fraction beyond 2 stddev", frac, 0.0455);
    }
}

/* W W^T (rows <= cols) or W^T W must be gain^2 I; the mean must be ~0, which
 * an orthogonal matrix like [I 0] would fail. */
static void check_orthogonal(const char *name, double gain, const float *w, long rows, long cols) {
    long k = rows <= cols ? rows : cols, len = rows <= cols ? cols : rows;
    long stride = rows <= cols ? cols : 1, step = rows <= cols ? 1 : cols;
    double worst = 0, sum = 0;
    for (long i = 0; i < k; i++)
        for (long j = 0; j <= i; j++) {
            double dot = 0;
            for (long e = 0; e < len; e++)
                dot += (double)w[i * stride + e * step] * w[j * stride + e * step];
            worst = fmax(worst, fabs(dot - (i == j ? gain * gain : 0)));
        }
    check(worst < 1e-4 * gain * gain, name, "max |W W^T - gain^2 I|", worst, 0);
    for (long i = 0; i < rows * cols; i++)
        sum += w[i];
    double sd = gain / sqrt((double)len), mean = sum / (rows * cols);
    check(fabs(mean) < 4 * sd / sqrt((double)(rows * cols)), name, "mean", mean, 0);
}

static long numel(const F(tensor) *t) {
    long n = 1;
    for (int d = 0; d < t->ndim; d++)
        n *= t->shape[d];
    return n;
}

int main(void) {
    F(init)(&m, 42);
    int named = 0;
    for (int i = 0; i < M(NUM_TENSORS); i++) {
        const F(tensor) *t = &F(tensors)[i];
        const Expect *e = NULL;
        for (int j = 0; j < NEXPECT; j++)
            if (!strcmp(expect[j].name, t->name))
                e = &expect[j];
        long count = numel(t);
        static float w[512 * 512];
        for (long k = 0; k < count; k++)
            w[k] = (float)m.params[t->offset + k];
        if (!e) {       /* a default bias */
            long nonzero = 0;
            for (long k = 0; k < count; k++)
                nonzero += w[k] != 0;
            check(nonzero == 0, t->name, "nonzero elements of a zeros tensor", (double)nonzero, 0);
            continue;
        }
        named++;
        double a, b;
        int fam = family(e, t, &a, &b);
        if (fam == CONST) {
            long off = 0;
            for (long k = 0; k < count; k++)
                off += w[k] != (float)a;
            check(off == 0, t->name, "elements other than the constant", (double)off, 0);
        } else if (fam == ORTHO) {
            check_orthogonal(t->name, a, w, t->shape[0], count / t->shape[0]);
        } else {
            check_stats(t->name, fam, a, b, w, count);
        }
    }
    check(named == NEXPECT, "table", "tensors found", named, NEXPECT);

    /* Same seed, same bits; another seed, every random tensor different. */
    F(init)(&m2, 42);
    check(!memcmp(m.params, m2.params, sizeof m.params), "seed 42 twice", "identical", 0, 1);
    F(init)(&m2, 43);
    for (int j = 0; j < NEXPECT; j++) {
        const F(tensor) *t = NULL;
        for (int i = 0; i < M(NUM_TENSORS); i++)
            if (!strcmp(expect[j].name, F(tensors)[i].name))
                t = &F(tensors)[i];
        double a, b;
        if (!t || family(&expect[j], t, &a, &b) == CONST)
            continue;
        long same = 0, count = numel(t);
        for (long k = 0; k < count; k++)
            same += m.params[t->offset + k] == m2.params[t->offset + k];
        check(same < count / 100, t->name, "elements equal under seeds 42 and 43", (double)same, 0);
    }
    printf("%d checks on %d tensors, %d failed\n", checks, M(NUM_TENSORS), fails);
    return fails != 0;
}

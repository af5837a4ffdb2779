/* nolibm.c — --no-libm: nnc's own float math for generated code that must
 * not call <math.h> or link libm. emit.c renders a file as usual, then
 * nolibm() renames each call of a math function to its nnc_ version and
 * returns the definitions those calls need (and only those: an unused static
 * function would be a warning), in dependency order.
 *
 * The approximations are plain float C: range reduction plus a short
 * polynomial, the exponent set through the bits. Their errors, measured
 * against glibc over a dense sweep and pinned by tests/nolibm:
 *   nnc_expf    2 ulp     e^x over [-103.97, 88.72], 0 below, inf above
 *   nnc_logf    3 ulp     x > 0 including subnormals; -inf at 0, NaN below
 *   nnc_log1pf  4 ulp     x > -1
 *   nnc_expm1f  4 ulp
 *   nnc_tanhf   3 ulp
 *   nnc_erff    3 ulp     (erf(x) rounds to +-1 beyond |x| = 3.92)
 *   nnc_sqrtf   1 ulp
 * The double helpers serve the optimizer's learning-rate arithmetic only:
 * nnc_pow is repeated squaring for whole exponents (Adam's beta^t: within
 * 1e-11 relative for t < 1e5) and float accurate (1e-6) for a fraction; nnc_sqrt is within 1 ulp of double on
 * [0, 3e38]; nnc_floor and nnc_ceil are exact. */
#include "nnc.h"
#include <string.h>

typedef struct Fn {
    const char *name;       /* as called in generated code */
    const char *deps;       /* other entries it calls, space separated */
    const char *text;
} Fn;

static const Fn fns[] = {
    /* A float's bits and back (a union: C99 and every C++ compiler accept it),
     * as two entries: a file that needs only one must not define the other. */
    {"nnc_bits", "",
     "/* A float's bits (a union: C99 and every C++ compiler accept it). */\n"
     "static uint32_t nnc_bits(float x) { union { float f; uint32_t u; } v; v.f = x; return v.u; }\n"},
    {"nnc_float", "",
     "/* The float with these bits. */\n"
     "static float nnc_float(uint32_t u) { union { float f; uint32_t u; } v; v.u = u; return v.f; }\n"},
    {"fabsf", "nnc_bits nnc_float", "static float nnc_fabsf(float x) { return nnc_float(nnc_bits(x) & 0x7fffffffu); }\n"},
    {"expf", "nnc_float",
     "/* e^x = 2^n e^r with x = n ln2 + r, |r| <= ln2/2: e^r by its Taylor polynomial\n"
     " * of degree 7, ln2 split in two so n ln2 is exact, 2^n through the exponent bits\n"
     " * in two halves so that subnormal and huge results round once. 2 ulp. */\n"
     "static float nnc_expf(float x) {\n"
     "    if (x != x) return x;\n"
     "    if (x > 88.7228394f) return nnc_float(0x7f800000u);\n"
     "    if (x < -103.972084f) return 0.0f;\n"
     "    const int n = (int)(x * 1.44269504f + (x < 0.0f ? -0.5f : 0.5f)), h = n / 2;\n"
     "    const float r = x - (float)n * 0.693145752f - (float)n * 1.42860677e-6f;\n"
     "    const float p = 1.0f + r * (1.0f + r * (0.5f + r * (0.166666667f + r * (0.0416666667f\n"
     "                  + r * (0.00833333333f + r * (0.00138888889f + r * 0.000198412698f))))));\n"
     "    return p * nnc_float((uint32_t)(h + 127) << 23) * nnc_float((uint32_t)(n - h + 127) << 23);\n"
     "}\n"},
    {"logf", "nnc_bits nnc_float",
     "/* log x = e ln2 + log m with x = 2^e m, m in [sqrt(1/2), sqrt(2)]; log m =\n"
     " * 2 atanh(s), s = (m - 1)/(m + 1), |s| <= 0.172, by its series to s^9. 3 ulp. */\n"
     "static float nnc_logf(float x) {\n"
     "    if (x != x || x == nnc_float(0x7f800000u)) return x;\n"
     "    if (x == 0.0f) return nnc_float(0xff800000u);\n"
     "    if (x < 0.0f) return nnc_float(0x7fc00000u);\n"
     "    int e = 0;\n"
     "    if (x < 1.17549435e-38f) { x *= 16777216.0f; e = -24; }\n"
     "    const uint32_t u = nnc_bits(x);\n"
     "    float m = nnc_float((u & 0x007fffffu) | 0x3f800000u);\n"
     "    e += (int)(u >> 23) - 127;\n"
     "    if (m > 1.41421356f) { m *= 0.5f; e++; }\n"
     "    const float f = m - 1.0f, s = f / (2.0f + f), z = s * s;\n"
     "    const float a = s * (2.0f + z * (0.666666667f + z * (0.4f + z * (0.285714286f + z * 0.222222222f))));\n"
     "    return (float)e * 0.693145752f + ((float)e * 1.42860677e-6f + a);\n"
     "}\n"},
    {"log1pf", "logf",
     "/* log(1 + x) = log(u) x / (u - 1) with u = 1 + x rounded: the quotient undoes\n"
     " * the rounding of u, so small x keep their precision. 4 ulp. */\n"
     "static float nnc_log1pf(float x) {\n"
     "    const float u = 1.0f + x;\n"
     "    if (u == 1.0f) return x;\n"
     "    if (!(u > 0.0f) || u == nnc_float(0x7f800000u)) return nnc_logf(u);\n"
     "    return nnc_logf(u) * (x / (u - 1.0f));\n"
     "}\n"},
    {"expm1f", "expf",
     "/* e^x - 1: the Taylor polynomial of degree 8 for |x| < 0.35, e^x - 1 beyond\n"
     " * (where the subtraction loses at most a bit). 4 ulp. */\n"
     "static float nnc_expm1f(float x) {\n"
     "    if (x > -0.35f && x < 0.35f)\n"
     "        return x * (1.0f + x * (0.5f + x * (0.166666667f + x * (0.0416666667f + x * (0.00833333333f\n"
     "             + x * (0.00138888889f + x * (0.000198412698f + x * 2.48015873e-5f)))))));\n"
     "    return nnc_expf(x) - 1.0f;\n"
     "}\n"},
    {"tanhf", "expm1f",
     "/* tanh |x| = -t / (2 + t) with t = e^(-2|x|) - 1, no cancellation; +-1 beyond\n"
     " * |x| = 9.1, where tanh rounds to it. 3 ulp. */\n"
     "static float nnc_tanhf(float x) {\n"
     "    const float a = x < 0.0f ? -x : x;\n"
     "    if (x == 0.0f) return x;\n"
     "    if (a > 9.1f) return x < 0.0f ? -1.0f : 1.0f;\n"
     "    const float t = nnc_expm1f(-2.0f * a), y = -t / (2.0f + t);\n"
     "    return x < 0.0f ? -y : y;\n"
     "}\n"},
    {"erff", "expf nnc_bits nnc_float",
     "/* erf x: for |x| < 1 its Taylor series in x^2 to x^23 (the terms shrink fast\n"
     " * enough that the alternation costs a bit at most); beyond, 1 - erfc x with\n"
     " * erfc x = e^(-x^2) / sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))),\n"
     " * the continued fraction summed from its 60th term back, and x^2 = xh^2 +\n"
     " * xl (x + xh) exactly (xh: x cut to 12 bits). +-1 beyond |x| = 3.92, where erf\n"
     " * rounds to it. 3 ulp. */\n"
     "static float nnc_erff(float x) {\n"
     "    const float a = x < 0.0f ? -x : x;\n"
     "    if (x != x || x == 0.0f) return x;\n"
     "    if (a > 3.92f) return x < 0.0f ? -1.0f : 1.0f;\n"
     "    float y;\n"
     "    if (a < 1.0f) {\n"
     "        const float z = a * a;\n"
     "        y = a * (1.12837917f + z * (-0.376126389f + z * (0.112837917f + z * (-0.0268661706f\n"
     "            + z * (0.00522397763f + z * (-0.000854832702f + z * (0.00012055333f + z * (-1.49256504e-05f\n"
     "            + z * (1.64621144e-06f + z * (-1.63658447e-07f + z * (1.48071928e-08f\n"
     "            + z * -1.22905553e-09f)))))))))));\n"
     "    } else {\n"
     "        const float xh = nnc_float(nnc_bits(a) & 0xfffff000u), xl = a - xh;\n"
     "        float t = a;\n"
     "        for (int k = 60; k > 0; k--) t = a + 0.5f * (float)k / t;\n"
     "        y = 1.0f - nnc_expf(-xh * xh) * nnc_expf(-xl * (a + xh)) * 0.564189584f / t;\n"
     "    }\n"
     "    return x < 0.0f ? -y : y;\n"
     "}\n"},
    {"sqrtf", "nnc_bits nnc_float",
     "/* Newton's iteration from the halved exponent; subnormals scaled by 2^24 first. 1 ulp. */\n"
     "static float nnc_sqrtf(float x) {\n"
     "    if (x < 0.0f) return nnc_float(0x7fc00000u);\n"
     "    if (!(x > 0.0f) || x == nnc_float(0x7f800000u)) return x;\n"
     "    float s = 1.0f;\n"
     "    if (x < 1.17549435e-38f) { x *= 16777216.0f; s = 0.000244140625f; }\n"
     "    float y = nnc_float((nnc_bits(x) >> 1) + 0x1fc00000u);\n"
     "    for (int i = 0; i < 4; i++) y = 0.5f * (y + x / y);\n"
     "    return y * s;\n"
     "}\n"},
    {"floor", "",
     "static double nnc_floor(double x) {\n"
     "    if (!(x > -4.5e15 && x < 4.5e15)) return x;\n"
     "    const double t = (double)(long long)x;\n"
     "    return t > x ? t - 1.0 : t;\n"
     "}\n"},
    {"ceil", "floor", "static double nnc_ceil(double x) { return -nnc_floor(-x); }\n"},
    {"sqrt", "sqrtf",
     "/* Two Newton steps in double from the float root. x in [0, 3e38]. */\n"
     "static double nnc_sqrt(double x) {\n"
     "    double y = (double)nnc_sqrtf((float)x);\n"
     "    if (!(y > 0.0)) return y;\n"
     "    y = 0.5 * (y + x / y);\n"
     "    return 0.5 * (y + x / y);\n"
     "}\n"},
    {"pow", "floor expf logf",
     "/* b^e, b > 0, e >= 0, for learning rates: the whole part of e by repeated\n"
     " * squaring (exact as double arithmetic allows: Adam's beta^t), a fraction\n"
     " * through nnc_expf and nnc_logf (float accuracy). */\n"
     "static double nnc_pow(double b, double e) {\n"
     "    const double w = nnc_floor(e);\n"
     "    double r = 1.0, p = b;\n"
     "    for (unsigned long long k = w < 1.8e19 ? (unsigned long long)w : 0; k; k >>= 1) {\n"
     "        if (k & 1) r *= p;\n"
     "        p *= p;\n"
     "    }\n"
     "    if (e > w) r *= (double)nnc_expf((float)(e - w) * nnc_logf((float)b));\n"
     "    return r;\n"
     "}\n"},
};
enum { NFNS = sizeof fns / sizeof *fns };

static int find(const char *name, size_t len) {
    for (int i = 0; i < NFNS; i++)
        if (strlen(fns[i].name) == len && !strncmp(fns[i].name, name, len))
            return i;
    return -1;
}

static void need(int i, char *used) {
    if (used[i])
        return;
    used[i] = 1;
    for (const char *d = fns[i].deps; *d;) {
        size_t len = strcspn(d, " ");
        int j = find(d, len);
        if (j < 0)
            internal_error("nolibm: no function '%.*s'", (int)len, d);
        need(j, used);
        d += len + (d[len] == ' ');
    }
}

static int ident(char c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

/* Math functions nnc's own set lacks: double precision ones outside the
 * learning-rate arithmetic (Box-Muller for normal initializers, cosine decay). */
static const char *const missing[] = {"exp", "log", "cos", "sin", "tanh", "erf", "log1p", "expm1", "fabs",
                                      "powf", "fmax", "fmaxf", "cosf", "sinf"};

static const char *definitions(const char *used) {
    char *defs = "";
    for (int i = 0; i < NFNS; i++)
        if (used[i])
            defs = fmt("%s%s\n", defs, fns[i].text);
    return defs;
}

const char *nolibm(const char *body, const char **defs) {
    char used[NFNS] = {0};
    size_t len = strlen(body);
    char *r = xalloc(len * 2 + 1), *o = r;
    const char *s = body;
    while (*s) {
        if (s[0] == '/' && s[1] == '*') {
            const char *e = strstr(s + 2, "*/");
            e = e ? e + 2 : s + strlen(s);
            memcpy(o, s, e - s);
            o += e - s;
            s = e;
            continue;
        }
        if (ident(*s) && (s == body || !ident(s[-1]))) {
            size_t n = 0;
            while (ident(s[n]))
                n++;
            if (s[n] == '(') {
                int i = find(s, n);
                if (i >= 0 && strncmp(s, "nnc_", 4)) {
                    need(i, used);
                    o += sprintf(o, "nnc_");
                }
                for (size_t k = 0; k < sizeof missing / sizeof *missing; k++)
                    if (strlen(missing[k]) == n && !strncmp(s, missing[k], n))
                        fatal("--no-libm: this model's code calls %.*s, which nnc's own math does not provide "
                              "(normal initializers and cosine decay need the C library)", (int)n, s);
            }
            memcpy(o, s, n);
            o += n;
            s += n;
            continue;
        }
        *o++ = *s++;
    }
    *o = 0;
    *defs = definitions(used);
    return r;
}

const char *nolibm_all(void) {
    char used[NFNS];
    memset(used, 1, sizeof used);
    return definitions(used);
}

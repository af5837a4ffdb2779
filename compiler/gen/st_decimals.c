/* st_decimals.c — the decimal parser a --weights-in-ram build's NAME_load
 * uses to read the input scaling (metadata nnc.scale, nnc.shift) it folds
 * into the first layer; printed only into models that have one. Compiled
 * and turned into build/st_decimals.inc as st_load.c is (see there). */
#include <stddef.h>

/* ---- text */

/* count comma-separated decimals (nnc writes %.9g) from [s, s + n) into v:
 * 17 significant digits at most, scaled by an exact power of ten (the
 * nearest float for exponents within 22). 0 unless exactly count, finite. */
static int st_decimals(const unsigned char *s, size_t n, float *v, int count) {
    const unsigned char *end = s + n;
    for (int i = 0; i < count; i++) {
        if (i && (s == end || *s++ != ','))
            return 0;
        const int neg = s < end && *s == '-';
        double m = 0.0, p = 1.0, ten = 10.0;
        int e = 0, digits = 0, sig = 0, point = 0, x = 0;
        s += neg;
        for (; s < end && ((*s >= '0' && *s <= '9') || (*s == '.' && !point)); s++) {
            if (*s == '.') {
                point = 1;
                continue;
            }
            digits++;
            if (sig < 17 && (m > 0.0 || *s != '0')) {
                m = m * 10.0 + (*s - '0');
                sig++;
                e -= point;
            } else {
                e += !point && m > 0.0;
                e -= point && m == 0.0;
            }
        }
        if (!digits)
            return 0;
        if (s < end && (*s == 'e' || *s == 'E')) {
            const int eneg = ++s < end && *s == '-';
            s += s < end && (*s == '-' || *s == '+');
            if (s == end || *s < '0' || *s > '9')
                return 0;
            for (; s < end && *s >= '0' && *s <= '9'; s++)
                x = x < 1000 ? x * 10 + (*s - '0') : x;
            e += eneg ? -x : x;
        }
        for (int k = e < 0 ? -e : e; k; k >>= 1, ten *= ten)
            if (k & 1)
                p *= ten;
        const double r = e < 0 ? m / p : m * p;
        if (!(r < 3.4028234e38))
            return 0;
        v[i] = (float)(neg ? -r : r);
    }
    return s == end;
}

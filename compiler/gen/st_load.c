/* st_load.c — the helpers of the .safetensors reader that a --weights-in-ram
 * build's NAME_load calls, as they are printed into generated code. Not part
 * of nnc: the build compiles this file alone with warnings as errors, as C99
 * and as C++ (generated code must be both), then turns everything after the
 * "---- text" line into the string lines build/st_load.inc, which
 * emit_infer.c prints (backslashes and quotes escaped, nothing else
 * changed). No name of the model appears here, so nothing is substituted:
 * NAME_load itself, with the model's prefix, tensor table and sizes, is
 * printed by emit_infer.c and calls these by their fixed names (st_*, kept
 * out of the generated file's other names by emit.c's reserved list). */
#include <stddef.h>
#include <stdint.h>

/* ---- text */
/* ---- reading a .safetensors image: 8 bytes of header length (little endian),
 * a JSON header {"name": {"dtype": "F32", "shape": [...], "data_offsets":
 * [begin, end]}, "__metadata__": {"key": "value"}}, then the data. */
typedef struct st_cursor {
    const unsigned char *p, *end;
} st_cursor;

static void st_ws(st_cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int st_eat(st_cursor *c, int ch) {
    st_ws(c);
    if (c->p == c->end || *c->p != ch)
        return 0;
    c->p++;
    return 1;
}

/* A JSON string without escapes (nnc writes none): its bytes [*s, *s + *n). */
static int st_string(st_cursor *c, const unsigned char **s, size_t *n) {
    if (!st_eat(c, '"'))
        return 0;
    *s = c->p;
    while (c->p < c->end && *c->p != '"') {
        if (*c->p == '\\' || *c->p < 0x20)
            return 0;
        c->p++;
    }
    if (c->p == c->end)
        return 0;
    *n = (size_t)(c->p++ - *s);
    return 1;
}

static int st_is(const unsigned char *s, size_t n, const char *lit) {
    size_t i = 0;
    while (i < n && lit[i] && s[i] == (unsigned char)lit[i])
        i++;
    return i == n && !lit[i];
}

/* [a, b, ...]: at most max whole numbers below 2^48 into v, how many in *n. */
static int st_uints(st_cursor *c, unsigned long long *v, int max, int *n) {
    *n = 0;
    if (!st_eat(c, '['))
        return 0;
    if (st_eat(c, ']'))
        return 1;
    do {
        unsigned long long x = 0;
        st_ws(c);
        if (*n == max || c->p == c->end || *c->p < '0' || *c->p > '9')
            return 0;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
            if ((x = x * 10 + (unsigned)(*c->p++ - '0')) >= 281474976710656ull)
                return 0;
        v[(*n)++] = x;
    } while (st_eat(c, ','));
    return st_eat(c, ']');
}

/* The little-endian float at p. */
static float st_f32(const unsigned char *p) {
    union { uint32_t u; float f; } v;
    v.u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    return v.f;
}

/* safetensors.c — reading and writing .safetensors files, and moving a
 * model's parameters and preprocessing statistics through them.
 *
 * The format: an 8-byte little-endian header length N, N bytes of JSON
 * {"name": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}, ...,
 *  "__metadata__": {"key": "value", ...}}, then the tensors' raw
 * little-endian bytes, offsets relative to the end of the header. Files come
 * from anywhere (PyTorch, other models, truncated copies), so the reader
 * checks everything the way the reference implementation does and says what
 * is wrong: "FILE: error: ...". */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nnc_internal.h"

/* ---- a strict JSON parser (RFC 8259), enough for the header.
 * Nodes live in one array and refer to each other by index; strings are
 * unescaped in place in the header buffer, which never makes them longer. */

enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };
enum { J_MAX_DEPTH = 64 };

typedef struct jnode {
    int type;
    int first, next;  /* first child, next sibling; -1 for none */
    int count;        /* children */
    const char *key;  /* the member's name, inside an object */
    const char *str;  /* J_STR, NUL-terminated */
    int uint;         /* J_NUM: 1 if a non-negative integer in u, 2 if one too big for u */
    uint64_t u;
} jnode;

typedef struct jparser {
    char *s;
    size_t n, i;
    jnode *node;
    int nn, cap;
    const char *err;
    size_t err_at;
} jparser;

static int jfail(jparser *p, const char *msg) {
    if (!p->err) {
        p->err = msg;
        p->err_at = p->i;
    }
    return -1;
}

/* A syntax error; running off the end is the likelier story when it happens there. */
static int jexpect(jparser *p, const char *msg) {
    return jfail(p, p->i >= p->n ? "unexpected end of header" : msg);
}

static void jws(jparser *p) {
    while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r'))
        p->i++;
}

static int jnew(jparser *p, int type) {
    if (p->nn == p->cap) {
        int cap = p->cap ? (p->cap > INT_MAX / 2 ? INT_MAX : p->cap * 2) : 64;
        jnode *nd = p->nn == INT_MAX ? NULL : realloc(p->node, (size_t)cap * sizeof *nd);
        if (!nd) return jfail(p, "out of memory");
        p->node = nd;
        p->cap = cap;
    }
    jnode *nd = &p->node[p->nn];
    memset(nd, 0, sizeof *nd);
    nd->type = type;
    nd->first = nd->next = -1;
    return p->nn++;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int hex4(const char *s, uint32_t *out) {
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) {
        char c = s[k];
        int d = is_digit(c) ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return -1;
        v = v * 16 + (uint32_t)d;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *w, uint32_t cp) {
    if (cp < 0x80) { w[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        w[0] = (char)(0xC0 | cp >> 6);
        w[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        w[0] = (char)(0xE0 | cp >> 12);
        w[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        w[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    w[0] = (char)(0xF0 | cp >> 18);
    w[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    w[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    w[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* p->s[p->i] is the opening quote. */
static int jstring(jparser *p, const char **out) {
    char *s = p->s;
    size_t start = p->i + 1, r = start, w = start;
    for (;;) {
        if (r >= p->n) { p->i = r; return jfail(p, "unterminated string"); }
        unsigned char c = (unsigned char)s[r];
        if (c == '"') break;
        if (c < 0x20) { p->i = r; return jfail(p, "control character in string"); }
        if (c != '\\') { s[w++] = s[r++]; continue; }
        if (r + 1 >= p->n) { p->i = r; return jfail(p, "unterminated string"); }
        p->i = r;
        c = (unsigned char)s[r + 1];
        r += 2;
        switch (c) {
        case '"': s[w++] = '"'; break;
        case '\\': s[w++] = '\\'; break;
        case '/': s[w++] = '/'; break;
        case 'b': s[w++] = '\b'; break;
        case 'f': s[w++] = '\f'; break;
        case 'n': s[w++] = '\n'; break;
        case 'r': s[w++] = '\r'; break;
        case 't': s[w++] = '\t'; break;
        case 'u': {
            uint32_t cp, lo;
            if (r + 4 > p->n || hex4(s + r, &cp)) return jfail(p, "bad \\u escape");
            r += 4;
            if (cp >= 0xD800 && cp < 0xDC00) {
                if (r + 6 > p->n || s[r] != '\\' || s[r + 1] != 'u' || hex4(s + r + 2, &lo) || lo < 0xDC00 ||
                    lo > 0xDFFF)
                    return jfail(p, "unpaired surrogate in \\u escape");
                r += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp < 0xE000) {
                return jfail(p, "unpaired surrogate in \\u escape");
            }
            if (cp == 0) return jfail(p, "\\u0000 in string");
            w += put_utf8(s + w, cp);
            break;
        }
        default: return jfail(p, "bad escape in string");
        }
    }
    s[w] = 0; /* w <= r: at most the closing quote is overwritten */
    p->i = r + 1;
    *out = s + start;
    return 0;
}

static int jnumber(jparser *p, jnode *nd) {
    const char *s = p->s;
    size_t i = p->i, n = p->n;
    int neg = 0, plain = 1, over = 0;
    uint64_t u = 0;
    if (i < n && s[i] == '-') neg = 1, i++;
    if (i >= n || !is_digit(s[i])) { p->i = i; return jfail(p, "bad number"); }
    if (s[i] == '0') {
        i++;
    } else {
        for (; i < n && is_digit(s[i]); i++) {
            unsigned dg = (unsigned)(s[i] - '0');
            if (u > (UINT64_MAX - dg) / 10) over = 1;
            else u = u * 10 + dg;
        }
    }
    if (i < n && s[i] == '.') {
        plain = 0;
        if (++i >= n || !is_digit(s[i])) { p->i = i; return jfail(p, "bad number"); }
        while (i < n && is_digit(s[i])) i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        plain = 0;
        if (++i < n && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= n || !is_digit(s[i])) { p->i = i; return jfail(p, "bad number"); }
        while (i < n && is_digit(s[i])) i++;
    }
    nd->uint = neg || !plain ? 0 : over ? 2 : 1;
    nd->u = u;
    p->i = i;
    return 0;
}

static int jliteral(jparser *p, const char *word, int type) {
    size_t k = strlen(word);
    if (p->n - p->i < k || memcmp(p->s + p->i, word, k) != 0) return jfail(p, "unexpected character");
    p->i += k;
    return jnew(p, type);
}

static int jvalue(jparser *p, int depth) {
    jws(p);
    if (p->i >= p->n) return jfail(p, "unexpected end of header");
    char c = p->s[p->i];
    if (c == '{' || c == '[') {
        int obj = c == '{', me, last = -1;
        char close = obj ? '}' : ']';
        if (depth >= J_MAX_DEPTH) return jfail(p, "nested too deeply");
        if ((me = jnew(p, obj ? J_OBJ : J_ARR)) < 0) return -1;
        p->i++;
        jws(p);
        if (p->i < p->n && p->s[p->i] == close) {
            p->i++;
            return me;
        }
        for (;;) {
            const char *key = NULL;
            if (obj) {
                jws(p);
                if (p->i >= p->n || p->s[p->i] != '"') return jexpect(p, "expected a string key");
                if (jstring(p, &key)) return -1;
                jws(p);
                if (p->i >= p->n || p->s[p->i] != ':') return jexpect(p, "expected ':'");
                p->i++;
            }
            int child = jvalue(p, depth + 1);
            if (child < 0) return -1;
            p->node[child].key = key;
            if (last < 0) p->node[me].first = child;
            else p->node[last].next = child;
            last = child;
            p->node[me].count++;
            jws(p);
            if (p->i < p->n && p->s[p->i] == ',') {
                p->i++;
                continue;
            }
            if (p->i < p->n && p->s[p->i] == close) {
                p->i++;
                return me;
            }
            return jexpect(p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
        }
    }
    if (c == '"') {
        const char *str;
        int me = jnew(p, J_STR);
        if (me < 0 || jstring(p, &str)) return -1;
        p->node[me].str = str;
        return me;
    }
    if (c == '-' || is_digit(c)) {
        int me = jnew(p, J_NUM);
        if (me < 0 || jnumber(p, &p->node[me])) return -1;
        return me;
    }
    if (c == 't') return jliteral(p, "true", J_BOOL);
    if (c == 'f') return jliteral(p, "false", J_BOOL);
    if (c == 'n') return jliteral(p, "null", J_NULL);
    return jfail(p, "unexpected character");
}

/* ---- reading */

static const struct { const char *name; int size; } dtypes[] = {
    {"BOOL", 1}, {"U8", 1}, {"I8", 1}, {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"I16", 2}, {"U16", 2}, {"F16", 2},
    {"BF16", 2}, {"I32", 4}, {"U32", 4}, {"F32", 4}, {"I64", 8}, {"U64", 8}, {"F64", 8},
};

static uint64_t le64(const unsigned char *b) {
    uint64_t v = 0;
    for (int k = 7; k >= 0; k--) v = v << 8 | b[k];
    return v;
}

static uint32_t le32(const unsigned char *b) {
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* A name quoted for a message. */
typedef struct { char s[80]; } qname;
static qname q(const char *name) {
    qname r;
    nnc_printable(r.s, sizeof r.s, name, strlen(name));
    return r;
}

static void shape_str(char *buf, size_t cap, int ndim, const uint64_t *shape) {
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%llu", i ? ", " : "", (unsigned long long)shape[i]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The first key that occurs twice in object obj, or NULL. */
static const char *dup_key(const jparser *p, const jnode *obj, const char **scratch) {
    int k = 0;
    for (int c = obj->first; c >= 0; c = p->node[c].next) scratch[k++] = p->node[c].key;
    qsort(scratch, (size_t)k, sizeof *scratch, cmp_str);
    for (int i = 1; i < k; i++)
        if (strcmp(scratch[i - 1], scratch[i]) == 0) return scratch[i];
    return NULL;
}

static int cmp_offset(const void *a, const void *b) {
    const nnc_st_tensor *x = *(const nnc_st_tensor *const *)a, *y = *(const nnc_st_tensor *const *)b;
    if (x->data != y->data) return x->data < y->data ? -1 : 1;
    return x->nbytes < y->nbytes ? -1 : x->nbytes > y->nbytes;
}

static int read_tensor(const char *file, const jparser *p, const jnode *obj, nnc_st_tensor *t,
                       const unsigned char *data, size_t data_len) {
    const jnode *dt = NULL, *sh = NULL, *off = NULL;
    const char *name = obj->key;
    int size = 0;
    if (obj->type != J_OBJ) return nnc_errorf("%s: error: tensor '%s': expected an object", file, q(name).s);
    for (int c = obj->first; c >= 0; c = p->node[c].next) {
        const jnode *m = &p->node[c], **slot = strcmp(m->key, "dtype") == 0          ? &dt
                                              : strcmp(m->key, "shape") == 0        ? &sh
                                              : strcmp(m->key, "data_offsets") == 0 ? &off
                                                                                    : NULL;
        if (!slot) return nnc_errorf("%s: error: tensor '%s': unknown key '%s'", file, q(name).s, q(m->key).s);
        if (*slot) return nnc_errorf("%s: error: tensor '%s': key '%s' appears twice", file, q(name).s, m->key);
        *slot = m;
    }
    if (!dt || !sh || !off)
        return nnc_errorf("%s: error: tensor '%s': missing \"%s\"", file, q(name).s,
                          !dt ? "dtype" : !sh ? "shape" : "data_offsets");
    if (dt->type == J_STR)
        for (size_t k = 0; k < sizeof dtypes / sizeof *dtypes; k++)
            if (strcmp(dt->str, dtypes[k].name) == 0) {
                t->dtype = dtypes[k].name;
                size = dtypes[k].size;
            }
    if (dt->type != J_STR) return nnc_errorf("%s: error: tensor '%s': dtype is not a string", file, q(name).s);
    if (!size) return nnc_errorf("%s: error: tensor '%s': unknown dtype '%s'", file, q(name).s, q(dt->str).s);
    if (sh->type != J_ARR)
        return nnc_errorf("%s: error: tensor '%s': shape is not a list", file, q(name).s);
    if (sh->count > NNC_ST_MAX_DIMS)
        return nnc_errorf("%s: error: tensor '%s': shape has %d dimensions, at most %d are supported", file,
                          q(name).s, sh->count, NNC_ST_MAX_DIMS);
    t->name = name;
    t->ndim = 0;
    t->numel = 1;
    int too_big = 0;
    for (int c = sh->first; c >= 0; c = p->node[c].next) {
        const jnode *dim = &p->node[c];
        if (dim->type != J_NUM || dim->uint == 0)
            return nnc_errorf("%s: error: tensor '%s': shape is not a list of non-negative integers", file,
                              q(name).s);
        if (dim->uint == 2) too_big = 1;
        t->shape[t->ndim++] = dim->u;
    }
    for (int k = 0; k < t->ndim && !too_big; k++) {
        if (t->shape[k] && t->numel > UINT64_MAX / t->shape[k]) too_big = 1;
        else t->numel *= t->shape[k];
    }
    uint64_t b, e, need = 0;
    if (off->type != J_ARR || off->count != 2 || p->node[off->first].type != J_NUM ||
        p->node[off->first].uint == 0 || p->node[p->node[off->first].next].type != J_NUM ||
        p->node[p->node[off->first].next].uint == 0)
        return nnc_errorf("%s: error: tensor '%s': data_offsets is not a pair of non-negative integers", file,
                          q(name).s);
    b = p->node[off->first].u;
    e = p->node[p->node[off->first].next].u;
    if (p->node[off->first].uint == 2 || p->node[p->node[off->first].next].uint == 2) b = e = UINT64_MAX;
    if (too_big || t->numel > UINT64_MAX / (uint64_t)size)
        return nnc_errorf("%s: error: tensor '%s': shape is too large", file, q(name).s);
    need = t->numel * (uint64_t)size;
    if (b > e)
        return nnc_errorf("%s: error: tensor '%s': data_offsets [%llu, %llu] end before they begin", file,
                          q(name).s, (unsigned long long)b, (unsigned long long)e);
    if (e > data_len)
        return nnc_errorf("%s: error: tensor '%s': data_offsets [%llu, %llu] run past the end of the data "
                          "(%zu bytes; is the file truncated?)",
                          file, q(name).s, (unsigned long long)b, (unsigned long long)e, data_len);
    if (e - b != need) {
        char shs[160];
        shape_str(shs, sizeof shs, t->ndim, t->shape);
        return nnc_errorf("%s: error: tensor '%s': data_offsets [%llu, %llu] hold %llu bytes, but shape %s "
                          "of %s needs %llu",
                          file, q(name).s, (unsigned long long)b, (unsigned long long)e,
                          (unsigned long long)(e - b), shs, t->dtype, (unsigned long long)need);
    }
    t->data = data + b;
    t->nbytes = (size_t)need;
    return 0;
}

static int st_parse(nnc_st_file *f) {
    const char *file = f->path;
    jparser p;
    const char **scratch = NULL;
    const nnc_st_tensor **order = NULL;
    int rc = -1;

    memset(&p, 0, sizeof p);
    if (f->size < 8)
        return nnc_errorf("%s: error: not a safetensors file: %zu bytes, too short for the header length", file,
                          f->size);
    uint64_t hlen = le64(f->buf);
    if (hlen > f->size - 8)
        return nnc_errorf("%s: error: not a safetensors file (or truncated): header length %llu exceeds the "
                          "%zu bytes that follow it",
                          file, (unsigned long long)hlen, f->size - 8);
    p.s = (char *)f->buf + 8;
    p.n = (size_t)hlen;
    const unsigned char *data = f->buf + 8 + hlen;
    size_t data_len = f->size - 8 - (size_t)hlen;

    int root = jvalue(&p, 0);
    if (root >= 0) {
        jws(&p);
        if (p.i != p.n) jfail(&p, "text after the JSON object");
    }
    if (p.err) {
        nnc_errorf("%s: error: invalid header JSON at byte %zu: %s", file, p.err_at + 8, p.err);
        goto out;
    }
    const jnode *top = &p.node[root];
    if (top->type != J_OBJ) {
        nnc_errorf("%s: error: header is not a JSON object", file);
        goto out;
    }
    scratch = nnc_alloc((size_t)top->count + 1, sizeof *scratch);
    f->t = nnc_alloc((size_t)top->count + 1, sizeof *f->t);
    if (!scratch || !f->t) goto out;
    const char *dup = dup_key(&p, top, scratch);
    if (dup) {
        nnc_errorf("%s: error: tensor '%s' appears twice in the header", file, q(dup).s);
        goto out;
    }
    for (int c = top->first; c >= 0; c = p.node[c].next) {
        const jnode *m = &p.node[c];
        if (strcmp(m->key, "__metadata__") != 0) {
            if (read_tensor(file, &p, m, &f->t[f->n], data, data_len)) goto out;
            f->n++;
            continue;
        }
        if (m->type != J_OBJ) {
            nnc_errorf("%s: error: __metadata__ is not an object", file);
            goto out;
        }
        const char **ks = nnc_alloc((size_t)m->count + 1, sizeof *ks);
        f->meta = nnc_alloc((size_t)m->count + 1, sizeof *f->meta);
        if (!ks || !f->meta) {
            free(ks);
            goto out;
        }
        dup = dup_key(&p, m, ks);
        free(ks);
        if (dup) {
            nnc_errorf("%s: error: __metadata__ key '%s' appears twice", file, q(dup).s);
            goto out;
        }
        for (int k = m->first; k >= 0; k = p.node[k].next) {
            if (p.node[k].type != J_STR) {
                nnc_errorf("%s: error: __metadata__ value of '%s' is not a string", file, q(p.node[k].key).s);
                goto out;
            }
            f->meta[f->n_meta].key = p.node[k].key;
            f->meta[f->n_meta++].value = p.node[k].str;
        }
    }
    /* Like the reference reader: the tensors tile the data exactly. */
    order = nnc_alloc((size_t)f->n + 1, sizeof *order);
    if (!order) goto out;
    for (int i = 0; i < f->n; i++) order[i] = &f->t[i];
    qsort(order, (size_t)f->n, sizeof *order, cmp_offset);
    size_t pos = 0;
    for (int i = 0; i < f->n; i++) {
        const nnc_st_tensor *t = order[i];
        size_t b = (size_t)(t->data - data);
        if (b < pos) {
            nnc_errorf("%s: error: tensor '%s' overlaps tensor '%s' in the data", file, q(t->name).s,
                       q(order[i - 1]->name).s);
            goto out;
        }
        if (b > pos) {
            nnc_errorf("%s: error: %zu unused bytes in the data before tensor '%s'", file, b - pos, q(t->name).s);
            goto out;
        }
        pos = b + t->nbytes;
    }
    if (pos != data_len) {
        nnc_errorf("%s: error: %zu unused bytes at the end of the data", file, data_len - pos);
        goto out;
    }
    rc = 0;
out:
    free(p.node);
    free(scratch);
    free(order);
    return rc;
}

static char *copy_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *c = malloc(n);
    if (c) memcpy(c, s, n);
    return c;
}

int nnc_st_read_mem(nnc_st_file *f, const char *name, const void *data, size_t size) {
    memset(f, 0, sizeof *f);
    f->path = copy_str(name);
    f->buf = malloc(size ? size : 1);
    if (!f->path || !f->buf) {
        nnc_st_free(f);
        return nnc_errorf("%s: error: out of memory", name);
    }
    memcpy(f->buf, data, size);
    f->size = size;
    if (st_parse(f)) {
        nnc_st_free(f);
        return -1;
    }
    return 0;
}

int nnc_st_read(nnc_st_file *f, const char *path) {
    struct stat sb;
    size_t cap, n = 0;
    unsigned char *buf;
    FILE *fp = fopen(path, "rb");

    memset(f, 0, sizeof *f);
    if (!fp) return nnc_errorf("%s: error: cannot open: %s", path, strerror(errno));
    /* the size is a hint only: read to the end, whatever the file is */
    cap = fstat(fileno(fp), &sb) == 0 && sb.st_size > 0 && (unsigned long long)sb.st_size < SIZE_MAX / 2
              ? (size_t)sb.st_size + 1
              : 65536;
    buf = malloc(cap);
    for (;;) {
        if (!buf) {
            fclose(fp);
            return nnc_errorf("%s: error: out of memory reading the file", path);
        }
        n += fread(buf + n, 1, cap - n, fp);
        if (n < cap) break;
        unsigned char *nb = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
        if (!nb) free(buf);
        buf = nb;
        cap *= 2;
    }
    if (ferror(fp)) {
        int e = errno;
        free(buf);
        fclose(fp);
        return nnc_errorf("%s: error: cannot read: %s", path, strerror(e ? e : EIO));
    }
    fclose(fp);
    f->path = copy_str(path);
    if (!f->path) {
        free(buf);
        return nnc_errorf("%s: error: out of memory", path);
    }
    f->buf = buf;
    f->size = n;
    if (st_parse(f)) {
        nnc_st_free(f);
        return -1;
    }
    return 0;
}

void nnc_st_free(nnc_st_file *f) {
    free(f->path);
    free(f->buf);
    free(f->t);
    free(f->meta);
    memset(f, 0, sizeof *f);
}

const nnc_st_tensor *nnc_st_find(const nnc_st_file *f, const char *name) {
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->t[i].name, name) == 0) return &f->t[i];
    return NULL;
}

const char *nnc_st_meta(const nnc_st_file *f, const char *key) {
    for (int i = 0; i < f->n_meta; i++)
        if (strcmp(f->meta[i].key, key) == 0) return f->meta[i].value;
    return NULL;
}

static float from_f16(uint32_t h) {
    uint32_t exp = h >> 10 & 0x1F, man = h & 0x3FF;
    float v = exp == 0 ? ldexpf((float)man, -24)
              : exp == 31 ? (man ? NAN : INFINITY)
                          : ldexpf((float)(man | 0x400), (int)exp - 25);
    return h & 0x8000 ? -v : v;
}

static float from_bits(uint32_t u) {
    float v;
    memcpy(&v, &u, sizeof v);
    return v;
}

int nnc_st_to_f32(const nnc_st_file *f, const nnc_st_tensor *t, float *dst) {
    const unsigned char *s = t->data;
    size_t n = (size_t)t->numel;
    if (strcmp(t->dtype, "F32") == 0) {
        for (size_t i = 0; i < n; i++) dst[i] = from_bits(le32(s + 4 * i));
    } else if (strcmp(t->dtype, "BF16") == 0) {
        for (size_t i = 0; i < n; i++) dst[i] = from_bits((uint32_t)(s[2 * i] | s[2 * i + 1] << 8) << 16);
    } else if (strcmp(t->dtype, "F16") == 0) {
        for (size_t i = 0; i < n; i++) dst[i] = from_f16((uint32_t)(s[2 * i] | s[2 * i + 1] << 8));
    } else if (strcmp(t->dtype, "F64") == 0) {
        for (size_t i = 0; i < n; i++) {
            uint64_t u = le64(s + 8 * i);
            double v;
            memcpy(&v, &u, sizeof v);
            if (isfinite(v) && fabs(v) > FLT_MAX)
                return nnc_errorf("%s: error: tensor '%s': value %g at index %zu is out of float range", f->path,
                                  q(t->name).s, v, i);
            dst[i] = (float)v;
        }
    } else if (strcmp(t->dtype, "I64") == 0) {
        /* counters such as batch norm's num_batches_tracked, which PyTorch saves as int64 */
        for (size_t i = 0; i < n; i++) {
            int64_t v = (int64_t)le64(s + 8 * i);
            if (v > 16777216 || v < -16777216)
                return nnc_errorf("%s: error: tensor '%s': integer %lld at index %zu is not exact as a float",
                                  f->path, q(t->name).s, (long long)v, i);
            dst[i] = (float)v;
        }
    } else {
        return nnc_errorf("%s: error: tensor '%s': dtype %s cannot be loaded (F32, F64, F16, BF16 and I64 can)",
                          f->path, q(t->name).s, t->dtype);
    }
    return 0;
}

/* ---- writing */

typedef struct sbuf { char *s; size_t len, cap; int oom; } sbuf;

static void sb_add(sbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1 && cap < SIZE_MAX / 2) cap *= 2;
        char *ns = cap < b->len + n + 1 ? NULL : realloc(b->s, cap);
        if (!ns) { b->oom = 1; return; }
        b->s = ns;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}

static void sb_puts(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

static void sb_json(sbuf *b, const char *s) {
    sb_add(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            sb_add(b, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            sb_add(b, esc, 6);
        } else {
            sb_add(b, s, 1);
        }
    }
    sb_add(b, "\"", 1);
}

/* Tensors written as I64, the values rounded to integers: batch norm's
 * num_batches_tracked, which PyTorch keeps as int64, so a file nnc writes
 * loads into a PyTorch module with strict dtypes and round-trips byte for byte. */
static int is_int64(const char *name) {
    static const char suffix[] = ".num_batches_tracked";
    size_t n = strlen(name), k = sizeof suffix - 1;
    return n >= k && strcmp(name + n - k, suffix) == 0;
}

static int st_write(const char *path, const nnc_st_entry *t, int n, const nnc_st_kv *meta, int n_meta,
                    int keep_existing) {
    sbuf h = {0};
    char num[64];
    uint64_t off = 0;
    int rc = -1;

    sb_puts(&h, "{");
    if (n_meta > 0) {
        sb_puts(&h, "\"__metadata__\":{");
        for (int i = 0; i < n_meta; i++) {
            if (i) sb_puts(&h, ",");
            sb_json(&h, meta[i].key);
            sb_puts(&h, ":");
            sb_json(&h, meta[i].value);
        }
        sb_puts(&h, "}");
    }
    for (int i = 0; i < n; i++) {
        uint64_t numel = 1, bytes;
        if (t[i].ndim < 0 || t[i].ndim > NNC_ST_MAX_DIMS) {
            free(h.s);
            return nnc_errorf("%s: error: tensor '%s' has %d dimensions", path, q(t[i].name).s, t[i].ndim);
        }
        for (int k = 0; k < t[i].ndim; k++) {
            if (t[i].shape[k] && numel > UINT64_MAX / 4 / t[i].shape[k]) numel = UINT64_MAX;
            else numel *= t[i].shape[k];
        }
        int width = is_int64(t[i].name) ? 8 : 4;
        if (numel > UINT64_MAX / 8 || (bytes = numel * width) > UINT64_MAX - off) {
            free(h.s);
            return nnc_errorf("%s: error: tensor '%s' is too large", path, q(t[i].name).s);
        }
        if (i || n_meta > 0) sb_puts(&h, ",");
        sb_json(&h, t[i].name);
        sb_puts(&h, width == 8 ? ":{\"dtype\":\"I64\",\"shape\":[" : ":{\"dtype\":\"F32\",\"shape\":[");
        for (int k = 0; k < t[i].ndim; k++) {
            snprintf(num, sizeof num, "%s%llu", k ? "," : "", (unsigned long long)t[i].shape[k]);
            sb_puts(&h, num);
        }
        snprintf(num, sizeof num, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                 (unsigned long long)(off + bytes));
        sb_puts(&h, num);
        off += bytes;
    }
    sb_puts(&h, "}");
    while (h.len % 8) sb_puts(&h, " "); /* keeps the data 8-byte aligned */
    if (h.oom) {
        free(h.s);
        return nnc_errorf("%s: error: out of memory", path);
    }

    nnc_outfile o;
    unsigned char chunk[4096];
    if (nnc_out_open(&o, path)) {
        free(h.s);
        return -1;
    }
    o.keep_existing = keep_existing;
    for (int k = 0; k < 8; k++) chunk[k] = (unsigned char)((uint64_t)h.len >> (8 * k));
    int ok = fwrite(chunk, 1, 8, o.f) == 8 && fwrite(h.s, 1, h.len, o.f) == h.len;
    for (int i = 0; i < n && ok; i++) {
        size_t numel = 1;
        for (int k = 0; k < t[i].ndim; k++) numel *= (size_t)t[i].shape[k];
        if (is_int64(t[i].name)) {
            for (size_t j = 0; j < numel && ok; j++) {
                int64_t v = (int64_t)llround(t[i].data[j]);
                for (int k = 0; k < 8; k++) chunk[k] = (unsigned char)((uint64_t)v >> (8 * k));
                ok = fwrite(chunk, 1, 8, o.f) == 8;
            }
            continue;
        }
        for (size_t j = 0; j < numel && ok;) {
            size_t m = 0;
            for (; m < sizeof chunk / 4 && j < numel; m++, j++) {
                uint32_t u;
                memcpy(&u, &t[i].data[j], 4);
                for (int k = 0; k < 4; k++) chunk[4 * m + (size_t)k] = (unsigned char)(u >> (8 * k));
            }
            ok = fwrite(chunk, 4, m, o.f) == m;
        }
    }
    if (!ok) {
        int e = errno;
        nnc_out_abort(&o);
        nnc_errorf("%s: error: cannot write: %s", path, strerror(e ? e : EIO));
    } else {
        rc = nnc_out_commit(&o);
    }
    free(h.s);
    return rc;
}

int nnc_st_write(const char *path, const nnc_st_entry *t, int n, const nnc_st_kv *meta, int n_meta) {
    return st_write(path, t, n, meta, n_meta, 0);
}

int nnc_st_write_new(const char *path, const nnc_st_entry *t, int n, const nnc_st_kv *meta, int n_meta) {
    return st_write(path, t, n, meta, n_meta, 1);
}

/* ---- model weights */

int nnc_check_finite(const char *path, const char *tensor, const float *data, size_t n, const char *what) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(data[i]))
            return nnc_errorf("%s: error: %s: tensor '%s' holds %g at index %zu; only finite weights are "
                              "accepted (did training diverge? a lower learning rate may help)",
                              path, what, q(tensor).s, (double)data[i], i);
    return 0;
}

/* Error lines after the first are appended, up to a limit. */
static void problem(int *count, const char *line) {
    if (*count == 0) nnc_errorf("%s", line);
    else if (*count < 10) nnc_error_addf("%s", line);
    ++*count;
}

static int check_tensor(const nnc_model_desc *d, const nnc_tensor *t, uint64_t *shape, size_t *numel) {
    size_t n = 1;
    if (t->ndim < 0 || t->ndim > 4)
        return nnc_errorf("error: model '%s': tensor '%s' has %d dimensions", d->name, t->name, t->ndim);
    for (int k = 0; k < t->ndim; k++) {
        if (t->shape[k] < 0 || !nnc_mul(n, (size_t)t->shape[k], &n))
            return nnc_errorf("error: model '%s': tensor '%s' has a bad shape", d->name, t->name);
        shape[k] = (uint64_t)t->shape[k];
    }
    if (t->offset > d->n_params || n > d->n_params - t->offset)
        return nnc_errorf("error: model '%s': tensor '%s' lies outside the %zu parameters", d->name, t->name,
                          d->n_params);
    *numel = n;
    return 0;
}

static int list_to_str(char **out, const float *v, int n) {
    sbuf b = {0};
    char num[32];
    sb_puts(&b, "");
    for (int i = 0; i < n; i++) {
        snprintf(num, sizeof num, "%s%.9g", i ? "," : "", (double)v[i]);
        sb_puts(&b, num);
    }
    if (b.oom) {
        free(b.s);
        return nnc_errorf("error: out of memory");
    }
    *out = b.s;
    return 0;
}

int nnc_weights_save(const char *path, const nnc_model_desc *d, void *m, const nnc_prep *p) {
    nnc_st_entry *e = nnc_alloc((size_t)d->n_tensors + 1, sizeof *e);
    float *params = d->params(m);
    char *shift = NULL, *scale = NULL;
    nnc_st_kv meta[5] = {{"format", "pt"}, {"nnc.model", d->name}, {"nnc.preprocess", "none"}};
    int n_meta = 3, rc = -1;
    if (!e) return -1;
    for (int i = 0; i < d->n_tensors; i++) {
        size_t numel;
        memset(&e[i], 0, sizeof e[i]);
        if (check_tensor(d, &d->tensors[i], e[i].shape, &numel)) goto out;
        e[i].name = d->tensors[i].name;
        e[i].ndim = d->tensors[i].ndim;
        e[i].data = params + d->tensors[i].offset;
        /* a diverged run keeps the file it had rather than NaN in it */
        if (nnc_check_finite(path, e[i].name, e[i].data, numel, "not saved, the file is left as it was")) goto out;
    }
    if (p && p->kind != NNC_PRE_NONE) {
        meta[2].value = nnc_prep_name(p->kind);
        if (list_to_str(&shift, p->shift, p->n) || list_to_str(&scale, p->scale, p->n)) goto out;
        meta[3].key = "nnc.shift";
        meta[3].value = shift;
        meta[4].key = "nnc.scale";
        meta[4].value = scale;
        n_meta = 5;
    }
    rc = nnc_st_write(path, e, d->n_tensors, meta, n_meta);
out:
    free(e);
    free(shift);
    free(scale);
    return rc;
}

/* "1.5,-2,3e-3" into exactly n floats. */
static int parse_list(const nnc_st_file *f, const char *key, float *v, int n) {
    const char *s = nnc_st_meta(f, key), *c;
    int count = 0;
    if (!s) return nnc_errorf("%s: error: metadata %s is missing", f->path, key);
    for (c = s; *c; c++) count += *c == ',';
    count += *s != 0;
    if (count != n)
        return nnc_errorf("%s: error: metadata %s has %d value%s, the model has %d input%s", f->path, key, count,
                          count == 1 ? "" : "s", n, n == 1 ? "" : "s");
    for (int i = 0; i < n; i++) {
        char *end;
        errno = 0;
        double x = strtod(s, &end);
        while (*end == ' ') end++;
        if (end == s || (*end != ',' && *end != 0) || !isfinite(x) || fabs(x) > FLT_MAX)
            return nnc_errorf("%s: error: metadata %s: value %d is not a finite number", f->path, key, i + 1);
        v[i] = (float)x;
        s = *end ? end + 1 : end;
    }
    return 0;
}

static int load_prep(const nnc_st_file *f, const nnc_model_desc *d, nnc_prep *p) {
    const char *kind = nnc_st_meta(f, "nnc.preprocess");
    memset(p, 0, sizeof *p);
    p->n = d->n_in;
    if (!kind) {
        if (d->preprocess != NNC_PRE_NONE)
            return nnc_errorf("%s: error: no preprocessing statistics in the metadata (nnc.preprocess), but "
                              "model '%s' uses %s",
                              f->path, d->name, nnc_prep_name(d->preprocess));
        return 0;
    }
    if (strcmp(kind, "none") == 0) return 0;
    if (strcmp(kind, "standardize") == 0) p->kind = NNC_PRE_STANDARDIZE;
    else if (strcmp(kind, "min_max") == 0) p->kind = NNC_PRE_MINMAX;
    else return nnc_errorf("%s: error: metadata nnc.preprocess: unknown method '%s'", f->path, q(kind).s);
    p->shift = nnc_alloc(2 * (size_t)d->n_in, sizeof(float));
    if (!p->shift) return -1;
    p->scale = p->shift + d->n_in;
    if (parse_list(f, "nnc.shift", p->shift, d->n_in) || parse_list(f, "nnc.scale", p->scale, d->n_in)) {
        nnc_prep_free(p);
        return -1;
    }
    return 0;
}

int nnc_weights_load(const char *path, const nnc_model_desc *d, void *m, nnc_prep *p) {
    nnc_st_file f;
    float *params = d->params(m), *tmp = NULL;
    nnc_prep prep = {0};
    int bad = 0, rc = -1;
    char want[160], got[160], line[512];

    if (nnc_st_read(&f, path)) return -1;
    /* weights nnc saved name their model; another model's are refused even
     * when the shapes happen to agree (PyTorch's files name none) */
    const char *owner = nnc_st_meta(&f, "nnc.model");
    if (owner && strcmp(owner, d->name)) {
        nnc_errorf("%s: error: these are the weights of model '%s' (metadata nnc.model), not of model '%s'", path,
                   q(owner).s, d->name);
        goto out;
    }
    for (int i = 0; i < d->n_tensors; i++) {
        const nnc_tensor *mt = &d->tensors[i];
        const nnc_st_tensor *ft = nnc_st_find(&f, mt->name);
        uint64_t shape[4];
        size_t numel;
        if (check_tensor(d, mt, shape, &numel)) goto out;
        shape_str(want, sizeof want, mt->ndim, shape);
        if (!ft) {
            snprintf(line, sizeof line, "%s: error: missing tensor '%s' (shape %s)", path, q(mt->name).s, want);
            problem(&bad, line);
            continue;
        }
        int same = ft->ndim == mt->ndim;
        for (int k = 0; same && k < mt->ndim; k++) same = ft->shape[k] == shape[k];
        if (!same) {
            shape_str(got, sizeof got, ft->ndim, ft->shape);
            snprintf(line, sizeof line, "%s: error: tensor '%s' has shape %s, expected %s", path, q(mt->name).s,
                     got, want);
            problem(&bad, line);
        } else if (strcmp(ft->dtype, "F32") && strcmp(ft->dtype, "F64") && strcmp(ft->dtype, "F16") &&
                   strcmp(ft->dtype, "BF16") && strcmp(ft->dtype, "I64")) {
            snprintf(line, sizeof line, "%s: error: tensor '%s' has dtype %s; F32, F64, F16, BF16 and I64 can be loaded",
                     path, q(mt->name).s, ft->dtype);
            problem(&bad, line);
        }
    }
    for (int j = 0; j < f.n; j++) {
        int known = 0;
        for (int i = 0; i < d->n_tensors && !known; i++) known = strcmp(f.t[j].name, d->tensors[i].name) == 0;
        if (!known) {
            snprintf(line, sizeof line, "%s: error: unexpected tensor '%s': model '%s' has no such parameter", path,
                     q(f.t[j].name).s, d->name);
            problem(&bad, line);
        }
    }
    if (bad > 10) nnc_error_addf("%s: error: ... and %d more problems", path, bad - 10);
    if (bad) goto out;

    /* load into a copy so that a failure leaves the model as it was */
    if (!(tmp = nnc_alloc(d->n_params ? d->n_params : 1, sizeof(float)))) goto out;
    memcpy(tmp, params, d->n_params * sizeof(float));
    for (int i = 0; i < d->n_tensors; i++) {
        const nnc_st_tensor *ft = nnc_st_find(&f, d->tensors[i].name);
        if (nnc_st_to_f32(&f, ft, tmp + d->tensors[i].offset) ||
            nnc_check_finite(path, ft->name, tmp + d->tensors[i].offset, (size_t)ft->numel, "cannot load"))
            goto out;
    }
    if (p && load_prep(&f, d, &prep)) goto out;
    memcpy(params, tmp, d->n_params * sizeof(float));
    if (p) {
        nnc_prep_free(p);
        *p = prep;
    }
    rc = 0;
out:
    free(tmp);
    nnc_st_free(&f);
    return rc;
}

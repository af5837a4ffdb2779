/* npy.c — NumPy .npy files (gzipped or not, via zlib) as training data.
 *
 * The format: the magic "\x93NUMPY", a major and a minor version byte, the
 * header's length (2 bytes little-endian in version 1, 4 in versions 2 and
 * 3), then the header, a Python dict literal such as
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (100, 64), }
 * padded with spaces to a multiple of 64 bytes, then the elements. nnc
 * reads little-endian (or one-byte) floats, signed and unsigned integers
 * and bools in C order; anything else is an error that names the file and
 * the byte offset, as for IDX files.
 *
 * Samples are the first axis. With a labels file, the inputs are the rest
 * of each sample (any shape with n_in values) and the labels file holds
 * the targets: (n,) class indices, 0/1 or values, or (n, n_target). Without
 * one, each row holds the inputs and then the targets, as a CSV row does. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "nnc_internal.h"

enum { MAX_DIMS = 8 };

typedef struct npy_file {
    char kind;              /* 'f' float, 'i' signed, 'u' unsigned, 'b' bool */
    int size;               /* bytes per element */
    int ndim;
    long long dim[MAX_DIMS];
    long long numel;
    long data_offset;       /* where the elements start */
    unsigned char *data;    /* numel * size bytes, little-endian */
} npy_file;

int nnc_is_npy(const char *path) {
    unsigned char m[6];
    gzFile z = gzopen(path, "rb");
    if (!z) return -1;
    int k = gzread(z, m, 6);
    gzclose(z);
    return k == 6 && !memcmp(m, "\x93NUMPY", 6);
}

/* The value of 'key' in the header dict: a pointer just past "'key':" and
 * its blanks, or NULL. */
static const char *dict_value(const char *h, const char *key) {
    char q[40];
    const char *p;
    for (int quote = 0; quote < 2; quote++) {
        snprintf(q, sizeof q, quote ? "\"%s\"" : "'%s'", key);
        if ((p = strstr(h, q))) {
            p += strlen(q);
            while (*p == ' ') p++;
            if (*p != ':') return NULL;
            p++;
            while (*p == ' ') p++;
            return p;
        }
    }
    return NULL;
}

/* The header must be exactly a dict literal of 'descr' (a string),
 * 'fortran_order' (True or False) and 'shape' (a tuple of whole numbers),
 * each once, nothing else, then only the padding: spaces and the final
 * newline. 0 if so; else -1 with *at the offset into h of the first byte
 * that is not. Checked before the values are read, so no key can hide in
 * trailing junk or inside another value. */
static int dict_strict(const char *h, size_t n, size_t *at) {
    static const char *const keys[] = {"descr", "fortran_order", "shape"};
    int seen[3] = {0, 0, 0};
    size_t i = 0;
#define WS() while (i < n && h[i] == ' ') i++
#define FAIL() do { *at = i; return -1; } while (0)
    WS();
    if (i == n || h[i++] != '{') FAIL();
    for (;;) {
        WS();
        if (i < n && h[i] == '}') break;
        if (i == n || (h[i] != '\'' && h[i] != '"')) FAIL();
        char qc = h[i++];
        size_t k0 = i;
        while (i < n && h[i] != qc && h[i] >= 0x20) i++;
        if (i == n || h[i] != qc) FAIL();
        int key = -1;
        for (int k = 0; k < 3; k++)
            if (i - k0 == strlen(keys[k]) && !memcmp(h + k0, keys[k], i - k0)) key = k;
        if (key < 0 || seen[key]++) { i = k0; FAIL(); }
        i++;
        WS();
        if (i == n || h[i++] != ':') FAIL();
        WS();
        if (key == 0) {             /* a string without quotes or control bytes inside */
            if (i == n || (h[i] != '\'' && h[i] != '"')) FAIL();
            qc = h[i++];
            while (i < n && h[i] != qc && h[i] != '\'' && h[i] != '"' && h[i] >= 0x20) i++;
            if (i == n || h[i++] != qc) FAIL();
        } else if (key == 1) {
            if (n - i >= 4 && !memcmp(h + i, "True", 4)) i += 4;
            else if (n - i >= 5 && !memcmp(h + i, "False", 5)) i += 5;
            else FAIL();
        } else {                    /* digits, commas, blanks; the numbers are checked later */
            if (i == n || h[i++] != '(') FAIL();
            while (i < n && ((h[i] >= '0' && h[i] <= '9') || h[i] == ',' || h[i] == ' ' || h[i] == 'L')) i++;
            if (i == n || h[i++] != ')') FAIL();
        }
        WS();
        if (i < n && h[i] == ',') i++;
        else if (i < n && h[i] == '}') break;
        else FAIL();
    }
    i++;
    for (int k = 0; k < 3; k++)
        if (!seen[k]) FAIL();
    while (i < n && (h[i] == ' ' || h[i] == '\n')) i++;
    if (i != n) FAIL();
    return 0;
#undef WS
#undef FAIL
}

static int npy_read(npy_file *f, const char *path) {
    unsigned char pre[12];
    char *header = NULL, descr[32];
    const char *v;
    unsigned long hlen;
    int rc = -1, hsize;
    memset(f, 0, sizeof *f);
    gzFile z = gzopen(path, "rb");
    if (!z) return nnc_errorf("%s: error: cannot open: %s", path, strerror(errno));
    if (gzread(z, pre, 8) != 8 || memcmp(pre, "\x93NUMPY", 6)) {
        nnc_errorf("%s: error: offset 0: not a NumPy .npy file (no \\x93NUMPY magic)", path);
        goto out;
    }
    if (pre[6] < 1 || pre[6] > 3) {
        nnc_errorf("%s: error: offset 6: .npy format version %d.%d; versions 1, 2 and 3 are read", path, pre[6],
                   pre[7]);
        goto out;
    }
    hsize = pre[6] == 1 ? 2 : 4;
    if (gzread(z, pre + 8, (unsigned)hsize) != hsize) {
        nnc_errorf("%s: error: offset 8: file ends inside the .npy header length", path);
        goto out;
    }
    hlen = pre[8] | (unsigned long)pre[9] << 8;
    if (hsize == 4) hlen |= (unsigned long)pre[10] << 16 | (unsigned long)pre[11] << 24;
    if (hlen > 1 << 20) {
        nnc_errorf("%s: error: offset 8: a .npy header of %lu bytes is not believable", path, hlen);
        goto out;
    }
    f->data_offset = 8 + hsize + (long)hlen;
    if (!(header = nnc_alloc(hlen + 1, 1))) goto out;
    if (gzread(z, header, (unsigned)hlen) != (int)hlen) {
        nnc_errorf("%s: error: offset %d: file ends inside the %lu-byte .npy header", path, 8 + hsize, hlen);
        goto out;
    }
    header[hlen] = 0;
    size_t bad;
    if (dict_strict(header, hlen, &bad)) {
        char shown[48];
        nnc_printable(shown, sizeof shown, header + bad, hlen - bad < 40 ? hlen - bad : 40);
        nnc_errorf("%s: error: offset %lu: the .npy header is not a dict of 'descr', 'fortran_order' and 'shape' "
                   "followed by spaces (at '%s')", path, (unsigned long)(8 + hsize) + (unsigned long)bad, shown);
        goto out;
    }
    /* descr: a byte order, a kind and a size, e.g. '<f4' or '|u1' */
    if (!(v = dict_value(header, "descr")) || (*v != '\'' && *v != '"') ||
        sscanf(v + 1, "%31[^'\"]", descr) != 1) {
        nnc_errorf("%s: error: offset %d: the .npy header has no 'descr' string", path, 8 + hsize);
        goto out;
    }
    size_t dl = strlen(descr);
    int ok_order = descr[0] == '<' || descr[0] == '|' || (descr[0] == '=' && dl == 3 && descr[2] == '1');
    if (descr[0] == '>' && !(dl == 3 && descr[2] == '1')) {
        nnc_errorf("%s: error: offset %d: dtype '%s' is big-endian; save it little-endian (x.astype('<%s'))", path,
                   8 + hsize, descr, descr + 1);
        goto out;
    }
    f->kind = dl == 3 ? descr[1] : 0;
    f->size = dl == 3 ? descr[2] - '0' : 0;
    if (!(ok_order || descr[0] == '>') ||
        !((f->kind == 'f' && (f->size == 4 || f->size == 8)) ||
          ((f->kind == 'i' || f->kind == 'u') && (f->size == 1 || f->size == 2 || f->size == 4 || f->size == 8)) ||
          (f->kind == 'b' && f->size == 1))) {
        nnc_errorf("%s: error: offset %d: dtype '%s' is not read; use float32, float64, an integer type or bool",
                   path, 8 + hsize, descr);
        goto out;
    }
    if (!(v = dict_value(header, "fortran_order")) || (strncmp(v, "False", 5) && strncmp(v, "True", 4))) {
        nnc_errorf("%s: error: offset %d: the .npy header has no 'fortran_order' flag", path, 8 + hsize);
        goto out;
    }
    if (!strncmp(v, "True", 4)) {
        nnc_errorf("%s: error: offset %d: the array is in Fortran order; save it in C order "
                   "(np.save(path, np.ascontiguousarray(x)))", path, 8 + hsize);
        goto out;
    }
    /* shape: a tuple of whole numbers, "()" for a scalar, "(n,)" for one axis */
    if (!(v = dict_value(header, "shape")) || *v != '(') {
        nnc_errorf("%s: error: offset %d: the .npy header has no 'shape' tuple", path, 8 + hsize);
        goto out;
    }
    v++;
    f->numel = 1;
    for (;;) {
        char *end;
        while (*v == ' ') v++;
        if (*v == ')') break;
        errno = 0;
        long long n = strtoll(v, &end, 10);
        if (end == v || errno || n < 0 || n > INT_MAX || f->ndim == MAX_DIMS) {
            nnc_errorf("%s: error: offset %d: bad .npy shape (a dimension is not a whole number in [0, %d], "
                       "or there are more than %d)", path, 8 + hsize, INT_MAX, MAX_DIMS);
            goto out;
        }
        f->dim[f->ndim++] = n;
        if (n && f->numel > (long long)INT_MAX * 8 / n) {
            nnc_errorf("%s: error: offset %d: a .npy array of that shape is too large", path, 8 + hsize);
            goto out;
        }
        f->numel *= n;
        v = end;
        while (*v == ' ') v++;
        if (*v == ',') v++;
        else if (*v != ')') {
            nnc_errorf("%s: error: offset %d: bad .npy shape", path, 8 + hsize);
            goto out;
        }
    }
    if (f->ndim == 0) {
        nnc_errorf("%s: error: offset %d: the array is a scalar; samples are its first axis", path, 8 + hsize);
        goto out;
    }
    size_t bytes;
    if (!nnc_mul((size_t)f->numel, (size_t)f->size, &bytes) || bytes > (size_t)INT_MAX) {
        nnc_errorf("%s: error: offset %d: %lld elements of %d bytes is too much", path, 8 + hsize, f->numel, f->size);
        goto out;
    }
    if (!(f->data = nnc_alloc(bytes ? bytes : 1, 1))) goto out;
    int k = bytes ? gzread(z, f->data, (unsigned)bytes) : 0;
    if (k != (int)bytes) {
        nnc_errorf("%s: error: offset %ld: file ends after %d of %zu data bytes", path,
                   f->data_offset + (k > 0 ? k : 0), k > 0 ? k : 0, bytes);
        goto out;
    }
    rc = 0;
out:
    gzclose(z);
    free(header);
    if (rc) {
        free(f->data);
        f->data = NULL;
    }
    return rc;
}

/* Element i as a double, from little-endian bytes whatever the host. */
static double element(const npy_file *f, long long i) {
    const unsigned char *p = f->data + (size_t)i * (size_t)f->size;
    uint64_t u = 0;
    for (int k = f->size - 1; k >= 0; k--) u = u << 8 | p[k];
    if (f->kind == 'f') {
        if (f->size == 4) {
            uint32_t b = (uint32_t)u;
            float x;
            memcpy(&x, &b, 4);
            return x;
        }
        double x;
        memcpy(&x, &u, 8);
        return x;
    }
    if (f->kind == 'i' && f->size < 8 && (u >> (8 * f->size - 1) & 1)) u |= ~(uint64_t)0 << (8 * f->size);
    return f->kind == 'i' ? (double)(int64_t)u : (double)u;
}

/* A target value the task accepts, as parse_row() in data.c checks CSV's. */
static const char *bad_target(const nnc_model_desc *d, double v) {
    if (d->task == NNC_SPARSE && !(v >= 0 && v < nnc_row_out(d) && v == floor(v))) return "is not a class in [0, n_out)";
    if (d->task == NNC_BINARY && v != 0 && v != 1) return "is not 0 or 1";
    if (d->task == NNC_ONEHOT && !(v >= 0 && v <= 1)) return "is not in [0, 1]";
    if (d->task == NNC_HINGE && v != -1 && v != 0 && v != 1) return "is not -1, 0 or 1";
    return NULL;
}

static char *shape_str(const npy_file *f, char *buf, size_t cap) {
    size_t n = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < f->ndim && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? ", " : "", f->dim[i]);
    if (n < cap) snprintf(buf + n, cap - n, f->ndim == 1 ? ",)" : ")");
    return buf;
}

/* A file whose samples have axes of their own ((N, 8, 8, 3)) must have the
 * model's input axes, not only as many values: a channels-last image read
 * as channels first is the same size with its pixels scrambled. A flat
 * (N, values) file is taken as the model's sample, row-major. 0 if it fits. */
static int check_sample_axes(const npy_file *x, const char *path, const nnc_model_desc *d) {
    char s1[128], s2[128], s3[128];
    int same = x->ndim - 1 == d->in_ndim;
    if (x->ndim <= 2 || !d->in_shape) return 0;
    for (int i = 0; same && i < d->in_ndim; i++)
        same = x->dim[i + 1] == d->in_shape[i];
    if (same) return 0;
    size_t n = 0, m = 0;
    for (int i = 0; i < MAX_DIMS; i++) {
        if (i + 1 < x->ndim && n < sizeof s2)
            n += (size_t)snprintf(s2 + n, sizeof s2 - n, "%s%lld", i ? ", " : "[", x->dim[i + 1]);
        if (i < d->in_ndim && m < sizeof s3)
            m += (size_t)snprintf(s3 + m, sizeof s3 - m, "%s%d", i ? ", " : "[", d->in_shape[i]);
    }
    int last = x->ndim == 4 && d->in_ndim == 3 && x->dim[3] == d->in_shape[0] && x->dim[1] == d->in_shape[1];
    nnc_errorf("%s: error: offset 0: shape %s: each sample is %s], but the model's input is %s]%s", path,
               shape_str(x, s1, sizeof s1), s2, s3,
               last ? "\n  = hint: the file is channels last [H, W, C] and the model channels first [C, H, W]: "
                      "transpose it, np.transpose(x, (0, 3, 1, 2))"
                    : "");
    return -1;
}

int nnc_npy_load(nnc_dataset *ds, const char *path, const char *labels, const nnc_model_desc *d,
                 int targets_optional) {
    npy_file x, y = {0};
    char s1[128], s2[128];
    int rc = -1;
    memset(ds, 0, sizeof *ds);
    if (npy_read(&x, path)) return -1;
    if (labels && npy_read(&y, labels)) goto out;
    long long n = x.dim[0], per = n ? x.numel / n : 1;
    if (x.ndim == 1) per = 1;
    if (n == 0) {
        nnc_errorf("%s: error: offset 0: shape %s holds no samples", path, shape_str(&x, s1, sizeof s1));
        goto out;
    }
    /* how many floats of each sample are inputs, how many targets */
    int n_t = labels ? d->n_target : per == d->n_in && targets_optional ? 0 : d->n_target;
    if (labels ? per != d->n_in : per != (long long)d->n_in + n_t) {
        if (labels)
            nnc_errorf("%s: error: offset 0: shape %s has %lld value%s per sample, but the model's input has %d", path,
                       shape_str(&x, s1, sizeof s1), per, per == 1 ? "" : "s", d->n_in);
        else
            nnc_errorf("%s: error: offset 0: shape %s has %lld value%s per sample, but the model wants %d inputs + %d "
                       "target%s per row (or name the targets in a labels file)",
                       path, shape_str(&x, s1, sizeof s1), per, per == 1 ? "" : "s", d->n_in, d->n_target,
                       d->n_target == 1 ? "" : "s");
        goto out;
    }
    if (per == d->n_in && check_sample_axes(&x, path, d)) goto out;
    if (labels) {
        long long lper = y.ndim == 1 ? 1 : y.dim[0] ? y.numel / y.dim[0] : 1;
        /* class indices (one per step), made one-hot */
        int classes = d->task == NNC_ONEHOT && lper == nnc_steps(d) && lper != d->n_target;
        if (y.dim[0] != n) {
            nnc_errorf("%s: error: offset 0: %lld labels for %lld samples in %s", labels, y.dim[0], n, path);
            goto out;
        }
        if (lper != d->n_target && !classes) {
            nnc_errorf("%s: error: offset 0: labels of shape %s, but the model wants %d target%s per sample", labels,
                       shape_str(&y, s2, sizeof s2), d->n_target, d->n_target == 1 ? "" : "s");
            goto out;
        }
    }
    ds->owner = 1;
    ds->n = (int)n;
    ds->n_in = d->n_in;
    ds->n_target = n_t;
    ds->x = nnc_alloc((size_t)n * (size_t)d->n_in, sizeof(float));
    if (!ds->x || (n_t && !(ds->y = nnc_alloc((size_t)n * (size_t)n_t, sizeof(float))))) goto out;
    for (long long i = 0; i < n; i++) {
        for (long long j = 0; j < per; j++) {
            long long e = i * per + j;
            double v = element(&x, e);
            const char *why = NULL;
            if (!isfinite(v) || fabs(v) > 3.4028234663852886e38) why = "is not a finite float";
            else if (j >= d->n_in) why = bad_target(d, v);
            if (why) {
                nnc_errorf("%s: error: offset %lld: sample %lld, %s %lld: %.9g %s", path,
                           x.data_offset + e * x.size, i, j < d->n_in ? "input" : "target",
                           j < d->n_in ? j : j - d->n_in, v, why);
                goto out;
            }
            if (j < d->n_in) ds->x[i * d->n_in + j] = (float)v;
            else ds->y[i * n_t + j - d->n_in] = (float)v + 0.0f;
        }
        if (!labels) continue;
        long long lper = y.ndim == 1 ? 1 : y.numel / n;
        for (long long j = 0; j < lper; j++) {
            double v = element(&y, i * lper + j);
            int classes = d->task == NNC_ONEHOT && lper == nnc_steps(d) && lper != d->n_target;
            int k = nnc_row_out(d);
            const char *why = !isfinite(v) ? "is not finite"
                            : classes ? (v >= 0 && v < k && v == floor(v) ? NULL : "is not a class in [0, n_out)")
                                      : bad_target(d, v);
            if (why) {
                nnc_errorf("%s: error: offset %lld: label %lld: %.9g %s (the model has %d output%s)", labels,
                           y.data_offset + (i * lper + j) * y.size, i, v, why, d->n_out, d->n_out == 1 ? "" : "s");
                goto out;
            }
            if (classes)
                for (int c = 0; c < k; c++) ds->y[i * n_t + j * k + c] = c == (int)v;
            else
                ds->y[i * n_t + j] = (float)v + 0.0f;
        }
    }
    rc = 0;
out:
    free(x.data);
    free(y.data);
    if (rc) nnc_data_free(ds);
    return rc;
}

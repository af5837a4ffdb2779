/* data.c — training data: CSV and IDX (MNIST) files into float arrays, Keras' validation
 * split, batch gathering and input preprocessing (standardize, min_max).
 * Also the pieces every runtime file shares: the error message buffer,
 * checked allocation and atomic file replacement (nnc_internal.h).
 *
 * A bad file never gets through: each problem is reported as
 * "FILE:ROW:COL: error: column COL: ..." with ROW the line in the file and
 * COL the field, and the whole load fails. Numbers are read with strtod(),
 * so the program's LC_NUMERIC must be "C" (the default). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <dirent.h>
#include <signal.h>
#include <unistd.h>
#include <zlib.h>

#include "nnc_internal.h"

/* ---- errors, allocation, output files */

static char err_buf[8192];
static size_t err_len;

const char *nnc_error(void) { return err_buf; }

#if defined(__GNUC__)
__attribute__((format(printf, 2, 0)))
#endif
static int verr(int append, const char *fmt, va_list ap) {
    const size_t cap = sizeof err_buf;
    if (!append) err_len = 0;
    else if (err_len > 0 && err_len + 1 < cap) err_buf[err_len++] = '\n';
    err_buf[err_len] = 0;
    int k = vsnprintf(err_buf + err_len, cap - err_len, fmt, ap);
    if (k > 0) err_len = err_len + (size_t)k < cap ? err_len + (size_t)k : cap - 1;
    err_buf[err_len] = 0;
    return -1;
}

int nnc_errorf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    verr(0, fmt, ap);
    va_end(ap);
    return -1;
}

int nnc_error_addf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    verr(1, fmt, ap);
    va_end(ap);
    return -1;
}

void *nnc_alloc(size_t n, size_t size) {
    size_t bytes;
    void *p = NULL;
    if (nnc_mul(n, size, &bytes)) p = malloc(bytes ? bytes : 1);
    if (!p) nnc_errorf("error: out of memory (%zu x %zu bytes)", n, size);
    return p;
}

void nnc_printable(char *dst, size_t cap, const char *s, size_t len) {
    size_t keep = len;
    int cut = 0;
    if (cap < 8) { if (cap) dst[0] = 0; return; }
    if (keep > cap - 4) {
        keep = cap - 4;
        /* do not split a UTF-8 sequence */
        for (int i = 0; i < 3 && keep > 0 && ((unsigned char)s[keep] & 0xC0) == 0x80; i++) keep--;
        cut = 1;
    }
    for (size_t i = 0; i < keep; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[i] = (c < 0x20 || c == 0x7F) ? '?' : (char)c;
    }
    if (cut) memcpy(dst + keep, "...", 3), keep += 3;
    dst[keep] = 0;
}

/* Temporaries are named PATH.tmp.PID.XXXXXX (mkstemp: created with O_EXCL,
 * so two runs writing the same PATH never share one). One left behind by a
 * process that no longer exists (kill -9, a power cut) is removed by the
 * next writer of the same PATH; a live process's temporary is left alone. */
static void remove_stale(const char *path) {
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t nb = strlen(base);
    char dir[4096], full[8192];
    if (slash) snprintf(dir, sizeof dir, "%.*s", (int)(slash - path) ? (int)(slash - path) : 1, path);
    else snprintf(dir, sizeof dir, ".");
    DIR *dp = opendir(dir);
    if (!dp) return;
    for (struct dirent *e; (e = readdir(dp));) {
        const char *n = e->d_name;
        char *end;
        if (strncmp(n, base, nb) || strncmp(n + nb, ".tmp.", 5)) continue;
        long pid = strtol(n + nb + 5, &end, 10);
        if (pid <= 0 || *end != '.' || strlen(end + 1) != 6 || pid == (long)getpid()) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        snprintf(full, sizeof full, "%s/%s", dir, n);
        unlink(full);
    }
    closedir(dp);
}

int nnc_out_open(nnc_outfile *o, const char *path) {
    size_t n = strlen(path);
    struct stat st;
    o->path = path;
    o->f = NULL;
    o->tmp = NULL;
    o->keep_existing = 0;
    /* a device or a pipe (--out /dev/stdout) is written in place: there is
     * nothing to replace atomically, and a temporary beside it could not be
     * renamed over it */
    if (!stat(path, &st) && !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode)) return nnc_errorf("%s: error: cannot write: %s", path, strerror(EISDIR));
        if (!(o->f = fopen(path, "wb"))) return nnc_errorf("%s: error: cannot write: %s", path, strerror(errno));
        return 0;
    }
    remove_stale(path);
    if (!(o->tmp = malloc(n + 40))) return nnc_errorf("%s: error: out of memory", path);
    snprintf(o->tmp, n + 40, "%s.tmp.%ld.XXXXXX", path, (long)getpid());
    int fd = mkstemp(o->tmp);
    if (fd < 0 || !(o->f = fdopen(fd, "wb"))) {
        int e = errno;
        if (fd >= 0) close(fd), unlink(o->tmp);
        free(o->tmp);
        o->tmp = NULL;
        return nnc_errorf("%s: error: cannot write: %s", path, strerror(e));
    }
    /* mkstemp makes it 0600; the file gets what fopen would have given it */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    return 0;
}

int nnc_out_commit(nnc_outfile *o) {
    int e = 0;
    errno = 0;
    if (fflush(o->f) != 0 || ferror(o->f)) e = errno ? errno : EIO;
    if (!e && o->tmp && fsync(fileno(o->f)) != 0) e = errno;
    if (fclose(o->f) != 0 && !e) e = errno ? errno : EIO;
    o->f = NULL;
    if (!e && o->tmp && o->keep_existing) {
        /* link() fails if PATH exists: another run's file is never replaced */
        if (link(o->tmp, o->path) != 0) e = errno;
        remove(o->tmp);
    } else if (!e && o->tmp && rename(o->tmp, o->path) != 0) {
        e = errno;
    }
    if (e && o->tmp) remove(o->tmp);
    free(o->tmp);
    o->tmp = NULL;
    if (e == EEXIST && o->keep_existing) return NNC_OUT_EXISTS;
    return e ? nnc_errorf("%s: error: cannot write: %s", o->path, strerror(e)) : 0;
}

void nnc_out_abort(nnc_outfile *o) {
    if (o->f) fclose(o->f);
    if (o->tmp) remove(o->tmp);
    free(o->tmp);
    o->f = NULL;
    o->tmp = NULL;
}

/* ---- CSV */

enum { NUM_OK, NUM_EMPTY, NUM_TEXT, NUM_NONFINITE, NUM_RANGE };

static int is_space(char c) { return c == ' ' || c == '\t'; }

/* Parses [b, e) as a float. e must point inside the line buffer: the byte
 * there is replaced by a NUL for strtod() and restored. */
static int parse_num(char *b, char *e, float *out) {
    while (b < e && is_space(*b)) b++;
    while (e > b && is_space(e[-1])) e--;
    if (b == e) return NUM_EMPTY;
    char save = *e, *stop;
    *e = 0;
    errno = 0;
    double v = strtod(b, &stop);
    int range = errno == ERANGE;
    *e = save;
    if (stop != e) return NUM_TEXT;
    if (isnan(v) || (isinf(v) && !range)) return NUM_NONFINITE;
    if (isinf(v) || fabs(v) > FLT_MAX) return NUM_RANGE;
    *out = (float)v;
    return NUM_OK;
}

/* One field starting at p: sets [*b, *e) to its text without surrounding
 * blanks or quotes and returns the ',' or end that follows it, or NULL with
 * *why set when a quoted field is malformed. "" inside quotes is a quote;
 * only header names can contain one, so it is not unescaped. */
static char *next_field(char *p, char *end, char **b, char **e, const char **why) {
    while (p < end && is_space(*p)) p++;
    if (p < end && *p == '"') {
        char *q = p + 1;
        for (;; q++) {
            if (q >= end) { *why = "unterminated quoted field"; return NULL; }
            if (*q == '"') {
                if (q + 1 < end && q[1] == '"') q++;
                else break;
            }
        }
        *b = p + 1;
        *e = q++;
        while (q < end && is_space(*q)) q++;
        if (q < end && *q != ',') { *why = "text after the closing quote"; return NULL; }
        return q;
    }
    char *q = p;
    while (q < end && *q != ',') q++;
    *b = p;
    *e = q;
    while (*e > *b && is_space((*e)[-1])) (*e)--;
    return q;
}

/* Number of fields, or -1 with *col and *why at the first malformed one. */
static int count_fields(char *s, char *end, int *col, const char **why) {
    char *b, *e;
    for (int n = 1;; n++) {
        s = next_field(s, end, &b, &e, why);
        if (!s) { *col = n; return -1; }
        if (s == end) return n;
        if (n == INT_MAX) { *col = n; *why = "too many fields"; return -1; }
        s++;
    }
}

static int is_blank(const char *s, const char *end) {
    while (s < end && is_space(*s)) s++;
    return s == end;
}

static const char *pl(long long n) { return n == 1 ? "" : "s"; }

/* A row of one field holding ';' or tabs is a file with another separator
 * (European spreadsheets write ';'): say so, nnc reads commas only. */
static void separator_hint(const char *s, const char *end, int fields) {
    const char *semi = memchr(s, ';', (size_t)(end - s)), *tab = memchr(s, '\t', (size_t)(end - s));
    if (fields == 1 && (semi || tab))
        nnc_error_addf("  = hint: the row is separated by %s; nnc reads comma-separated values",
                       semi ? "semicolons" : "tabs");
}

static int count_error(const char *name, long long row, int got, int ncol, const nnc_model_desc *d,
                       int optional) {
    char with[96], without[64];
    int n_in = d->n_in, n_t = d->n_target, full = n_in + n_t;
    snprintf(with, sizeof with, "%d (%d input%s + %d target%s)", full, n_in, pl(n_in), n_t, pl(n_t));
    snprintf(without, sizeof without, "%d (%d input%s)", n_in, n_in, pl(n_in));
    int max = ncol ? ncol : full;
    int col = got > max ? max + 1 : got + 1;
    const char *exp = ncol == n_in ? without : with;
    if (!ncol && optional)
        nnc_errorf("%s:%lld:%d: error: column %d: row has %d field%s, expected %s or %s",
                   name, row, col, col, got, pl(got), without, with);
    else
        nnc_errorf("%s:%lld:%d: error: column %d: row has %d field%s, expected %s",
                   name, row, col, col, got, pl(got), exp);
    /* a class at every step is easy to miss: one label per row is the usual layout */
    if (nnc_steps(d) > 1 && ncol != n_in)
        nnc_error_addf("  = note: the model's output has a class at each of its %d steps, so each row ends with %s",
                       nnc_steps(d), d->task == NNC_ONEHOT ? "a one-hot row per step"
                                     : d->task == NNC_BINARY ? "one 0/1 label per step"
                                                             : "one class index per step");
    return -1;
}

/* Row 1 is a header when some field is text; "nan" or "1e999" are numbers
 * (wrong ones, reported as such), and an empty field is no evidence. */
static int is_header(char *s, char *end) {
    char *b, *e;
    const char *why;
    float v;
    for (;;) {
        s = next_field(s, end, &b, &e, &why);
        if (!s) return 0;
        if (parse_num(b, e, &v) == NUM_TEXT) return 1;
        if (s == end) return 0;
        s++;
    }
}

static int grow(nnc_dataset *ds, int *cap, const char *name) {
    if (ds->n == INT_MAX) return nnc_errorf("%s: error: too many samples (more than %d)", name, INT_MAX);
    int want = *cap < 256 ? 256 : *cap > INT_MAX / 2 ? INT_MAX : *cap * 2;
    size_t bx, by;
    if (!nnc_mul((size_t)want, (size_t)ds->n_in * sizeof(float), &bx) ||
        !nnc_mul((size_t)want, (size_t)ds->n_target * sizeof(float), &by))
        return nnc_errorf("%s: error: too many samples for memory", name);
    float *x = realloc(ds->x, bx ? bx : 1);
    if (!x) return nnc_errorf("%s: error: out of memory after %d samples", name, ds->n);
    ds->x = x;
    if (ds->n_target) {
        float *y = realloc(ds->y, by);
        if (!y) return nnc_errorf("%s: error: out of memory after %d samples", name, ds->n);
        ds->y = y;
    }
    *cap = want;
    return 0;
}

static int parse_row(nnc_dataset *ds, char *s, char *end, const char *name, long long row,
                     const nnc_model_desc *d) {
    float *x = ds->x + (size_t)ds->n * (size_t)ds->n_in;
    float *y = ds->y ? ds->y + (size_t)ds->n * (size_t)ds->n_target : NULL;
    char *b, *e, text[48];
    const char *why;
    for (int col = 1; col <= ds->n_in + ds->n_target; col++) {
        float v = 0;
        int r;
        s = next_field(s, end, &b, &e, &why);
        r = parse_num(b, e, &v);
        if (r != NUM_OK) {
            while (b < e && is_space(*b)) b++;
            nnc_printable(text, sizeof text, b, (size_t)(e - b));
            if (r == NUM_EMPTY)
                return nnc_errorf("%s:%lld:%d: error: column %d: empty field", name, row, col, col);
            return nnc_errorf("%s:%lld:%d: error: column %d: '%s' is %s", name, row, col, col, text,
                              r == NUM_TEXT        ? "not a number"
                              : r == NUM_NONFINITE ? "not a finite number"
                                                   : "out of range for a float");
        }
        if (col <= ds->n_in) {
            if (d->token_ids > 0 && !(v >= 0 && v < (float)d->token_ids && v == floorf(v))) {
                nnc_printable(text, sizeof text, b, (size_t)(e - b));
                return nnc_errorf("%s:%lld:%d: error: column %d: token id '%s' is not an integer in [0, %d)",
                                  name, row, col, col, text, d->token_ids);
            }
            x[col - 1] = v + 0.0f;
        } else if (d->task == NNC_SPARSE) {
            if (!(v >= 0 && v < (float)nnc_row_out(d) && v == floorf(v))) {
                nnc_printable(text, sizeof text, b, (size_t)(e - b));
                return nnc_errorf("%s:%lld:%d: error: column %d: class label '%s' is not an integer in [0, %d)",
                                  name, row, col, col, text, nnc_row_out(d));
            }
            y[col - 1 - ds->n_in] = v + 0.0f; /* -0 becomes 0 */
        } else if (d->task == NNC_BINARY) {
            if (v != 0 && v != 1) {
                nnc_printable(text, sizeof text, b, (size_t)(e - b));
                return nnc_errorf("%s:%lld:%d: error: column %d: binary target '%s' is not 0 or 1",
                                  name, row, col, col, text);
            }
            y[col - 1 - ds->n_in] = v + 0.0f;
        } else if (d->task == NNC_ONEHOT) {
            if (!(v >= 0 && v <= 1)) {
                nnc_printable(text, sizeof text, b, (size_t)(e - b));
                return nnc_errorf("%s:%lld:%d: error: column %d: one-hot target '%s' is not in [0, 1]",
                                  name, row, col, col, text);
            }
            y[col - 1 - ds->n_in] = v + 0.0f;
        } else if (d->task == NNC_HINGE) {
            if (v != -1 && v != 0 && v != 1) {
                nnc_printable(text, sizeof text, b, (size_t)(e - b));
                return nnc_errorf("%s:%lld:%d: error: column %d: hinge target '%s' is not -1, 0 or 1",
                                  name, row, col, col, text);
            }
            y[col - 1 - ds->n_in] = v + 0.0f;
        } else {
            y[col - 1 - ds->n_in] = v;
        }
        s++;
    }
    return 0;
}

int nnc_data_read(nnc_dataset *ds, FILE *f, const char *name, const nnc_model_desc *d,
                  int targets_optional) {
    char *line = NULL;
    size_t line_cap = 0;
    long long row = 0, blank = 0;
    int ncol = 0, cap = 0, header = 0, rc = -1;

    memset(ds, 0, sizeof *ds);
    ds->n_in = d->n_in;
    ds->owner = 1;
    for (;;) {
        errno = 0;
        ssize_t len = getline(&line, &line_cap, f);
        if (len < 0) break;
        char *s = line, *end = line + len;
        row++;
        if (end > s && end[-1] == '\n') end--;
        if (end > s && end[-1] == '\r') end--;
        if (row == 1 && end - s >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) s += 3;
        if (is_blank(s, end)) {
            if (!blank) blank = row;
            continue;
        }
        /* blank lines may only trail the data */
        if (blank) {
            nnc_errorf("%s:%lld:1: error: column 1: empty line", name, blank);
            goto out;
        }
        int col;
        const char *why;
        int m = count_fields(s, end, &col, &why);
        if (m < 0) {
            nnc_errorf("%s:%lld:%d: error: column %d: %s", name, row, col, col, why);
            goto out;
        }
        if (!ncol) {
            if (m != d->n_in + d->n_target && !(targets_optional && m == d->n_in)) {
                count_error(name, row, m, 0, d, targets_optional);
                separator_hint(s, end, m);
                goto out;
            }
            ncol = m;
            ds->n_target = m - d->n_in;
        } else if (m != ncol) {
            count_error(name, row, m, ncol, d, targets_optional);
            goto out;
        }
        if (row == 1 && is_header(s, end)) {
            header = 1;
            continue;
        }
        if (ds->n == cap && grow(ds, &cap, name)) goto out;
        if (parse_row(ds, s, end, name, row, d)) goto out;
        ds->n++;
    }
    if (ferror(f) || errno) {
        nnc_errorf("%s: error: cannot read: %s", name, strerror(errno ? errno : EIO));
        goto out;
    }
    if (ds->n == 0) {
        nnc_errorf("%s: error: no samples (%s)", name, header ? "only a header row" : "the file is empty");
        goto out;
    }
    rc = 0;
out:
    free(line);
    if (rc) nnc_data_free(ds);
    return rc;
}

/* ---- IDX files: the MNIST format, gzipped or not (zlib reads both).
 * Magic: two zero bytes, the element type (0x08: unsigned byte, the only one
 * read here), the number of dimensions; then each dimension as a big-endian
 * 32-bit count; then the elements, row-major. Errors name the byte offset. */

typedef struct idx_file {
    int ndim;
    long long dim[4];
    long long count;        /* elements after the first dimension, per item */
    unsigned char *data;    /* dim[0] * count bytes */
} idx_file;

/* 1 if the file starts as an IDX file does (two zero bytes: no CSV does,
 * so a damaged IDX header is reported as one, not parsed as CSV), 0 if
 * not, -1 if unreadable. Only regular files are probed: a pipe
 * (--data <(...)) is read once, as CSV. */
static int is_idx(const char *path) {
    unsigned char m[4];
    struct stat st;
    if (stat(path, &st) || !S_ISREG(st.st_mode)) return 0;
    gzFile z = gzopen(path, "rb");
    if (!z) return -1;
    int k = gzread(z, m, 4);
    gzclose(z);
    return k >= 2 && m[0] == 0 && m[1] == 0;
}

static int idx_read(idx_file *f, const char *path) {
    unsigned char h[4];
    memset(f, 0, sizeof *f);
    gzFile z = gzopen(path, "rb");
    if (!z) return nnc_errorf("%s: error: cannot open: %s", path, strerror(errno));
    int rc = -1;
    if (gzread(z, h, 4) != 4) {
        nnc_errorf("%s: error: offset 0: file too short for an IDX header (4 bytes of magic)", path);
        goto out;
    }
    if (h[0] || h[1] || h[3] < 1 || h[3] > 4) {
        nnc_errorf("%s: error: offset 0: bad IDX magic %02x %02x %02x %02x", path, h[0], h[1], h[2], h[3]);
        goto out;
    }
    if (h[2] != 0x08) {
        nnc_errorf("%s: error: offset 2: IDX element type 0x%02x; only unsigned bytes (0x08) are read",
                   path, h[2]);
        goto out;
    }
    f->ndim = h[3];
    f->count = 1;
    for (int i = 0; i < f->ndim; i++) {
        unsigned char b[4];
        if (gzread(z, b, 4) != 4) {
            nnc_errorf("%s: error: offset %d: file ends inside the IDX header", path, 4 + 4 * i);
            goto out;
        }
        f->dim[i] = (long long)b[0] << 24 | (long long)b[1] << 16 | (long long)b[2] << 8 | b[3];
        if (f->dim[i] < 1 || f->dim[i] > INT_MAX) {
            nnc_errorf("%s: error: offset %d: IDX dimension %d is %lld", path, 4 + 4 * i, i + 1, f->dim[i]);
            goto out;
        }
        /* each is below 2^31, so the product stays exact until it passes INT_MAX */
        if (i && f->count > INT_MAX / f->dim[i]) {
            nnc_errorf("%s: error: offset %d: IDX items of more than %d bytes are too large", path, 4 + 4 * i, INT_MAX);
            goto out;
        }
        if (i) f->count *= f->dim[i];
    }
    size_t bytes;
    if (!nnc_mul((size_t)f->dim[0], (size_t)f->count, &bytes) || bytes > (size_t)INT_MAX) {
        nnc_errorf("%s: error: offset 4: %lld items of %lld bytes is too much", path, f->dim[0], f->count);
        goto out;
    }
    if (!(f->data = nnc_alloc(bytes, 1))) goto out;
    int k = gzread(z, f->data, (unsigned)bytes);
    if (k != (int)bytes) {
        nnc_errorf("%s: error: offset %d: file ends after %d of %zu data bytes", path, 4 + 4 * f->ndim + (k > 0 ? k : 0),
                   k > 0 ? k : 0, bytes);
        goto out;
    }
    rc = 0;
out:
    gzclose(z);
    if (rc) { free(f->data); f->data = NULL; }
    return rc;
}

static const char *given_labels(const char *path, const nnc_model_desc *d);

/* The labels beside an images file: the model's own pairing for its data
 * paths, else the MNIST naming (train-images-idx3-ubyte -> train-labels-idx1-ubyte). */
static char *labels_path(const char *images, const nnc_model_desc *d) {
    const char *given = given_labels(images, d);
    size_t n = strlen(images);
    char *p = nnc_alloc(n + 1, 1);
    if (!p) return NULL;
    if (given) {
        free(p);
        p = nnc_alloc(strlen(given) + 1, 1);
        if (p) strcpy(p, given);
        return p;
    }
    strcpy(p, images);
    char *at = strstr(p, "images-idx3");
    if (at) memcpy(at, "labels-idx1", 11);
    /* gzipped images may have plain labels beside them */
    struct stat st;
    if (at && stat(p, &st) && n > 3 && !strcmp(p + n - 3, ".gz")) p[n - 3] = 0;
    return p;
}

static int exists(const char *path) {
    struct stat st;
    return !stat(path, &st) && S_ISREG(st.st_mode);
}

static int idx_load(nnc_dataset *ds, const char *path, const nnc_model_desc *d, int targets_optional) {
    idx_file im, lb = {0};
    if (idx_read(&im, path)) return -1;
    int rc = -1;
    char *lpath = NULL;
    if (im.count != d->n_in) {
        nnc_errorf("%s: error: offset 8: images of %lld values, but the model's input has %d", path, im.count,
                   d->n_in);
        goto out;
    }
    lpath = labels_path(path, d);
    if (!lpath) goto out;
    int have_labels = strcmp(lpath, path) != 0 && exists(lpath);
    if (!have_labels && !targets_optional) {
        if (!strcmp(lpath, path))   /* no labels named, and no MNIST name to go by */
            nnc_errorf("%s: error: no labels for these images: the model's data() names none for this file and "
                       "its name is not an MNIST images name (NAME-images-idx3-ubyte); name them in data(), "
                       "e.g. train_labels = \"train-labels-idx1-ubyte.gz\"", path);
        else
            nnc_errorf("%s: error: no labels for these images: %s %s; name them in data(), "
                       "e.g. train_labels = \"train-labels-idx1-ubyte.gz\"", path, lpath,
                       access(lpath, F_OK) ? "does not exist" : "is not a regular file");
        goto out;
    }
    if (have_labels) {
        if (d->task != NNC_SPARSE && d->task != NNC_ONEHOT) {
            nnc_errorf("%s: error: IDX labels are class indices; the model's loss wants other targets", lpath);
            goto out;
        }
        if (idx_read(&lb, lpath)) goto out;
        if (lb.dim[0] != im.dim[0]) {
            nnc_errorf("%s: error: offset 4: %lld labels for %lld images in %s", lpath, lb.dim[0], im.dim[0], path);
            goto out;
        }
        /* a class per image, or with a class at every step, [n, steps] */
        if (lb.count != nnc_steps(d)) {
            nnc_errorf("%s: error: offset 8: %lld label%s per image, but the model wants %d", lpath, lb.count,
                       lb.count == 1 ? "" : "s", nnc_steps(d));
            goto out;
        }
    }
    memset(ds, 0, sizeof *ds);
    ds->owner = 1;
    ds->n = (int)im.dim[0];
    ds->n_in = d->n_in;
    ds->n_target = have_labels ? d->n_target : 0;
    ds->x = nnc_alloc((size_t)ds->n * (size_t)ds->n_in, sizeof(float));
    if (!ds->x) goto out;
    for (size_t i = 0; i < (size_t)ds->n * (size_t)ds->n_in; i++) ds->x[i] = im.data[i];
    if (have_labels) {
        ds->y = nnc_alloc((size_t)ds->n * (size_t)ds->n_target, sizeof(float));
        if (!ds->y) goto out;
        int k = nnc_row_out(d);
        for (int i = 0; i < ds->n * nnc_steps(d); i++) {  /* i: a label, one per classified row */
            int c = lb.data[i];
            if (c >= k) {
                nnc_errorf("%s: error: offset %d: label %d, but the model has %d classes", lpath,
                           4 + 4 * lb.ndim + i, c, k);
                goto out;
            }
            if (d->task == NNC_SPARSE) ds->y[i] = (float)c;
            else
                for (int j = 0; j < k; j++) ds->y[(size_t)i * (size_t)k + (size_t)j] = j == c;
        }
    }
    rc = 0;
out:
    free(im.data);
    free(lb.data);
    free(lpath);
    if (rc) nnc_data_free(ds);
    return rc;
}

/* 1 if a and b name one file: the same string, or the same inode
 * (--data ./x for a model's data(train = "x")). */
static int same_file(const char *a, const char *b) {
    struct stat sa, sb;
    if (!a || !b) return 0;
    if (!strcmp(a, b)) return 1;
    return !stat(a, &sa) && !stat(b, &sb) && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* The labels file the model names for this data file, or NULL. */
static const char *given_labels(const char *path, const nnc_model_desc *d) {
    return same_file(path, d->train_path) ? d->train_labels_path
         : same_file(path, d->test_path)  ? d->test_labels_path
         : same_file(path, d->val_path)   ? d->val_labels_path
                                          : NULL;
}

static int is_gzip(const char *path) {
    unsigned char m[2];
    FILE *f = fopen(path, "rb");
    int k = f ? (int)fread(m, 1, 2, f) : 0;
    if (f) fclose(f);
    return k == 2 && m[0] == 0x1f && m[1] == 0x8b;
}

/* A gzipped CSV, decompressed into an anonymous temporary file (not into
 * memory: a small file can expand a thousandfold), rewound for reading. */
static FILE *gunzip(const char *path) {
    char buf[65536];
    int k;
    gzFile z = gzopen(path, "rb");
    FILE *t = z ? tmpfile() : NULL;
    if (!z || !t) {
        nnc_errorf("%s: error: cannot %s: %s", path, z ? "decompress (no temporary file)" : "open",
                   strerror(errno ? errno : ENOMEM));
        if (z) gzclose(z);
        return NULL;
    }
    while ((k = gzread(z, buf, sizeof buf)) > 0)
        if (fwrite(buf, 1, (size_t)k, t) != (size_t)k) {
            nnc_errorf("%s: error: cannot decompress: %s", path, strerror(errno ? errno : EIO));
            k = -2;
            break;
        }
    int zerr;
    const char *msg = gzerror(z, &zerr);
    /* a cut stream reads as a short one: zlib says so only in gzerror */
    if (k == -1 || (k == 0 && zerr != Z_OK)) {
        size_t np = strlen(path);
        if (!strncmp(msg, path, np) && !strncmp(msg + np, ": ", 2)) msg += np + 2;   /* zlib prefixes the path */
        nnc_errorf("%s: error: offset %ld: the gzip data is damaged: %s", path, (long)gzoffset(z), msg);
        k = -1;
    }
    gzclose(z);
    if (k < 0 || fflush(t) || fseek(t, 0, SEEK_SET)) {
        if (k >= 0) nnc_errorf("%s: error: cannot decompress: %s", path, strerror(errno ? errno : EIO));
        fclose(t);
        return NULL;
    }
    return t;
}

int nnc_data_load(nnc_dataset *ds, const char *path, const nnc_model_desc *d, int targets_optional) {
    static const char *const names[] = {"auto", "csv", "idx", "npy"};
    int rc, fmt = d->data_format, idx, npy;
    struct stat st;
    memset(ds, 0, sizeof *ds);
    /* only regular files are probed: a pipe (--data <(...)) is read once, as CSV */
    int regular = !stat(path, &st) && S_ISREG(st.st_mode);
    idx = fmt != NNC_FORMAT_CSV && is_idx(path) == 1;
    npy = fmt != NNC_FORMAT_CSV && regular && nnc_is_npy(path) == 1;
    if ((fmt == NNC_FORMAT_IDX && !idx && regular) || (fmt == NNC_FORMAT_NPY && !npy && regular))
        return nnc_errorf("%s: error: data(format = %s), but the file does not start as %s files do", path,
                          names[fmt], fmt == NNC_FORMAT_IDX ? "IDX" : "NumPy .npy");
    if (npy) {
        rc = nnc_npy_load(ds, path, given_labels(path, d), d, targets_optional);
    } else if (idx) {
        rc = idx_load(ds, path, d, targets_optional);
    } else {
        int gz = regular && is_gzip(path);
        FILE *f = gz ? gunzip(path) : fopen(path, "rb");
        if (!f) return gz ? -1 : nnc_errorf("%s: error: cannot open: %s", path, strerror(errno));
        rc = nnc_data_read(ds, f, path, d, targets_optional);
        fclose(f);
    }
    /* token ids in IDX images (CSV rows are checked as they are parsed) */
    if (!rc && idx == 1 && d->token_ids > 0)
        for (size_t i = 0; i < (size_t)ds->n * (size_t)ds->n_in; i++)
            if (ds->x[i] >= (float)d->token_ids) {
                rc = nnc_errorf("%s: error: image %zu, value %zu: token id %g is not below %d", path,
                                i / (size_t)ds->n_in + 1, i % (size_t)ds->n_in + 1, ds->x[i], d->token_ids);
                nnc_data_free(ds);
                break;
            }
    /* data(scale = s): every input value divided by s as it is read */
    if (!rc && d->input_scale > 0 && d->input_scale != 1)
        for (size_t i = 0; i < (size_t)ds->n * (size_t)ds->n_in; i++) ds->x[i] = (float)(ds->x[i] / d->input_scale);
    return rc;
}

void nnc_data_free(nnc_dataset *ds) {
    if (ds->owner) {
        free(ds->x);
        free(ds->y);
    }
    memset(ds, 0, sizeof *ds);
}

static nnc_dataset view(const nnc_dataset *all, int first, int n) {
    nnc_dataset v = *all;
    v.n = n;
    v.x = all->x + (size_t)first * (size_t)all->n_in;
    v.y = all->y ? all->y + (size_t)first * (size_t)all->n_target : NULL;
    v.owner = 0;
    return v;
}

int nnc_data_split(const nnc_dataset *all, double split, const char *name, nnc_dataset *train,
                   nnc_dataset *val) {
    if (!(split >= 0 && split < 1))
        return nnc_errorf("%s: error: validation_split %g is not in [0, 1)", name, split);
    /* Keras: split_at = int(n * (1 - validation_split)) */
    int n_train = split > 0 ? (int)((double)all->n * (1.0 - split)) : all->n;
    if (split > 0 && (n_train <= 0 || n_train >= all->n))
        return nnc_errorf("%s: error: validation_split %g of %d sample%s leaves no %s samples", name,
                          split, all->n, pl(all->n), n_train <= 0 ? "training" : "validation");
    *train = view(all, 0, n_train);
    *val = view(all, n_train, all->n - n_train);
    return 0;
}

void nnc_data_gather(const nnc_dataset *ds, const int *idx, int n, float *bx, float *by) {
    size_t ni = (size_t)ds->n_in, nt = (size_t)ds->n_target;
    for (int i = 0; i < n; i++) {
        memcpy(bx + (size_t)i * ni, ds->x + (size_t)idx[i] * ni, ni * sizeof(float));
        if (nt && by) memcpy(by + (size_t)i * nt, ds->y + (size_t)idx[i] * nt, nt * sizeof(float));
    }
}

/* ---- preprocessing */

const char *nnc_prep_name(int kind) {
    return kind == NNC_PRE_STANDARDIZE ? "standardize" : kind == NNC_PRE_MINMAX ? "min_max" : "none";
}

int nnc_prep_fit(nnc_prep *p, int kind, const nnc_dataset *train) {
    size_t nf = (size_t)train->n_in, n = (size_t)train->n;
    memset(p, 0, sizeof *p);
    p->kind = kind;
    p->n = train->n_in;
    if (kind == NNC_PRE_NONE) return 0;
    if (n == 0) return nnc_errorf("error: no samples to compute %s statistics from", nnc_prep_name(kind));
    double *a = nnc_alloc(2 * nf, sizeof(double)), *b = a + nf;
    p->shift = nnc_alloc(2 * nf, sizeof(float));
    if (!a || !p->shift) {
        free(a);
        nnc_prep_free(p);
        return -1;
    }
    p->scale = p->shift + nf;
    const float *x = train->x;
    if (kind == NNC_PRE_STANDARDIZE) {
        /* two passes: the one-pass formula loses digits when |mean| >> std */
        for (size_t j = 0; j < nf; j++) a[j] = b[j] = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < nf; j++) a[j] += x[i * nf + j];
        for (size_t j = 0; j < nf; j++) a[j] /= (double)n;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < nf; j++) {
                double dv = x[i * nf + j] - a[j];
                b[j] += dv * dv;
            }
        for (size_t j = 0; j < nf; j++) {
            double sd = sqrt(b[j] / (double)n);
            float s = (float)(1.0 / sd);
            p->shift[j] = (float)a[j];
            p->scale[j] = sd > 0 && isfinite(s) ? s : 1.0f;
        }
    } else {
        for (size_t j = 0; j < nf; j++) a[j] = b[j] = x[j];
        for (size_t i = 1; i < n; i++)
            for (size_t j = 0; j < nf; j++) {
                double v = x[i * nf + j];
                if (v < a[j]) a[j] = v;
                if (v > b[j]) b[j] = v;
            }
        for (size_t j = 0; j < nf; j++) {
            double range = b[j] - a[j];
            float s = (float)(1.0 / range);
            p->shift[j] = (float)a[j];
            p->scale[j] = range > 0 && isfinite(s) ? s : 1.0f;
        }
    }
    free(a);
    return 0;
}

void nnc_prep_apply(const nnc_prep *p, nnc_dataset *ds) {
    if (p->kind == NNC_PRE_NONE || !p->shift) return;
    size_t nf = (size_t)p->n;
    for (size_t i = 0; i < (size_t)ds->n; i++) {
        float *x = ds->x + i * nf;
        for (size_t j = 0; j < nf; j++) x[j] = (x[j] - p->shift[j]) * p->scale[j];
    }
}

void nnc_prep_free(nnc_prep *p) {
    free(p->shift);
    memset(p, 0, sizeof *p);
}

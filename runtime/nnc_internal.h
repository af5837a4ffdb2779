/* nnc_internal.h — helpers shared by the runtime's .c files; not part of the
 * public API (nnc_rt.h). Defined in data.c. */
#ifndef NNC_INTERNAL_H
#define NNC_INTERNAL_H

#include "nnc_rt.h"

/* a * b without wrapping; 0 if it would. */
static inline int nnc_mul(size_t a, size_t b, size_t *r) {
    if (b && a > (size_t)-1 / b) return 0;
    *r = a * b;
    return 1;
}

/* A class at every step (d->steps > 1): the rows each output sample holds,
 * and the values of one row (the classes). One row otherwise. */
static inline int nnc_steps(const nnc_model_desc *d) { return d->steps > 1 ? d->steps : 1; }
static inline int nnc_row_out(const nnc_model_desc *d) { return d->n_out / nnc_steps(d); }

/* malloc(n * size) that checks the product and sets nnc_error on failure. */
void *nnc_alloc(size_t n, size_t size);
/* Appends one more line to the current error message. */
int nnc_error_addf(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* Copies s[0..len) into dst for quoting in a message: control bytes become
 * '?', long text is cut with "...". */
void nnc_printable(char *dst, size_t cap, const char *s, size_t len);

/* Atomic replacement of a file: write to a unique PATH.tmp.PID.XXXXXX
 * (O_EXCL), then rename over PATH, so that a crash never leaves a
 * half-written PATH and two writers of one PATH never mix: the last rename
 * wins. A device or pipe is written in place (tmp NULL). */
typedef struct nnc_outfile {
    FILE *f;
    char *tmp;
    const char *path;
    int keep_existing;  /* commit with link(): an existing PATH is kept and commit returns NNC_OUT_EXISTS */
} nnc_outfile;
enum { NNC_OUT_EXISTS = -2 };
int nnc_out_open(nnc_outfile *o, const char *path);
int nnc_out_commit(nnc_outfile *o);   /* flush, fsync, close, rename */
void nnc_out_abort(nnc_outfile *o);   /* close and remove the temporary */

/* safetensors.c: nnc_st_write that never replaces an existing PATH
 * (NNC_OUT_EXISTS then, and nothing written). */
int nnc_st_write_new(const char *path, const nnc_st_entry *t, int n, const nnc_st_kv *meta, int n_meta);
/* 0 if data[0..n) are all finite, else an error naming PATH, the tensor and
 * the first bad index; `what` says what is refused ("cannot load", ...). */
int nnc_check_finite(const char *path, const char *tensor, const float *data, size_t n, const char *what);

/* npy.c: 1 if the file starts with the NumPy magic, 0 if not, -1 if it
 * cannot be opened; a .npy file (and the .npy labels file, NULL: the
 * targets are each row's last values) into a dataset. */
int nnc_is_npy(const char *path);
int nnc_npy_load(nnc_dataset *ds, const char *path, const char *labels, const nnc_model_desc *d,
                 int targets_optional);

#endif

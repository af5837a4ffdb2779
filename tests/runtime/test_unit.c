/* test_unit.c — the runtime's pieces tested in-process: rng, CSV parsing and
 * its error messages, validation split, preprocessing, metrics, the
 * safetensors reader/writer, batching and shuffling as nnc_main drives a
 * probe model, and random corruption of CSV and safetensors input (run under
 * sanitizers by run.sh: nothing may crash or leak). Prints one
 * "PASS: name" or "FAIL: name: why" line per check. */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nnc_rt.h"

static int n_fail;
static const char *tmpdir = "/tmp";

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void check(const char *name, int ok, const char *fmt, ...) {
    if (ok) {
        printf("PASS: %s\n", name);
        return;
    }
    va_list ap;
    printf("FAIL: %s: ", name);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    n_fail++;
}

/* ---- rng */

static void test_rng(void) {
    nnc_rng a, b;
    nnc_rng_seed(&a, 0);
    /* splitmix64's first output from state 0 */
    check("rng seeds through splitmix64", a.s[0] == 0xE220A8397B1DCDAFULL, "s[0] = %016llx",
          (unsigned long long)a.s[0]);

    int same = 1, differ = 0;
    nnc_rng_seed(&a, 42);
    nnc_rng_seed(&b, 42);
    for (int i = 0; i < 100; i++) same &= nnc_rng_u64(&a) == nnc_rng_u64(&b);
    nnc_rng_seed(&b, 43);
    for (int i = 0; i < 100; i++) differ += nnc_rng_u64(&a) != nnc_rng_u64(&b);
    check("rng same seed same stream, other seed other stream", same && differ > 95, "same %d differ %d", same,
          differ);

    double sum = 0, sum2 = 0, lo = 1, hi = 0;
    int n = 200000;
    nnc_rng_seed(&a, 7);
    for (int i = 0; i < n; i++) {
        double u = nnc_rng_uniform(&a);
        sum += u;
        if (u < lo) lo = u;
        if (u > hi) hi = u;
    }
    check("rng uniform in [0, 1) with mean 1/2", lo >= 0 && hi < 1 && fabs(sum / n - 0.5) < 0.005,
          "min %g max %g mean %g", lo, hi, sum / n);

    sum = sum2 = 0;
    for (int i = 0; i < n; i++) {
        double z = nnc_rng_normal(&a);
        sum += z;
        sum2 += z * z;
    }
    double mean = sum / n, var = sum2 / n - mean * mean;
    check("rng normal has mean 0 and variance 1", fabs(mean) < 0.01 && fabs(var - 1) < 0.02, "mean %g var %g",
          mean, var);

    int count[3] = {0}, bad = 0;
    for (int i = 0; i < 30000; i++) {
        uint32_t v = nnc_rng_below(&a, 3);
        if (v >= 3) bad++;
        else count[v]++;
    }
    check("rng below(3) is in range and even", !bad && abs(count[0] - 10000) < 400 && abs(count[1] - 10000) < 400,
          "bad %d counts %d %d %d", bad, count[0], count[1], count[2]);

    int idx[1000], seen[1000] = {0}, moved = 0, perm = 1;
    for (int i = 0; i < 1000; i++) idx[i] = i;
    nnc_shuffle(idx, 1000, &a);
    for (int i = 0; i < 1000; i++) {
        if (idx[i] < 0 || idx[i] >= 1000 || seen[idx[i]]++) perm = 0;
        moved += idx[i] != i;
    }
    nnc_shuffle(idx, 0, &a);
    nnc_shuffle(idx, 1, &a);
    check("shuffle gives a permutation", perm && moved > 900, "perm %d moved %d", perm, moved);
}

/* ---- CSV */

static nnc_model_desc desc(int task, int n_in, int n_out) {
    nnc_model_desc d;
    memset(&d, 0, sizeof d);
    d.name = "t";
    d.batch = 4;
    d.task = task;
    d.n_in = n_in;
    d.n_out = n_out;
    d.n_target = task == NNC_REGRESSION ? n_out : 1;
    return d;
}

static int read_str(nnc_dataset *ds, const char *text, const nnc_model_desc *d, int optional) {
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    if (!f) return -2;
    int rc = nnc_data_read(ds, f, "t.csv", d, optional);
    fclose(f);
    return rc;
}

static void test_csv(void) {
    nnc_model_desc bin = desc(NNC_BINARY, 2, 1), sp = desc(NNC_SPARSE, 2, 3);
    nnc_dataset ds;

    int rc = read_str(&ds, "\xEF\xBB\xBFx0, \"x,1\" ,label\r\n 1.5 , -2e3 ,1\r\n\"3\",4,0\r\n\r\n\n", &bin, 0);
    check("csv: BOM, quoted header, CRLF, spaces, trailing blank lines",
          rc == 0 && ds.n == 2 && ds.n_target == 1 && ds.x[0] == 1.5f && ds.x[1] == -2000.0f && ds.x[2] == 3 &&
              ds.x[3] == 4 && ds.y[0] == 1 && ds.y[1] == 0,
          "rc %d (%s) n %d", rc, nnc_error(), ds.n);
    nnc_data_free(&ds);

    nnc_model_desc reg2 = desc(NNC_REGRESSION, 2, 2);
    rc = read_str(&ds, "1,2,0.5,-0.25\n3,4,5,6", &reg2, 0);
    check("csv: no header, no final newline, regression targets",
          rc == 0 && ds.n == 2 && ds.n_target == 2 && ds.y[1] == -0.25f && ds.y[3] == 6, "rc %d (%s)", rc,
          nnc_error());
    nnc_data_free(&ds);

    rc = read_str(&ds, ",a,b\n1,2,1\n", &bin, 0);
    check("csv: a header with an empty name is still a header", rc == 0 && ds.n == 1, "rc %d (%s)", rc,
          nnc_error());
    nnc_data_free(&ds);

    rc = read_str(&ds, "x0,x1\n1,2\n3,4\n", &sp, 1);
    check("csv: targets optional, inputs only", rc == 0 && ds.n == 2 && ds.n_target == 0 && !ds.y,
          "rc %d (%s)", rc, nnc_error());
    nnc_data_free(&ds);
    rc = read_str(&ds, "1,2,2\n3,4,0\n", &sp, 1);
    check("csv: targets optional, targets given", rc == 0 && ds.n == 2 && ds.n_target == 1 && ds.y[0] == 2,
          "rc %d (%s)", rc, nnc_error());
    nnc_data_free(&ds);

    /* big enough to grow the buffers several times */
    size_t cap = 1 << 20, len = 0;
    char *big = malloc(cap);
    for (int i = 0; i < 5000; i++) len += (size_t)snprintf(big + len, cap - len, "%d,%d.5,%d\n", i, -i, i % 2);
    rc = read_str(&ds, big, &bin, 0);
    check("csv: 5000 rows", rc == 0 && ds.n == 5000 && ds.x[2 * 4999] == 4999 && ds.x[2 * 4999 + 1] == -4999.5f &&
                               ds.y[4999] == 1,
          "rc %d n %d", rc, ds.n);
    nnc_data_free(&ds);
    free(big);

    static const struct {
        int task, optional;
        const char *text, *want;
        size_t len; /* for text with a NUL in it */
    } bad[] = {
        {NNC_BINARY, 0, "", "t.csv: error: no samples (the file is empty)", 0},
        {NNC_BINARY, 0, "\n \n", "t.csv: error: no samples (the file is empty)", 0},
        {NNC_BINARY, 0, "a,b,c\n", "t.csv: error: no samples (only a header row)", 0},
        {NNC_BINARY, 0, "1,2,1\n1,2,0,5\n", "t.csv:2:4: error: column 4: row has 4 fields, expected 3 (2 inputs + 1 target)", 0},
        {NNC_BINARY, 0, "1,2,1\n1,2\n", "t.csv:2:3: error: column 3: row has 2 fields, expected 3 (2 inputs + 1 target)", 0},
        {NNC_BINARY, 0, "1\n", "t.csv:1:2: error: column 2: row has 1 field, expected 3 (2 inputs + 1 target)", 0},
        {NNC_BINARY, 0, "a,b,c\n1,2,1,\n", "t.csv:2:4: error: column 4: row has 4 fields, expected 3 (2 inputs + 1 target)", 0},
        {NNC_BINARY, 0, "x,y\n", "t.csv:1:3: error: column 3: row has 2 fields, expected 3 (2 inputs + 1 target)", 0},
        {NNC_BINARY, 0, "1,2,1\n1,abc,0\n", "t.csv:2:2: error: column 2: 'abc' is not a number", 0},
        {NNC_BINARY, 0, "x,y,z\n1,2,1\nx,y,z\n", "t.csv:3:1: error: column 1: 'x' is not a number", 0},
        {NNC_BINARY, 0, "1,2,1\n1, ,0\n", "t.csv:2:2: error: column 2: empty field", 0},
        {NNC_BINARY, 0, "1,,1\n", "t.csv:1:2: error: column 2: empty field", 0},
        {NNC_BINARY, 0, "nan,2,1\n", "t.csv:1:1: error: column 1: 'nan' is not a finite number", 0},
        {NNC_BINARY, 0, "1,2,1\n1,-inf,0\n", "t.csv:2:2: error: column 2: '-inf' is not a finite number", 0},
        {NNC_BINARY, 0, "1,2,1\n1e39,2,0\n", "t.csv:2:1: error: column 1: '1e39' is out of range for a float", 0},
        {NNC_BINARY, 0, "1,2,1\n1,1e999,0\n", "t.csv:2:2: error: column 2: '1e999' is out of range for a float", 0},
        {NNC_BINARY, 0, "1,2,1\n1,2,2\n", "t.csv:2:3: error: column 3: binary target '2' is not 0 or 1", 0},
        {NNC_BINARY, 0, "1,2,0.5\n", "t.csv:1:3: error: column 3: binary target '0.5' is not 0 or 1", 0},
        {NNC_SPARSE, 0, "1,2,3\n", "t.csv:1:3: error: column 3: class label '3' is not an integer in [0, 3)", 0},
        {NNC_SPARSE, 0, "1,2,1.5\n", "t.csv:1:3: error: column 3: class label '1.5' is not an integer in [0, 3)", 0},
        {NNC_SPARSE, 0, "1,2,-1\n", "t.csv:1:3: error: column 3: class label '-1' is not an integer in [0, 3)", 0},
        {NNC_BINARY, 0, "1,2,1\n\n1,2,0\n", "t.csv:2:1: error: column 1: empty line", 0},
        {NNC_BINARY, 0, "1,\"2,1\n", "t.csv:1:2: error: column 2: unterminated quoted field", 0},
        {NNC_BINARY, 0, "1,\"2\"x,1\n", "t.csv:1:2: error: column 2: text after the closing quote", 0},
        {NNC_BINARY, 0, "1,2,1\n1,2\0,1\n", "t.csv:2:2: error: column 2: '2?' is not a number", 13},
        {NNC_BINARY, 0, "1,2,1\n1,0x1p3q,0\n", "t.csv:2:2: error: column 2: '0x1p3q' is not a number", 0},
        {NNC_BINARY, 0, "1,2,1\n1,\x1b[31mred,0\n", "t.csv:2:2: error: column 2: '?[31mred' is not a number", 0},
        {NNC_BINARY, 0, "1,2,1\n1,aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,0\n",
         "t.csv:2:2: error: column 2: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' is not a number", 0},
        {NNC_SPARSE, 1, "1,2,3,4\n", "t.csv:1:4: error: column 4: row has 4 fields, expected 2 (2 inputs) or 3 (2 inputs + 1 target)", 0},
        {NNC_SPARSE, 1, "1\n", "t.csv:1:2: error: column 2: row has 1 field, expected 2 (2 inputs) or 3 (2 inputs + 1 target)", 0},
        {NNC_SPARSE, 1, "1,2\n1,2,0\n", "t.csv:2:3: error: column 3: row has 3 fields, expected 2 (2 inputs)", 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        nnc_model_desc d = bad[i].task == NNC_SPARSE ? sp : bin;
        char name[160];
        size_t len = bad[i].len ? bad[i].len : strlen(bad[i].text);
        FILE *f = len ? fmemopen((void *)bad[i].text, len, "r") : fopen("/dev/null", "r");
        rc = nnc_data_read(&ds, f, "t.csv", &d, bad[i].optional);
        fclose(f);
        snprintf(name, sizeof name, "csv error: %s", bad[i].want + 6);
        check(name, rc == -1 && strcmp(nnc_error(), bad[i].want) == 0 && ds.n == 0 && !ds.x, "got rc %d '%s'", rc,
              nnc_error());
    }

    rc = nnc_data_load(&ds, "/nonexistent/x.csv", &bin, 0);
    check("csv error: unreadable file", rc == -1 && !strcmp(nnc_error(), "/nonexistent/x.csv: error: cannot open: No such file or directory"),
          "%s", nnc_error());
    rc = nnc_data_load(&ds, tmpdir, &bin, 0);
    char want[256];
    snprintf(want, sizeof want, "%s: error: cannot read: Is a directory", tmpdir);
    check("csv error: a directory", rc == -1 && !strcmp(nnc_error(), want), "%s", nnc_error());
}

static void test_split_prep(void) {
    static const struct { int n; double s; int train; } cases[] = {
        {10, 0.2, 8}, {7, 0.3, 4}, {3, 0.5, 1}, {5, 0.1, 4}, {10, 0.3, 7}, {22, 0.25, 16}, {1000, 0.15, 850}, {9, 1.0 / 3, 6},
    };
    float x[1000], y[1000];
    nnc_dataset all = {1000, 1, 1, x, y, 0}, tr, va;
    int ok = 1;
    for (int i = 0; i < 1000; i++) x[i] = y[i] = (float)i;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        all.n = cases[i].n;
        if (nnc_data_split(&all, cases[i].s, "t.csv", &tr, &va) || tr.n != cases[i].train ||
            va.n != cases[i].n - cases[i].train || va.x[0] != (float)cases[i].train || va.y[0] != va.x[0] || tr.x != x)
            ok = 0;
    }
    check("split: Keras' int(n * (1 - split)) rows train, the last ones validate", ok, "mismatch");
    all.n = 1;
    int rc = nnc_data_split(&all, 0.5, "t.csv", &tr, &va);
    check("split: nothing left to train on", rc == -1 && !strcmp(nnc_error(), "t.csv: error: validation_split 0.5 of 1 sample leaves no training samples"), "%s", nnc_error());
    all.n = 1;
    rc = nnc_data_split(&all, 1e-17, "t.csv", &tr, &va);
    check("split: nothing left to validate", rc == -1 && strstr(nnc_error(), "leaves no validation samples"), "%s", nnc_error());
    all.n = 5;
    rc = nnc_data_split(&all, 0, "t.csv", &tr, &va);
    check("split: 0 keeps everything", rc == 0 && tr.n == 5 && va.n == 0, "rc %d", rc);

    float bx[6], by[2];
    float x3[9] = {0, 1, 2, 10, 11, 12, 20, 21, 22}, y3[3] = {0, 1, 2};
    nnc_dataset d3 = {3, 3, 1, x3, y3, 0};
    int idx[2] = {2, 0};
    nnc_data_gather(&d3, idx, 2, bx, by);
    check("gather copies the chosen rows", bx[0] == 20 && bx[2] == 22 && bx[3] == 0 && by[0] == 2 && by[1] == 0, "got %g %g", bx[0], bx[3]);

    /* feature 0: 1..4, feature 1 constant */
    float px[8] = {1, 5, 2, 5, 3, 5, 4, 5};
    nnc_dataset pd = {4, 2, 0, px, NULL, 0};
    nnc_prep p;
    nnc_prep_fit(&p, NNC_PRE_STANDARDIZE, &pd);
    check("standardize: population std, constant feature scale 1",
          p.shift[0] == 2.5f && fabsf(p.scale[0] - 1 / sqrtf(1.25f)) < 1e-6f && p.shift[1] == 5 && p.scale[1] == 1,
          "shift %g %g scale %g %g", p.shift[0], p.shift[1], p.scale[0], p.scale[1]);
    float qx[2] = {6.5f, 7};
    nnc_dataset qd = {1, 2, 0, qx, NULL, 0};
    nnc_prep_apply(&p, &qd);
    check("standardize applies (x - shift) * scale", fabsf(qx[0] - 4 * p.scale[0]) < 1e-6f && qx[1] == 2, "%g %g", qx[0], qx[1]);
    nnc_prep_free(&p);
    nnc_prep_fit(&p, NNC_PRE_MINMAX, &pd);
    nnc_prep_apply(&p, &pd);
    check("min_max maps the training range to [0, 1]",
          p.shift[0] == 1 && p.scale[0] == 1.0f / 3 && px[0] == 0 && px[6] == 1 && px[1] == 0 && px[7] == 0,
          "shift %g scale %g -> %g %g", p.shift[0], p.scale[0], px[0], px[6]);
    nnc_prep_free(&p);
    nnc_prep_fit(&p, NNC_PRE_NONE, &pd);
    px[0] = 9;
    nnc_prep_apply(&p, &pd);
    check("preprocess none leaves data alone", px[0] == 9 && !p.shift, "%g", px[0]);
}

/* ---- metrics */

static void test_metrics(void) {
    nnc_model_desc d = desc(NNC_BINARY, 2, 1);
    nnc_metrics mt;
    d.logits = 1;
    nnc_metrics_init(&mt, &d);
    float out[4] = {2, -1, 0.5f, 0}, y[4] = {1, 1, 0, 0};
    nnc_metrics_add(&mt, 0.5f, out, y, 3);
    nnc_metrics_add(&mt, 1.0f, out + 3, y + 3, 1);
    check("metrics: loss is weighted by batch size", fabs(nnc_metrics_loss(&mt) - 0.625) < 1e-12, "%g", nnc_metrics_loss(&mt));
    check("metrics: binary accuracy on logits (z > 0)", nnc_metrics_accuracy(&mt) == 0.5, "%g", nnc_metrics_accuracy(&mt));
    d.logits = 0;
    nnc_metrics_init(&mt, &d);
    float pr[3] = {0.9f, 0.5f, 0.2f}, py[3] = {1, 1, 0};
    nnc_metrics_add(&mt, 0, pr, py, 3);
    check("metrics: binary accuracy on probabilities (p > 0.5)", fabs(nnc_metrics_accuracy(&mt) - 2.0 / 3) < 1e-12, "%g", nnc_metrics_accuracy(&mt));

    d = desc(NNC_SPARSE, 2, 3);
    nnc_metrics_init(&mt, &d);
    float so[6] = {0, 5, 1, 3, 3, 0}, sy[2] = {1, 1};
    nnc_metrics_add(&mt, 0, so, sy, 2);
    check("metrics: sparse accuracy by argmax, first maximum wins", nnc_metrics_accuracy(&mt) == 0.5, "%g", nnc_metrics_accuracy(&mt));

    /* a class at every step: 2 samples of 3 steps of 3 classes; every step
     * scores as a sample, the loss is still weighted per sample */
    d = desc(NNC_SPARSE, 3, 9);
    d.steps = 3;
    d.n_target = 3;
    double cm[9] = {0};
    nnc_metrics_init(&mt, &d);
    mt.confusion = cm;
    float to[18] = {5, 0, 0, 0, 5, 0, 0, 0, 5, /* sample 0: classes 0 1 2 */
                    0, 5, 0, 0, 5, 0, 5, 0, 0}, /* sample 1: classes 1 1 0 */
        ty[6] = {0, 1, 1, 1, 1, 2};
    nnc_metrics_add(&mt, 0.5f, to, ty, 1);
    nnc_metrics_add(&mt, 1.5f, to + 9, ty + 3, 1);
    check("metrics: a class at every step, accuracy over all 6 steps", fabs(nnc_metrics_accuracy(&mt) - 4.0 / 6) < 1e-12,
          "%g", nnc_metrics_accuracy(&mt));
    check("metrics: a class at every step, loss weighted per sample", fabs(nnc_metrics_loss(&mt) - 1.0) < 1e-12, "%g",
          nnc_metrics_loss(&mt));
    check("metrics: a class at every step, the confusion matrix counts steps",
          cm[0] == 1 && cm[4] == 3 && cm[5] == 1 && cm[6] == 1 && cm[0] + cm[4] + cm[5] + cm[6] == 6, "%g %g %g %g",
          cm[0], cm[4], cm[5], cm[6]);

    d = desc(NNC_REGRESSION, 1, 2);
    nnc_metrics_init(&mt, &d);
    float ro[4] = {1, 2, 3, 4}, ry[4] = {1, 0, 3, 2};
    nnc_metrics_add(&mt, 0, ro, ry, 2);
    check("metrics: rmse over every output", fabs(nnc_metrics_rmse(&mt) - sqrt(2.0)) < 1e-12, "%g", nnc_metrics_rmse(&mt));

    float nanv[3] = {NAN, 1, 2}, p[3], big[3] = {1000, 1001, -1000};
    nnc_softmax(p, big, 3);
    check("argmax skips NaN", nnc_argmax(nanv, 3) == 2, "%d", nnc_argmax(nanv, 3));
    check("softmax of large logits", fabsf(p[0] + p[1] + p[2] - 1) < 1e-6f && p[1] > p[0] && p[2] == 0 && !isnan(p[0]), "%g %g %g", p[0], p[1], p[2]);
    check("sigmoid at the extremes", nnc_sigmoid(100) == 1 && nnc_sigmoid(-100) >= 0 && nnc_sigmoid(-100) < 1e-40f && nnc_sigmoid(0) == 0.5f, "%g", nnc_sigmoid(-100));
}

/* ---- safetensors */

/* A file image: header length, header padded to 8, data. */
static size_t mkst(unsigned char *buf, const char *json, const void *data, size_t n) {
    size_t h = strlen(json), p = (h + 7) / 8 * 8;
    for (int k = 0; k < 8; k++) buf[k] = (unsigned char)((uint64_t)p >> (8 * k));
    memcpy(buf + 8, json, h);
    memset(buf + 8 + h, ' ', p - h);
    memcpy(buf + 8 + p, data, n);
    return 8 + p + n;
}

static void test_safetensors(void) {
    unsigned char buf[4096];
    float v[3] = {1.5f, -2, 3};
    nnc_st_file f;
    size_t n;

    n = mkst(buf, "{\"a\\\"b\\\\c\\u00e9\\ud83d\\ude00\\/\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]},"
                  "\"__metadata__\":{\"k\":\"v\\n\"}}", v, 12);
    int rc = nnc_st_read_mem(&f, "m.st", buf, n);
    float got[3] = {0};
    check("safetensors: string escapes, surrogate pairs, metadata",
          rc == 0 && f.n == 1 && !strcmp(f.t[0].name, "a\"b\\c\xc3\xa9\xf0\x9f\x98\x80/") && f.n_meta == 1 &&
              !strcmp(nnc_st_meta(&f, "k"), "v\n") && nnc_st_to_f32(&f, &f.t[0], got) == 0 && got[2] == 3,
          "rc %d %s", rc, nnc_error());
    if (rc == 0) nnc_st_free(&f);

    /* 1.0, -2.0 and 65504 / 0.5 / tiny subnormal in F16, BF16, F64 */
    unsigned char f16[6] = {0x00, 0x3c, 0xff, 0x7b, 0x01, 0x00}, bf16[4] = {0x80, 0x3f, 0x00, 0xc0};
    double f64[2] = {0.1, -1e-300};
    unsigned char data[6 + 4 + 16];
    memcpy(data, f16, 6);
    memcpy(data + 6, bf16, 4);
    memcpy(data + 10, f64, 16); /* this test assumes a little-endian host */
    n = mkst(buf, "{\"h\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[0,6]},"
                  "\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[6,10]},"
                  "\"d\":{\"dtype\":\"F64\",\"shape\":[1,2],\"data_offsets\":[10,26]}}", data, 26);
    rc = nnc_st_read_mem(&f, "m.st", buf, n);
    float h[3], b[2], dd[2];
    int ok = rc == 0 && !nnc_st_to_f32(&f, nnc_st_find(&f, "h"), h) && !nnc_st_to_f32(&f, nnc_st_find(&f, "b"), b) &&
             !nnc_st_to_f32(&f, nnc_st_find(&f, "d"), dd);
    check("safetensors: F16, BF16 and F64 become float",
          ok && h[0] == 1 && h[1] == 65504 && h[2] == ldexpf(1, -24) && b[0] == 1 && b[1] == -2 && dd[0] == 0.1f && dd[1] == -0.0f,
          "rc %d %s / %g %g %g %g %g %g", rc, nnc_error(), h[0], h[1], h[2], b[0], b[1], dd[0]);
    if (rc == 0) nnc_st_free(&f);

    static const struct { const char *json; size_t data; const char *want; } bad[] = {
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}", 12, "m.st: error: invalid header JSON at byte 64: unexpected end of header"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[3,],\"data_offsets\":[0,12]}}", 12, "m.st: error: invalid header JSON at byte 39: unexpected character"},
        {"{'a':1}", 0, "m.st: error: invalid header JSON at byte 9: expected a string key"},
        {"{\"a\":tru}", 0, "m.st: error: invalid header JSON at byte 13: unexpected character"},
        {"{\"a\":01}", 0, "m.st: error: invalid header JSON at byte 14: expected ',' or '}'"},
        {"{\"a\":1.}", 0, "m.st: error: invalid header JSON at byte 15: bad number"},
        {"{\"a\":\"x\\q\"}", 0, "m.st: error: invalid header JSON at byte 15: bad escape in string"},
        {"{\"a\":\"\\ud800\"}", 0, "m.st: error: invalid header JSON at byte 14: unpaired surrogate in \\u escape"},
        {"{\"a\":\"\\u0000\"}", 0, "m.st: error: invalid header JSON at byte 14: \\u0000 in string"},
        {"{\"a\":\"x\ty\"}", 0, "m.st: error: invalid header JSON at byte 15: control character in string"},
        {"{\"a\":\"xy}", 0, "m.st: error: invalid header JSON at byte 24: unterminated string"},
        {"{} x", 0, "m.st: error: invalid header JSON at byte 11: text after the JSON object"},
        {"[]", 0, "m.st: error: header is not a JSON object"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]},\"a\":{}}", 12, "m.st: error: tensor 'a' appears twice in the header"},
        {"{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}", 12, "m.st: error: tensor 'a': key 'dtype' appears twice"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12],\"x\":1}}", 12, "m.st: error: tensor 'a': unknown key 'x'"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[3]}}", 12, "m.st: error: tensor 'a': missing \"data_offsets\""},
        {"{\"a\":[]}", 0, "m.st: error: tensor 'a': expected an object"},
        {"{\"a\":{\"dtype\":\"F99\",\"shape\":[3],\"data_offsets\":[0,12]}}", 12, "m.st: error: tensor 'a': unknown dtype 'F99'"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[-3],\"data_offsets\":[0,12]}}", 12, "m.st: error: tensor 'a': shape is not a list of non-negative integers"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[3.0],\"data_offsets\":[0,12]}}", 12, "m.st: error: tensor 'a': shape is not a list of non-negative integers"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,3],\"data_offsets\":[0,12]}}", 12, "m.st: error: tensor 'a': shape has 9 dimensions, at most 8 are supported"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,12]}}", 12, "m.st: error: tensor 'a': shape is too large"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0]}}", 12, "m.st: error: tensor 'a': data_offsets is not a pair of non-negative integers"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[12,0]}}", 12, "m.st: error: tensor 'a': data_offsets [12, 0] end before they begin"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,99999999999999999999999]}}", 12, "m.st: error: tensor 'a': data_offsets [18446744073709551615, 18446744073709551615] run past the end of the data (12 bytes; is the file truncated?)"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[4,16]}}", 12, "m.st: error: tensor 'a': data_offsets [4, 16] run past the end of the data (12 bytes; is the file truncated?)"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 12, "m.st: error: tensor 'a': data_offsets [0, 8] hold 8 bytes, but shape [3] of F32 needs 12"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 12, "m.st: error: tensor 'b' overlaps tensor 'a' in the data"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "m.st: error: 4 unused bytes in the data before tensor 'a'"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 12, "m.st: error: 4 unused bytes at the end of the data"},
        {"{\"__metadata__\":{\"k\":1}}", 0, "m.st: error: __metadata__ value of 'k' is not a string"},
        {"{\"__metadata__\":[]}", 0, "m.st: error: __metadata__ is not an object"},
        {"{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}", 0, "m.st: error: __metadata__ key 'k' appears twice"},
        {"", 0, "m.st: error: invalid header JSON at byte 8: unexpected end of header"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char name[200];
        n = mkst(buf, bad[i].json, v, bad[i].data);
        rc = nnc_st_read_mem(&f, "m.st", buf, n);
        snprintf(name, sizeof name, "safetensors error: %s", bad[i].want + 12);
        check(name, rc == -1 && !strcmp(nnc_error(), bad[i].want), "rc %d '%s'", rc, nnc_error());
        if (rc == 0) nnc_st_free(&f);
    }

    char deep[300] = "{\"a\":";
    memset(deep + 5, '[', 100);
    memset(deep + 105, ']', 100);
    strcpy(deep + 205, "}");
    n = mkst(buf, deep, v, 0);
    rc = nnc_st_read_mem(&f, "m.st", buf, n);
    check("safetensors error: deep nesting is refused", rc == -1 && strstr(nnc_error(), "nested too deeply"), "%s", nnc_error());

    n = mkst(buf, "{}", v, 0);
    buf[0] = 200;
    rc = nnc_st_read_mem(&f, "m.st", buf, n);
    check("safetensors error: header length past the end",
          rc == -1 && !strcmp(nnc_error(), "m.st: error: not a safetensors file (or truncated): header length 200 exceeds the 8 bytes that follow it"),
          "%s", nnc_error());
    rc = nnc_st_read_mem(&f, "m.st", buf, 5);
    check("safetensors error: 5 bytes", rc == -1 && !strcmp(nnc_error(), "m.st: error: not a safetensors file: 5 bytes, too short for the header length"), "%s", nnc_error());

    /* writer: exact bytes of a small file, then read back */
    char path[512];
    snprintf(path, sizeof path, "%s/w.safetensors", tmpdir);
    float w[6] = {1, 2, 3, 4, 5, 6}, bias[1] = {-0.5f};
    nnc_st_entry e[3] = {{"fc.weight", 2, {2, 3}, w}, {"fc.bias", 1, {1}, bias}, {"s\"q", 0, {0}, bias}};
    nnc_st_kv meta[1] = {{"format", "pt"}};
    rc = nnc_st_write(path, e, 3, meta, 1);
    const char *want = "{\"__metadata__\":{\"format\":\"pt\"},\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                       "\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[24,28]},"
                       "\"s\\\"q\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[28,32]}}";
    size_t wl = strlen(want), pl = (wl + 7) / 8 * 8;
    FILE *fp = fopen(path, "rb");
    n = fp ? fread(buf, 1, sizeof buf, fp) : 0;
    if (fp) fclose(fp);
    ok = rc == 0 && n == 8 + pl + 32 && buf[0] == pl && !memcmp(buf + 8, want, wl) && buf[8 + pl - 1] == ' ' &&
         !memcmp(buf + 8 + pl, "\x00\x00\x80\x3f", 4);
    check("safetensors: writer output, byte for byte", ok, "rc %d (%s) n %zu", rc, nnc_error(), n);
    char tmp[520];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    check("safetensors: no PATH.tmp left behind", access(tmp, F_OK) != 0, "%s exists", tmp);
    rc = nnc_st_read(&f, path);
    float back[6];
    ok = rc == 0 && f.n == 3 && !nnc_st_to_f32(&f, nnc_st_find(&f, "fc.weight"), back) && back[5] == 6 &&
         nnc_st_find(&f, "s\"q")->ndim == 0 && nnc_st_find(&f, "s\"q")->numel == 1;
    check("safetensors: writer output reads back", ok, "rc %d %s", rc, nnc_error());
    if (rc == 0) nnc_st_free(&f);
    rc = nnc_st_write("/nonexistent/dir/w.safetensors", e, 3, meta, 1);
    check("safetensors: unwritable path", rc == -1 && !strcmp(nnc_error(), "/nonexistent/dir/w.safetensors: error: cannot write: No such file or directory"), "%s", nnc_error());
    remove(path);
}

/* ---- nnc_main on a probe model that logs what the runtime hands it */

enum { PROBE_MAX = 4096 };
static int probe_ids[PROBE_MAX], probe_n, probe_sizes[PROBE_MAX], probe_calls;
static int eval_ids[PROBE_MAX], eval_n;
static float probe_p[1];

static float *probe_params(void *m) { (void)m; return probe_p; }
static void probe_init(void *m, uint64_t seed) { (void)m; (void)seed; probe_p[0] = 0; }
static float probe_train(void *m, const float *x, const float *y, int n) {
    (void)m;
    (void)y;
    if (probe_calls < PROBE_MAX) probe_sizes[probe_calls++] = n;
    for (int i = 0; i < n && probe_n < PROBE_MAX; i++) probe_ids[probe_n++] = (int)x[i];
    return 1;
}
static float probe_eval(void *m, const float *x, const float *y, int n, float *out) {
    (void)m;
    (void)y;
    for (int i = 0; i < n; i++) {
        out[i] = 0;
        if (eval_n < PROBE_MAX) eval_ids[eval_n++] = (int)x[i];
    }
    return 0;
}
static void probe_predict(void *m, const float *x, int n, float *out) {
    (void)m;
    (void)x;
    for (int i = 0; i < n; i++) out[i] = 0;
}
static const nnc_tensor probe_tensors[] = {{"p", 0, 1, {1, 0, 0, 0}}};

static int run_probe(int shuffle, const char *csv, const char *seed) {
    nnc_model_desc d = desc(NNC_REGRESSION, 1, 1);
    char *argv[] = {"probe", "train", "--data", (char *)csv, "--epochs", "3", "--quiet", "--seed", (char *)seed, NULL};
    d.batch = 5;
    d.validation_split = 0.25;
    d.shuffle = shuffle;
    d.n_params = 1;
    d.tensors = probe_tensors;
    d.n_tensors = 1;
    d.params = probe_params;
    d.init = probe_init;
    d.train_step = probe_train;
    d.evaluate = probe_eval;
    d.predict = probe_predict;
    probe_n = probe_calls = eval_n = 0;
    fflush(stdout);
    int saved = dup(1), null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    int rc = nnc_main(&d, NULL, 9, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    close(null);
    return rc;
}

static void test_probe(void) {
    char csv[512];
    snprintf(csv, sizeof csv, "%s/probe.csv", tmpdir);
    FILE *f = fopen(csv, "w");
    for (int i = 0; i < 22; i++) fprintf(f, "%d,0\n", i);
    fclose(f);

    /* 22 rows, split 0.25: rows 0..15 train, 16..21 validate; batches 5,5,5,1 */
    int rc = run_probe(1, csv, "7");
    int sizes_ok = probe_calls == 12, perm_ok = probe_n == 48, differ = 0;
    for (int c = 0; c < probe_calls; c++) sizes_ok &= probe_sizes[c] == (c % 4 == 3 ? 1 : 5);
    for (int e = 0; e < 3 && perm_ok; e++) {
        int seen[16] = {0};
        for (int i = 0; i < 16; i++) {
            int id = probe_ids[e * 16 + i];
            if (id < 0 || id >= 16 || seen[id]++) perm_ok = 0;
        }
    }
    for (int i = 0; i < 16; i++) differ += probe_ids[i] != probe_ids[16 + i];
    check("train: full batches then a partial one, every epoch", rc == 0 && sizes_ok, "rc %d calls %d", rc, probe_calls);
    check("train: each epoch is a permutation of the training rows", perm_ok, "n %d", probe_n);
    check("train: shuffled again every epoch", differ > 8, "%d of 16 positions differ", differ);
    int val_ok = eval_n == 6;
    for (int i = 0; i < eval_n && val_ok; i++) val_ok = eval_ids[i] == 16 + i;
    check("train: the last rows validate, in order", val_ok, "eval_n %d first %d", eval_n, eval_ids[0]);

    int first[48];
    memcpy(first, probe_ids, sizeof first);
    run_probe(1, csv, "7");
    check("train: same seed, same order", !memcmp(first, probe_ids, sizeof first), "differs");
    run_probe(1, csv, "8");
    check("train: another seed, another order", memcmp(first, probe_ids, sizeof first) != 0, "same");
    run_probe(0, csv, "7");
    int inorder = probe_n == 48;
    for (int i = 0; i < probe_n && inorder; i++) inorder = probe_ids[i] == i % 16;
    check("train: without shuffle the rows come in file order", inorder, "n %d", probe_n);
    remove(csv);
}

/* ---- random corruption: errors, never crashes */

static void test_fuzz(void) {
    unsigned char good[512], buf[600];
    float v[7] = {1, 2, 3, 4, 5, 6, 7};
    nnc_rng r;
    size_t n = mkst(good, "{\"__metadata__\":{\"nnc.shift\":\"1,2\"},\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],"
                          "\"data_offsets\":[0,24]},\"b\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[24,28]}}",
                    v, 28);
    int accepted = 0, rejected = 0;
    nnc_rng_seed(&r, 1);
    static const char junk[] = "{}[]\",:\\0123456789e-.u ";
    for (int it = 0; it < 20000; it++) {
        size_t m = n;
        memcpy(buf, good, n);
        int edits = 1 + (int)nnc_rng_below(&r, 3);
        for (int k = 0; k < edits; k++) {
            uint32_t what = nnc_rng_below(&r, 4);
            size_t at = nnc_rng_below(&r, (uint32_t)m);
            if (what == 0) buf[at] = (unsigned char)nnc_rng_u32(&r);
            else if (what == 1) buf[at] = (unsigned char)junk[nnc_rng_below(&r, sizeof junk - 1)];
            else if (what == 2) m = at;
            else if (at < 8) buf[at] ^= (unsigned char)(1u << nnc_rng_below(&r, 8));
        }
        nnc_st_file f;
        if (nnc_st_read_mem(&f, "fuzz", buf, m) == 0) {
            float out[64];
            accepted++;
            for (int t = 0; t < f.n; t++)
                if (f.t[t].numel <= 64) nnc_st_to_f32(&f, &f.t[t], out);
            nnc_st_free(&f);
        } else {
            rejected++;
        }
    }
    check("fuzz: 20000 corrupted safetensors files, no crash", accepted + rejected == 20000 && rejected > 1000,
          "accepted %d rejected %d", accepted, rejected);

    const char *csv = "a,b,c\n1,2,0\n3.5,-4,1\n\"5\", 6 ,1\r\n";
    nnc_model_desc d = desc(NNC_BINARY, 2, 1);
    char cbuf[64];
    accepted = rejected = 0;
    for (int it = 0; it < 20000; it++) {
        size_t m = strlen(csv);
        memcpy(cbuf, csv, m);
        int edits = 1 + (int)nnc_rng_below(&r, 3);
        for (int k = 0; k < edits; k++) {
            size_t at = nnc_rng_below(&r, (uint32_t)m);
            if (nnc_rng_below(&r, 3) == 0) m = at + 1;
            else cbuf[at] = "\",\n\r 0123.-eanx\t"[nnc_rng_below(&r, 17)];
        }
        FILE *f = fmemopen(cbuf, m, "r");
        nnc_dataset ds;
        if (nnc_data_read(&ds, f, "fuzz.csv", &d, (int)(it & 1)) == 0) {
            accepted += ds.n > 0 && ds.x != NULL;
            nnc_data_free(&ds);
        } else {
            rejected++;
            accepted += ds.x != NULL; /* a failed read must leave nothing behind */
        }
        fclose(f);
    }
    check("fuzz: 20000 corrupted CSV files, no crash", accepted + rejected == 20000 && rejected > 1000,
          "accepted %d rejected %d", accepted, rejected);
}

int main(int argc, char **argv) {
    if (argc > 1) tmpdir = argv[1];
    test_rng();
    test_csv();
    test_split_prep();
    test_metrics();
    test_safetensors();
    test_probe();
    test_fuzz();
    return n_fail ? 1 : 0;
}

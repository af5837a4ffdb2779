/* dist_serial.c — the one-process side of nnc_dist.h, in libnncrt.a: every
 * program that is not built for mpirun trains exactly as it always did. A
 * program built with `nnc train --processes N` (or `--build-only PROG
 * --mpi`) links build/dist_mpi.o (dist.c) first, which defines these same
 * symbols, so this file's object is never pulled from the library. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "nnc_dist.h"

int nnc_dist_init(int *argc, char **argv) {
    for (int i = 1; i < *argc; i++)
        if (!strcmp(argv[i], "--per-process-batch")) {
            fprintf(stderr, "error: --per-process-batch: this program was built for one process "
                            "(nnc train --processes N builds one for mpirun)\n");
            return 2;
        }
    return 0;
}

int nnc_dist_finish(int status) { return status; }
int nnc_dist_size(void) { return 1; }
int nnc_dist_mpi(void) { return 0; }
int nnc_dist_writer(void) { return 1; }
int nnc_dist_tty(int fd) { return isatty(fd); }
int nnc_dist_global_batch(const nnc_model_desc *d) { return d->batch; }

void nnc_dist_shard(int n, int *lo, int *count) {
    *lo = 0;
    *count = n;
}

int nnc_dist_bcast_model(const nnc_model_desc *d, void *m, int n_train) {
    (void)d, (void)m, (void)n_train;
    return 0;
}

float nnc_dist_step(const nnc_model_desc *d, void *m, const float *x, const float *y, int n, int nb, int *stop) {
    (void)nb, (void)stop;
    return d->train_step(m, x, y, n);
}

int nnc_dist_metrics(nnc_metrics *mt) {
    (void)mt;
    return 0;
}

void nnc_dist_bcast(double *v, int n) { (void)v, (void)n; }

int nnc_dist_check_same(const nnc_model_desc *d, void *m) {
    (void)d, (void)m;
    return 0;
}

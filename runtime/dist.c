/* dist.c — data-parallel training on MPI (nnc_dist.h): every process trains
 * on its shard of each global batch, and the gradients are summed in one
 * MPI_Allreduce per step over the model's contiguous gradient block, between
 * the generated NAME_backward and NAME_update. The generated model knows
 * nothing of this. Compiled with mpicc into build/dist_mpi.o, which programs
 * built for mpirun link before libnncrt.a (whose dist_serial.c defines the
 * same symbols for one process).
 *
 * The weighting makes the update the one a single process computes on the
 * whole global batch of nb samples: NAME_backward returns the gradient of
 * the mean loss over this process's n samples, (1/n) sum g_i + R (R: the
 * regularizers' gradient); scaled by n/nb and summed over processes that is
 * (1/nb) sum over the global batch of g_i + R, the serial gradient, also for
 * a short last batch split unequally and for a process that got no sample
 * (it adds zeros). The same reduction carries the batch's loss (so the
 * progress line and the epoch loss are the global ones) and a stop flag (so
 * that an interrupt on any process stops all after the same batch). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nnc_dist.h"
#include "nnc_internal.h"

static int rank, size = 1, per_process;
static float *buf;                  /* the reduction: n_params gradients, then loss * n, stop */
static size_t buf_len;
static double t_reduce, t_step;     /* seconds in MPI_Allreduce, in whole steps */
static double t_wait;               /* NNC_DIST_STATS: seconds waiting for the slowest process */
static double t_fastest = 1e30;     /* NNC_DIST_STATS: the fastest MPI_Allreduce of the gradients */
static int stats;                   /* NNC_DIST_STATS set: time the steps */
static long n_steps;
static float *zeros;                /* one sample of zero inputs and targets (batch norm, see below) */
static double step_w;               /* this step's weight of this process's gradient, n / nb */

/* SIGUSR1 (which mpirun forwards to every process; nnc train --processes
 * sends it on Ctrl-C) and SIGTERM (what mpirun sends when it is itself
 * interrupted) ask for a checkpoint as SIGINT does in one process. */
static volatile sig_atomic_t got_signal;
static void on_signal(int sig) {
    (void)sig;
    got_signal = 1;
}

int nnc_dist_init(int *argc, char **argv) {
    int k = 1;
    stats = getenv("NNC_DIST_STATS") != NULL;
    MPI_Init(argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    for (int i = 1; i < *argc; i++) {
        if (!strcmp(argv[i], "--per-process-batch")) per_process = 1;
        else argv[k++] = argv[i];
    }
    *argc = k;
    argv[k] = NULL;
    {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGUSR1, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
    }
    /* one process prints and writes files; the others only compute */
    if (rank != 0 && !freopen("/dev/null", "w", stdout)) return 1;
    return 0;
}

int nnc_dist_finish(int status) {
    if (rank == 0 && n_steps && stats)
        fprintf(stderr,
                "dist: %d process%s, %ld steps, %.6f s in steps, %.6f s in MPI_Allreduce, %.6f s waiting before it, "
                "%zu floats each, the fastest in %.1f us\n",
                size, size == 1 ? "" : "es", n_steps, t_step, t_reduce, t_wait, buf_len,
                size > 1 ? t_fastest * 1e6 : 0.0);
    free(buf);
    free(zeros);
    /* A failed process must not leave the others waiting in a reduction:
     * MPI_Abort ends the whole job (an interrupt, 130, stops all together). */
    if (size > 1 && status != 0 && status != 130) {
        fflush(stdout);
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, status);
    }
    MPI_Finalize();
    return status;
}

int nnc_dist_size(void) { return size; }
int nnc_dist_mpi(void) { return 1; }
int nnc_dist_writer(void) { return rank == 0; }

int nnc_dist_tty(int fd) {
    const char *t = getenv("NNC_TTY");
    return size == 1 ? isatty(fd) : t && !strcmp(t, "1") && isatty(fd);
}
int nnc_dist_global_batch(const nnc_model_desc *d) { return per_process ? d->batch * size : d->batch; }

void nnc_dist_shard(int n, int *lo, int *count) {
    int base = n / size, extra = n % size;
    *count = base + (rank < extra);
    *lo = rank * base + (rank < extra ? rank : extra);
}

/* Batch norm over the whole global batch (PyTorch's SyncBatchNorm): the
 * model's batch-norm functions call this with their per-channel sums. The
 * statistics' sums (grad 0) are plain sums over the processes with samples;
 * the gradient's (grad 1, the sums of dy and dy xhat) are weighted as the
 * gradients are, n / nb, then divided by this process's weight again,
 * because this process's dy is that of its own mean loss: so its dx is the
 * serial dx over the global batch, divided by its weight, which the
 * gradient's weighting then restores. A process without samples runs its
 * backward on one sample of zeros with weight 0, so that it takes part in
 * these sums without adding to them. */
static void batch_sum(void *ctx, double *v, int n, int grad) {
    const double w = grad ? step_w : step_w > 0;
    (void)ctx;
    for (int i = 0; i < n; i++) v[i] *= w;
    MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    if (grad && step_w > 0)
        for (int i = 0; i < n; i++) v[i] /= step_w;
}

int nnc_dist_bcast_model(const nnc_model_desc *d, void *m, int n_train) {
    int lo = n_train, hi = n_train;
    if (size == 1) return 0;
    if (!d->backward || !d->update || !d->grads)
        return nnc_errorf("error: model '%s': this program has no separate backward and update "
                          "(rebuild it with this nnc to train on several processes)", d->name);
    MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (lo != hi)
        return nnc_errorf("error: the processes read different training data (from %d to %d samples): "
                          "every process must read the same files", lo, hi);
    MPI_Bcast(d->params(m), (int)d->n_params, MPI_FLOAT, 0, MPI_COMM_WORLD);
    if (d->state && d->n_state) MPI_Bcast(d->state(m), (int)d->n_state, MPI_FLOAT, 0, MPI_COMM_WORLD);
    if (d->step) MPI_Bcast(d->step(m), 1, MPI_LONG, 0, MPI_COMM_WORLD);
    if (d->lr_scale) MPI_Bcast(d->lr_scale(m), 1, MPI_FLOAT, 0, MPI_COMM_WORLD);
    /* dropout: masks independent across processes, not the same on every shard */
    if (d->mask_seed) *d->mask_seed(m) += (uint64_t)rank * UINT64_C(0x9e3779b97f4a7c15);
    if (d->set_batch_sum) d->set_batch_sum(m, batch_sum, NULL);
    buf_len = d->n_params + 2;
    if (!(buf = nnc_alloc(buf_len, sizeof(float)))) return -1;
    if (!(zeros = calloc((size_t)d->n_in + (size_t)d->n_target, sizeof(float)))) return nnc_errorf("error: out of memory");
    return 0;
}

float nnc_dist_step(const nnc_model_desc *d, void *m, const float *x, const float *y, int n, int nb, int *stop) {
    double t0 = MPI_Wtime(), t1;
    size_t np = d->n_params;
    float loss = 0, *g;
    if (size == 1) { /* one process of a program built for mpirun: timed, for bench/dist.sh */
        loss = d->train_step(m, x, y, n);
        *stop = *stop || got_signal;
        n_steps++, t_step += MPI_Wtime() - t0;
        return loss;
    }
    g = d->grads(m);
    step_w = (double)n / nb;
    if (n > 0) {
        const float w = (float)step_w;
        loss = d->backward(m, x, y, n);
        for (size_t i = 0; i < np; i++) buf[i] = g[i] * w;
    } else {
        /* with batch norm every process must join its sums (batch_sum) */
        if (d->set_batch_sum) d->backward(m, zeros, zeros + d->n_in, 1);
        memset(buf, 0, np * sizeof *buf);
    }
    buf[np] = loss * (float)n;
    buf[np + 1] = (float)(*stop || got_signal);
    t1 = MPI_Wtime();
    if (stats) { /* measuring: the wait for the slowest process apart from the reduction itself */
        MPI_Barrier(MPI_COMM_WORLD);
        t_wait += MPI_Wtime() - t1;
        t1 = MPI_Wtime();
    }
    MPI_Allreduce(MPI_IN_PLACE, buf, (int)buf_len, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    t1 = MPI_Wtime() - t1;
    t_reduce += t1;
    if (t1 < t_fastest) t_fastest = t1;
    memcpy(g, buf, np * sizeof *g);
    *stop = buf[np + 1] > 0;
    d->update(m);
    n_steps++, t_step += MPI_Wtime() - t0;
    return buf[np] / (float)nb;
}

/* Reduce to rank 0, then broadcast: every process gets the same bits, so
 * that the callbacks decide the same on all (an allreduce need not). */
static void sum_same(double *v, int n) {
    MPI_Reduce(rank ? v : MPI_IN_PLACE, v, n, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    MPI_Bcast(v, n, MPI_DOUBLE, 0, MPI_COMM_WORLD);
}

int nnc_dist_metrics(nnc_metrics *mt) {
    int k = mt->confusion ? mt->n_classes : 0, n = 7 + k * k;
    double *v;
    if (size == 1) return 0;
    if (!(v = nnc_alloc((size_t)n, sizeof *v))) return -1;
    v[0] = mt->loss_sum, v[1] = mt->n, v[2] = mt->correct, v[3] = mt->sq_sum;
    v[4] = mt->n_values, v[5] = mt->abs_sum, v[6] = mt->top_k_correct;
    for (int i = 0; i < k * k; i++) v[7 + i] = mt->confusion[i];
    sum_same(v, n);
    mt->loss_sum = v[0], mt->n = v[1], mt->correct = v[2], mt->sq_sum = v[3];
    mt->n_values = v[4], mt->abs_sum = v[5], mt->top_k_correct = v[6];
    for (int i = 0; i < k * k; i++) mt->confusion[i] = v[7 + i];
    free(v);
    if (mt->scores) {
        /* auc needs every (score, label) pair: gathered in rank order */
        int *count = nnc_alloc((size_t)size, sizeof(int)), *at = nnc_alloc((size_t)size, sizeof(int));
        if (!count || !at) return free(count), free(at), -1;
        MPI_Allgather(&mt->n_scores, 1, MPI_INT, count, 1, MPI_INT, MPI_COMM_WORLD);
        for (int r = 0, s = 0; r < size; s += count[r++]) count[r] *= 2, at[r] = s * 2;
        memmove(mt->scores + at[rank] / 2, mt->scores, (size_t)mt->n_scores * sizeof *mt->scores);
        MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_FLOAT, mt->scores, count, at, MPI_FLOAT, MPI_COMM_WORLD);
        mt->n_scores = (at[size - 1] + count[size - 1]) / 2;
        free(count);
        free(at);
    }
    return 0;
}

void nnc_dist_bcast(double *v, int n) {
    if (size > 1) MPI_Bcast(v, n, MPI_DOUBLE, 0, MPI_COMM_WORLD);
}

int nnc_dist_check_same(const nnc_model_desc *d, void *m) {
    /* FNV-1a of the parameters' bytes: the same on every process, or a bug */
    const unsigned char *p = (const unsigned char *)d->params(m);
    uint64_t h = UINT64_C(14695981039346656037), lo, hi;
    if (size == 1) return 0;
    for (size_t i = 0; i < d->n_params * sizeof(float); i++) h = (h ^ p[i]) * UINT64_C(1099511628211);
    MPI_Allreduce(&h, &lo, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&h, &hi, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
    if (lo != hi) return nnc_errorf("internal error: the processes' weights differ after training (%s:%d)", __FILE__, __LINE__);
    return 0;
}

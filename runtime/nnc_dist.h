/* nnc_dist.h — data-parallel training over several processes, as the
 * driver sees it. Every process holds the whole model and the whole data,
 * shuffles it identically, and trains on its own part (shard) of each global
 * batch; the gradients are summed across processes before the same update on
 * every one. dist.c implements this on MPI (compiled with mpicc into
 * build/dist_mpi.o, linked only into programs built for mpirun);
 * dist_serial.c is the one-process version in libnncrt.a, under which
 * every function below is the identity and training is exactly the serial
 * one. Both define the same symbols, so linking dist_mpi.o before the library
 * replaces the serial one. Not part of the public API (nnc_rt.h). */
#ifndef NNC_DIST_H
#define NNC_DIST_H

#include "nnc_rt.h"

/* Called first by nnc_main: MPI_Init, and takes the distribution flags out
 * of argv (--per-process-batch); on processes other than rank 0 stdout goes
 * to /dev/null. Returns 0, or an exit status after printing why. */
int nnc_dist_init(int *argc, char **argv);
/* Called last by nnc_main with its exit status: MPI_Finalize, or, when one
 * process failed while the others may wait for it in a reduction,
 * MPI_Abort, which ends them all. Returns the status. */
int nnc_dist_finish(int status);

int nnc_dist_size(void);        /* processes; 1 without MPI */
int nnc_dist_mpi(void);         /* 1 in a program built for mpirun (dist.c), even as one process */
int nnc_dist_writer(void);      /* 1 on the process that writes files (rank 0) */
/* isatty(fd), except under mpirun, whose processes write to a pseudo-terminal
 * of its own whatever the real output is: there $NNC_TTY=1 says that it is a
 * terminal (nnc train --processes sets it when it is). */
int nnc_dist_tty(int fd);

/* Samples one training step takes across all processes: batch_size, or
 * batch_size times the processes with --per-process-batch. */
int nnc_dist_global_batch(const nnc_model_desc *d);
/* This process's shard of a global batch (or a dataset) of n rows: rows
 * [*lo, *lo + *count). The n % size first processes get one row more. */
void nnc_dist_shard(int n, int *lo, int *count);

/* Copies the model that rank 0 holds (parameters, optimizer state, step,
 * learning-rate multiplier) to every process, after checking that all read
 * n_train training samples; returns 0 or -1 (message). */
int nnc_dist_bcast_model(const nnc_model_desc *d, void *m, int n_train);
/* One training step on this process's n samples of a global batch of nb:
 * backward, the gradients weighted by n / nb and summed across processes in
 * one MPI_Allreduce, update. *stop: in, this process was asked to stop
 * (SIGINT, --stop-after-batches); out, some process was (SIGUSR1 and
 * SIGTERM count too), so that all stop after the same batch. Returns the
 * global batch's mean loss. */
float nnc_dist_step(const nnc_model_desc *d, void *m, const float *x, const float *y, int n, int nb, int *stop);
/* The sums of every process's metrics (each measured on its shard of the
 * rows), identical on every process; auc's scores are gathered. */
int nnc_dist_metrics(nnc_metrics *mt);
/* v[0..n) from rank 0 to all: decisions taken once, obeyed by all. */
void nnc_dist_bcast(double *v, int n);
/* At the end of training: 0 if every process holds the same parameters
 * (they must: same start, same summed gradients), else -1 (message). */
int nnc_dist_check_same(const nnc_model_desc *d, void *m);

#endif

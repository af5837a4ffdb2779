/* mpirun.c — `nnc train MODEL.nn --processes N [--hostfile FILE]`: the
 * training program, built once and linked with the MPI half of the runtime
 * (runtime/dist.c), run under Open MPI's mpirun as N processes that each
 * train on a shard of every batch (data parallel; see README "Training on
 * several processes"). nnc itself never links MPI: without Open MPI it
 * builds and trains as before, and only --processes fails, saying so. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE     /* prctl */
#endif
#include "nnc.h"
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

const char *mpi_runtime(const char *root) {
    struct stat st;
    const char *obj = fmt("%s/build/dist_mpi.o", root);
    if (stat(obj, &st))
        fatal("--processes: this nnc was built without MPI (%s is missing): install Open MPI "
              "(Debian: libopenmpi-dev openmpi-bin, or bash tools/install-deps.sh), then run make", obj);
    return obj;
}

/* Ctrl-C, SIGTERM and SIGHUP reach nnc alone, since mpirun runs in a
 * process group of its own; nnc passes them on as SIGUSR1, which mpirun
 * forwards to every process, and each then stops after the same batch with
 * rank 0 saving the checkpoint (mpirun's own answer to SIGINT is SIGTERM,
 * then SIGKILL a second later, too soon to save a large model). nnc then
 * exits 128 + the first signal, as in one process. A second one stops
 * mpirun. */
static volatile sig_atomic_t interrupts, first_signal;
static pid_t child;

static void on_interrupt(int sig) {
    if (!first_signal)
        first_signal = sig;
    if (child > 0)
        kill(child, interrupts++ ? SIGINT : SIGUSR1);
}

int run_mpirun(Vec *prog_argv, int processes, const char *hostfile) {
    Vec av = {0};
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    vec_push(&av, "mpirun");
    if (geteuid() == 0)     /* containers run as root; Open MPI refuses it unless told */
        vec_push(&av, "--allow-run-as-root");
    if (!hostfile && processes > cores)     /* more processes than cores on this machine */
        vec_push(&av, "--oversubscribe");
    /* A process waiting in a reduction yields its core instead of spinning:
     * on a machine shared with other work, spinning takes the time the
     * other process needs to get there (LeNet-5 on 2 busy cores: 2.5x
     * faster steps, bench/dist.sh); a dedicated cluster loses microseconds. */
    vec_push(&av, "--mca");
    vec_push(&av, "mpi_yield_when_idle");
    vec_push(&av, "1");
    if (isatty(1)) {    /* the processes' output is mpirun's pty, whatever nnc's is */
        vec_push(&av, "-x");
        vec_push(&av, "NNC_TTY=1");
    }
    vec_push(&av, "--stdin");    /* mpirun in the background group must not read the terminal */
    vec_push(&av, "none");
    vec_push(&av, "-np");
    vec_push(&av, fmt("%d", processes));
    if (hostfile) {
        vec_push(&av, "--hostfile");
        vec_push(&av, (void *)hostfile);
    }
    for (int i = 0; i < prog_argv->n; i++)
        vec_push(&av, prog_argv->v[i]);
    vec_push(&av, NULL);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        fatal("cannot start mpirun: %s", strerror(errno));
    if (pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGTERM);   /* nnc killed: the job goes too */
        execvp("mpirun", (char **)av.v);
        fprintf(stderr, "nnc: error: cannot run mpirun: %s (Debian package openmpi-bin)\n", strerror(errno));
        _exit(127);
    }
    child = pid;
    static const int stops[] = {SIGINT, SIGTERM, SIGHUP};
    struct sigaction sa, old[3];
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < 3; i++)
        sigaction(stops[i], &sa, &old[i]);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            fatal("waiting for mpirun: %s", strerror(errno));
    for (int i = 0; i < 3; i++)
        sigaction(stops[i], &old[i], NULL);
    child = 0;
    int code = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
    if (code == 130)    /* interrupted with a checkpoint saved by rank 0 */
        return first_signal ? 128 + first_signal : code;
    if (code == 0)
        return code;
    if (code == 127)
        return code;
    fprintf(stderr, "nnc: error: training on %d processes stopped: mpirun exited with status %d "
                    "(a process failed or died, see above); the files already written, such as "
                    "model_checkpoint's, are complete\n", processes, code);
    return code;
}

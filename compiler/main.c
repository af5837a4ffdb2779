/* main.c — the nnc command line. compile() below is the whole pipeline, one
 * pass per file: parse -> check -> lower -> autodiff -> optim -> fuse ->
 * schedule -> plan, then emit; an inference build (--inference) runs lower ->
 * weights -> fuse -> schedule -> plan instead. The IR is verified after every
 * pass and --dump=PASS prints it.
 * `nnc train/eval/predict` emit the model plus a glue main(), compile them
 * with $CC against runtime/, and run the program. */
#include "nnc.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

static const char usage[] =
    "usage: nnc MODEL.nn [-o OUT.c] [--batch N] [--dump=PASS] [--emit=c|json] [--real=float|double] [--no-libm]\n"
    "       nnc train MODEL.nn [--data CSV] [--test CSV] [--epochs N] [--batch-size N]\n"
    "                 [--seed N] [--init W.safetensors] [--save W.safetensors] [--quiet | --verbose]\n"
    "                 [--resume CHECKPOINT.safetensors] [--report DIR] [--validation-data FILE]\n"
    "                 [--cross-validate K] [--processes N [--hostfile FILE]] [--per-process-batch]\n"
    "       nnc train MODEL.nn --build-only PROG [--mpi] [--batch-size N]\n"
    "       nnc eval MODEL.nn --weights W.safetensors [--data CSV]\n"
    "       nnc predict MODEL.nn --weights W.safetensors --data CSV [--out OUT.csv]\n"
    "       nnc MODEL.nn --inference --weights W.safetensors [-o OUT.c] [--batch N] [--no-libm]\n"
    "       nnc MODEL.nn --weights-in-ram [-o OUT.c] [--batch N] [--no-libm]\n"
    "       nnc summary MODEL.nn [--batch N] [--inference [--weights W.safetensors]]\n"
    "       nnc --list | --cflags | --version | --help\n"
    "\n"
    "  -o OUT.c        write the model as C to OUT.c and its header OUT.h\n"
    "                  (default: MODEL.c beside the current directory's MODEL name)\n"
    "  --dump=PASS     print the IR after PASS: lower, autodiff, optim, fuse, plan, or all\n"
    "  --emit=json     print the checked model as JSON instead of writing C\n"
    "  --batch N       compile for N samples per call (default: fit's batch_size)\n"
    "  --real=double   emit double precision (for gradient checks)\n"
    "  --inference     the forward pass only, weights baked in from --weights, batch 1\n"
    "                  unless --batch; preprocessing in the file's metadata is folded in\n"
    "  --weights-in-ram  an inference build whose weights the caller loads at run time\n"
    "                  from a .safetensors image in memory (NAME_load), instead of --weights\n"
    "  --list          print the catalogue: every statement, layer, activation, loss,\n"
    "                  optimizer, schedule, initializer, regularizer and callback\n"
    "  --no-libm       nnc's own expf, logf, tanhf, erff, sqrtf, ... (no <math.h>, no libm)\n"
    "  --cflags        print the C flags nnc compiles generated code with\n"
    "Environment: CC (default cc) and NNC_CFLAGS (default: nnc --cflags) for train/eval/predict.\n";

static const char *dump_pass;   /* --dump=PASS */

/* How nnc compiles generated code, printed by --cflags for people embedding it.
 * Measured on the digits MLP with GCC 12 (ms per training epoch): -O3 0.57,
 * -O2 0.44, -O2 -funroll-loops 0.26. GCC's -O3 turns the short fixed-length
 * row loops into memcpy calls and unrolls them past vectorization; unrolling
 * after -O2's vectorization instead keeps several FMA chains in flight.
 * -fno-math-errno lets sqrtf and expf vectorize (Adam's update 15x faster);
 * nothing in generated code reads errno. */
static const char default_cflags[] = "-O2 -funroll-loops -march=native -ffp-contract=fast -fno-math-errno";

static void after(Graph *g, const char *pass) {
    ir_verify(g, pass);
    if (dump_pass && (!strcmp(dump_pass, pass) || !strcmp(dump_pass, "all")))
        ir_dump(g, stdout, pass);
}

static long parse_count(const char *flag, const char *s, long lo, long hi) {
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || !*s || *end || errno || v < lo || v > hi)
        fatal("%s needs a whole number from %ld to %ld, got '%s'", flag, lo, hi, s ? s : "");
    return v;
}

/* lower -> weights -> fuse -> schedule -> plan: no autodiff, no optimizer. */
static Graph *compile_inference(Graph *g, const char *weights, int in_ram) {
    g->in_ram = in_ram;
    drop_loss(g);
    drop_dropout(g);
    if (weights)
        bake_weights(g, weights);
    if (in_ram)
        fold_target(g);
    fold_norm(g, in_ram);
    after(g, "weights");
    fuse(g);
    if (!in_ram)    /* NAME_load stores tensors as the file has them */
        bake_transposes(g);
    after(g, "fuse");
    schedule(g);
    plan(g);
    after(g, "plan");
    double bytes = 4.0 * ((double)weight_floats(g) + g->area_size[A_ACT]);
    if (bytes > NNC_MAX_BYTES)
        fatal("model %s needs %.1f GiB at batch %d; the limit is 2 GiB: use a smaller batch",
              g->spec->name, bytes / 1073741824.0, g->batch);
    return g;
}

/* The pipeline. batch 0 means fit's batch_size (1 for an inference build).
 * An inference build keeps the forward pass only and, given a weights file,
 * bakes its values in (weights.c). */
static Graph *compile(const char *path, long batch, int inference, const char *weights, int in_ram) {
    Source *src = read_source(path);
    Ast *ast = parse_file(src);
    check_errors();
    Spec *spec = check(ast);
    check_errors();
    if (!batch)
        batch = inference ? 1 : (long)call_num(spec->fit, "batch_size");
    Graph *g = lower(spec, (int)batch);
    after(g, "lower");
    if (!g->params.n)
        fatal("%s: model %s has no trainable parameters: add a dense layer", path, spec->name);
    if (inference)
        return compile_inference(g, weights, in_ram);
    autodiff(g);
    after(g, "autodiff");
    optim(g);
    after(g, "optim");
    fuse(g);
    after(g, "fuse");
    schedule(g);
    plan(g);
    after(g, "plan");
    /* The checker bounds the model at fit's batch size; --batch may differ. */
    double bytes = 4.0 * (2.0 * g->area_size[A_PARAM] + g->area_size[A_STATE] + g->area_size[A_ACT]);
    if (bytes > NNC_MAX_BYTES)
        fatal("model %s needs %.1f GiB of storage at batch %ld; the limit is 2 GiB: use a smaller batch",
              spec->name, bytes / 1073741824.0, batch);
    return g;
}

/* ---- nnc MODEL.nn -o OUT.c ----------------------------------------------- */

static char *strip_ext(const char *path, const char *ext) {
    size_t n = strlen(path), e = strlen(ext);
    return n > e && !strcmp(path + n - e, ext) ? xstrndup(path, n - e) : xstrdup(path);
}

static void write_c(Graph *g, const char *c_path, const char *real, int no_libm) {
    char *stem = strip_ext(c_path, ".c");
    EmitOpts o = {.c_path = c_path, .h_path = fmt("%s.h", stem), .real = real, .no_libm = no_libm};
    const char *slash = strrchr(o.h_path, '/');
    o.h_name = slash ? slash + 1 : o.h_path;
    emit_c(g, &o);
}

/* ---- nnc train / eval / predict ------------------------------------------ */

/* The project root: where runtime/nnc_rt.h and build/libnncrt.a (built by
 * make) are, beside the nnc binary, or $NNC_ROOT. */
static const char *project_root(void) {
    const char *root = getenv("NNC_ROOT");
    char exe[PATH_MAX];
    ssize_t n;
    if ((!root || !*root) && (n = readlink("/proc/self/exe", exe, sizeof exe - 1)) > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = 0;
        root = exe;
    }
    struct stat st;
    if (!root || stat(fmt("%s/runtime/nnc_rt.h", root), &st))
        fatal("cannot find the nnc runtime (runtime/ beside the nnc binary); set NNC_ROOT");
    if (stat(fmt("%s/build/libnncrt.a", root), &st))
        fatal("the runtime library %s/build/libnncrt.a is missing: run make", root);
    return xstrdup(root);
}

/* Split a command string like $CC ("ccache gcc") into words. */
static void push_words(Vec *argv, const char *s) {
    while (*s) {
        while (*s == ' ' || *s == '\t')
            s++;
        const char *b = s;
        while (*s && *s != ' ' && *s != '\t')
            s++;
        if (s > b)
            vec_push(argv, xstrndup(b, s - b));
    }
}

/* ---- the child process and the build directory ------------------------
 *
 * SIGINT, SIGTERM and SIGHUP to nnc while a program it started runs are
 * passed on to that program and nnc waits for it: a training program
 * answers by finishing its batch and saving a checkpoint (exit 130 for
 * SIGINT, 143 for SIGTERM, 129 for SIGHUP), and nnc exits with its status.
 * (A terminal's Ctrl-C reaches both already; the program's handler only sets
 * a flag, so the second copy changes nothing.) The program dies with nnc:
 * on Linux the kernel sends it SIGTERM when nnc dies (PR_SET_PDEATHSIG),
 * elsewhere it polls getppid() against $NNC_PARENT between batches, so
 * kill -9 to nnc still ends in a checkpoint, never in an orphan training on.
 * The build directory is removed as soon as the program is running (it
 * needs its file no more), on every exit, and on a signal before that. */
static volatile sig_atomic_t child_pid, got_signal;
static char tmp_names[5][PATH_MAX];     /* model.c, model.h, main.c, prog, then the directory */
static volatile sig_atomic_t tmp_live;   /* the directory exists and is not to be kept (NNC_KEEP) */

static void remove_tmp(void) {
    if (!tmp_live)
        return;
    tmp_live = 0;
    for (int i = 0; i < 4; i++)     /* only the files this process wrote live there */
        unlink(tmp_names[i]);
    rmdir(tmp_names[4]);
}

/* Async-signal-safe: only kill, unlink, rmdir, signal and raise. */
static void on_signal(int sig) {
    got_signal = sig;
    if (child_pid > 0) {
        kill((pid_t)child_pid, sig);
        return;
    }
    if (tmp_live) {
        for (int i = 0; i < 4; i++)
            unlink(tmp_names[i]);
        rmdir(tmp_names[4]);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP};

static void catch_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < 3; i++)
        sigaction(forwarded[i], &sa, NULL);
}

/* A build directory that kill -9 left (its name holds the dead nnc's pid)
 * is removed by the next nnc run in the same place. */
static void remove_stale_builds(const char *dir) {
    DIR *dp = opendir(dir);
    if (!dp)
        return;
    for (struct dirent *e; (e = readdir(dp));) {
        char *end;
        if (strncmp(e->d_name, "nnc-", 4))
            continue;
        long pid = strtol(e->d_name + 4, &end, 10);
        struct stat st;
        const char *path = fmt("%s/%s", dir, e->d_name);
        if (pid <= 0 || *end != '-' || strlen(end + 1) != 6 || lstat(path, &st) || !S_ISDIR(st.st_mode) ||
            st.st_uid != getuid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        const char *names[] = {"model.c", "model.h", "main.c", "prog"};
        for (int i = 0; i < 4; i++)
            unlink(fmt("%s/%s", path, names[i]));
        rmdir(path);
    }
    closedir(dp);
}

/* Run argv, returning its exit status; a signal is reported, not hidden.
 * With started, the build directory goes once the program has started:
 * a close-on-exec pipe reads end-of-file at a successful exec. */
static int run(Vec *argv, int quiet_stdout, int started) {
    vec_push(argv, NULL);
    fflush(stdout);
    fflush(stderr);
    int fds[2];
    if (pipe(fds) || fcntl(fds[1], F_SETFD, FD_CLOEXEC))
        fatal("cannot start %s: %s", (char *)argv->v[0], strerror(errno));
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        fatal("cannot start %s: %s", (char *)argv->v[0], strerror(errno));
    if (pid == 0) {
        for (int i = 0; i < 3; i++)
            signal(forwarded[i], SIG_DFL);
        close(fds[0]);
#ifdef __linux__
        prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
        if (getppid() != parent)    /* nnc died before prctl */
            _exit(128 + SIGTERM);
        setenv("NNC_PARENT", fmt("%ld", (long)parent), 1);
        if (quiet_stdout && !freopen("/dev/null", "w", stdout))
            _exit(127);
        execvp(argv->v[0], (char **)argv->v);
        fprintf(stderr, "nnc: error: cannot run %s: %s\n", (char *)argv->v[0], strerror(errno));
        _exit(127);
    }
    child_pid = pid;    /* a signal before this killed nnc, and the child with it (PR_SET_PDEATHSIG) */
    close(fds[1]);
    char c;
    while (read(fds[0], &c, 1) < 0 && errno == EINTR)
        ;
    close(fds[0]);
    if (started)
        remove_tmp();
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            fatal("waiting for %s: %s", (char *)argv->v[0], strerror(errno));
    child_pid = 0;
    if (WIFSIGNALED(st)) {
        if (WTERMSIG(st) == SIGPIPE)    /* `nnc predict ... | head`: the reader left */
            return 128 + SIGPIPE;
        if (WTERMSIG(st) != got_signal)
            fprintf(stderr, "nnc: error: %s was killed by signal %d\n", (char *)argv->v[0], WTERMSIG(st));
        return 128 + WTERMSIG(st);
    }
    return WEXITSTATUS(st);
}

/* train, eval, predict: build the program, then hand it our arguments. */
static int run_program(const char *cmd, int argc, char **argv) {
    const char *model = NULL;
    long batch = 0;
    Vec pass = {0};
    /* dist: --processes N [--hostfile F] runs under mpirun (mpirun.c);
     * --build-only PROG [--mpi] writes the program instead of running it */
    long processes = 0;
    const char *hostfile = NULL, *build_only = NULL;
    int mpi = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(cmd, "train") && (!strcmp(a, "--processes") || !strcmp(a, "--hostfile") ||
                                      !strcmp(a, "--build-only") || !strcmp(a, "--mpi"))) {
            if (!strcmp(a, "--processes"))
                processes = parse_count(a, i + 1 < argc ? argv[++i] : NULL, 1, 1 << 16);
            else if (!strcmp(a, "--mpi"))
                mpi = 1;
            else if (i + 1 >= argc)
                fatal("%s needs a file name", a);
            else
                *(!strcmp(a, "--hostfile") ? &hostfile : &build_only) = argv[++i];
        } else if (!strcmp(a, "--batch-size") || !strcmp(a, "--batch")) {
            if (strcmp(cmd, "train"))
                fatal("%s takes no %s: the batch only changes training", cmd, a);
            batch = parse_count(a, i + 1 < argc ? argv[++i] : NULL, 1, 1 << 20);
        } else if (a[0] != '-' && !model) {
            model = a;
        } else {
            vec_push(&pass, (void *)a);
        }
    }
    if (!model)
        fatal("nnc %s needs a model file\n%s", cmd, usage);
    if (hostfile && !processes)
        fatal("--hostfile places the processes of --processes N: give N too");
    if (build_only && processes)
        fatal("--build-only writes the program for your own mpirun line: it takes no --processes");
    mpi |= processes > 0;
    Graph *g = compile(model, batch, 0, NULL, 0);

    const char *tmpdir = getenv("TMPDIR");
    tmpdir = tmpdir && *tmpdir ? tmpdir : "/tmp";
    remove_stale_builds(tmpdir);
    char *tmp_root = fmt("%s/nnc-%ld-XXXXXX", tmpdir, (long)getpid());
    if (strlen(tmp_root) + 16 > PATH_MAX)
        fatal("TMPDIR is too long a path: %s", tmpdir);
    catch_signals();    /* before the directory exists: no signal can leave it behind */
    if (!mkdtemp(tmp_root))
        fatal("cannot make a build directory in %s: %s", tmpdir, strerror(errno));
    const char *names[] = {"model.c", "model.h", "main.c", "prog"};
    for (int i = 0; i < 4; i++)
        snprintf(tmp_names[i], PATH_MAX, "%s/%s", tmp_root, names[i]);
    snprintf(tmp_names[4], PATH_MAX, "%s", tmp_root);
    tmp_live = !getenv("NNC_KEEP");
    atexit(remove_tmp);
    write_c(g, fmt("%s/model.c", tmp_root), NULL, 0);
    FILE *f = fopen(fmt("%s/main.c", tmp_root), "w");
    if (!f)
        fatal("cannot write %s/main.c: %s", tmp_root, strerror(errno));
    emit_driver(g, f, "model.h");
    if (fclose(f))
        fatal("cannot write %s/main.c: %s", tmp_root, strerror(errno));

    const char *root = project_root();
    const char *cc = getenv("CC"), *cflags = getenv("NNC_CFLAGS");
    const char *dist_obj = mpi ? mpi_runtime(root) : NULL;   /* dist: MPI's half of the runtime */
    const char *prog = build_only ? build_only : fmt("%s/prog", tmp_root);
    Vec cv = {0};
    push_words(&cv, mpi ? "mpicc" : cc && *cc ? cc : "cc");  /* mpicc runs $OMPI_CC, default cc */
    push_words(&cv, "-std=c99 -w");
    push_words(&cv, cflags ? cflags : default_cflags);
    vec_push(&cv, fmt("-I%s/runtime", root));
    vec_push(&cv, "-o");
    vec_push(&cv, (void *)prog);
    vec_push(&cv, fmt("%s/model.c", tmp_root));
    vec_push(&cv, fmt("%s/main.c", tmp_root));
    if (dist_obj)   /* before the library, so its serial stand-in is not linked */
        vec_push(&cv, (void *)dist_obj);
    vec_push(&cv, fmt("%s/build/libnncrt.a", root));
    vec_push(&cv, "-lz");    /* the runtime reads gzipped IDX files */
    vec_push(&cv, "-lm");
    int rc = run(&cv, 0, 0);
    if (got_signal)
        exit(128 + got_signal);
    if (rc)
        fatal("compiling the generated model failed (kept in %s)", (getenv("NNC_KEEP") ? tmp_root : "a removed directory; set NNC_KEEP=1 to keep it"));

    if (build_only) {   /* dist: the user runs it, e.g. under their own mpirun */
        if (pass.n)
            fatal("--build-only runs nothing: give %s to the program instead", (char *)pass.v[0]);
        printf("wrote %s; run it with: %s%s train [--epochs N] [--save W.safetensors] ...\n", build_only,
               mpi ? "mpirun -np N " : "", build_only);
        return 0;
    }
    Vec pv = {0};
    vec_push(&pv, (void *)prog);
    vec_push(&pv, (void *)cmd);
    for (int i = 0; i < pass.n; i++)
        vec_push(&pv, pass.v[i]);
    if (processes)   /* the build directory stays until mpirun has started every process */
        return run_mpirun(&pv, (int)processes, hostfile);
    return run(&pv, 0, 1);
}

/* `nnc trian m.nn`: a first word that is no file but a typo of a
 * subcommand is named as such, not taken for a second model file. */
static void check_subcommand(const char *cmd) {
    static const char *const cmds[] = {"train", "eval", "predict", "summary"};
    struct stat st;
    const char *near = cmd[0] != '-' && stat(cmd, &st) ? nearest(cmd, cmds, 4) : NULL;
    if (near)
        fatal("unknown command '%s'; did you mean 'nnc %s'?", cmd, near);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        fputs(usage, stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version")) {
        printf("nnc %s\n", NNC_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "--no-libm-source")) {     /* tests/nolibm */
        fputs("#include <stdint.h>\n", stdout);
        fputs(nolibm_all(), stdout);
        return 0;
    }
    if (!strcmp(cmd, "--cflags")) {
        printf("%s\n", default_cflags);
        return 0;
    }
    if (!strcmp(cmd, "--list")) {
        catalog_print(stdout);
        return 0;
    }
    if (!strcmp(cmd, "train") || !strcmp(cmd, "eval") || !strcmp(cmd, "predict"))
        return run_program(cmd, argc - 2, argv + 2);
    check_subcommand(cmd);

    const char *model = NULL, *outp = NULL, *emit_kind = "c", *real = NULL, *weights = NULL;
    int want_summary = !strcmp(cmd, "summary"), inference = 0, no_libm = 0, in_ram = 0;
    long batch = 0;
    for (int i = want_summary ? 2 : 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-o")) {
            if (++i >= argc)
                fatal("-o needs a file name");
            outp = argv[i];
        } else if (!strncmp(a, "--dump=", 7)) {
            dump_pass = a + 7;
            const char *passes[] = {"lower", "autodiff", "optim", "weights", "fuse", "plan", "all"};
            int ok = 0;
            for (int k = 0; k < 7; k++)
                ok |= !strcmp(dump_pass, passes[k]);
            if (!ok)
                fatal("unknown pass '%s' in --dump; passes: lower, autodiff, optim, weights (--inference), fuse, "
                      "plan, all", dump_pass);
        } else if (!strncmp(a, "--emit=", 7)) {
            emit_kind = a + 7;
            /* driver: the glue main() of `nnc train` (tests/golden), undocumented */
            if (strcmp(emit_kind, "c") && strcmp(emit_kind, "json") && strcmp(emit_kind, "driver"))
                fatal("--emit takes c or json, not '%s'", emit_kind);
        } else if (!strncmp(a, "--real=", 7)) {
            real = a + 7;
            if (strcmp(real, "float") && strcmp(real, "double"))
                fatal("--real takes float or double, not '%s'", real);
        } else if (!strcmp(a, "--batch")) {
            batch = parse_count(a, i + 1 < argc ? argv[++i] : NULL, 1, 1 << 20);
        } else if (!strcmp(a, "--inference")) {
            inference = 1;
        } else if (!strcmp(a, "--weights-in-ram")) {
            in_ram = inference = 1;
        } else if (!strcmp(a, "--no-libm")) {
            no_libm = 1;
        } else if (!strcmp(a, "--weights")) {
            if (++i >= argc)
                fatal("--weights needs a .safetensors file");
            weights = argv[i];
        } else if (a[0] == '-' && a[1]) {
            fatal("unknown option '%s'\n%s", a, usage);
        } else if (model) {
            fatal("more than one model file ('%s' and '%s')", model, a);
        } else {
            model = a;
        }
    }
    if (!model)
        fatal("no model file given\n%s", usage);
    if (weights && !want_summary && !inference)
        fatal("--weights bakes trained weights into an inference build: add --inference");
    if (weights && want_summary)
        inference = 1;
    if (in_ram && weights)
        fatal("--weights-in-ram loads weights at run time (NAME_load): it takes no --weights");
    if (inference && !want_summary && !weights && !dump_pass && !in_ram)
        fatal("--inference needs the trained weights: --weights W.safetensors (nnc train --save writes them)");
    if (inference && (real || strcmp(emit_kind, "c")))
        fatal("--inference writes float C: it takes no --real or --emit");
    if (no_libm && (want_summary || strcmp(emit_kind, "c") || (real && strcmp(real, "float"))))
        fatal("--no-libm writes float C: it takes no summary, --emit=json or --real=double");
    Graph *g = compile(model, batch, inference, weights, in_ram);
    if (want_summary) {
        summary(g, stdout);
        return 0;
    }
    if (!strcmp(emit_kind, "json")) {
        emit_json(g, stdout);
        return 0;
    }
    if (!strcmp(emit_kind, "driver")) {
        emit_driver(g, stdout, "model.h");
        return 0;
    }
    if (dump_pass && !outp)
        return 0;
    if (!outp) {
        const char *base = strrchr(model, '/');
        outp = fmt("%s.c", strip_ext(base ? base + 1 : model, ".nn"));
    }
    if (inference) {
        char *stem = strip_ext(outp, ".c");
        EmitOpts o = {.c_path = outp, .h_path = fmt("%s.h", stem), .weights_path = weights, .no_libm = no_libm,
                     .weights_in_ram = in_ram};
        const char *slash = strrchr(o.h_path, '/');
        o.h_name = slash ? slash + 1 : o.h_path;
        emit_inference(g, &o);
        return 0;
    }
    write_c(g, outp, real, no_libm);
    return 0;
}

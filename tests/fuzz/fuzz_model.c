/* fuzz_model.c — the compiler's front end on any bytes as a model file:
 * parse, check, and for a model the checker accepts the whole training
 * pipeline up to plan (lower, autodiff, optim, fuse, plan), and the
 * inference pipeline too. A user error is the expected answer; a crash, a
 * sanitizer report or an internal error (exit 3) is a finding.
 *
 * nnc reports user errors by printing and calling exit(1) (fatal(),
 * check_errors()). Here exit is wrapped (-Wl,--wrap=exit): inside a run,
 * __wrap_exit(1) longjmps back to the harness, which is then ready for the
 * next input with no fork per input; exit(3), an internal error, aborts so
 * that libFuzzer records it. diag.c is compiled into this file (not linked)
 * so the harness can reset its error count between inputs; the rest of
 * the compiler is linked unchanged. The compiler frees nothing by design, so
 * leaks are not findings (fuzz.h). */
#include <setjmp.h>

#include "diag.c"
#include "fuzz.h"

void __real_exit(int status);

static jmp_buf back;
static int armed;

void __wrap_exit(int status) {
    if (armed && status == 1) longjmp(back, 1);
    if (armed) abort();     /* exit(3): nnc's internal error */
    __real_exit(status);
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 1 << 16) return 0;
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    static Source src;
    src.path = "fuzz.nn", src.text = text, src.len = size;
    nerrors = 0;
    armed = 1;
    if (!setjmp(back)) {
        Ast *ast = parse_file(&src);
        check_errors();
        Spec *spec = check(ast);
        check_errors();
        Graph *g = lower(spec, 2);
        ir_verify(g, "lower");
        if (g->params.n) {
            autodiff(g);
            optim(g);
            fuse(g);
            schedule(g);
            plan(g);
            Graph *gi = lower(spec, 1);
            gi->in_ram = 1;
            drop_loss(gi);
            drop_dropout(gi);
            fold_target(gi);
            fold_norm(gi, 1);
            fuse(gi);
            schedule(gi);
            plan(gi);
        }
    }
    armed = 0;
    free(text);
    return 0;
}

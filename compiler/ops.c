/* ops.c — the op table's facts (ops.h) as arrays and small accessors, so
 * every pass asks the table instead of keeping its own list of ops: names,
 * input counts, the OPF_* flags, a loss's task, and the state tensors an
 * optimizer keeps. Nothing here depends on a later pass. */
#include "nnc.h"

const char *const op_names[OP_COUNT] = {
    [OP_NONE] = "none",
#define OP(name, str, nin, shape, grad, emit) [OP_##name] = str,
#include "ops.h"
#undef OP
};

const int op_arity[OP_COUNT] = {
#define OP(name, str, nin, shape, grad, emit) [OP_##name] = (nin) & OPF_NIN,
#include "ops.h"
#undef OP
};

static const int flags[OP_COUNT] = {
#define OP(name, str, nin, shape, grad, emit) [OP_##name] = (nin) & ~OPF_NIN,
#include "ops.h"
#undef OP
};

int op_flags(Op op) { return flags[op]; }

int op_task(Op op) {
    int t = flags[op] >> OPF_TASK_SHIFT;
    if (!(flags[op] & OPF_LOSS) || !t)
        internal_error("%s is not a loss", op_names[op]);
    return t - 1;
}

/* PyTorch's optimizers, per parameter: SGD keeps a momentum buffer only with
 * momentum; RMSprop a momentum buffer with momentum and the mean gradient
 * when centered; Adam and AdamW the maximum second moment with amsgrad. */
int optimizer_states(const Call *o, const char *names[4]) {
    int n = 0;
    switch ((Op)o->e->op) {
    case OP_SGD:
        if (call_num(o, "momentum") > 0)
            names[n++] = "momentum_buffer";
        break;
    case OP_RMSPROP:
        names[n++] = "square_avg";
        if (call_num(o, "momentum") > 0)
            names[n++] = "momentum_buffer";
        if (call_num(o, "centered"))
            names[n++] = "grad_avg";
        break;
    case OP_ADAM:
    case OP_ADAMW:
        names[n++] = "exp_avg";
        names[n++] = "exp_avg_sq";
        if (call_num(o, "amsgrad"))
            names[n++] = "max_exp_avg_sq";
        break;
    case OP_ADAGRAD:
        names[n++] = "sum";
        break;
    case OP_ADADELTA:
        names[n++] = "square_avg";
        names[n++] = "acc_delta";
        break;
    case OP_ADAMAX:
        names[n++] = "exp_avg";
        names[n++] = "exp_inf";
        break;
    case OP_NADAM:
        names[n++] = "exp_avg";
        names[n++] = "exp_avg_sq";
        break;
    default:
        internal_error("optimizer %s has no state rule", o->e->name);
    }
    return n;
}

/* ops.h — the op table: every IR op, declared once.
 *
 * Included as an X-macro wherever a switch or an array needs the ops:
 *     OP(NAME, "name", inputs, shape rule, gradient rule, emitter)
 * The shape rule lives in ir.c, the gradient rule in autodiff.c and the
 * emitter in emit.c; adding an op is one line here plus those three functions
 * (often shared) and its tests. Inputs are in llm.c's order: data, then
 * weights. Attributes: a->act (fused activation of LINEAR), f[] below. */

/* Leaves: storage the caller or the plan provides, no computation. */
OP(INPUT,   "input",   0, shape_leaf,   grad_leaf,  emit_nothing)
OP(TARGET,  "target",  0, shape_leaf,   grad_leaf,  emit_nothing)
OP(PARAM,   "param",   0, shape_leaf,   grad_leaf,  emit_nothing)
OP(STATE,   "state",   0, shape_leaf,   grad_leaf,  emit_nothing) /* optimizer state */

/* Forward ops. */
OP(LINEAR,  "linear",  3, shape_linear, grad_linear, emit_linear)  /* x, W[out,in], b or NULL */
OP(RELU,    "relu",    1, shape_same,   grad_act,    emit_act)
OP(SIGMOID, "sigmoid", 1, shape_same,   grad_act,    emit_act)
OP(TANH,    "tanh",    1, shape_same,   grad_act,    emit_act)
OP(SOFTMAX, "softmax", 1, shape_same,   grad_act,    emit_softmax) /* over the last axis */

/* Layout variants chosen by fuse.c after autodiff, for speed. */
OP(TRANSPOSE, "transpose", 1, shape_transpose, grad_never, emit_transpose) /* W[out,in] -> [in,out] */
OP(LINEAR_T, "linear_t", 3, shape_linear_t, grad_never, emit_linear_t) /* x, W^T[in,out], b or NULL */

/* Losses: (prediction, target) -> scalar mean over the batch. */
OP(MSE,         "mse",          2, shape_scalar, grad_loss, emit_loss)
OP(BCE,         "bce",          2, shape_scalar, grad_loss, emit_loss) /* on probabilities */
OP(BCE_LOGITS,  "bce_logits",   2, shape_scalar, grad_loss, emit_loss)
OP(SCE,         "sce",          2, shape_scalar, grad_loss, emit_loss) /* sparse CE on probabilities */
OP(SCE_LOGITS,  "sce_logits",   2, shape_scalar, grad_loss, emit_loss)

/* Backward ops, made by autodiff.c; never differentiated again. */
OP(ADD,         "add",          2, shape_same,   grad_never, emit_add)      /* gradient accumulation */
OP(ACT_BWD,     "act_backward", 2, shape_same,   grad_never, emit_act_bwd)  /* dy, y; a->act says which */
OP(SOFTMAX_BWD, "softmax_backward", 2, shape_same, grad_never, emit_softmax_bwd) /* dy, y */
OP(LINEAR_DX,   "linear_dx",    2, shape_linear_dx, grad_never, emit_linear_dx) /* dy, W */
OP(LINEAR_DW,   "linear_dw",    2, shape_linear_dw, grad_never, emit_linear_dw) /* dy, x */
OP(LINEAR_DB,   "linear_db",    1, shape_linear_db, grad_never, emit_linear_db) /* dy */
OP(LOSS_BWD,    "loss_backward", 2, shape_same,  grad_never, emit_loss_bwd) /* pred, target; a->loss says which */

/* Gradient clipping, made by optim.c: in place on one gradient, before the
 * update. f[0] is the limit. clip_global_norm nodes share one norm taken over
 * every gradient they clip. */
OP(CLIP_NORM,        "clip_norm",        1, shape_none, grad_never, emit_update) /* g */
OP(CLIP_GLOBAL_NORM, "clip_global_norm", 1, shape_none, grad_never, emit_update) /* g */
OP(CLIP_VALUE,       "clip_value",       1, shape_none, grad_never, emit_update) /* g */

/* Optimizer updates, made by optim.c: in place on (param, grad) and the
 * parameter's state tensors (STATE nodes with wrt = param, by slot). The
 * learning rate is not an attribute: the update reads it from the schedule. */
OP(SGD,      "sgd",      2, shape_none, grad_never, emit_update) /* f = momentum, nesterov, weight_decay */
OP(RMSPROP,  "rmsprop",  2, shape_none, grad_never, emit_update) /* f = rho, momentum, epsilon, centered */
OP(ADAM,     "adam",     2, shape_none, grad_never, emit_update) /* f = beta_1, beta_2, epsilon, amsgrad */
OP(ADAMW,    "adamw",    2, shape_none, grad_never, emit_update) /* f = beta_1, beta_2, epsilon, amsgrad, weight_decay */
OP(ADAGRAD,  "adagrad",  2, shape_none, grad_never, emit_update) /* f = initial_accumulator_value, epsilon */
OP(ADADELTA, "adadelta", 2, shape_none, grad_never, emit_update) /* f = rho, epsilon */
OP(ADAMAX,   "adamax",   2, shape_none, grad_never, emit_update) /* f = beta_1, beta_2, epsilon */
OP(NADAM,    "nadam",    2, shape_none, grad_never, emit_update) /* f = beta_1, beta_2, epsilon, momentum_decay */

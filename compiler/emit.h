/* emit.h — what the emitter's files (compiler/emit*.c) share: the printer's
 * state and helpers, the C names of the nodes, and the functions one file
 * prints that another calls. A header of its own rather than a section of
 * nnc.h: nnc.h is the interface between passes, and none of this is; the
 * emitter's entry points (emit_c, emit_inference, emit_driver) stay there.
 * One section per file, in the order the files are read. */
#ifndef EMIT_H
#define EMIT_H
#include "nnc.h"

/* ---- emit.c: the printer and the names ---------------------------------- */
/* The file being printed: one at a time, so the state is global. */
extern FILE *out;               /* where emit() prints */
extern int indent;              /* emit()'s indent level, 4 spaces each */
extern const char *real;        /* "float", or "double" for gradient checks: emit()'s '$' */
extern Graph *G;                /* the planned graph being printed */
extern int in_ram;              /* --weights-in-ram: weights in the caller's struct */
extern const char *P;           /* model name: prefix of every public symbol */
extern const char *U;           /* the same in upper case: prefix of macros */
extern const char **funcs;      /* C name of each node's function, or NULL (name_nodes) */
extern const char **scratches;  /* C name of a node's working space, or NULL */
extern Vec used;                /* names taken in the generated file */
void emit(const char *f, ...);
const char *dbl(double v);
const char *lit(double v);
char *upper(const char *s);
const char *var(Node *n);
int pre_act_grad(Node *n);
void name_nodes(void);
const char *dims(Node *n);
const char *count(Node *n);
const char *rows(Node *n, long len);
long last_dim(Node *n);

/* emit() with a trailing '{' opens a block, a line "}" closes one. */
#define OPEN(...) (emit(__VA_ARGS__), indent++)
#define CLOSE() (emit("}"), indent--)

/* Each op's emitter (ops.h's last column) prints its node's function. */
typedef void Emitter(Node *n);
#define OP(name, str, nin, shape, grad, emit) Emitter emit;
#include "ops.h"
#undef OP

/* ---- emit_dense.c: dense layers and activations --------------------------- */
const char *act_str(Op act, const double *f);
const char *act_expr(Op act, const double *f, const char *v);
const char *act_grad_expr(Op act, const double *f, const char *dy, const char *v);
void emit_softmax_row(Op act, const char *o, long len);
void emit_dot(const char *dst, const char *a, const char *b, long k);

/* ---- emit_norm.c: dropout and normalization ------------------------------- */
int has_op(Op op);

/* ---- emit_optim.c: the optimizer step ------------------------------------- */
void emit_state_init(void);
void emit_optimizer(void);
void emit_update_call(void);

/* ---- emit_model.c: the training build's .c and .h ------------------------- */
extern Emitter *const emitters[OP_COUNT];    /* by op */
void declare(int end, int max_phase);
int class_weights(void);
void call(Node *n);
void calls(int max_phase);
void guard(const char *ret);
const char *plain(const char *s);
void header_open(const char *includes);
void header_close(void);
void emit_table(const char *type, const char *name, const Vec *nodes);
void print_nolibm(const char *body, int blank);
void emit_tensor_table(const char *type, const char *name);

#endif

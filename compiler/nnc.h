/* nnc.h — the one internal header of the nnc compiler, a section per file,
 * in pipeline order. Memory is allocated and never freed: nnc is a short-lived
 * process, and this keeps every pass simple (see README, Internals). */
#ifndef NNC_H
#define NNC_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define NNC_VERSION "0.1.0"

/* C99 has no _Noreturn; GCC and Clang understand the attribute. */
#if defined(__GNUC__)
#define NORETURN __attribute__((noreturn))
#else
#define NORETURN
#endif

/* ---- util.c: allocation, strings, internal errors ---------------------- */

void *xalloc(size_t n);                 /* zeroed; dies on out-of-memory */
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *fmt(const char *f, ...);          /* printf into a fresh string */
int edit_distance(const char *a, const char *b);
/* The candidate nearest to `s`, or NULL if none is close enough to suggest. */
const char *nearest(const char *s, const char *const *cands, int n);

/* A compiler bug, not a user error: never reached by any input. */
#define internal_error(...) internal_error_at(__FILE__, __LINE__, __VA_ARGS__)
NORETURN void internal_error_at(const char *file, int line, const char *f, ...);

/* A growable array of pointers. */
typedef struct Vec {
    void **v;
    int n, cap;
} Vec;
void vec_push(Vec *v, void *p);

/* ---- diag.c: user errors with locations -------------------------------- */

typedef struct Source {
    const char *path;       /* as given on the command line */
    const char *text;       /* whole file, NUL-terminated */
    size_t len;
} Source;

typedef struct Loc {
    const Source *src;      /* NULL: no location (command line) */
    int line, col;          /* 1-based; col counts bytes */
    int len;                /* caret run length, >= 1 */
} Loc;

/* Print "file:line:col: error: msg", the source line and a caret, and
 * remember that an error happened. Compilation goes on where it can so one run
 * reports several errors; nnc exits 1 at the end of the stage. */
void error_at(Loc loc, const char *f, ...);
void note_at(Loc loc, const char *f, ...);   /* "note:" follow-up, no count */
void hint(const char *f, ...);               /* indented "hint: ..." line */
NORETURN void fatal(const char *f, ...);    /* "nnc: error: ...", exit 1 */
int error_count(void);
/* Exit 1 if any error was reported so far. Called between stages. */
void check_errors(void);

/* ---- lex.l / parse.y / ast.c: the front end ----------------------------- */

typedef enum {
    V_NUM,      /* 32, 1e-3            */
    V_STR,      /* "fc1"               */
    V_BOOL,     /* true / false        */
    V_IDENT,    /* relu                */
    V_TUPLE,    /* (3, 3)              */
    V_LIST,     /* [1, 28, 28]         */
    V_CALL      /* leaky_relu(alpha = 0.2) */
} ValueKind;

typedef struct Value Value;

typedef struct Arg {
    const char *name;       /* NULL for a positional argument */
    Loc loc;                /* of the name, or of the value if positional */
    Value *val;
} Arg;

struct Value {
    ValueKind kind;
    Loc loc;
    double num;             /* V_NUM, V_BOOL (0/1) */
    int is_int;             /* V_NUM written without '.', 'e' */
    const char *str;        /* V_STR text, V_IDENT and V_CALL name, V_NUM as written */
    Arg *args;              /* V_CALL arguments, V_TUPLE/V_LIST items (name NULL) */
    int nargs;
};

/* One statement of the model block:
 *   dense(32, activation = relu)    name "dense", call = that call
 *   input [64]                      name "input", operand = [64]
 *   loss mse                        name "loss",  operand = mse
 *   relu                            name "relu",  neither            */
typedef struct Stmt {
    const char *name;
    Loc loc;
    Value *call;            /* V_CALL when written with parentheses */
    Value *operand;         /* the value after a keyword statement */
} Stmt;

typedef struct Ast {
    const char *name;       /* model NAME */
    Loc loc;
    Stmt *stmts;
    int nstmts;
} Ast;

/* Parse a whole file; reports syntax errors and returns NULL if any. */
Ast *parse_file(const Source *src);
Source *read_source(const char *path);   /* fatal() if unreadable */
/* Parse one value written as in a model file ("0.001", "glorot_uniform"),
 * with the same scanner and grammar; internal_error if it is malformed. */
Value *parse_value(const char *text);

/* The scanner's state (flex's extra data), shared with the parser. Brackets
 * are tracked here so newlines inside () and [] can be skipped and a syntax
 * error can name the bracket left open. */
typedef struct Bracket {
    char c;                 /* '(', '[' or '{' */
    Loc loc;
} Bracket;

typedef struct Token {
    const char *text;       /* into the source */
    int len;
    Loc loc;
} Token;

typedef struct Lexer {
    const Source *src;
    int start;              /* first token to hand the parser: which grammar */
    size_t pos;             /* next byte to scan, and its line and column */
    int line, col;
    size_t mark;            /* first byte of the match being scanned */
    Loc loc;                /* and its location */
    Vec open;               /* Bracket *: unclosed, innermost last */
    Bracket before;         /* innermost unclosed bracket before tok (c 0: none) */
    Token tok, prev;        /* the last token read and the one before it */
    Ast *ast;               /* results */
    Value *value;
} Lexer;

/* Constructors, one per grammar action. list_* build argument lists and
 * tuple/list items; a NULL list starts a new one. */
Ast *ast_new(const char *name, Loc loc, Vec *stmts);
Vec *stmt_add(Vec *stmts, Stmt *s);             /* s may be NULL (blank) */
Stmt *stmt_new(const char *name, Loc loc, Value *args, Value *operand);
Arg *arg_new(const char *name, Loc loc, Value *v);
Value *list_arg(Value *list, Arg *a);
Value *list_item(Value *list, Value *v);
Value *list_empty(Loc loc);
Value *value_call(const char *name, Loc loc, Value *args);
Value *value_seq(ValueKind kind, Loc loc, Value *items);
Value *value_ident(const char *name, Loc loc);
Value *value_bool(int b, Loc loc);
Value *value_num(const char *text, int len, Loc loc);  /* reports "number too big" */
Value *value_str(const char *text, int len, Loc loc);  /* unescapes, reports bad escapes */
Loc loc_span(Loc first, Loc last);
Loc loc_after(Loc l);
/* Report a syntax error at the parser's look-ahead token (lx->tok, named
 * `found` as in the grammar) given the names of the tokens that could have
 * come instead. */
void syntax_error(Lexer *lx, const char *found, const char *const *expected, int n);

/* ---- catalog.c: every name a model file may use ------------------------- */

/* What a name is. A name may be looked up in one kind only per position, so
 * `optimizer relu` is "relu is an activation, not an optimizer". */
typedef enum {
    K_STATEMENT,    /* input, loss, optimizer, fit, data, preprocess */
    K_LAYER,        /* dense, activation layers (relu, softmax, ...) */
    K_ACTIVATION,   /* values of activation = */
    K_LOSS,
    K_OPTIMIZER,
    K_INITIALIZER,
    K_PREPROCESS,
    K_REGULARIZER,  /* values of kernel_regularizer = */
    K_SCHEDULE,     /* learning-rate schedules: values of learning_rate = */
    K_CALLBACK,     /* the arguments of callbacks(...) */
    K_METRIC,       /* the arguments of metrics(...) */
    K_NKINDS
} Kind;

/* Argument types. */
typedef enum {
    T_INT,          /* integer within [lo, hi] */
    T_FLOAT,        /* real within [lo, hi] */
    T_BOOL,
    T_STR,
    T_ACTIVATION,   /* an activation name or call */
    T_INITIALIZER,  /* an initializer name or call */
    T_SHAPE,        /* list or tuple of positive ints, [lo, hi] of them */
    T_LOSS,         /* a loss name or call: the operand of `loss` */
    T_OPTIMIZER,    /* an optimizer name or call: the operand of `optimizer` */
    T_PREPROCESS,   /* a preprocessing name: the operand of `preprocess` */
    T_REGULARIZER,  /* a regularizer name or call; optional (ArgVal.call NULL) */
    T_SCHEDULE,     /* a learning rate: a number within [lo, hi] or a schedule call */
    T_NUMBERS,      /* list or tuple of numbers, [lo, hi] of them */
    T_CALLBACK,     /* a callback name or call: an argument of `callbacks` */
    T_METRIC,       /* a metric name or call: an argument of `metrics` */
    T_NAME,         /* a bare name or a string (monitor = val_loss); check.c
                       says which names fit where */
    T_PAIR,         /* an integer within [lo, hi] or a tuple of two: (h, w);
                       ArgVal.shape holds both */
    T_PADDING,      /* valid, same, an integer >= 0 or a tuple (ph, pw):
                       ArgVal.str "valid" / "same", or NULL and shape */
    T_LAYER         /* a layer call: time_distributed(dense(4)); ArgVal.call */
} ArgType;

typedef struct ParamDef {
    const char *name;
    ArgType type;
    const char *dflt;       /* default written as in a model file; NULL: required;
                               "": optional without a default (ArgVal.given says) */
    double lo, hi;          /* range for T_INT / T_FLOAT */
    int lo_open, hi_open;   /* exclusive bounds (e.g. learning_rate > 0) */
    const char *doc;
} ParamDef;

#define MAX_PARAMS 16

/* Which kind of layer a catalogue entry is: its row of the layer table
 * (layers.h), with its shape rule, parameters and lowering. */
typedef enum {
    L_NONE,                 /* not a layer */
#define LAYER(kind, facts, shape, params, lower) L_##kind,
#include "layers.h"
#undef LAYER
    L_COUNT
} LayerKind;

/* A layer kind's facts (the second column of layers.h). */
enum { LF_WINDOW = 1, LF_CONV = 2, LF_RECURRENT = 4 };
#define LF_GATES(g) ((g) << 4)          /* a recurrent cell's gates per step */
#define LF_CACHE(s) ((s) << 8)          /* and the floats per unit each step caches */
#define LF_GATES_OF(f) (((f) >> 4) & 15)
#define LF_CACHE_OF(f) (((f) >> 8) & 15)

typedef struct Entry {
    const char *name;
    Kind kind;
    int op;                 /* the IR Op of an activation / loss / optimizer, else 0 */
    LayerKind layer;        /* K_LAYER: which lowering */
    ParamDef params[MAX_PARAMS];    /* a keyword statement's operand is params[0] */
    const char *doc;        /* one line, for nnc --list and docs */
    const char *example;    /* a line using it, for hints; may be NULL */
} Entry;

extern const Entry catalog[];
extern const int catalog_len;
const Entry *catalog_find(const char *name, Kind kind);  /* NULL if absent */
const Entry *catalog_find_any(const char *name);         /* any kind */
const Entry *catalog_activation(int op);                 /* the first with this IR op */
const char *kind_name(Kind k);                           /* "activation" */
int entry_param(const Entry *e, const char *name);       /* index in e->params, or -1 */
void catalog_print(FILE *out);                           /* nnc --list */

/* Window attributes (Node.win) of convolutions and pooling. The padding at
 * the bottom and right follows from the output size: rows past the input
 * read as zero (conv) or are skipped (pooling). */
enum { WIN_KH, WIN_KW, WIN_SH, WIN_SW, WIN_PT, WIN_PL, WIN_MAX /* POOL2D_DX: of max pooling */,
       WIN_DH, WIN_DW /* dilation, 1: none */, WIN_G /* groups of channels */, WIN_SLOTS };

/* ---- check.c, layers.c: names, types, ranges, shapes -> a checked Spec -- */

#define MAX_DIMS 5          /* batch + up to 4 sample dims (N, C, H, W) */

typedef struct Shape {
    int ndim;
    long dim[MAX_DIMS];
} Shape;

typedef struct Call Call;

/* A checked argument value; which field is meaningful follows the ParamDef. */
typedef struct ArgVal {
    double num;             /* T_INT, T_FLOAT, T_BOOL */
    const char *str;        /* T_STR, T_NAME */
    Call *call;             /* T_ACTIVATION, T_INITIALIZER, T_LOSS, T_OPTIMIZER,
                               T_PREPROCESS, T_REGULARIZER, T_CALLBACK: resolved
                               call; T_SCHEDULE: the schedule, or NULL for a
                               number (in num) */
    Shape shape;            /* T_SHAPE (no batch dim) */
    double *nums;           /* T_NUMBERS: the numbers, nnums of them */
    int nnums;
    Loc loc;                /* where it was written, or the call's loc if defaulted */
    int given;              /* written by the user (not a default) */
} ArgVal;

/* A name resolved against the catalogue with every argument checked and every
 * default filled in: v[i] belongs to e->params[i]. */
struct Call {
    const Entry *e;
    Loc loc;
    ArgVal v[MAX_PARAMS];
};

/* A call's arguments by parameter name (catalog.c). */
double call_num(const Call *c, const char *param);   /* internal_error if absent */
const char *call_str(const Call *c, const char *param);
Call *call_sub(const Call *c, const char *param);
const ArgVal *call_arg(const Call *c, const char *param);
int call_has(const Call *c, const char *param);   /* the entry has this parameter */

typedef struct Layer {
    Call *c;                /* the layer's catalogue entry and arguments */
    const char *name;       /* given, or Keras-style default: dense, dense_1, ... */
    Loc loc;
    Shape in, out;          /* per-sample shapes (no batch dim) */
    Vec src;                /* Value *: the outputs it names (merge operands, input =) */
    int *from;              /* the outputs it reads: layer indices, -1 the input (graph.c) */
    int nfrom;              /* 1, or a merge's operands */
} Layer;

typedef struct Spec {
    const char *name;       /* model name = C prefix */
    Loc loc;
    const Source *src;
    const char *dir;        /* directory of the .nn file, for data paths */
    Shape input;            /* per-sample input shape */
    Layer *layers;
    int nlayers;
    Call *loss;             /* K_LOSS entry, e.g. sparse_categorical_crossentropy */
    Call *optimizer;        /* K_OPTIMIZER entry */
    Call *fit;              /* always present: defaults filled in */
    Call *data;             /* NULL if absent */
    Call *preprocess;       /* always present: K_PREPROCESS entry ("none" by default) */
    Call **callbacks;       /* K_CALLBACK entries of callbacks(...), in order */
    int ncallbacks;
    Call **metrics;         /* K_METRIC entries of metrics(...), in order */
    int nmetrics;
    Call *cross_validate;   /* cross_validate(k); NULL if absent */
} Spec;

/* ---- layers.c: the layer table's shape and parameter rules ------------ */

/* Per-sample shapes through every layer (l->in, l->out), each by its kind's
 * shape rule; reports the first failure and returns 0. */
int infer_shapes(Spec *spec, Loc input_loc);
int layer_flags(LayerKind k);       /* LF_* */
/* A tensor a layer owns, as its parameter rule (layers.h) lists it. */
typedef struct LayerParam {
    const char *name;       /* PyTorch's, after the layer's name: "weight", "bias_ih_l0" */
    Shape shape;
    const Call *init;       /* its initializer */
    const Call *reg;        /* its regularizer, or NULL */
    int buffer;             /* saved and loaded, never trained (running statistics) */
} LayerParam;
#define MAX_LAYER_PARAMS 8
/* The layer's parameters in state_dict order; their number. Needs l->in. */
int layer_params(const Layer *l, LayerParam p[MAX_LAYER_PARAMS]);
/* A convolution or pooling layer's window: kernel, strides, top/left
 * padding, dilation and groups, as Node.win holds them (WIN_*); 1-D layers
 * have a height of 1. */
void layer_window(const Layer *l, int win[WIN_SLOTS]);
long shape_numel(const Shape *s);
double shape_values(const Shape *s);    /* the same in floating point: never overflows */
char *shape_str(const Shape *s);        /* "[32, 10]" */
char *count_str(double n);              /* a count of values, exact unless absurd */
char *size_str(double bytes);           /* "1.5 GiB" */

/* ---- graph.c: the layers as a graph: names, inputs, merges ------------ */

/* The arguments of a layer call left for binding, its operand names (a
 * merge's leading positional names, any layer's input = NAME) pushed on
 * srcs; NULL after reporting a malformed one. */
const Arg *graph_args(const Entry *e, const Value *call, int *nargs, Vec *srcs);
/* Resolve every layer's operand names (l->src) to the layers before it
 * (l->from), the line before by default; report unknown names, names used
 * before they are defined, cycles and outputs nobody reads. 0 after an error. */
int resolve_inputs(Spec *spec);
/* A merge layer's output shape from its operands' (errors at the layer). */
int merge_shape(const Spec *spec, int i, Shape *cur);
/* Whether the layers form a plain stack: each reads the one before it. */
int is_stack(const Spec *spec);

/* ---- check.c: the rest of the checking -------------------------------- */

/* Check an AST; reports located errors and returns NULL if any. */
Spec *check(const Ast *ast);
/* The classes of a classification loss (2 for binary_crossentropy on one
 * output), 0 for other losses: what fit(class_weight) is indexed by. */
int class_count(const Spec *spec);
/* The Op a layer applies last: dense's activation, an activation layer's;
 * OP_NONE for linear. */
int layer_activation(const Layer *l);

/* ---- ops.c: the op table (ops.h) and the facts its rows carry ---------- */

/* An op's facts, or'd onto its input count in the third column of ops.h. */
enum {
    OPF_NIN = 7,                /* the input count's bits */
    OPF_ELEMENTWISE = 1 << 3,   /* each output value from its input value alone */
    OPF_IN_PLACE = 1 << 4,      /* may write its output over an input of its size (plan.c) */
    OPF_GRAD_Y = 1 << 5,        /* an activation whose gradient reads its output y */
    OPF_GRAD_X = 1 << 6,        /* an activation whose gradient reads its input x */
    OPF_ACT = OPF_GRAD_Y | OPF_GRAD_X,
    OPF_LOSS = 1 << 7,          /* (prediction, target) -> the scalar loss */
    OPF_WEIGHTS_ONLY = 1 << 8,  /* reads and writes weights only: no batch loop */
    OPF_TRAINING = 1 << 9,      /* acts by mode: takes the training flag */
    OPF_CLIP = 1 << 13,         /* gradient clipping, before the updates */
    OPF_OPTIONAL_SHIFT = 14,    /* inputs from this index on may be NULL (OPF_OPTIONAL) */
    /* MACs per sample (summary.c): per output value, the weight's fan-in
     * (numel(W) / W.dim[0]); of LINEAR_T's transposed W, W.dim[0]; of a
     * recurrence, per value of its input xp, one row of W_hh (W.dim[1]). */
    OPF_MACS_FAN_IN = 1 << 10,
    OPF_MACS_FAN_IN_T = 1 << 11,
    OPF_MACS_STEPS = 1 << 12,
    OPF_TASK_SHIFT = 16         /* a loss's Task + 1 (OPF_TASK) */
};
#define OPF_TASK(t) (((t) + 1) << OPF_TASK_SHIFT)
#define OPF_OPTIONAL(j) ((j) << OPF_OPTIONAL_SHIFT)   /* a bias; normalization's gamma and beta */

/* The model's storage (parameters, gradients, state, activations, scratch)
 * stays below 2 GiB: offsets and sizes in the generated C fit an int. */
#define NNC_MAX_BYTES 2147483648.0
#define FLOAT_BYTES 4.0     /* the checker bounds sizes at float precision */

typedef enum {
    OP_NONE,                /* 0: "no op", e.g. the linear activation */
#define OP(name, str, nin, shape, grad, emit) OP_##name,
#include "ops.h"
#undef OP
    OP_COUNT
} Op;

extern const char *const op_names[OP_COUNT];
extern const int op_arity[OP_COUNT];
int op_flags(Op op);            /* OPF_* */
int op_task(Op op);             /* a loss's Task; internal_error for any other op */
/* The state tensors an optimizer call keeps per parameter, in slot order, as
 * PyTorch's state_dict names them ("exp_avg", ...): their number, names in
 * names[] (at most 4). momentum > 0, centered and amsgrad add slots. */
int optimizer_states(const Call *opt, const char *names[4]);

/* ---- ir.c: the graph of typed tensor ops ------------------------------- */

typedef enum { PH_FORWARD, PH_LOSS, PH_BACKWARD, PH_UPDATE } Phase;

/* Where a value lives; plan.c assigns offsets inside each area. */
typedef enum {
    A_NONE,     /* no storage (update ops) */
    A_INPUT,    /* the caller's x */
    A_TARGET,   /* the caller's y */
    A_PARAM,    /* m->params */
    A_GRAD,     /* m->grads, same offsets as the parameter */
    A_STATE,    /* m->state: optimizer state */
    A_ACT       /* m->acts: activations and temporaries, reused by liveness */
} Area;

typedef struct Node Node;
struct Node {
    int id;
    Op op;
    Node *in[4];
    int nin;
    Shape shape;            /* full shape; dim[0] is the batch when batched */
    int batched;            /* loops over dim[0] run to the call's n, not dim[0] */
    Op act;                 /* LINEAR: fused activation; ACT_BWD: its activation */
    Op loss;                /* LOSS_BWD: its loss */
    double f[8];            /* optimizer and clipping hyperparameters (ops.h); an
                               activation's parameters (alpha) on it, its ACT_BWD
                               and a fused LINEAR; a loss's label_smoothing or
                               delta (lower.c); L1L2: l1, l2 */
    const char *layer;      /* layer name: generated functions are named after it */
    const char *label;      /* PARAM / STATE: tensor name ("fc1.weight") */
    const Call *init;       /* PARAM: its initializer */
    const Call *reg;        /* PARAM: its regularizer, or NULL */
    Node *grad;             /* PARAM: gradient node, set by autodiff */
    Node *wrt;              /* backward: the forward value this is the gradient of;
                               STATE: the parameter it belongs to */
    int slot;               /* STATE: which of its parameter's states (0, 1, ...) */
    Phase phase;
    Area area;
    long offset;            /* in floats, within the area */
    int nuses;              /* set by ir_uses() */
    int last_use;           /* schedule index of the last reader, plan.c */
    float *value;           /* PARAM of an inference build: its baked values (weights.c) */
    int win[WIN_SLOTS];     /* CONV2D, pooling and their gradients: the window
                               (WIN_*); output sizes are in the shapes */
    int buffer;             /* PARAM: a buffer (batch norm's running statistics):
                               saved and loaded, never trained, no gradient */
    Node *buf[3];           /* BATCH_NORM: running_mean, running_var, num_batches_tracked */
    Op ract;                /* RECURRENCE, RECURRENCE_DX: the gates' activation */
    long scratch;           /* floats of working space its function needs while it
                               runs (schedule.c), in A_ACT at scratch_off (plan.c) */
    long scratch_off;
    struct Tile *tile;      /* schedule.c: a convolution's blocked form, or NULL */
    long local_reals;       /* schedule.c: local arrays its function declares, in */
    long local_ints;        /*   reals (float or double), ints */
    long local_doubles;     /*   and doubles (batch norm's statistics) */
};

/* What the targets are, as the runtime's NNC_REGRESSION ... NNC_HINGE
 * (runtime/nnc_rt.h; the same numbers). */
typedef enum {
    TASK_REGRESSION,        /* one real per output value */
    TASK_BINARY,            /* one 0/1 column */
    TASK_SPARSE,            /* one class index column */
    TASK_ONEHOT,            /* one column per class: one-hot or a distribution */
    TASK_HINGE              /* one -1/1 (or 0/1) per output value; the sign classifies */
} Task;

typedef struct Graph {
    const Spec *spec;
    int batch;              /* compile-time batch size */
    Vec nodes;              /* schedule order: a node comes after its inputs */
    Node *x, *y;            /* INPUT, TARGET */
    Node *out;              /* model output (forward phase) */
    Node *loss;             /* scalar loss, penalties included */
    Vec params;             /* PARAM nodes, in model order */
    Vec states;             /* STATE nodes */
    int task;               /* Task: how the runtime reads targets and scores */
    int logits;             /* output is logits */
    int n_target;           /* floats per target sample */
    long area_size[A_ACT + 1]; /* floats per area, set by plan.c */
    int inference;          /* forward pass only: no loss, gradients or optimizer */
    const char *preprocess; /* inference: the input scaling folded into the weights, or NULL */
    Node *fold_w, *fold_b;  /* --weights-in-ram: the first layer's weight and bias NAME_load scales */
    long load_locals;       /* bytes of NAME_load's local arrays (schedule.c) */
    long trainable;         /* floats of params the optimizer updates: buffers come after (plan.c) */
    int in_ram;             /* --weights-in-ram: an inference build whose NAME_load reads the weights */
    int steps;              /* classification: classified rows per sample (T of a [T, K]
                               output, a class at every step), else 1 */
} Graph;

Graph *graph_new(const Spec *spec, int batch);
/* The generic constructor: checks arity, computes the shape from the op table
 * and appends the node to the schedule in the graph's current phase. */
Node *node_new(Graph *g, Op op, Node *a, Node *b, Node *c, Node *d);
Node *op_leaf(Graph *g, Op op, Shape shape, int batched, const char *label);
Node *op_linear(Graph *g, Node *x, Node *w, Node *b);
Node *op_unary(Graph *g, Op op, Node *x);
Node *op_maxout(Graph *g, Node *x, int pieces);
/* CONV2D, pooling and their gradients: win[] and the full output shape are
 * set before the shape rule runs. RESHAPE: x's values in `shape`. */
Node *op_window(Graph *g, Op op, Node *a, Node *b, Node *c, const int win[WIN_SLOTS], Shape shape);
Node *op_reshape(Graph *g, Node *x, Shape shape);
Node *op_loss(Graph *g, Op op, Node *pred, Node *target);
/* Recurrent layers: the recurrence over xp with its activations (f[] from
 * the calls), and the h's it leaves: every step or the last. */
Node *op_recurrence(Graph *g, Node *xp, Node *w_hh, Node *b_hh, const Call *act, const Call *ract);
Node *op_recurrence_out(Graph *g, Node *cache, int sequences);
/* Merges: a and b joined along a batched axis; x's part along one. */
Node *op_concat(Graph *g, Node *a, Node *b, int axis);
Node *op_slice(Graph *g, Node *x, int axis, long off, long len);
Node *op_repeat(Graph *g, Node *x, int times);     /* [n, F] -> [n, times, F] */
/* A recurrent cell's gates per step, its layer kind (L_SIMPLE_RNN, L_LSTM,
 * L_GRU: layers.h has their gates) and its cached floats per step. */
int cell_gates(const Node *w_hh);
LayerKind cell_kind(const Node *w_hh);
long cell_cache(const Node *w_hh);
extern Phase cur_phase;     /* phase given to new nodes */
extern const char *cur_layer; /* layer name given to new nodes */

long node_numel(const Node *n);      /* per whole batch */
long node_row(const Node *n);        /* per sample (numel / dim[0]) if batched */
void ir_uses(Graph *g);
void ir_dump(Graph *g, FILE *out, const char *after);
void ir_verify(Graph *g, const char *after);   /* internal_error on a broken invariant */

/* ---- lower.c: Spec -> forward + loss graph ----------------------------- */
Graph *lower(const Spec *spec, int batch);

/* ---- autodiff.c: reverse mode, IR -> IR -------------------------------- */
void autodiff(Graph *g);

/* ---- optim.c: the optimizer step as IR --------------------------------- */
void optim(Graph *g);

/* ---- fuse.c: fold activations into the op that produces their input ---- */
void fuse(Graph *g);

/* ---- weights.c: an inference build's weights, baked in ---------------- */
/* Drop the loss from a lowered graph: what is left is the forward pass. */
void drop_loss(Graph *g);
/* Read every parameter from a .safetensors file (each tensor present with
 * its exact shape) and fold the input scaling its metadata records into the
 * first dense layer, so the compiled function takes raw inputs. */
void bake_weights(Graph *g, const char *path);
/* Weights read transposed (fuse.c) are stored transposed: no copy per call. */
void bake_transposes(Graph *g);
/* --weights-in-ram: records in g->fold_w, fold_b the first dense layer's
 * parameters NAME_load scales by the file's input statistics (none if the
 * model declares no preprocessing). Before fuse. */
void fold_target(Graph *g);
long weight_floats(Graph *g);   /* floats of baked weights, unpadded */
/* Dropout goes: the identity at inference. Before bake_weights, so the input
 * scaling can fold into a dense layer after a dropout. */
void drop_dropout(Graph *g);
/* Batch norm folds into the dense or conv2d before it, or becomes a
 * per-channel affine map. After bake_weights. */
void fold_norm(Graph *g, int in_ram);

/* ---- schedule.c: tiling, working space and local arrays of each kernel -- */
/* A convolution's or pooling's window: input [C, H, W], output [F, OH, OW]. */
typedef struct Win {
    long c, h, w;           /* input channels, height, width */
    long f, oh, ow;         /* output channels, height, width */
    int kh, kw, sh, sw, pt, pl;
    int dh, dw;             /* dilation: kernel taps dh rows, dw columns apart */
    long cg, fg;            /* input and output channels per group */
} Win;
/* One blocked convolution: out[o, oh, ow] = init + sum over i, ki, kj of
 * weight(o, i, ki, kj) pr[i][oh * sh + ki * dh][ow * sw + kj * dw], where pr is the
 * padded plane `plane` [ci][hp][wp] and o runs over co outputs, in groups of
 * cog reading cig inputs each. */
typedef struct Tile {
    const char *plane;          /* the local padded input plane */
    long ci, co, cig, cog;      /* input and output channels, all and per group */
    long oh, ow;                /* output size */
    long hp, wp;                /* plane size */
    int kh, kw, sh, sw, dh, dw;
    long chunk, fb, rb;         /* columns per block (a multiple of 8), output channels and rows per block */
} Tile;
/* Accumulators live in a local array up to this many values: locals cannot
 * alias the inputs, so the compiler keeps them in registers. */
#define LOCAL_ACC_MAX 1024
/* Sets every node's tile, scratch and local arrays; before plan. */
void schedule(Graph *g);
/* NAME_STACK_BYTES: the largest frame of local arrays of any generated
 * function, with reals of real_bytes each (long and pointers 8). */
long stack_bytes(const Graph *g, int real_bytes);
Win win_of(const Node *n, const Node *x, const Node *y);   /* x [n, C, H, W] or [n, C, L] */
int pool_inside(const Win *w);      /* no window is clipped by the image's edges */
int dot_lanes(long k);              /* partial sums of a dot product of length k */
long scratch_part(long floats);     /* a part of scratch, rounded to 64 bytes */
long dw_fgp(const Win *w);          /* a group's filters padded to a multiple of 8 */
int dw_by_rows(const Win *w);       /* dW's blocked form: row by row (few filters) */

/* ---- plan.c: fixed offsets for every value ----------------------------- */
void plan(Graph *g);

/* ---- emit.c: the C emitter ---------------------------------------------- */
typedef struct EmitOpts {
    const char *c_path, *h_path;    /* output files */
    const char *h_name;             /* as #included by the .c */
    const char *real;               /* "float" (default) or "double" (gradient checks) */
    const char *weights_path;       /* inference: where the baked weights came from */
    int no_libm;                    /* nnc's own math functions instead of <math.h> */
    int weights_in_ram;             /* inference: weights in the caller's struct, NAME_load */
} EmitOpts;
void emit_c(Graph *g, const EmitOpts *o);
/* The inference-only build: weights as constants, the forward pass, an arena. */
void emit_inference(Graph *g, const EmitOpts *o);
/* The glue program that links a generated model with runtime/ (nnc train). */
void emit_driver(Graph *g, FILE *out, const char *h_name);
/* The checked model as JSON (--emit=json), for tools and the PyTorch oracle. */
void emit_json(Graph *g, FILE *out);

/* ---- nolibm.c: --no-libm ---------------------------------------------- */
/* body with its <math.h> calls renamed to nnc's approximations; *defs gets
 * the definitions of those it calls (and what they call), in order. */
const char *nolibm(const char *body, const char **defs);
const char *nolibm_all(void);   /* every definition (tests/nolibm) */

/* ---- summary.c: nnc summary -------------------------------------------- */
void summary(Graph *g, FILE *out);
long graph_macs(Graph *g);      /* multiply-accumulates per sample, forward pass */

/* ---- mpirun.c: nnc train --processes N (training under Open MPI) -------- */
/* The MPI half of the runtime, build/dist_mpi.o, which make builds when it
 * finds mpicc; fatal() saying this nnc was built without MPI if it is absent. */
const char *mpi_runtime(const char *root);
/* Runs `mpirun -np processes [--hostfile F] prog ARGS...` and returns the
 * program's exit status; Ctrl-C asks every process for a checkpoint. */
int run_mpirun(Vec *prog_argv, int processes, const char *hostfile);

#endif

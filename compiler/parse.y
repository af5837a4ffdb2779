/* parse.y — the grammar of .nn model files. Each action is one constructor
 * from ast.c; syntax errors are phrased by syntax_error() in ast.c from the
 * tokens that could have come instead (exact, thanks to LAC). The scanner
 * hands over a first token choosing between the two start symbols: a whole
 * file, or one value (catalogue defaults use the same parser). */

%code requires {
#include "nnc.h"
}

%code provides {
int yylex(YYSTYPE *lval, YYLTYPE *lloc, void *scanner);
}

%code {
#define YYLLOC_DEFAULT(cur, rhs, n) \
    ((cur) = (n) ? loc_span(YYRHSLOC(rhs, 1), YYRHSLOC(rhs, n)) : loc_after(YYRHSLOC(rhs, 0)))
static void yyerror(Loc *loc, void *scanner, Lexer *lx, const char *msg);
}

%define api.pure full
%define api.location.type {Loc}
%define parse.error custom
%define parse.lac full
%locations
%expect 0
%param {void *scanner}
%parse-param {Lexer *lx}
%initial-action { @$ = (Loc){lx->src, 1, 1, 1}; }

%union {
    const char *name;
    Value *val;
    Arg *arg;
    Stmt *stmt;
    Vec *stmts;
}

%token START_FILE "start of file" START_VALUE "start of value"
%token MODEL "'model'" TRUE "'true'" FALSE "'false'"
%token <name> IDENT "name"
%token <val> NUMBER "number" STRING "string"
%token NEWLINE "end of line"
%token LPAREN "'('" RPAREN "')'" LBRACK "'['" RBRACK "']'" LBRACE "'{'" RBRACE "'}'"
%token COMMA "','" EQ "'='" SEMI "';'"

%type <val> value operand args arglist items itemlist
%type <arg> arg
%type <stmt> stmt opt_stmt
%type <stmts> stmts

%%

top     : START_FILE nls MODEL IDENT nls LBRACE stmts RBRACE nls
                                        { lx->ast = ast_new($4, @4, $7); }
        | START_VALUE value             { lx->value = $2; }
        ;

nls     : %empty
        | nls NEWLINE
        ;

/* Statements end at a newline or ';'; blank ones are dropped. */
stmts   : opt_stmt                      { $$ = stmt_add(NULL, $1); }
        | stmts sep opt_stmt            { $$ = stmt_add($1, $3); }
        ;

sep     : NEWLINE
        | SEMI
        ;

opt_stmt: %empty                        { $$ = NULL; }
        | stmt
        ;

/* relu | dense(32, activation = relu) | loss mse */
stmt    : IDENT                         { $$ = stmt_new($1, @1, NULL, NULL); }
        | IDENT LPAREN args RPAREN      { $$ = stmt_new($1, @1, $3, NULL); }
        | IDENT operand                 { $$ = stmt_new($1, @1, NULL, $2); }
        ;

args    : %empty                        { $$ = list_empty(@$); }
        | arglist
        | arglist COMMA
        ;

arglist : arg                           { $$ = list_arg(NULL, $1); }
        | arglist COMMA arg             { $$ = list_arg($1, $3); }
        ;

arg     : value                         { $$ = arg_new(NULL, @1, $1); }
        | IDENT EQ value                { $$ = arg_new($1, @1, $3); }
        ;

/* A keyword statement's operand cannot start with '(': `loss (mse)` is a call. */
value   : operand
        | LPAREN items RPAREN           { $$ = value_seq(V_TUPLE, @$, $2); }
        ;

operand : NUMBER
        | STRING
        | TRUE                          { $$ = value_bool(1, @1); }
        | FALSE                         { $$ = value_bool(0, @1); }
        | IDENT                         { $$ = value_ident($1, @1); }
        | IDENT LPAREN args RPAREN      { $$ = value_call($1, @1, $3); }
        | LBRACK items RBRACK           { $$ = value_seq(V_LIST, @$, $2); }
        ;

items   : %empty                        { $$ = list_empty(@$); }
        | itemlist
        | itemlist COMMA
        ;

itemlist: value                         { $$ = list_item(NULL, $1); }
        | itemlist COMMA value          { $$ = list_item($1, $3); }
        ;

%%

static int yyreport_syntax_error(const yypcontext_t *ctx, void *scanner, Lexer *lx) {
    (void)scanner;
    yysymbol_kind_t found = yypcontext_token(ctx);
    if (found == YYSYMBOL_YYUNDEF)      /* the scanner has reported it */
        return 0;
    yysymbol_kind_t exp[YYNTOKENS];
    const char *names[YYNTOKENS];
    int n = yypcontext_expected_tokens(ctx, exp, YYNTOKENS);
    for (int i = 0; i < n; i++)
        names[i] = yysymbol_name(exp[i]);
    syntax_error(lx, yysymbol_name(found), names, n < 0 ? 0 : n);
    return 0;
}

/* Only reached when the parser's stack overflows. */
static void yyerror(Loc *loc, void *scanner, Lexer *lx, const char *msg) {
    (void)scanner, (void)lx;
    error_at(*loc, "brackets nested too deeply (%s)", msg);
}

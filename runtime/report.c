/* report.c — `nnc train --report DIR`: one self-contained HTML page (no
 * scripts, no external fonts, stylesheets or images) that shows a run as a
 * person looks at it: a learning curve per logged quantity (the training
 * value against the validation value, epoch by epoch, with the best epoch
 * and an early stop marked), the final evaluation with the confusion matrix
 * as a heat map, and the model summary. Everything is read back from the
 * run's history CSV, so a resumed run's page covers the whole run. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc_internal.h"

enum { MAX_COLS = 64, MAX_NAME = 64 };

typedef struct history {
    int n_cols, n_rows;
    char name[MAX_COLS][MAX_NAME];
    double *v; /* v[row * n_cols + col]; NaN where empty */
} history;

static int col(const history *h, const char *name) {
    for (int c = 0; c < h->n_cols; c++)
        if (!strcmp(h->name[c], name)) return c;
    return -1;
}

static double at(const history *h, int row, int c) { return h->v[(size_t)row * (size_t)h->n_cols + (size_t)c]; }

/* The header names the columns; every other line is one epoch's numbers. */
static int history_read(history *h, const char *path) {
    FILE *f = fopen(path, "r");
    char line[8192];
    int cap = 0;
    memset(h, 0, sizeof *h);
    if (!f) return nnc_errorf("%s: error: cannot read: %s", path, strerror(errno));
    if (!fgets(line, sizeof line, f)) {
        fclose(f);
        return nnc_errorf("%s: error: no header line", path);
    }
    for (char *tok = strtok(line, ",\r\n"); tok && h->n_cols < MAX_COLS; tok = strtok(NULL, ",\r\n"))
        snprintf(h->name[h->n_cols++], MAX_NAME, "%s", tok);
    while (fgets(line, sizeof line, f)) {
        char *p = line, *end;
        if (h->n_rows == cap) {
            double *v = realloc(h->v, (size_t)(cap = cap ? 2 * cap : 64) * (size_t)h->n_cols * sizeof(double));
            if (!v) {
                fclose(f);
                free(h->v);
                return nnc_errorf("%s: error: out of memory", path);
            }
            h->v = v;
        }
        for (int c = 0; c < h->n_cols; c++) {
            double x = strtod(p, &end);
            h->v[(size_t)h->n_rows * (size_t)h->n_cols + (size_t)c] = end == p ? NAN : x;
            p = *end == ',' ? end + 1 : end;
        }
        h->n_rows++;
    }
    fclose(f);
    return 0;
}

static void html_text(FILE *f, const char *s) {
    for (; s && *s; s++) {
        if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '&') fputs("&amp;", f);
        else if (*s == '"') fputs("&quot;", f);
        else fputc(*s, f);
    }
}

/* A round step for about n ticks over span: 1, 2 or 5 times a power of ten. */
static double tick_step(double span, int n) {
    double raw = span / n, p = pow(10, floor(log10(raw))), r = raw / p;
    return (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10) * p;
}

/* The chart's size and margins: the title on top, the best-epoch and
 * early-stop labels in two rows under it, the epoch ticks and the legend
 * under the plot. */
enum { W = 520, H = 300, ML = 64, MR = 16, MT = 54, MB = 46 };

/* One chart: column a (training) and b (validation, -1: none) by epoch. */
static void chart(FILE *f, const history *h, const char *title, int a, int b, const nnc_report *r, int log_scale) {
    int ep = col(h, "epoch"), n = h->n_rows;
    double lo = HUGE_VAL, hi = -HUGE_VAL, x0 = 1, x1 = n > 1 ? at(h, n - 1, ep) : 2;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 2; k++) {
            int c = k ? b : a;
            double v = c >= 0 ? at(h, i, c) : NAN;
            if (log_scale && v > 0) v = log10(v);
            else if (log_scale) v = NAN;
            if (v == v && fabs(v) != HUGE_VAL) lo = v < lo ? v : lo, hi = v > hi ? v : hi;
        }
    if (lo > hi) lo = 0, hi = 1;
    if (hi - lo < 1e-12) lo -= 0.5, hi += 0.5;
    double pad = (hi - lo) * 0.05;
    lo -= pad, hi += pad;
    if (x1 <= x0) x1 = x0 + 1;
#define X(e) (ML + ((e) - x0) / (x1 - x0) * (W - ML - MR))
#define Y(v) (MT + (hi - (v)) / (hi - lo) * (H - MT - MB))
    fprintf(f, "<figure class=\"chart\" data-quantity=\"");
    html_text(f, title);
    fprintf(f, "\">\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\""
               " role=\"img\">\n<title>", W, H, W, H);
    html_text(f, title);
    fprintf(f, " by epoch</title>\n<text x=\"%d\" y=\"18\" class=\"title\">", ML);
    html_text(f, title);
    fprintf(f, "%s</text>\n", log_scale ? " (log scale)" : "");
    /* axes and ticks */
    fprintf(f, "<path class=\"axis\" d=\"M%d %d V%d H%d\"/>\n", ML, MT, H - MB, W - MR);
    double st = tick_step(hi - lo, 5);
    for (double t = ceil(lo / st) * st; t <= hi + 1e-12; t += st) {
        double y = Y(t);
        fprintf(f, "<path class=\"grid\" d=\"M%d %.1f H%d\"/><text class=\"tick\" x=\"%d\" y=\"%.1f\" "
                   "text-anchor=\"end\">",
                ML, y, W - MR, ML - 6, y + 4);
        if (log_scale) fprintf(f, "%.3g", pow(10, t));
        else fprintf(f, "%.4g", fabs(t) < st * 1e-6 ? 0.0 : t);
        fprintf(f, "</text>\n");
    }
    double xs = tick_step(x1 - x0, 8);
    if (xs < 1) xs = 1;
    for (double e = x0; e <= x1 + 1e-9; e += xs)
        fprintf(f, "<text class=\"tick\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.0f</text>\n", X(e), H - MB + 15,
                e);
    fprintf(f, "<text class=\"tick\" x=\"%d\" y=\"%d\" text-anchor=\"end\">epoch</text>\n", W - MR, H - 6);
    /* the markers under the curves, each labelled above the plot */
    for (int k = 0; k < 2; k++) {
        int e = k ? r->stop_epoch : r->best_epoch;
        double x = X(e), lx = x < ML + 70 ? ML + 70 : x > W - MR - 70 ? W - MR - 70 : x;
        if (e <= 0) continue;
        fprintf(f, "<path class=\"%s\" d=\"M%.1f %d V%d\"/><text class=\"mark %s-label\" x=\"%.1f\" y=\"%d\" "
                   "text-anchor=\"middle\">%s %d</text>\n",
                k ? "stop" : "best", x, MT - 4, H - MB, k ? "stop" : "best", lx, k ? MT - 8 : MT - 22,
                k ? "early stop at epoch" : "best epoch", e);
    }
    /* the curves: one polyline each, and a dot per epoch with its value */
    for (int k = 0; k < 2; k++) {
        int c = k ? b : a;
        if (c < 0) continue;
        fprintf(f, "<polyline class=\"curve %s\" data-column=\"%s\" points=\"", k ? "val" : "train", h->name[c]);
        for (int i = 0, first = 1; i < n; i++) {
            double v = at(h, i, c);
            if (log_scale) v = v > 0 ? log10(v) : NAN;
            if (v != v) continue;
            fprintf(f, "%s%.1f,%.1f", first ? "" : " ", X(at(h, i, ep)), Y(v));
            first = 0;
        }
        fprintf(f, "\"/>\n");
        for (int i = 0; i < n; i++) {
            double v = at(h, i, c), y = log_scale ? (v > 0 ? log10(v) : NAN) : v;
            if (y != y) continue;
            fprintf(f, "<circle class=\"dot %s\" cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\"><title>epoch %.0f: %s %.6g"
                       "</title></circle>\n",
                    k ? "val" : "train", X(at(h, i, ep)), Y(y), at(h, i, ep), h->name[c], v);
        }
    }
    /* the legend, under the plot on the left */
    int lx = ML, ly = H - 10;
    fprintf(f, "<g class=\"legend\"><path class=\"curve train\" d=\"M%d %d h18\"/><text x=\"%d\" y=\"%d\">%s</text>",
            lx, ly - 4, lx + 22, ly, h->name[a]);
    if (b >= 0) {
        lx += 22 + 7 * (int)strlen(h->name[a]) + 16;
        fprintf(f, "<path class=\"curve val\" d=\"M%d %d h18\"/><text x=\"%d\" y=\"%d\">%s</text>", lx, ly - 4,
                lx + 22, ly, h->name[b]);
    }
    fprintf(f, "</g>\n</svg>\n</figure>\n");
#undef X
#undef Y
}

/* Rows: true class, columns: predicted; each cell shaded by its share of
 * the row (the class's recall on the diagonal), the count written in it. */
static void heat_map(FILE *f, const nnc_report *r) {
    int k = r->n_classes, cell = k <= 10 ? 40 : k <= 20 ? 24 : 14, off = 70;
    int w = off + k * cell + 10, h = off + k * cell + 10;
    fprintf(f, "<figure class=\"confusion\">\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "viewBox=\"0 0 %d %d\" role=\"img\">\n<title>confusion matrix</title>\n",
            w, h, w, h);
    fprintf(f, "<text class=\"tick\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">predicted class</text>\n",
            off + k * cell / 2, off - 28);
    fprintf(f, "<text class=\"tick\" transform=\"translate(14 %d) rotate(-90)\" text-anchor=\"middle\">true class"
               "</text>\n",
            off + k * cell / 2);
    for (int c = 0; c < k; c++) {
        int label = r->hinge && !c ? -1 : c;
        fprintf(f, "<text class=\"tick\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">%d</text>\n",
                off + c * cell + cell / 2, off - 8, label);
        fprintf(f, "<text class=\"tick\" x=\"%d\" y=\"%d\" text-anchor=\"end\">%d</text>\n", off - 8,
                off + c * cell + cell / 2 + 4, label);
    }
    for (int t = 0; t < k; t++) {
        double row = 0;
        for (int p = 0; p < k; p++) row += r->confusion[t * k + p];
        for (int p = 0; p < k; p++) {
            double v = r->confusion[t * k + p], share = row > 0 ? v / row : 0;
            /* white to a deep blue by share */
            int R = (int)(255 - share * (255 - 31)), G = (int)(255 - share * (255 - 87)),
                B = (int)(255 - share * (255 - 165));
            fprintf(f, "<rect class=\"cell\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"rgb(%d,%d,%d)\">"
                       "<title>true %d, predicted %d: %.0f (%.1f%% of the class)</title></rect>\n",
                    off + p * cell, off + t * cell, cell, cell, R, G, B, r->hinge && !t ? -1 : t,
                    r->hinge && !p ? -1 : p, v, 100 * share);
            if (cell >= 24)
                fprintf(f, "<text class=\"count%s\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">%.0f</text>\n",
                        share > 0.5 ? " light" : "", off + p * cell + cell / 2, off + t * cell + cell / 2 + 4, v);
        }
    }
    fprintf(f, "</svg>\n</figure>\n");
}

int nnc_report_html(const nnc_model_desc *d, const nnc_report *r) {
    history h;
    nnc_outfile o;
    char path[4096];
    nnc_report rr = *r;
    int val_loss, loss;
    if (history_read(&h, r->history)) return -1;
    loss = col(&h, "loss");
    val_loss = col(&h, "val_loss");
    if (col(&h, "epoch") != 0 || loss < 0) {
        free(h.v);
        return nnc_errorf("%s: error: not a training history (no epoch and loss columns)", r->history);
    }
    /* without early stopping the best epoch is the lowest validation loss */
    if (!rr.monitor && h.n_rows) {
        int c = val_loss >= 0 ? val_loss : loss;
        double best = HUGE_VAL;
        for (int i = 0; i < h.n_rows; i++)
            if (at(&h, i, c) < best) best = at(&h, i, c), rr.best_epoch = (int)at(&h, i, 0);
        rr.monitor = h.name[c];
        rr.minimize = 1;
    }
    snprintf(path, sizeof path, "%s/report.html", r->dir);
    if (nnc_out_open(&o, path)) {
        free(h.v);
        return -1;
    }
    FILE *f = o.f;
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>nnc training report: ");
    html_text(f, d->name);
    fprintf(f,
            "</title>\n<style>\n"
            "body { font-family: sans-serif; margin: 24px auto; max-width: 1120px; color: #222; }\n"
            "h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; }\n"
            ".charts { display: flex; flex-wrap: wrap; gap: 8px; } figure { margin: 0; }\n"
            "svg text { font-family: sans-serif; font-size: 11px; fill: #333; }\n"
            "svg .title { font-size: 13px; font-weight: bold; }\n"
            ".axis { stroke: #444; fill: none; } .grid { stroke: #e4e4e4; }\n"
            ".curve { fill: none; stroke-width: 2; } .curve.train { stroke: #1f77b4; }\n"
            ".curve.val { stroke: #ff7f0e; } .dot.train { fill: #1f77b4; } .dot.val { fill: #ff7f0e; }\n"
            ".best { stroke: #2ca02c; stroke-dasharray: 4 3; } .stop { stroke: #d62728; stroke-dasharray: 2 2; }\n"
            "svg .best-label { fill: #2ca02c; } svg .stop-label { fill: #d62728; }\n"
            ".cell { stroke: #fff; } svg text.light { fill: #fff; } pre { background: #f6f6f6; padding: 12px; overflow-x: auto; }\n"
            "</style>\n</head>\n<body>\n<h1>Training report: ");
    html_text(f, d->name);
    fprintf(f, "</h1>\n<p>");
    html_text(f, d->source);
    fprintf(f, " &mdash; %d epoch%s", h.n_rows, h.n_rows == 1 ? "" : "s");
    if (rr.best_epoch > 0) {
        fprintf(f, "; best epoch %d by %s (%s)", rr.best_epoch, rr.monitor, rr.minimize ? "lowest" : "highest");
        if (rr.restored) fprintf(f, ", whose weights were restored");
    }
    if (rr.stop_epoch > 0) fprintf(f, "; early stopping ended training at epoch %d", rr.stop_epoch);
    fprintf(f, ".</p>\n<p class=\"final\">");
    html_text(f, r->final_line);
    fprintf(f, "</p>\n<h2>Learning curves</h2>\n<div class=\"charts\">\n");
    /* one chart per quantity: the loss, each metric, then the rate */
    for (int c = 1; c < h.n_cols; c++) {
        char vname[MAX_NAME + 8];
        if (!strncmp(h.name[c], "val_", 4) || !strcmp(h.name[c], "lr")) continue;
        snprintf(vname, sizeof vname, "val_%s", h.name[c]);
        chart(f, &h, h.name[c], c, col(&h, vname), &rr, 0);
    }
    /* the rate, when it changed (a schedule or reduce_lr_on_plateau) */
    int lr = col(&h, "lr");
    double lo = HUGE_VAL, hi = -HUGE_VAL; /* NaN: a model with no rate to report */
    for (int i = 0; lr >= 0 && i < h.n_rows; i++)
        if (at(&h, i, lr) == at(&h, i, lr)) {
            lo = at(&h, i, lr) < lo ? at(&h, i, lr) : lo;
            hi = at(&h, i, lr) > hi ? at(&h, i, lr) : hi;
        }
    if (lo < hi) chart(f, &h, "lr", lr, -1, &rr, 1);
    fprintf(f, "</div>\n");
    if (r->confusion && r->n_classes) {
        /* the final line's first word: test, validation or train */
        fprintf(f, "<h2>Confusion matrix (%.*s data)</h2>\n", (int)strcspn(r->final_line, " "), r->final_line);
        heat_map(f, r);
    }
    if (d->summary) {
        fprintf(f, "<h2>Model summary</h2>\n<pre class=\"summary\">");
        html_text(f, d->summary);
        fprintf(f, "</pre>\n");
    }
    fprintf(f, "</body>\n</html>\n");
    free(h.v);
    return nnc_out_commit(&o);
}

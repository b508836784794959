/* Prometheus text exposition format (version 0.0.4) helpers.
 *
 * Callers write one family at a time: fo_prom_family() for the # HELP / # TYPE lines,
 * then one fo_prom_value() per sample. Label values are escaped (\\, \", \n) here.
 * Histograms keep cumulative-at-render buckets with fixed upper bounds. */
#ifndef FO_PROM_H
#define FO_PROM_H

#include <stdint.h>

#include "common/buf.h"

#define FO_PROM_MAX_BUCKETS 16
#define FO_PROM_MAX_LABELS 4

struct fo_prom_label {
    const char *name;
    const char *value;
};

/* type: "gauge" | "counter" | "histogram" | "untyped" */
void fo_prom_family(struct fo_buf *b, const char *name, const char *type, const char *help);
/* name{l1="v1",...} value  (n_labels may be 0). Non-finite values print as NaN/+Inf/-Inf. */
void fo_prom_value(struct fo_buf *b, const char *name, const struct fo_prom_label *labels, unsigned n_labels,
                   double value);

struct fo_histogram {
    unsigned n_bounds;
    double bounds[FO_PROM_MAX_BUCKETS];       /* ascending upper bounds, +Inf implied */
    uint64_t counts[FO_PROM_MAX_BUCKETS + 1]; /* per bucket, non-cumulative; last = +Inf */
    uint64_t count;
    double sum;
};

void fo_histogram_init(struct fo_histogram *h, const double *bounds, unsigned n_bounds);
void fo_histogram_observe(struct fo_histogram *h, double v);
/* Writes name_bucket{...,le="x"} (cumulative), name_sum and name_count samples. */
void fo_prom_histogram(struct fo_buf *b, const char *name, const struct fo_prom_label *labels, unsigned n_labels,
                       const struct fo_histogram *h);

#endif

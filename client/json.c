#include "json.h"

#include <inttypes.h>
#include <math.h>

static void key(struct fo_ctl_json *w, const char *k)
{
    if (w->comma) fo_buf_append(w->b, ",", 1);
    w->comma = 1;
    if (k == NULL) return;
    fo_buf_json_str(w->b, k);
    fo_buf_append(w->b, ":", 1);
}

void fo_ctl_json_open(struct fo_ctl_json *w, const char *k, char c)
{
    key(w, k);
    fo_buf_append(w->b, &c, 1);
    w->comma = 0;
}

void fo_ctl_json_close(struct fo_ctl_json *w, char c)
{
    fo_buf_append(w->b, &c, 1);
    w->comma = 1;
}

void fo_ctl_json_str(struct fo_ctl_json *w, const char *k, const char *v)
{
    key(w, k);
    fo_buf_json_str(w->b, v);
}

void fo_ctl_json_u64(struct fo_ctl_json *w, const char *k, uint64_t v)
{
    key(w, k);
    fo_buf_printf(w->b, "%" PRIu64, v);
}

void fo_ctl_json_i64(struct fo_ctl_json *w, const char *k, int64_t v)
{
    key(w, k);
    fo_buf_printf(w->b, "%" PRId64, v);
}

void fo_ctl_json_bool(struct fo_ctl_json *w, const char *k, int v)
{
    key(w, k);
    fo_buf_puts(w->b, v ? "true" : "false");
}

void fo_ctl_json_null(struct fo_ctl_json *w, const char *k)
{
    key(w, k);
    fo_buf_puts(w->b, "null");
}

void fo_ctl_json_double(struct fo_ctl_json *w, const char *k, double v)
{
    key(w, k);
    fo_buf_printf(w->b, "%.3f", isfinite(v) ? v : 0.0);
}

void fo_ctl_json_end(struct fo_ctl_json *w)
{
    fo_ctl_json_close(w, '}');
    fo_buf_append(w->b, "\n", 1);
}

/* The parts of the MHA/MMM import shared by both formats: reading lines, notes, the
 * plan's defaults, and printing the plan (import.h). */
#include "import.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"
#include "import_internal.h"
#include "json.h"

int fo__import_next_line(struct fo__import_lines *l, char err[FO_ERRLEN])
{
    size_t start = l->pos, end, n;
    const char *nl;

    if (l->pos >= l->len) return 0;
    nl = memchr(l->text + start, '\n', l->len - start);
    end = nl != NULL ? (size_t)(nl - l->text) : l->len;
    l->pos = nl != NULL ? end + 1 : l->len;
    l->lineno++;
    n = end - start;
    if (n > 0 && l->text[start + n - 1] == '\r') n--; /* files edited on Windows */
    if (n >= FO_IMPORT_MAX_LINE) {
        fo_errf(err, FO_EINVAL, "%s:%u: line longer than %u bytes", l->file, l->lineno, FO_IMPORT_MAX_LINE - 1);
        return -1;
    }
    if (memchr(l->text + start, '\0', n) != NULL) {
        fo_errf(err, FO_EINVAL, "%s:%u: NUL byte: not a text file", l->file, l->lineno);
        return -1;
    }
    memcpy(l->line, l->text + start, n);
    l->line[n] = '\0';
    return 1;
}

char *fo__import_trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t') s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t')) e--;
    *e = '\0';
    return s;
}

/* Copies src into dst, escaped for a terminal and a shell comment (no control bytes,
 * invalid UTF-8 shown as \xNN), cut at dstlen. */
static void shown(char *dst, size_t dstlen, const char *src)
{
    fo_text_escape(dst, dstlen, src, strlen(src));
}

void fo__import_note(struct fo_import_plan *p, unsigned line, const char *key, const char *fmt, ...)
{
    struct fo_import_note *n;
    char text[FO_IMPORT_NOTE_LEN];
    va_list ap;

    if (p->n_notes >= FO_IMPORT_MAX_NOTES) {
        p->notes_dropped++;
        return;
    }
    n = &p->notes[p->n_notes++];
    if (line > 0)
        snprintf(n->where, sizeof n->where, "%s:%u", p->file, line);
    else
        snprintf(n->where, sizeof n->where, "%s", p->file);
    shown(n->key, sizeof n->key, key);
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    shown(n->text, sizeof n->text, text);
}

int fo__import_begin(struct fo_import_plan *p, enum fo_import_kind kind, const char *path, size_t len,
                     char err[FO_ERRLEN])
{
    const char *base = strrchr(path, '/');

    memset(p, 0, sizeof *p);
    p->kind = kind;
    base = base != NULL ? base + 1 : path;
    shown(p->file, sizeof p->file, base[0] != '\0' ? base : path);
    if (len > FO_IMPORT_MAX_FILE)
        return fo_errf(err, FO_EINVAL, "%s: %zu bytes: larger than the %u-byte limit of an import", p->file, len,
                       FO_IMPORT_MAX_FILE);
    return 0;
}

/* The cluster name from the file name: "app1.cnf" -> "app1", "mmm_common.conf" ->
 * "mmm"; anything outside [A-Za-z0-9_.-] becomes '_'. */
static void name_from_file(char *out, size_t outlen, const char *file, enum fo_import_kind kind)
{
    size_t i, n = strcspn(file, ".");

    if (n == 0 || (kind == FO_IMPORT_MMM && strncmp(file, "mmm_common", n) == 0 && n == 10)) {
        snprintf(out, outlen, "%s", kind == FO_IMPORT_MMM ? "mmm" : "mha");
        return;
    }
    if (n >= outlen) n = outlen - 1;
    for (i = 0; i < n; i++) {
        char c = file[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        out[i] = ok ? c : '_';
    }
    out[n] = '\0';
}

int fo__import_finish(struct fo_import_plan *p, const struct fo_import_options *o, char err[FO_ERRLEN])
{
    char why[FO_ERRLEN];

    if (p->n_servers == 0) return fo_errf(err, FO_EINVAL, "%s: no servers found", p->file);
    if (o != NULL && o->cluster[0] != '\0')
        snprintf(p->cluster, sizeof p->cluster, "%s", o->cluster);
    else
        name_from_file(p->cluster, sizeof p->cluster, p->file, p->kind);
    if (fo_check_name(p->cluster, why) != 0)
        return fo_errf(err, FO_EINVAL, "%s: cluster name '%s': %s (give --cluster NAME)", p->file, p->cluster, why);
    if (o != NULL && o->password_file[0] != '\0')
        snprintf(p->password_file, sizeof p->password_file, "%s", o->password_file);
    else
        snprintf(p->password_file, sizeof p->password_file, "/etc/failoverd/%s.password", p->cluster);
    if (p->repl_user[0] != '\0') {
        if (o != NULL && o->repl_password_file[0] != '\0')
            snprintf(p->repl_password_file, sizeof p->repl_password_file, "%s", o->repl_password_file);
        else
            snprintf(p->repl_password_file, sizeof p->repl_password_file, "/etc/failoverd/%s.repl", p->cluster);
    }
    if (p->password_file[0] != '/' || (p->repl_password_file[0] != '\0' && p->repl_password_file[0] != '/'))
        return fo_errf(err, FO_EINVAL, "password files must be absolute paths");
    if (p->vip[0] != '\0') {
        if (fo_parse_cidr4(p->vip, why) != 0) return fo_errf(err, FO_EINVAL, "%s: writer VIP: %s", p->file, why);
        if (p->vip_interface[0] == '\0')
            return fo_errf(err, FO_EINVAL, "%s: a writer VIP needs an interface (give --vip-interface IF)", p->file);
        if (fo_check_ifname(p->vip_interface, why) != 0)
            return fo_errf(err, FO_EINVAL, "%s: VIP interface: %s", p->file, why);
    }
    if (p->n_reader_vips > 0 && p->vip[0] == '\0')
        return fo_errf(err, FO_EINVAL,
                       "%s: reader VIPs without a writer VIP: failoverd moves reader VIPs on the writer VIP's "
                       "interface, so it needs both",
                       p->file);
    return 0;
}

/* ---- output ---- */

static const char *kind_name(enum fo_import_kind k)
{
    return k == FO_IMPORT_MMM ? "MMM" : "MHA";
}

unsigned fo_import_commands(const struct fo_import_plan *p, struct fo_import_command *cmds, unsigned max)
{
    unsigned n = 0, i;

#define W(c, s) snprintf((c)->words[(c)->argc++], FO_PATH_LEN, "%s", (s))
    if (max == 0) return 0;
    {
        struct fo_import_command *c = &cmds[n++];
        char readers[FO_PATH_LEN] = "";

        c->argc = 0;
        W(c, "cluster");
        W(c, "add");
        W(c, p->cluster);
        W(c, "--user");
        W(c, p->user);
        W(c, "--password-file");
        W(c, p->password_file);
        if (p->repl_user[0] != '\0') {
            W(c, "--repl-user");
            W(c, p->repl_user);
            W(c, "--repl-password-file");
            W(c, p->repl_password_file);
        }
        if (p->vip[0] != '\0') {
            W(c, "--vip");
            W(c, p->vip);
            W(c, "--vip-interface");
            W(c, p->vip_interface);
        }
        for (i = 0; i < p->n_reader_vips; i++)
            fo_text_append(readers, sizeof readers, "%s%s", i > 0 ? "," : "", p->reader_vips[i]);
        if (readers[0] != '\0') {
            W(c, "--reader-vips");
            W(c, readers);
        }
        if (p->co_primaries[0] != '\0') {
            W(c, "--co-primaries");
            W(c, p->co_primaries);
        }
    }
    for (i = 0; i < p->n_servers && n < max; i++) {
        struct fo_import_command *c = &cmds[n++];

        c->argc = 0;
        W(c, "instance");
        W(c, "add");
        W(c, p->cluster);
        W(c, p->servers[i].addr);
        if (p->servers[i].rule != FO_RULE_NEUTRAL) {
            W(c, "--rule");
            W(c, fo_rule_name(p->servers[i].rule));
        }
    }
#undef W
    for (i = 0; i < n; i++) {
        int k;
        for (k = 0; k < cmds[i].argc; k++) cmds[i].argv[k] = cmds[i].words[k];
        cmds[i].argv[cmds[i].argc] = NULL;
    }
    return n;
}

/* One shell word: plain if it only holds safe characters, else single-quoted. */
static void shell_word(struct fo_buf *out, const char *w)
{
    const char *s;

    for (s = w; *s != '\0'; s++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-/:,=@[]", *s)) break;
    if (*s == '\0' && *w != '\0') {
        fo_buf_puts(out, w);
        return;
    }
    fo_buf_puts(out, "'");
    for (s = w; *s != '\0'; s++) {
        if (*s == '\'')
            fo_buf_puts(out, "'\\''");
        else
            fo_buf_append(out, s, 1);
    }
    fo_buf_puts(out, "'");
}

static void render_text(const struct fo_import_plan *p, struct fo_buf *out)
{
    struct fo_import_command *cmds = calloc(FO_IMPORT_MAX_SERVERS + 1, sizeof *cmds); /* 3 MB: not on the stack */
    unsigned n, i;
    int k;

    if (cmds == NULL) {
        out->oom = 1;
        return;
    }
    n = fo_import_commands(p, cmds, FO_IMPORT_MAX_SERVERS + 1);

    fo_buf_printf(out, "# %s %s: cluster %s, %u server%s\n", kind_name(p->kind), p->file, p->cluster, p->n_servers,
                  p->n_servers == 1 ? "" : "s");
    for (i = 0; i < n; i++) {
        fo_buf_puts(out, "failoverctl");
        for (k = 0; k < cmds[i].argc; k++) {
            fo_buf_puts(out, " ");
            shell_word(out, cmds[i].argv[k]);
        }
        if (i > 0 && p->servers[i - 1].rule != FO_RULE_NEUTRAL)
            fo_buf_printf(out, "   # %s", p->servers[i - 1].rule_why);
        fo_buf_puts(out, "\n");
    }
    free(cmds);
    fo_buf_printf(out, "# Before --apply, on every controller: write the password of '%s' as the first line of %s",
                  p->user, p->password_file);
    if (p->repl_user[0] != '\0')
        fo_buf_printf(out, ",\n#   and the password of '%s' to %s", p->repl_user, p->repl_password_file);
    fo_buf_puts(out, "\n#   (inside the controllers' secrets_dir, mode 0600, owned by the failoverd user).\n");
    if (p->n_notes == 0) return;
    fo_buf_puts(out, "# Not carried over (no equivalent in failoverd, or set elsewhere):\n");
    for (i = 0; i < p->n_notes; i++)
        fo_buf_printf(out, "#   %s %s: %s\n", p->notes[i].where, p->notes[i].key, p->notes[i].text);
    if (p->notes_dropped > 0) fo_buf_printf(out, "#   ... and %u more\n", p->notes_dropped);
}

static void render_json(const struct fo_import_plan *p, struct fo_buf *out)
{
    struct fo_ctl_json w = {out, 0};
    unsigned i;

    fo_ctl_json_open(&w, NULL, '{');
    fo_ctl_json_bool(&w, "ok", 1);
    fo_ctl_json_str(&w, "source", p->kind == FO_IMPORT_MMM ? "mmm" : "mha");
    fo_ctl_json_str(&w, "file", p->file);
    fo_ctl_json_str(&w, "cluster", p->cluster);
    fo_ctl_json_str(&w, "user", p->user);
    fo_ctl_json_str(&w, "password_file", p->password_file);
    fo_ctl_json_str(&w, "repl_user", p->repl_user);
    fo_ctl_json_str(&w, "repl_password_file", p->repl_password_file);
    fo_ctl_json_str(&w, "vip", p->vip);
    fo_ctl_json_str(&w, "vip_interface", p->vip_interface);
    fo_ctl_json_open(&w, "reader_vips", '[');
    for (i = 0; i < p->n_reader_vips; i++) fo_ctl_json_str(&w, NULL, p->reader_vips[i]);
    fo_ctl_json_close(&w, ']');
    fo_ctl_json_str(&w, "co_primaries", p->co_primaries);
    fo_ctl_json_open(&w, "servers", '[');
    for (i = 0; i < p->n_servers; i++) {
        fo_ctl_json_open(&w, NULL, '{');
        fo_ctl_json_str(&w, "name", p->servers[i].name);
        fo_ctl_json_str(&w, "address", p->servers[i].addr);
        fo_ctl_json_str(&w, "rule", fo_rule_name(p->servers[i].rule));
        fo_ctl_json_str(&w, "rule_from", p->servers[i].rule_why);
        fo_ctl_json_close(&w, '}');
    }
    fo_ctl_json_close(&w, ']');
    fo_ctl_json_open(&w, "not_carried_over", '[');
    for (i = 0; i < p->n_notes; i++) {
        fo_ctl_json_open(&w, NULL, '{');
        fo_ctl_json_str(&w, "where", p->notes[i].where);
        fo_ctl_json_str(&w, "key", p->notes[i].key);
        fo_ctl_json_str(&w, "reason", p->notes[i].text);
        fo_ctl_json_close(&w, '}');
    }
    fo_ctl_json_close(&w, ']');
    fo_ctl_json_u64(&w, "notes_dropped", p->notes_dropped);
    fo_ctl_json_end(&w);
}

void fo_import_render(const struct fo_import_plan *p, struct fo_buf *out, int json)
{
    if (json)
        render_json(p, out);
    else
        render_text(p, out);
}

/* The web faces' dispatch and the load-balancer checks (web.h). */
#include "controller/admin/web.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/text.h"
#include "controller/admin/web_internal.h"
#include "controller/probe/monitor.h"

#define API_PREFIX "/api/v1/"
#define CHECK_PREFIX "/check/"
#define REPLICA_PREFIX "/check-replica/"

/* ---- pure parts ------------------------------------------------------------------ */

/* Letters, digits and the punctuation of host names and IPv4/IPv6 literals. */
static bool host_chars_ok(const char *s, size_t n)
{
    size_t k;

    for (k = 0; k < n; k++) {
        char ch = s[k];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
              ch == '-' || ch == '_' || ch == ':'))
            return false;
    }
    return true;
}

int fo_web_split_instance(const char *s, char host[FO_HOST_LEN], uint16_t *port)
{
    const char *colon = strrchr(s, ':'), *h = s;
    unsigned long p;
    size_t hlen;
    char *end;

    if (colon == NULL || colon == s) return FO_EINVAL;
    hlen = (size_t)(colon - s);
    if (s[0] == '[') { /* "[v6]:port" */
        if (hlen < 3 || s[hlen - 1] != ']') return FO_EINVAL;
        h = s + 1;
        hlen -= 2;
    }
    if (hlen == 0 || hlen >= FO_HOST_LEN || !host_chars_ok(h, hlen)) return FO_EINVAL;
    if (colon[1] < '0' || colon[1] > '9') return FO_EINVAL;
    errno = 0;
    p = strtoul(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || p == 0 || p > 65535) return FO_EINVAL;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (uint16_t)p;
    return 0;
}

/* why = text + detail, cut to fit (a problem string can be long). */
static int verdict(char why[FO_WEB_WHY_LEN], int status, const char *text, const char *detail)
{
    why[0] = '\0';
    fo_text_append(why, FO_WEB_WHY_LEN, "%s%s", text, detail);
    return status;
}

int fo_web_check_primary(const struct fo_store_cluster *c, const struct fo_store_instance *i, bool failover_running,
                         char why[FO_WEB_WHY_LEN])
{
    if (c->primary_host[0] == '\0') return verdict(why, 503, "no: the cluster has no designated primary", "");
    if (strcmp(c->primary_host, i->host) != 0 || c->primary_port != i->port)
        return verdict(why, 503, "no: the designated primary is ", c->primary_host);
    if (failover_running) return verdict(why, 503, "no: a failover of the cluster is running", "");
    if (i->role != FO_ROLE_PRIMARY) return verdict(why, 503, "no: not recorded with role primary yet", "");
    if (i->health != FO_HEALTH_UP) return verdict(why, 503, "no: health is not up", "");
    if (i->read_only) return verdict(why, 503, "no: read_only is on", "");
    return verdict(why, 200, "yes: writable primary", "");
}

int fo_web_check_replica(const struct fo_store_cluster *c, const struct fo_store_instance *i, bool lag_known,
                         int64_t lag_s, char why[FO_WEB_WHY_LEN])
{
    unsigned limit = c->reader_max_lag_s ? c->reader_max_lag_s : FO_DEFAULT_READER_MAX_LAG_S;

    if (i->role != FO_ROLE_REPLICA) return verdict(why, 503, "no: not recorded with role replica", "");
    if (i->health != FO_HEALTH_UP) return verdict(why, 503, "no: health is not up", "");
    if (i->maintenance) return verdict(why, 503, "no: in maintenance", "");
    if (i->quarantined) return verdict(why, 503, "no: quarantined", "");
    if (i->problem[0] != '\0') return verdict(why, 503, "no: ", i->problem);
    if (!lag_known || lag_s < 0)
        return verdict(why, 503, "no: lag not known on this node (only the leader probes replicas)", "");
    if ((uint64_t)lag_s > limit) return verdict(why, 503, "no: lagging beyond reader_max_lag_s", "");
    return verdict(why, 200, "yes: healthy replica within the lag limit", "");
}

/* ---- the checks on the live node ------------------------------------------------- */

/* rest = "<cluster>/<host:port>". */
static int check(struct fo_ctl *ctl, const char *rest, bool replica, struct fo_buf *body)
{
    const char *slash = strchr(rest, '/');
    char cluster[FO_NAME_LEN], host[FO_HOST_LEN], why[FO_WEB_WHY_LEN];
    struct fo_store_cluster c;
    struct fo_store_instance i;
    struct fo_store_failover f;
    struct fo_watch_view w;
    uint16_t port;
    size_t n;
    int status;

    if (slash == NULL || (n = (size_t)(slash - rest)) == 0 || n >= sizeof(cluster)) goto not_found;
    memcpy(cluster, rest, n);
    cluster[n] = '\0';
    if (fo_check_name(cluster, NULL) != 0 || fo_web_split_instance(slash + 1, host, &port) != 0) goto not_found;
    if (fo_store_get_cluster(ctl->store, cluster, &c) != 0 ||
        fo_store_get_instance(ctl->store, cluster, host, port, &i) != 0)
        goto not_found;
    if (!replica && fo_raft_leader(&ctl->raft, NULL) == 0) {
        /* A node cut off from the raft cluster cannot know whether a failover moved the
         * writer since its last applied entry: it vouches for no server. */
        status = verdict(why, 503, "no: this node knows no raft leader (its state may be stale)", "");
    } else if (!replica) {
        status = fo_web_check_primary(&c, &i, fo_store_get_running_failover(ctl->store, cluster, &f) == 0, why);
    } else {
        bool known = fo_monitor_view(ctl, cluster, host, port, &w) && w.has_sample && w.last_ok;
        status = fo_web_check_replica(&c, &i, known, known ? w.sample->lag_s : -1, why);
    }
    fo_buf_printf(body, "%s\n", why);
    return status;
not_found:
    fo_buf_puts(body, "not found: want /check/<cluster>/<host:port> or /check-replica/<cluster>/<host:port> of a "
                      "registered instance\n");
    return 404;
}

/* ---- dispatch -------------------------------------------------------------------- */

static bool has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

int fo_web_handle(struct fo_ctl *ctl, const char *url, struct fo_buf *body, const char **content_type)
{
    int status;

    if (strlen(url) > FO_WEB_MAX_PATH) {
        fo_buf_puts(body, "not found: path too long\n");
        return 404;
    }
    if (has_prefix(url, CHECK_PREFIX)) return check(ctl, url + strlen(CHECK_PREFIX), false, body);
    if (has_prefix(url, REPLICA_PREFIX)) return check(ctl, url + strlen(REPLICA_PREFIX), true, body);
    if (!ctl->cfg.ui) return 0;
    if (strcmp(url, "/ui") == 0 || strcmp(url, "/ui/") == 0) {
        *content_type = "text/html; charset=utf-8";
        fo_buf_append(body, fo__web_ui_html, fo__web_ui_html_len);
        return 200;
    }
    if (!has_prefix(url, API_PREFIX)) return 0;
    *content_type = "application/json";
    status = fo__web_api(ctl, url + strlen(API_PREFIX), body);
    if (!body->oom && body->len > FO_WEB_MAX_BODY) {
        fo_buf_reset(body);
        status = fo__web_error(body, 500, "response too large");
    }
    return body->oom ? 500 : status;
}

#ifndef FO_CONTROLLER_ADMIN_WEB_H
#define FO_CONTROLLER_ADMIN_WEB_H

#include "common/buf.h"
#include "controller/ctl.h"

/* The read-only web faces served on the HTTP port beside /metrics: the dashboard (/ui),
 * its JSON (/api/v1/...) and the load-balancer checks (/check/...). Returns the HTTP
 * status written into body, or 0 when url is not one of these (the caller answers 404).
 * Loop thread only. */
int fo_web_handle(struct fo_ctl *ctl, const char *url, struct fo_buf *body, const char **content_type);

#endif

#include "controller/admin/web.h"

int fo_web_handle(struct fo_ctl *ctl, const char *url, struct fo_buf *body, const char **content_type)
{
    (void)ctl;
    (void)url;
    (void)body;
    (void)content_type;
    return 0;
}

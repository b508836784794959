/* Shared by controller/admin/web*.c only (STYLE.md §18: fo__ names never leave the room). */
#ifndef FO_CONTROLLER_ADMIN_WEB_INTERNAL_H
#define FO_CONTROLLER_ADMIN_WEB_INTERNAL_H

#include <stddef.h>

#include "common/buf.h"
#include "controller/ctl.h"

/* controller/admin/ui/index.html, byte for byte (web_ui.c is generated from it by
 * controller/admin/ui/embed.py; tests/unit/test_web.c checks that they match). */
extern const char fo__web_ui_html[];
extern const size_t fo__web_ui_html_len;

/* Answers one /api/v1/ path (rest = what follows "/api/v1/"): the status, with the JSON
 * (or a JSON error object) in body. */
int fo__web_api(struct fo_ctl *ctl, const char *rest, struct fo_buf *body);

/* Appends {"error":msg} and returns status. */
int fo__web_error(struct fo_buf *body, int status, const char *msg);

#endif

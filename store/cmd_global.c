/* Command bodies that are not about one cluster: the global recoveries switch and
 * the controllers' membership notes. */
#include "store/internal.h"

#include <string.h>

/* ------------------------------------------------------------ recoveries */

static int validate_recoveries(const Fo__Command *cmd, char err[FO_ERRLEN])
{
    return 0;
}

/* Recorded every time: an operator flipping the switch is worth a line even if it was
 * already in that position. */
static int apply_recoveries(struct fo_store *s, const Fo__Command *cmd, char err[FO_ERRLEN])
{
    bool on = cmd->recoveries->enabled;
    sqlite3_stmt *st;
    int rc = store_stmt_get(s, ST_SETTING_SET, &st, err);

    if (rc != 0) return rc;
    rc = store_bind_text(st, 1, STORE_SETTING_RECOVERIES);
    if (rc == SQLITE_OK) rc = store_bind_text(st, 2, on ? "1" : "0");
    rc = store_stmt_run(s, ST_SETTING_SET, st, rc, err);
    if (rc != 0) return rc;
    return store_event_add(s, cmd, "", NULL, 0, "recoveries", err, "%s", on ? "enabled" : "disabled");
}

const struct store_command store_cmd_recoveries = {validate_recoveries, apply_recoveries};

/* ------------------------------------------------------------ member_note */

static int validate_member_note(const Fo__Command *cmd, char err[FO_ERRLEN])
{
    const Fo__MemberNote *b = cmd->member_note;
    int rc;

    if (b->id == 0) return fo_errf(err, FO_EINVAL, "member id 0");
    if (b->removed) return 0;
    rc = store_check_addr("raft address", b->raft_address, false, err);
    if (rc == 0) rc = store_check_addr("admin address", b->admin_address, false, err);
    if (rc == 0) rc = store_check_addr("http address", b->http_address, true, err);
    return rc;
}

static int remove_member(struct fo_store *s, const Fo__Command *cmd, const struct fo_store_member *old,
                         char err[FO_ERRLEN])
{
    sqlite3_stmt *st;
    int rc = store_stmt_get(s, ST_MEMBER_DELETE, &st, err);

    if (rc != 0) return rc;
    rc = store_stmt_run(s, ST_MEMBER_DELETE, st, sqlite3_bind_int64(st, 1, (sqlite3_int64)old->id), err);
    if (rc != 0) return rc;
    return store_event_add(s, cmd, "", NULL, 0, "member", err, "removed %s (id %llu)", old->raft_address,
                           (unsigned long long)old->id);
}

static bool same_addresses(const Fo__MemberNote *b, const struct fo_store_member *old)
{
    return strcmp(b->raft_address, old->raft_address) == 0 && strcmp(b->admin_address, old->admin_address) == 0 &&
           strcmp(b->http_address, old->http_address) == 0;
}

/* A node announces itself at every start; an unchanged announcement is a no-op. */
static int apply_member_note(struct fo_store *s, const Fo__Command *cmd, char err[FO_ERRLEN])
{
    const Fo__MemberNote *b = cmd->member_note;
    struct fo_store_member old;
    sqlite3_stmt *st;
    int rc = fo_store_get_member(s, b->id, &old);
    bool known = rc == 0;

    if (rc != 0 && rc != FO_ENOTFOUND) return fo_errf(err, rc, "read member %llu", (unsigned long long)b->id);
    if (b->removed) {
        if (!known) return fo_errf(err, FO_ENOTFOUND, "member %llu not found", (unsigned long long)b->id);
        return remove_member(s, cmd, &old, err);
    }
    if (known && same_addresses(b, &old)) return 0;

    rc = store_stmt_get(s, ST_MEMBER_UPSERT, &st, err);
    if (rc != 0) return rc;
    rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)b->id);
    if (rc == SQLITE_OK) rc = store_bind_text(st, 2, b->raft_address);
    if (rc == SQLITE_OK) rc = store_bind_text(st, 3, b->admin_address);
    if (rc == SQLITE_OK) rc = store_bind_text(st, 4, b->http_address);
    rc = store_stmt_run(s, ST_MEMBER_UPSERT, st, rc, err);
    if (rc != 0) return rc;
    return store_event_add(s, cmd, "", NULL, 0, "member", err, "%s %s (id %llu)", known ? "updated" : "added",
                           b->raft_address, (unsigned long long)b->id);
}

const struct store_command store_cmd_member_note = {validate_member_note, apply_member_note};

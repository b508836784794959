/* fo_store_apply(): decode, check the version, validate, then run one command body in
 * one transaction (DESIGN.md §4).
 *
 * Everything here is a function of the command bytes and the current tables: no
 * clock (times come from cmd->wall_ms), no randomness, no environment. Error messages
 * are deterministic too, so every node reports the same result for an entry. */
#include "store/internal.h"

#include <stdarg.h>
#include <stdio.h>

/* Indexed by Fo__Command__BodyCase; a hole is a body this build does not know. */
static const struct store_command *const commands[] = {
    [FO__COMMAND__BODY_CLUSTER_ADD] = &store_cmd_cluster_add,
    [FO__COMMAND__BODY_CLUSTER_REMOVE] = &store_cmd_cluster_remove,
    [FO__COMMAND__BODY_INSTANCE_ADD] = &store_cmd_instance_add,
    [FO__COMMAND__BODY_INSTANCE_REMOVE] = &store_cmd_instance_remove,
    [FO__COMMAND__BODY_INSTANCE_STATE] = &store_cmd_instance_state,
    [FO__COMMAND__BODY_CLUSTER_PROBLEMS] = &store_cmd_cluster_problems,
    [FO__COMMAND__BODY_PROMOTION_RULE] = &store_cmd_promotion_rule,
    [FO__COMMAND__BODY_MAINTENANCE] = &store_cmd_maintenance,
    [FO__COMMAND__BODY_RECOVERIES] = &store_cmd_recoveries,
    [FO__COMMAND__BODY_MEMBER_NOTE] = &store_cmd_member_note,
    [FO__COMMAND__BODY_FAILOVER_BEGIN] = &store_cmd_failover_begin,
    [FO__COMMAND__BODY_FAILOVER_STEP] = &store_cmd_failover_step,
    [FO__COMMAND__BODY_FAILOVER_END] = &store_cmd_failover_end,
    [FO__COMMAND__BODY_DECISION] = &store_cmd_decision,
    [FO__COMMAND__BODY_ACK] = &store_cmd_ack,
    [FO__COMMAND__BODY_QUARANTINE] = &store_cmd_quarantine,
    [FO__COMMAND__BODY_SET_PRIMARY] = &store_cmd_set_primary,
    [FO__COMMAND__BODY_VIP_HOLDER] = &store_cmd_vip_holder,
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct store_command *command_for(const Fo__Command *cmd)
{
    unsigned c = (unsigned)cmd->body_case;

    return c < N_COMMANDS ? commands[c] : NULL;
}

int store_event_add(struct fo_store *s, const Fo__Command *cmd, const char *cluster, const char *host, uint32_t port,
                    const char *kind, char err[FO_ERRLEN], const char *fmt, ...)
{
    char raw[1024], detail[sizeof(((struct fo_store_event *)0)->detail)];
    char instance[FO_ADDR_LEN] = "";
    sqlite3_stmt *st;
    va_list ap;
    int rc;

    /* The detail is human-readable history: cutting it is fine, overflowing is not. */
    va_start(ap, fmt);
    vsnprintf(raw, sizeof(raw), fmt, ap);
    va_end(ap);
    store_fit_text(detail, sizeof(detail), raw);
    if (host != NULL) store_format_addr(instance, sizeof(instance), host, port);

    rc = store_stmt_get(s, ST_EVENT_INSERT, &st, err);
    if (rc != 0) return rc;
    rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)cmd->wall_ms);
    if (rc == SQLITE_OK) rc = store_bind_text(st, 2, cluster);
    if (rc == SQLITE_OK) rc = store_bind_text(st, 3, instance);
    if (rc == SQLITE_OK) rc = store_bind_text(st, 4, kind);
    if (rc == SQLITE_OK) rc = store_bind_text(st, 5, detail);
    rc = store_stmt_run(s, ST_EVENT_INSERT, st, rc, err);
    if (rc != 0) return rc;

    rc = store_stmt_get(s, ST_EVENT_PRUNE, &st, err);
    if (rc != 0) return rc;
    return store_stmt_run(s, ST_EVENT_PRUNE, st, sqlite3_bind_int64(st, 1, FO_STORE_MAX_EVENTS), err);
}

/* Runs c->apply in BEGIN IMMEDIATE ... COMMIT; any failure rolls everything back. */
static int in_transaction(struct fo_store *s, const struct store_command *c, const Fo__Command *cmd,
                          char err[FO_ERRLEN])
{
    int rc = store_exec(s, ST_BEGIN, err);

    if (rc != 0) return rc;
    rc = c->apply(s, cmd, err);
    if (rc == 0) rc = store_exec(s, ST_COMMIT, err);
    if (rc != 0) goto err_after_begin;
    return 0;

err_after_begin:
    /* err already says why; a failing rollback has nothing useful to add. */
    if (!sqlite3_get_autocommit(s->db)) store_exec(s, ST_ROLLBACK, NULL);
    return rc;
}

static int record_skip(struct fo_store *s, const Fo__Command *cmd, char err[FO_ERRLEN])
{
    return store_event_add(s, cmd, "", NULL, 0, "skipped", err,
                           "command version %u is newer than this build's %d; not applied", cmd->version,
                           FO_COMMAND_VERSION);
}

static const struct store_command skip_command = {NULL, record_skip};

/* A newer command is not understood, so it is not applied; but it is recorded,
 * because a node that silently skips entries would diverge without a trace. */
static int skip_newer(struct fo_store *s, const Fo__Command *cmd, char err[FO_ERRLEN])
{
    int rc = in_transaction(s, &skip_command, cmd, err);

    if (rc != 0) return rc;
    return fo_errf(err, FO_EVERSION, "command version %u is newer than this build's %d", cmd->version,
                   FO_COMMAND_VERSION);
}

static int dispatch(struct fo_store *s, const Fo__Command *cmd, char err[FO_ERRLEN])
{
    const struct store_command *c;
    int rc;

    if (cmd->version > FO_COMMAND_VERSION) return skip_newer(s, cmd, err);
    if (cmd->version == 0) return fo_errf(err, FO_EINVAL, "command has no version");
    c = command_for(cmd);
    if (c == NULL) return fo_errf(err, FO_EINVAL, "command has no known body (case %d)", (int)cmd->body_case);
    rc = c->validate(cmd, err);
    if (rc != 0) return rc;
    return in_transaction(s, c, cmd, err);
}

void fo_store_on_change(struct fo_store *s, fo_store_change_cb cb, void *data)
{
    s->on_change = cb;
    s->on_change_data = data;
}

/* The cluster a command is about (store.h, fo_store_on_change), found by name in the
 * body's descriptor so that a new command with a `cluster` field needs no case here. */
static const char *command_cluster(const Fo__Command *cmd)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field(&fo__command__descriptor, (unsigned)cmd->body_case);
    const ProtobufCFieldDescriptor *cf;
    const ProtobufCMessage *body;
    const char *name;

    if (f == NULL || f->type != PROTOBUF_C_TYPE_MESSAGE) return NULL;
    body = *(const ProtobufCMessage *const *)(const void *)((const char *)cmd + f->offset);
    if (body == NULL) return NULL;
    cf = protobuf_c_message_descriptor_get_field_by_name(body->descriptor, "cluster");
    if (cf == NULL &&
        (cmd->body_case == FO__COMMAND__BODY_CLUSTER_ADD || cmd->body_case == FO__COMMAND__BODY_CLUSTER_REMOVE))
        cf = protobuf_c_message_descriptor_get_field_by_name(body->descriptor, "name");
    if (cf == NULL || cf->type != PROTOBUF_C_TYPE_STRING || cf->label == PROTOBUF_C_LABEL_REPEATED) return NULL;
    name = *(const char *const *)(const void *)((const char *)body + cf->offset);
    return name != NULL && name[0] != '\0' ? name : NULL;
}

int fo_store_apply(struct fo_store *s, const uint8_t *data, size_t len, char err[FO_ERRLEN])
{
    Fo__Command *cmd;
    int rc;

    if (data == NULL && len > 0) return fo_errf(err, FO_EINVAL, "no command data");
    cmd = fo__command__unpack(NULL, len, data);
    if (cmd == NULL) return fo_errf(err, FO_EPROTO, "undecodable command (%zu bytes)", len);
    rc = dispatch(s, cmd, err);
    if (rc == 0 && s->on_change != NULL) s->on_change(s->on_change_data, command_cluster(cmd));
    fo__command__free_unpacked(cmd, NULL);
    return rc;
}

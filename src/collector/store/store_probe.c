/*
 * store_probe.c -- the store's probes and enrollment tokens: adding,
 * revoking and listing probes, and creating and redeeming the one-time
 * tokens a probe enrolls with.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "db.h"
#include "log.h"
#include "store.h"
#include "store_int.h"

/* --- Probes and tokens --- */

#define STORE_PROBE_COLUMNS \
	"num, id, name, pubkey, created_at, revoked_at, first_seen, " \
	"last_seen, country, asn, last_heartbeat"

void
store_probe_clear(struct store_probe *p)
{
	free(p->last_heartbeat);
	p->last_heartbeat = NULL;
}

/* Fill a struct store_probe from a row of STORE_PROBE_COLUMNS. */
static int
store_probe_row(struct store_probe *p, const struct db_row *row)
{
	const struct db_value *c = row->col;

	memset(p, 0, sizeof(*p));
	if (row->n < 11)
		return -1;
	p->num = store_col_int(&c[0], 0);
	store_col_text(&c[1], p->id, sizeof(p->id));
	store_col_text(&c[2], p->name, sizeof(p->name));
	if (c[3].type == DB_BLOB && c[3].len == RECORD_PUBKEY_LEN)
		memcpy(p->pubkey, c[3].p, RECORD_PUBKEY_LEN);
	p->created_at = store_col_int(&c[4], 0);
	p->revoked_at = store_col_int(&c[5], 0);
	p->revoked = c[5].type == DB_INT;
	p->first_seen = store_col_int(&c[6], 0);
	p->last_seen = store_col_int(&c[7], 0);
	store_col_text(&c[8], p->country, sizeof(p->country));
	p->asn = store_col_int(&c[9], -1);
	if ((c[10].type == DB_BLOB || c[10].type == DB_TEXT) &&
	    (p->last_heartbeat = malloc(c[10].len + 1)) != NULL) {
		memcpy(p->last_heartbeat, c[10].p, c[10].len);
		p->last_heartbeat[c[10].len] = '\0';
	}
	return 0;
}

struct store_probe_one {
	struct store_probe *out;
	bool found;
};

static int
store_probe_one_cb(void *arg, const struct db_row *row)
{
	struct store_probe_one *one = arg;

	if (store_probe_row(one->out, row) == 0)
		one->found = true;
	return 1;
}

/* `id` as 32 hex digits or a probe number. */
int
store_probe_key(const char *id, struct db_value *v, const char **column)
{
	char *end;
	long long num;

	if (strlen(id) == RECORD_ID_HEX) {
		*v = DB_V_TEXT(id);
		*column = "id";
		return 0;
	}
	errno = 0;
	num = strtoll(id, &end, 10);
	if (errno != 0 || end == id || *end != '\0' || num < 1)
		return -1;
	*v = DB_V_INT(num);
	*column = "num";
	return 0;
}

int
store_probe_get(struct store *st, const char *id, struct store_probe *out)
{
	struct store_probe_one one = { out, false };
	struct db_value key;
	const char *column;
	char sql[256];

	memset(out, 0, sizeof(*out));
	if (store_probe_key(id, &key, &column) == -1)
		return STORE_E_NOTFOUND;
	snprintf(sql, sizeof(sql),
	    "SELECT " STORE_PROBE_COLUMNS " FROM probes "
	    "WHERE %s = ?",
	    column);
	if (db_query(st->db, sql, &key, 1, store_probe_one_cb, &one) == -1) {
		store_set_error(st, "probe");
		return STORE_E_DB;
	}
	return one.found ? STORE_OK : STORE_E_NOTFOUND;
}

static bool
store_name_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > STORE_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return false;
	return true;
}

/* Insert a probe; the caller holds a transaction. */
static int
store_probe_insert(struct store *st, const char *name,
    const unsigned char pk[RECORD_PUBKEY_LEN], cw_usec_t now,
    struct store_probe *out, char *err, size_t errlen)
{
	char id[RECORD_ID_HEX + 1];
	struct store_probe tmp;
	struct db_value p[4];
	int rc;

	record_probe_id(pk, id);
	if ((rc = store_probe_get(st, id, &tmp)) == STORE_OK) {
		log_say(err, errlen,
		    "this key is enrolled already as probe "
		    "%s (%lld)",
		    tmp.id, tmp.num);
		store_probe_clear(&tmp);
		return STORE_E_EXISTS;
	}
	if (rc == STORE_E_DB)
		return rc;
	p[0] = DB_V_TEXT(id);
	p[1] = DB_V_TEXT(name);
	p[2] = DB_V_BLOB(pk, RECORD_PUBKEY_LEN);
	p[3] = DB_V_INT(now);
	if (db_exec(st->db,
	        "INSERT INTO probes (id, name, pubkey, created_at)"
	        " VALUES (?, ?, ?, ?)",
	        p, 4) == -1) {
		store_set_error(st, "probe add");
		log_say(err, errlen, "%s", st->error);
		return STORE_E_DB;
	}
	if (out != NULL && (rc = store_probe_get(st, id, out)) != STORE_OK)
		return rc;
	return STORE_OK;
}

/* Insert a probe and end the transaction the caller began with it:
 * committed when the probe is in, rolled back when not. */
static int
store_probe_commit(struct store *st, const char *name,
    const unsigned char pk[RECORD_PUBKEY_LEN], cw_usec_t now,
    struct store_probe *out, char *err, size_t errlen)
{
	int rc;

	if ((rc = store_probe_insert(st, name, pk, now, out, err, errlen)) !=
	    STORE_OK) {
		store_rollback(st);
		return rc;
	}
	if (store_commit(st) == -1) {
		log_say(err, errlen, "%s", st->error);
		if (out != NULL)
			store_probe_clear(out);
		return STORE_E_DB;
	}
	return STORE_OK;
}

int
store_probe_add(struct store *st, const char *name,
    const unsigned char pk[RECORD_PUBKEY_LEN], struct store_probe *out,
    char *err, size_t errlen)
{
	if (!store_name_ok(name)) {
		log_say(err, errlen,
		    "a probe name is 1 to %d printable "
		    "characters",
		    STORE_NAME_MAX);
		return STORE_E_INVALID;
	}
	if (store_begin(st) == -1) {
		log_say(err, errlen, "%s", st->error);
		return STORE_E_DB;
	}
	return store_probe_commit(st, name, pk, cw_real_usec(), out, err,
	    errlen);
}

int
store_probe_revoke(struct store *st, const char *id, char *err, size_t errlen)
{
	struct store_probe p;
	struct db_value v[2];
	int rc;

	if ((rc = store_probe_get(st, id, &p)) != STORE_OK) {
		if (rc == STORE_E_DB)
			log_say(err, errlen, "%s", st->error);
		else
			log_say(err, errlen, "no probe %s", id);
		return rc;
	}
	store_probe_clear(&p);
	if (p.revoked)
		return STORE_OK;
	v[0] = DB_V_INT(cw_real_usec());
	v[1] = DB_V_TEXT(p.id);
	if (db_exec(st->db, "UPDATE probes SET revoked_at = ? WHERE id = ?", v,
	        2) == -1) {
		store_set_error(st, "probe revoke");
		log_say(err, errlen, "%s", st->error);
		return STORE_E_DB;
	}
	return STORE_OK;
}

struct store_probe_each {
	int (*cb)(void *, const struct store_probe *);
	void *arg;
};

static int
store_probe_each_cb(void *arg, const struct db_row *row)
{
	struct store_probe_each *each = arg;
	struct store_probe p;
	int stop;

	if (store_probe_row(&p, row) == -1)
		return 0;
	stop = each->cb(each->arg, &p);
	store_probe_clear(&p);
	return stop;
}

int
store_probe_list(struct store *st,
    int (*cb)(void *arg, const struct store_probe *p), void *arg)
{
	struct store_probe_each each = { cb, arg };

	if (db_query(st->db,
	        "SELECT " STORE_PROBE_COLUMNS " FROM probes "
	        "ORDER BY num",
	        NULL, 0, store_probe_each_cb, &each) == -1) {
		store_set_error(st, "probe list");
		return STORE_E_DB;
	}
	return STORE_OK;
}

/* The stored form of a token: hex SHA-256 of its text. */
static void
store_token_hash(const char *token, char hex[RECORD_HASH_HEX + 1])
{
	unsigned char h[RECORD_HASH_LEN];

	record_hash(token, strlen(token), h);
	record_hex(h, sizeof(h), hex);
}

int
store_token_create(struct store *st, const char *name, cw_usec_t ttl,
    char token[STORE_TOKEN_LEN + 1], char *err, size_t errlen)
{
	unsigned char raw[32];
	char hash[RECORD_HASH_HEX + 1];
	struct db_value p[4];
	cw_usec_t now = cw_real_usec();

	if (!store_name_ok(name)) {
		log_say(err, errlen,
		    "a probe name is 1 to %d printable "
		    "characters",
		    STORE_NAME_MAX);
		return STORE_E_INVALID;
	}
	if (ttl <= 0) {
		log_say(err, errlen, "a token's lifetime must be positive");
		return STORE_E_INVALID;
	}
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(token, STORE_TOKEN_LEN + 1, raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	store_token_hash(token, hash);
	p[0] = DB_V_TEXT(hash);
	p[1] = DB_V_TEXT(name);
	p[2] = DB_V_INT(now);
	p[3] = DB_V_INT(now + ttl);
	if (db_exec(st->db,
	        "INSERT INTO tokens (hash, name, created_at, "
	        "expires_at) VALUES (?, ?, ?, ?)",
	        p, 4) == -1) {
		store_set_error(st, "token create");
		log_say(err, errlen, "%s", st->error);
		return STORE_E_DB;
	}
	return STORE_OK;
}

struct store_token_row {
	bool found;
	cw_usec_t expires_at;
	bool used;
};

static int
store_token_cb(void *arg, const struct db_row *row)
{
	struct store_token_row *t = arg;

	if (row->n < 2)
		return 1;
	t->found = true;
	t->expires_at = store_col_int(&row->col[0], 0);
	t->used = row->col[1].type != DB_NULL;
	return 1;
}

/* Why the token with `hash` could not be used: unknown, used or
 * expired, into `err`.  STORE_E_NOTFOUND, or STORE_E_DB. */
static int
store_token_refused(struct store *st, const char *hash, cw_usec_t now,
    char *err, size_t errlen)
{
	struct store_token_row t = { 0 };
	struct db_value p = DB_V_TEXT(hash);

	if (db_query(st->db,
	        "SELECT expires_at, used_at FROM tokens WHERE "
	        "hash = ?",
	        &p, 1, store_token_cb, &t) == -1) {
		store_set_error(st, "token");
		log_say(err, errlen, "%s", st->error);
		return STORE_E_DB;
	}
	log_say(err, errlen,
	    !t.found                ? "unknown token" :
	        t.used              ? "token used already" :
	        t.expires_at <= now ? "token expired" :
	                              "token used already");
	return STORE_E_NOTFOUND;
}

struct store_token_use {
	int rows;
	char name[STORE_NAME_MAX + 1];
};

static int
store_token_use_cb(void *arg, const struct db_row *row)
{
	struct store_token_use *u = arg;

	if (u->rows++ == 0 && row->n > 0)
		store_col_text(&row->col[0], u->name, sizeof(u->name));
	return 0;
}

/*
 * The token is taken by one conditional UPDATE, before anything else:
 * of two collectors redeeming it at once (one database behind both),
 * the second waits for the first's row lock and then finds the token
 * used, changing no row.  Only the transaction whose UPDATE changed the
 * row goes on to enroll its key; a refusal later rolls the UPDATE back
 * with the rest, and the token stays usable.
 */
int
store_token_redeem(struct store *st, const char *token,
    const unsigned char pk[RECORD_PUBKEY_LEN], struct store_probe *out,
    char *err, size_t errlen)
{
	char hash[RECORD_HASH_HEX + 1], id[RECORD_ID_HEX + 1];
	struct store_token_use use = { 0 };
	struct db_value p[4];
	cw_usec_t now = cw_real_usec();
	int rc;

	if (strlen(token) != STORE_TOKEN_LEN) {
		log_say(err, errlen, "not an enrollment token");
		return STORE_E_NOTFOUND;
	}
	store_token_hash(token, hash);
	record_probe_id(pk, id);
	if (store_begin(st) == -1) {
		log_say(err, errlen, "%s", st->error);
		return STORE_E_DB;
	}
	p[0] = DB_V_INT(now);
	p[1] = DB_V_TEXT(id);
	p[2] = DB_V_TEXT(hash);
	p[3] = DB_V_INT(now);
	if (db_query(st->db,
	        "UPDATE tokens SET used_at = ?, probe = ? WHERE "
	        "hash = ? AND used_at IS NULL AND expires_at > ? RETURNING name",
	        p, 4, store_token_use_cb, &use) == -1) {
		store_set_error(st, "token redeem");
		log_say(err, errlen, "%s", st->error);
		store_rollback(st);
		return STORE_E_DB;
	}
	if (use.rows != 1) {
		rc = store_token_refused(st, hash, now, err, errlen);
		store_rollback(st);
		return rc;
	}
	return store_probe_commit(st, use.name, pk, now, out, err, errlen);
}

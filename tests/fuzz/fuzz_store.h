/*
 * fuzz_store.h -- what the fuzz targets of the collector's readers
 * (fuzz_export, fuzz_summary) share: one SQLite store in memory, made
 * once per run, whose records are replaced by rows made from each input,
 * so that the exporter and the summary read them through store_results()
 * and store_results_by_time() as they read a real database.  The rows
 * hold anything a database could: records stored before ingest checked
 * ranges (an RTT of 1e308, NaN, a port of -1), or a file edited by hand.
 *
 * An input is up to FUZZ_ROWS rows, each:
 *   1 byte    flags: bits 0-1 the type (dns, http, heartbeat, or the
 *             string that follows the numbers), bits 2-3 ok (true,
 *             false, NULL), bit 4 rtt_ms NULL, bit 5 time NULL, bit 6
 *             an empty string is NULL
 *   8 bytes   the rtt_ms column: any double, NaN and infinities included
 *   6 x 8     time, port, af, soa_serial, msm, asn: any 64-bit integer,
 *             but time within the years 0000 to 9999 (all that ingest's
 *             cw_time_parse can give; the summary's buckets rely on it)
 *   strings   [type], line (2-byte length), then name, server, addr,
 *             proto, qname, qtype, failure, rcode, nsid, country (1-byte
 *             length each)
 * An input that ends early gives zeros and empty strings.
 *
 * Everything here is static; include it once, in a target.
 */
#ifndef CW_FUZZ_STORE_H
#define CW_FUZZ_STORE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "store.h"
#include "store_db.h"

#define FUZZ_ROWS 8
#define FUZZ_NSTR 10 /* the 1-byte-length strings of a row */
/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z in microseconds. */
#define FUZZ_TIME_MIN (-62167219200LL * 1000000)
#define FUZZ_TIME_MAX (253402300800LL * 1000000 - 1)

/* The unread part of an input. */
struct fuzz_in {
	const uint8_t *p;
	size_t left;
};

/* `n` bytes into `out`, zeros past the end of the input. */
static void
fuzz_take(struct fuzz_in *in, void *out, size_t n)
{
	size_t k = n < in->left ? n : in->left;

	memset(out, 0, n);
	memcpy(out, in->p, k);
	in->p += k;
	in->left -= k;
}

/* A string of `lenbytes` bytes of length, then its bytes, into `buf`
 * (at least 65536 bytes) with a NUL after them; its length. */
static size_t
fuzz_string(struct fuzz_in *in, size_t lenbytes, char *buf)
{
	uint8_t len[2];
	size_t n;

	fuzz_take(in, len, lenbytes);
	n = lenbytes == 1 ? len[0] : (size_t)len[0] << 8 | len[1];
	if (n > in->left)
		n = in->left;
	fuzz_take(in, buf, n);
	buf[n] = '\0';
	return n;
}

/* The store of the run, its probe enrolled; exits when it cannot be
 * made (nothing to fuzz). */
static struct store *
fuzz_store(char probe[RECORD_ID_HEX + 1])
{
	static struct store *st;
	static char id[RECORD_ID_HEX + 1];
	unsigned char pk[RECORD_PUBKEY_LEN];
	struct store_probe p;
	char err[256];

	if (st == NULL) {
		memset(pk, 7, sizeof(pk));
		if ((st = store_open("sqlite::memory:", err, sizeof(err))) ==
		        NULL ||
		    store_probe_add(st, "fuzz", pk, &p, err, sizeof(err)) !=
		        STORE_OK) {
			fprintf(stderr, "fuzz: store: %s\n", err);
			exit(1);
		}
		memcpy(id, p.id, sizeof(id));
		store_probe_clear(&p);
	}
	memcpy(probe, id, sizeof(id));
	return st;
}

/* A text column: NULL for an empty string when `null_empty`. */
static struct db_value
fuzz_text(const char *s, bool null_empty)
{
	return s[0] == '\0' && null_empty ? DB_V_NULL : DB_V_TEXT(s);
}

/* One row of the input into the records table as seq `seq`; 0, or -1
 * when the input is used up. */
static int
fuzz_row(struct store *st, const char *probe, struct fuzz_in *in, long long seq)
{
	static const char *const types[] = { "dns", "http", "heartbeat" };
	static char line[65536 + 1], type[256], s[FUZZ_NSTR][256];
	static const unsigned char zero[RECORD_HASH_LEN];
	struct db_value p[26];
	uint8_t flags;
	int64_t num[6];
	double rtt;
	size_t len;
	bool null_empty;
	int n = 0, ok;

	if (in->left == 0)
		return -1;
	fuzz_take(in, &flags, 1);
	fuzz_take(in, &rtt, sizeof(rtt));
	fuzz_take(in, num, sizeof(num));
	if ((flags & 3) == 3)
		fuzz_string(in, 1, type);
	else
		snprintf(type, sizeof(type), "%s", types[flags & 3]);
	len = fuzz_string(in, 2, line);
	for (int i = 0; i < FUZZ_NSTR; i++)
		fuzz_string(in, 1, s[i]);
	ok = (flags >> 2 & 3) == 0 ? 1 : (flags >> 2 & 3) == 1 ? 0 : -1;
	null_empty = (flags & 0x40) != 0;
	p[n++] = DB_V_TEXT(probe);
	p[n++] = DB_V_TEXT("c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0");
	p[n++] = DB_V_INT(seq);
	p[n++] = DB_V_BLOB(zero, sizeof(zero));
	p[n++] = DB_V_BLOB(zero, sizeof(zero));
	p[n++] = DB_V_BLOB(line, len);
	p[n++] = DB_V_INT(1764000000000000LL);
	p[n++] = DB_V_TEXT(type);
	p[n++] = flags & 0x20 ?
	    DB_V_NULL :
	    DB_V_INT(FUZZ_TIME_MIN +
	        (long long)((uint64_t)num[0] %
	            (uint64_t)(FUZZ_TIME_MAX - FUZZ_TIME_MIN + 1)));
	p[n++] = fuzz_text(s[0], null_empty);
	p[n++] = DB_V_INT(num[4]);
	for (int i = 1; i < 3; i++) /* server, addr */
		p[n++] = fuzz_text(s[i], null_empty);
	p[n++] = DB_V_INT(num[1]);
	p[n++] = DB_V_INT(num[2]);
	for (int i = 3; i < 6; i++) /* proto, qname, qtype */
		p[n++] = fuzz_text(s[i], null_empty);
	p[n++] = ok < 0 ? DB_V_NULL : DB_V_INT(ok);
	p[n++] = fuzz_text(s[6], null_empty);
	p[n++] = flags & 0x10 ? DB_V_NULL : DB_V_REAL(rtt);
	for (int i = 7; i < 9; i++) /* rcode, nsid */
		p[n++] = fuzz_text(s[i], null_empty);
	p[n++] = DB_V_INT(num[3]);
	p[n++] = fuzz_text(s[9], null_empty);
	p[n++] = DB_V_INT(num[5]);
	return db_exec(store_db(st),
	           "INSERT INTO records (probe, chain, seq, "
	           "hash, prev, line, received_at, type, time, name, msm, server, "
	           "addr, port, af, proto, qname, qtype, ok, failure, rtt_ms, rcode, "
	           "nsid, soa_serial, country, asn) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
	           "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	           p, n) == -1 ?
	    -1 :
	    0;
}

/* The store of the run holding the rows of the input, and nothing else. */
static struct store *
fuzz_store_rows(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	char probe[RECORD_ID_HEX + 1];
	struct store *st = fuzz_store(probe);

	if (db_exec(store_db(st), "DELETE FROM records", NULL, 0) == -1)
		abort();
	for (long long seq = 1; seq <= FUZZ_ROWS; seq++)
		if (fuzz_row(st, probe, &in, seq) == -1)
			break;
	return st;
}

#endif /* CW_FUZZ_STORE_H */

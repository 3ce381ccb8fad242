/*
 * sha256.c -- SHA-256 through libcrypto (sha256.h).
 *
 * Each thread keeps one digest context (a pthread key frees it when the
 * thread ends), so that a hash costs no allocation; the algorithm is
 * fetched once.  libcrypto failing to give SHA-256 at all (out of
 * memory at the first hash, a broken installation) is fatal: no answer
 * would be right.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "sha256.h"

static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static pthread_key_t sha256_key;
static EVP_MD *sha256_md;

static void
sha256_ctx_free(void *ctx)
{
	EVP_MD_CTX_free(ctx);
}

static void
sha256_init(void)
{
	if (pthread_key_create(&sha256_key, sha256_ctx_free) != 0 ||
	    (sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL) {
		fprintf(stderr, "corewatch: libcrypto gives no SHA-256\n");
		abort();
	}
}

/* The thread's context, initialised for a new digest. */
static EVP_MD_CTX *
sha256_begin(void)
{
	EVP_MD_CTX *ctx;

	pthread_once(&sha256_once, sha256_init);
	if ((ctx = pthread_getspecific(sha256_key)) == NULL) {
		if ((ctx = EVP_MD_CTX_new()) == NULL ||
		    pthread_setspecific(sha256_key, ctx) != 0) {
			fprintf(stderr, "corewatch: SHA-256: out of memory\n");
			abort();
		}
	}
	if (EVP_DigestInit_ex(ctx, sha256_md, NULL) != 1) {
		fprintf(stderr, "corewatch: SHA-256: libcrypto failed\n");
		abort();
	}
	return ctx;
}

static void
sha256_end(EVP_MD_CTX *ctx, unsigned char out[CW_SHA256_LEN])
{
	if (EVP_DigestFinal_ex(ctx, out, NULL) != 1) {
		fprintf(stderr, "corewatch: SHA-256: libcrypto failed\n");
		abort();
	}
}

void
cw_sha256(const void *data, size_t len, unsigned char out[CW_SHA256_LEN])
{
	EVP_MD_CTX *ctx = sha256_begin();

	EVP_DigestUpdate(ctx, data, len);
	sha256_end(ctx, out);
}

void
cw_sha256_prefixed(unsigned char prefix, const void *data, size_t len,
    unsigned char out[CW_SHA256_LEN])
{
	EVP_MD_CTX *ctx = sha256_begin();

	EVP_DigestUpdate(ctx, &prefix, 1);
	EVP_DigestUpdate(ctx, data, len);
	sha256_end(ctx, out);
}

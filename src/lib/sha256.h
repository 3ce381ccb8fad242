/*
 * sha256.h -- SHA-256 for the hot paths: every record's hash, its leaf
 * in the log, a batch's body.  Computed by OpenSSL's libcrypto, which
 * uses the CPU's SHA instructions where it has them (about three times
 * libsodium's portable code on x86-64 with SHA-NI, and on ARMv8 with
 * its crypto extensions); the result is the same SHA-256.
 */
#ifndef CW_SHA256_H
#define CW_SHA256_H

#include <stddef.h>

#define CW_SHA256_LEN 32

/* cw_sha256: SHA-256 of `len` bytes at `data` into `out`. */
void cw_sha256(const void *data, size_t len, unsigned char out[CW_SHA256_LEN]);

/* cw_sha256_prefixed: SHA-256 of the byte `prefix` followed by `len`
 * bytes at `data` (a Merkle tree's leaf: prefix 0x00). */
void cw_sha256_prefixed(unsigned char prefix, const void *data, size_t len,
    unsigned char out[CW_SHA256_LEN]);

#endif /* CW_SHA256_H */

/* SPDX-License-Identifier: Apache-2.0 */
/* The LMDB store (private to lib/): log entries, Merkle nodes, certificate state, indexes, tokens. */
#ifndef STARMARK_STORE_H
#define STARMARK_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "starmark/error.h"
#include "starmark/merkle.h"
#include "starmark/record.h"

/*
 * Layout (schema/store.md has the whole): one LMDB environment in the registry directory with
 * named databases
 *   meta      text key -> value           format, log_size, next_serial, scheme, levels, origin, trust_*
 *   entries   u64 BE index -> entry bytes (a COSE_Sign1)
 *   nodes     u8 level || u64 BE index -> 32-byte hash of a perfect subtree (merkle.h)
 *   certs     id -> state (CBOR, record.h)
 *   models    vendor 0x00 model -> id      (DUPSORT: every certificate naming that model)
 *   serials   u32 serial -> id             (INTEGERKEY)
 *   grams     2-codepoint gram -> u32 serial (DUPSORT, DUPFIXED, INTEGERDUP): the search index
 *   tokens    name -> role(1) || SHA-256(token)(32) || created(8 BE)
 *   tokhash   SHA-256(token) -> name
 *   tiles     u8 tile level || u64 BE tile index -> the 510 hashes of a complete 8-level subtree
 *   policies  policy name -> published_at (u64 BE) || log index (u64 BE) || the policy's JSON text
 * Everything a change touches is written in one write transaction, so no crash leaves the log
 * and the state disagreeing.
 */

typedef struct sm_store sm_store;
typedef struct sm_txn sm_txn;

#define SM_STORE_FORMAT 1

/**
 * Open (or with `create`, create) the store in `dir`. SM_ESTORE with a message for a corrupted, truncated or
 * foreign file. A write open rebuilds a search index built with an older fold (sm_text_fold) in its first
 * transaction; a state that does not decode then is SM_ESTORE naming the store.
 */
int sm_store_open(const char *dir, bool create, bool readonly, sm_store **out, sm_err *err);
void sm_store_close(sm_store *s);
/** Clear reader slots of dead processes. */
void sm_store_check_readers(sm_store *s);

/** Begin a transaction; one writer at a time (others wait). Pointers read in it are valid until it ends. */
int sm_store_begin(sm_store *s, bool write, sm_txn **out, sm_err *err);
/** Commit and free the transaction. SM_EFULL when the map is full, SM_ESTORE otherwise. */
int sm_store_commit(sm_txn *t, sm_err *err);
/** Abort and free (NULL accepted). */
void sm_store_abort(sm_txn *t);

int sm_store_meta_get(sm_txn *t, const char *key, const uint8_t **p, size_t *n);
int sm_store_meta_put(sm_txn *t, const char *key, const void *p, size_t n);
int sm_store_meta_get_u64(sm_txn *t, const char *key, uint64_t *v);
int sm_store_meta_put_u64(sm_txn *t, const char *key, uint64_t v);

/** The log's size (entries appended). */
int sm_store_log_size(sm_txn *t, uint64_t *size);
/** Append an entry: its bytes, its leaf and the perfect subtrees it completes, the new size. */
int sm_store_log_append(sm_txn *t, const uint8_t *entry, size_t n, uint64_t *index);
/** Entry `index` (borrowed until the transaction ends). SM_ENOTFOUND past the end. */
int sm_store_log_entry(sm_txn *t, uint64_t index, const uint8_t **p, size_t *n);
/**
 * Root of the first `size` entries, and proofs; O(log n) reads each. In a read-only transaction,
 * levels 0-7 are read through tiles and levels >= 8 through the store's in-memory node cache
 * (bounded: 2 MiB per open store, schema/store.md).
 */
int sm_store_log_root(sm_txn *t, uint64_t size, uint8_t root[SM_HASH_LEN]);
int sm_store_log_inclusion(sm_txn *t, uint64_t index, uint64_t size, uint8_t proof[][SM_HASH_LEN], size_t *n);
int sm_store_log_consistency(sm_txn *t, uint64_t size1, uint64_t size2, uint8_t proof[][SM_HASH_LEN], size_t *n);
/**
 * Compare every stored tile with the node table (log verify): SM_EVERIFY with a description in
 * `bad` for the first that differs; *checked counts the tiles.
 */
int sm_store_tiles_check(sm_txn *t, uint64_t *checked, char *bad, size_t cap);
/** The stored hash of a perfect subtree (for log verify's cross-check). */
int sm_store_log_node(sm_txn *t, unsigned level, uint64_t index, uint8_t out[SM_HASH_LEN]);

/** The certificate `id` (caller frees). SM_ENOTFOUND. */
int sm_store_cert_get(sm_txn *t, const char *id, sm_cert **out, sm_err *err);
/** The stored encoding of `id`, borrowed until the transaction ends. */
int sm_store_cert_raw(sm_txn *t, const char *id, const uint8_t **p, size_t *n);
/**
 * Write the state of a certificate, and update the model, serial and search indexes from the
 * previous state `old` (NULL for a new certificate).
 */
int sm_store_cert_put(sm_txn *t, const sm_cert *c, const sm_cert *old);

/* Called for each certificate; return non-zero to stop (that value is returned). */
typedef int (*sm_store_cert_fn)(void *ctx, const char *id, const uint8_t *state, size_t n);
/** A page of all certificates in id order: skip `offset`, call fn for up to `limit` (0: all); *total counts them all. */
int sm_store_cert_page(sm_txn *t, size_t offset, size_t limit, size_t *total, sm_store_cert_fn fn, void *ctx);
/** Every certificate in id order. */
int sm_store_cert_foreach(sm_txn *t, sm_store_cert_fn fn, void *ctx);
/** Every certificate naming (vendor, model); with model NULL, every certificate of the vendor (ids repeat
 * once per model; callers de-duplicate). */
int sm_store_model_foreach(sm_txn *t, const char *vendor, const char *model, sm_store_cert_fn fn, void *ctx);
/**
 * Certificates whose searchable text (id, vendor code and name, product, models) contains `query`,
 * both in the search fold (sm_text_fold: width, ASCII case, kana). Uses the gram index for queries
 * of two or more characters, in serial order; a scan in id order for one character, or when the
 * index was built with an older fold (a read-only open of a store no writer has opened since).
 */
int sm_store_search(sm_txn *t, const char *query, sm_store_cert_fn fn, void *ctx);
/** The folded searchable text of a certificate, fields joined by '\n' (caller frees); for tests and the scan. */
char *sm_store_search_text(const sm_cert *c);

/* Tokens */
int sm_store_token_put(sm_txn *t, const char *name, int role, const uint8_t hash[32], int64_t created);
/** SM_ENOTFOUND when no token has that hash; the role and name otherwise. */
int sm_store_token_find(sm_txn *t, const uint8_t hash[32], int *role, char *name, size_t name_cap);
int sm_store_token_get(sm_txn *t, const char *name, int *role, int64_t *created);
int sm_store_token_del(sm_txn *t, const char *name);
typedef int (*sm_store_token_fn)(void *ctx, const char *name, int role, int64_t created);
int sm_store_token_foreach(sm_txn *t, sm_store_token_fn fn, void *ctx);

/*
 * Status statements (DB stmts: id -> u64 BE due time || COSE bytes) and their refresh queue
 * (DB due: u64 BE due time || id -> empty), in due order. A certificate whose statement is still
 * to be produced has a due entry at time 0 and no statement.
 */
int sm_store_stmt_get(sm_txn *t, const char *id, int64_t *due, const uint8_t **p, size_t *n);
/** Store a statement due for refresh at `due`, moving its queue entry. */
int sm_store_stmt_put(sm_txn *t, const char *id, int64_t due, const uint8_t *p, size_t n);
/** Move the queue entry of `id` from old_due (-1: none) to due. */
int sm_store_due_set(sm_txn *t, const char *id, int64_t old_due, int64_t due);
typedef int (*sm_store_due_fn)(void *ctx, int64_t due, const char *id);
/** Queue entries due at or before `upto`, oldest first, at most `max` (0: all). */
int sm_store_due_foreach(sm_txn *t, int64_t upto, size_t max, sm_store_due_fn fn, void *ctx);

/*
 * Published policies (DB policies: name -> published_at (u64 BE) || log index of its publish entry
 * (u64 BE) || the policy as sm_policy_to_json writes it, compact). Added after format 1: a read-only
 * open of a store made before it has none, and its reads find nothing (put: SM_ESTORE).
 * Names are 1..64 bytes (SM_EINVAL otherwise; get and del: SM_ENOTFOUND).
 */
int sm_store_policy_put(sm_txn *t, const char *name, int64_t at, uint64_t index, const char *json, size_t n);
/** SM_ENOTFOUND when none; *json (not NUL-terminated, *n bytes) is borrowed until the transaction ends. Any
 * of at, index and json may be NULL. */
int sm_store_policy_get(sm_txn *t, const char *name, int64_t *at, uint64_t *index, const char **json, size_t *n);
/** SM_ENOTFOUND when there is none of that name. */
int sm_store_policy_del(sm_txn *t, const char *name);
/* Called for each policy in name order, the JSON borrowed; return non-zero to stop (that value is returned). */
typedef int (*sm_store_policy_fn)(void *ctx, const char *name, int64_t at, uint64_t index, const char *json,
				  size_t n);
int sm_store_policy_foreach(sm_txn *t, sm_store_policy_fn fn, void *ctx);

/** The id holding `serial` (the serials index, written by sm_store_cert_put): 0, SM_ENOTFOUND, SM_ESTORE. */
int sm_store_serial_id(sm_txn *t, uint32_t serial, char id[SM_ID_MAX + 1]);
/** The serial number of an id ("SM-2021-000042" -> 42); 0 when the id is not of that form. */
uint32_t sm_store_id_serial(const char *id);

#endif

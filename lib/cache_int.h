/* SPDX-License-Identifier: Apache-2.0 */
/* Private: the generations of a gateway's cache directory, shared by sync.c (writer) and cache.c (reader). */
#ifndef STARMARK_CACHE_INT_H
#define STARMARK_CACHE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "starmark/anchor.h"
#include "starmark/error.h"
#include "starmark/status.h"

/*
 * A cache directory (sync.h says what is in it) holds its data in generations: directories
 * "g-<snapshot version>-<random>", each complete, and a file CURRENT naming the one in force. A sync
 * builds a new generation beside the old one and switches CURRENT by rename, so a reader — which
 * opens the generation once and reads every file relative to it — sees one generation whole (the one
 * in force before a switch is kept one round more, so a reader that opened it just before still reads
 * it), and a kill -9 at any moment leaves the old one in force. CURRENT is written through a fresh
 * temporary file, never through a name someone may have linked elsewhere. The version in a generation's name is never
 * believed: it can only make a reader stricter (a snapshot older than it is refused as a rollback).
 */
#define CACHE_CURRENT "CURRENT"

typedef struct cache_gen {
	int dirfd;         /* -1 when none */
	char name[64];
	uint64_t floor;    /* the snapshot version its name records */
} cache_gen;

/* A read-only mapping of a file. */
typedef struct cache_map {
	uint8_t *p;
	size_t n;
} cache_map;

/** The generation in force: SM_ENOTFOUND when the directory has none (never synced), SM_EIO. */
int cache_gen_open(const char *dir, cache_gen *g, sm_err *err);
void cache_gen_close(cache_gen *g);
/** A whole file of a generation into memory (NUL-terminated); SM_ENOTFOUND when it is not there. */
int cache_gen_read(const cache_gen *g, const char *name, size_t max, uint8_t **out, size_t *n, sm_err *err);
/** Map a file of a generation read-only (at most max bytes); SM_ENOTFOUND when it is not there. */
int cache_gen_map(const cache_gen *g, const char *name, uint64_t max, cache_map *m, sm_err *err);
/** Map an open file read-only. */
int cache_map_fd(int fd, const char *what, uint64_t max, cache_map *m, sm_err *err);
void cache_unmap(cache_map *m);

/* A generation being built. */
typedef struct cache_build {
	char dir[4096];
	char tmp[128];     /* its temporary name in dir */
	int dirfd;
} cache_build;

/** Start a new generation in `dir` (created 0755 if missing). */
int cache_build_begin(const char *dir, cache_build *b, sm_err *err);
/** Create `name` in the new generation for writing (0644); the caller writes and passes it to cache_build_close_fd. */
int cache_build_create(cache_build *b, const char *name, int *fd, sm_err *err);
/** fsync and close a file of the new generation. */
int cache_build_close_fd(cache_build *b, const char *name, int fd, sm_err *err);
/** Write `name` whole into the new generation. */
int cache_build_put(cache_build *b, const char *name, const void *p, size_t n, sm_err *err);
/** Take `name` over from the generation in force unchanged (a hard link, or a copy where links fail). */
int cache_build_keep(cache_build *b, const cache_gen *from, const char *name, sm_err *err);
/** Make the new generation the one in force (named for `version`), then remove the others. */
int cache_build_commit(cache_build *b, uint64_t version, sm_err *err);
/** Drop an unfinished generation (nothing changes for readers). */
void cache_build_abort(cache_build *b);

/** Read the generation's trust chain and follow it from the anchor: *out the newest bundle, *chain the chain
 * (caller cleans up). SM_ENOTFOUND, SM_EIO, SM_EVERIFY (the chain does not follow from the anchor). */
int sm_cache_read_trust(const cache_gen *g, const sm_anchor *a, sm_trust *out, sm_trust_chain *chain, sm_err *err);
/** SM_EVERIFY when a snapshot is older than the version a generation was written for (rollback). */
int sm_cache_floor_check(const sm_snapshot_info *si, uint64_t floor, sm_err *err);

#endif

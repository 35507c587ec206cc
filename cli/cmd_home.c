/* SPDX-License-Identifier: Apache-2.0 */
/* home check: every device of a home (or of every home of an estate) under the housing company's policy. */
#include <dirent.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "starmark/answer.h"
#include "starmark/client.h"
#include "starmark/codec.h"
#include "starmark/home.h"
#include "starmark/sync.h"

#define ESTATE_MAX 100000 /* homes in one directory */

/* ---- where device verdicts come from ---- */

typedef struct source {
	const cli *c;
	sm_registry *reg;  /* the local registry */
	sm_registry_home home; /* its device callback's context (sm_registry_home_device) */
	sm_cache *cache;   /* --offline --cache DIR */
	sm_client *client; /* --server */
	sm_trust *trust;   /* what labels and statements are verified with (borrowed or owned) */
	bool own_trust;
	int64_t now;
} source;

static int from_cache(void *ctx, const sm_check_req *q, const sm_policy *p, sm_check_result *res, char **statement,
		      sm_err *err)
{
	source *s = ctx;
	(void)statement; /* a snapshot signs every certificate at once: its evidence is the snapshot's log state */
	return sm_cache_check(s->cache, q, p, s->now, res, NULL, err);
}

static int from_server(void *ctx, const sm_check_req *q, const sm_policy *p, sm_check_result *res, char **statement,
		       sm_err *err)
{
	source *s = ctx;
	sm_buf path = SM_BUF_INIT;
	sm_response resp = { 0 };
	sm_check_answer a;
	char *esc[4] = { sm_client_escape(q->vendor), sm_client_escape(q->model), sm_client_escape(q->firmware),
			 q->category ? sm_client_escape(q->category) : NULL };
	int rc = 0;
	if (!esc[0] || !esc[1] || !esc[2] || (q->category && !esc[3]) ||
	    sm_buf_printf(&path, "/v1/check?vendor=%s&model=%s&firmware=%s", esc[0], esc[1], esc[2]) ||
	    (esc[3] && sm_buf_printf(&path, "&category=%s", esc[3])) || sm_buf_terminate(&path))
		rc = sm_err_set(err, SM_ENOMEM, NULL, "out of memory");
	if (!rc)
		rc = sm_client_get(s->client, (const char *)path.data, &resp, err);
	/* judged here, under the home's policy, from the signed facts */
	if (!rc && !(rc = sm_check_answer_judge((const char *)resp.body, resp.len, q, p, true, s->trust, s->now, &a, err))) {
		*res = a.res;
		memset(&a.res, 0, sizeof(a.res));
		*statement = a.statement;
		a.statement = NULL;
		sm_check_answer_cleanup(&a);
	}
	sm_response_cleanup(&resp);
	sm_buf_cleanup(&path);
	for (int i = 0; i < 4; i++)
		free(esc[i]);
	return rc;
}

/* The device callback of the source, and its context. */
static sm_home_check_fn source_fn(source *s, void **ctx)
{
	*ctx = s->reg ? (void *)&s->home : (void *)s;
	return s->reg ? sm_registry_home_device : s->cache ? from_cache : from_server;
}

/*
 * The log state the answers of a cache or a server reflect, put into the result as the check's
 * evidence (a local registry's check has its own: sm_registry_home_check).
 */
static void evidence(source *s, sm_home_result *r)
{
	sm_checkpoint cp;
	sm_snapshot_info si;
	char *text = NULL, *vkey = NULL;
	sm_response resp = { 0 };
	if (s->cache && sm_cache_info(s->cache, &si, NULL) == 0) {
		r->have_checkpoint = true;
		r->checkpoint_size = si.log_size;
		memcpy(r->checkpoint_root, si.log_root, SM_HASH_LEN);
		return;
	}
	if (s->client && sm_trust_log_vkey(s->trust, &vkey, NULL) == 0 &&
	    sm_client_get(s->client, "/v1/log/checkpoint", &resp, NULL) == 0 &&
	    sm_checkpoint_verify((const char *)resp.body, resp.len, vkey, &cp, NULL) == 0) {
		r->have_checkpoint = true;
		text = strdup((const char *)resp.body);
	}
	if (r->have_checkpoint) {
		r->checkpoint_size = cp.size;
		memcpy(r->checkpoint_root, cp.root, SM_HASH_LEN);
		r->checkpoint_text = text;
		text = NULL;
	}
	sm_response_cleanup(&resp);
	free(vkey);
	free(text);
}

/* Open the source the options name. On failure the message is printed; the exit code returned. */
static int open_source(cli *c, bool offline, const char *cache, source *s)
{
	sm_err err = { 0 };
	sm_anchor *a = NULL;
	int rc = 0;
	s->c = c;
	s->now = c->now;
	if (!offline && !c->server) {
		if ((rc = open_registry(c, false, &s->reg)))
			return rc;
		s->home.reg = s->reg;
		s->home.now = s->now;
		s->trust = (sm_trust *)(uintptr_t)sm_registry_trust(s->reg);
		return EXIT_OK;
	}
	/* a server's or a cache's answers are believed only as far as they chain to the user's anchor */
	if ((rc = load_anchor(c, &a, &err))) {
		fprintf(stderr, "%s: %s\n", c->prog, err.msg);
		return rc == SM_ENOTFOUND ? EXIT_UNKNOWN : exit_code(rc);
	}
	if (offline) {
		if (!cache) {
			sm_anchor_free(a);
			return usage_error(c, "home check --offline needs --cache DIR (the directory 'starmark sync' keeps)");
		}
		rc = sm_cache_open(cache, a, &s->cache, &err);
		if (!rc)
			s->trust = (sm_trust *)(uintptr_t)sm_cache_trust(s->cache);
	} else {
		s->own_trust = true;
		if (!(s->trust = malloc(sizeof(*s->trust))))
			rc = sm_err_set(&err, SM_ENOMEM, NULL, "out of memory");
		if (!rc)
			rc = cli_client(c, &s->client, &err);
		if (!rc)
			rc = sm_sync_server_trust(s->client, a, s->trust, NULL, &err);
	}
	sm_anchor_free(a);
	if (rc == SM_ENOTFOUND || rc == SM_EVERIFY) {
		fprintf(stderr, "%s: %s\n", c->prog, err.msg);
		return rc == SM_EVERIFY && !offline ? EXIT_DENY : EXIT_UNKNOWN;
	}
	return rc ? fail(c, rc, &err) : EXIT_OK;
}

static void close_source(source *s)
{
	sm_registry_close(s->reg);
	sm_cache_close(s->cache);
	sm_client_free(s->client);
	if (s->own_trust)
		free(s->trust);
}

/* ---- output ---- */

static int verdict_exit(int v)
{
	return v == SM_DENY ? EXIT_DENY : v == SM_UNKNOWN ? EXIT_UNKNOWN : EXIT_OK;
}

static void print_home(const sm_home *h, const sm_home_result *r, json_t *doc)
{
	char end[11] = "none";
	if (r->support_end != SM_DATE_NONE)
		sm_date_format(r->support_end, end);
	printf("home %s%s%s%s: %s, level %d %s, earliest end of support %s\n", h->id, h->name[0] ? " (" : "", h->name,
	       h->name[0] ? ")" : "", sm_verdict_name(r->verdict), r->level, r->level ? stars(r->level) : "(not certified)", end);
	if (r->counted_planned)
		printf("  (nothing installed yet: the design's devices were checked)\n");
	for (size_t i = 0; i < r->ndevices; i++) {
		const sm_home_device_result *d = &r->devices[i];
		const char *room = d->dev->room[0] ? d->dev->room : "-";
		/* ids and rooms are the home document's text (Japanese rooms welcome): padded by columns, not bytes */
		printf("  %s%*s %-8s %s%*s %s %s @%s%s%s\n", d->dev->id, pad_cols(d->dev->id, 16), "",
		       sm_verdict_name(d->res.verdict), room, pad_cols(room, 12), "", d->dev->vendor, d->dev->model,
		       d->dev->firmware, d->res.cert ? "  " : "", d->res.cert ? stars(d->res.cert->level) : "");
		for (size_t k = 0; k < d->res.nreasons; k++)
			if (strcmp(d->res.reasons[k].code, "certified") != 0)
				printf("      %-22s %s\n", d->res.reasons[k].code, d->res.reasons[k].message);
	}
	json_t *acts = json_object_get(doc, "actions"), *x;
	size_t i;
	if (json_array_size(acts))
		printf("  to do:\n");
	json_array_foreach(acts, i, x)
		printf("    - %s\n", json_string_value(json_object_get(x, "message")));
	if (r->have_checkpoint) {
		char *root = sm_base64_encode(r->checkpoint_root, SM_HASH_LEN);
		printf("  evidence: the registry's log at size %llu, root %s\n", (unsigned long long)r->checkpoint_size,
		       root ? root : "");
		free(root);
	}
}

/* ---- one home, or an estate ---- */

static int load_home(const cli *c, const char *path, sm_home **out)
{
	uint8_t *text = NULL;
	size_t n = 0;
	sm_err err = { 0 };
	int rc = sm_file_read(path, SM_HOME_MAX_SIZE, &text, &n, &err);
	if (!rc)
		rc = sm_home_parse((const char *)text, n, out, &err);
	free(text);
	if (rc) {
		sm_err_wrap(&err, rc, err.field, "%s", path);
		return fail(c, rc, &err);
	}
	return EXIT_OK;
}

/* The home checked against the source: a local registry's answers come with the checkpoint they reflect
 * exactly (lib, as the server's); other sources' evidence is added after. */
struct home_ctx {
	cli *c;
	source *s;
	const sm_policy *pol;
};

static int check_home(void *ctx, const sm_home *h, sm_home_result *out, sm_err *err)
{
	struct home_ctx *k = ctx;
	void *fctx = NULL;
	sm_home_check_fn fn = source_fn(k->s, &fctx);
	return k->s->reg ? sm_registry_home_check(k->s->reg, h, k->pol, k->c->now, out, err)
			 : sm_home_check(h, k->pol, fn, fctx, k->s->trust, k->c->now, out, err);
}

/*
 * One home. With retrofits (`added` devices at the end, from --add), the home as it is is checked too,
 * so the answer says whether they may join and what the home's level becomes (sm_home_check_retrofits).
 */
static int check_one(cli *c, source *s, sm_home *h, size_t added, const sm_policy *pol, const char *report,
		     const char *lang)
{
	sm_home_result r;
	sm_err err = { 0 };
	int before = -1;
	struct home_ctx k = { c, s, pol };
	int rc = sm_home_check_retrofits(h, added, check_home, &k, &r, &before, &err);
	if (rc)
		return fail(c, rc, &err);
	if (!s->reg)
		evidence(s, &r);
	json_t *doc = sm_home_result_to_json(h, &r, sm_date_from_time(c->now));
	if (!doc || (added && sm_home_retrofit_json(doc, h, &r, h->ndevices - added, before))) {
		json_decref(doc);
		sm_home_result_cleanup(&r);
		return EXIT_IO;
	}
	if (report) {
		sm_home_report_opts ro = { lang, s->trust->levels, c->now };
		if ((rc = sm_home_report(h, pol, &r, &ro, report, &err))) {
			json_decref(doc);
			sm_home_result_cleanup(&r);
			return fail(c, rc, &err);
		}
	}
	if (c->json) {
		print_json(json_incref(doc));
	} else {
		print_home(h, &r, doc);
		for (size_t i = added ? h->ndevices - added : h->ndevices; i < h->ndevices; i++)
			printf("retrofit %s: %s\n", h->devices[i].id,
			       r.devices[i].res.verdict == SM_ALLOW || r.devices[i].res.verdict == SM_WARN
				       ? "may join this home"
				       : "may NOT join this home");
		if (added)
			printf("the home's level: %d now, %d with the retrofit%s\n", before, r.level, added > 1 ? "s" : "");
		if (report)
			fprintf(stderr, "wrote the hand-over report %s\n", report);
	}
	if (r.verdict == SM_WARN)
		fprintf(stderr, "warning: home %s passes with warnings\n", h->id);
	/* a retrofit question is answered by the retrofit: may it join (the rest of the home is as it was) */
	rc = verdict_exit(added ? sm_home_retrofit_verdict(&r, h->ndevices - added) : r.verdict);
	json_decref(doc);
	sm_home_result_cleanup(&r);
	return rc;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The verdicts of the last run, {"FILE": "VERDICT"} (by file: a design and its on-site record share the
 * home's id), for --since: none yet is an empty one; a file that is not such a state is refused. */
static int read_state(const cli *c, const char *path, json_t **out)
{
	uint8_t *text = NULL;
	size_t n = 0;
	sm_err err = { 0 };
	int rc = sm_file_read(path, 64u * 1024u * 1024u, &text, &n, &err);
	*out = rc == SM_ENOTFOUND ? json_object() : rc ? NULL : json_loadb((const char *)text, n, JSON_REJECT_DUPLICATES, NULL);
	free(text);
	if (rc && rc != SM_ENOTFOUND)
		return fail(c, rc, &err);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return usage_error(c, "home check: %s is not a state file of 'home check --since' (remove it to start over)", path);
	}
	return EXIT_OK;
}

/*
 * The estate's documents are read and parsed on a second thread while the first checks the homes read
 * before: a bounded queue in file order. The reader stops at the first document that is not a home (its
 * message printed by load_home, its exit code kept); the checker stops when it meets that slot.
 */
#define AHEAD 64

typedef struct reader {
	const cli *c;
	char **names;
	size_t n;
	sm_home *slot[AHEAD];
	int slot_rc[AHEAD];
	size_t produced, consumed;
	bool stop;
	pthread_mutex_t mu;
	pthread_cond_t more, room;
} reader;

static void *read_homes(void *arg)
{
	reader *rd = arg;
	for (size_t i = 0; i < rd->n; i++) {
		sm_home *h = NULL;
		int rc = load_home(rd->c, rd->names[i], &h);
		pthread_mutex_lock(&rd->mu);
		while (!rd->stop && rd->produced - rd->consumed == AHEAD)
			pthread_cond_wait(&rd->room, &rd->mu);
		bool stop = rd->stop;
		if (!stop) {
			rd->slot[rd->produced % AHEAD] = h;
			rd->slot_rc[rd->produced % AHEAD] = rc;
			rd->produced++;
			pthread_cond_signal(&rd->more);
		}
		pthread_mutex_unlock(&rd->mu);
		if (stop) {
			sm_home_free(h);
			break;
		}
		if (rc)
			break;
	}
	return NULL;
}

/* The next home in file order (0), or the exit code of the document that stopped the reader. */
static int next_home(reader *rd, sm_home **h)
{
	pthread_mutex_lock(&rd->mu);
	while (rd->produced == rd->consumed)
		pthread_cond_wait(&rd->more, &rd->mu);
	*h = rd->slot[rd->consumed % AHEAD];
	int rc = rd->slot_rc[rd->consumed % AHEAD];
	rd->consumed++;
	pthread_cond_signal(&rd->room);
	pthread_mutex_unlock(&rd->mu);
	return rc;
}

static int check_estate(cli *c, source *s, const char *dir, const sm_policy *pol, const char *since)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = EXIT_OK, worst = SM_ALLOW;
	size_t counts[4] = { 0 };
	DIR *d = opendir(dir);
	struct dirent *e;
	if (!d) {
		sm_err err = { 0 };
		return fail(c, sm_err_set(&err, SM_EIO, "home", "cannot read the directory %s", dir), &err);
	}
	while ((e = readdir(d)) && rc == EXIT_OK) {
		size_t len = strlen(e->d_name);
		if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0 || e->d_name[0] == '.')
			continue;
		if (n == ESTATE_MAX) {
			rc = usage_error(c, "home check: %s holds more than %d homes", dir, ESTATE_MAX);
			break;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **v = realloc(names, cap * sizeof(*v));
			if (!v) {
				rc = EXIT_IO;
				break;
			}
			names = v;
		}
		if (!(names[n] = malloc(strlen(dir) + len + 2))) {
			rc = EXIT_IO;
			break;
		}
		sprintf(names[n], "%s/%s", dir, e->d_name);
		if (since && strcmp(names[n], since) == 0) { /* the state file kept among the homes is none */
			free(names[n]);
			continue;
		}
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), by_name);
	/* one home at a time (an estate need not fit in memory); a bad document stops the run before any
	 * state is written, and nothing of it is printed: the lines wait until every home was checked */
	json_t *state = NULL, *next = json_object(), *list = json_array();
	if (rc == EXIT_OK && since)
		rc = read_state(c, since, &state);
	if (rc == EXIT_OK && n == 0)
		rc = usage_error(c, "home check: %s holds no home documents (*.json)", dir);
	json_t *changed = json_array();
	sm_buf lines = SM_BUF_INIT;
	/* a batch of many small documents: keep freed memory for the next home instead of giving it back to
	 * the kernel and faulting it in again, home after home */
	mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
	mallopt(M_TOP_PAD, 16 * 1024 * 1024);
	reader rd = { .c = c, .names = names, .n = rc == EXIT_OK ? n : 0 };
	pthread_t tid;
	bool started = false;
	pthread_mutex_init(&rd.mu, NULL);
	pthread_cond_init(&rd.more, NULL);
	pthread_cond_init(&rd.room, NULL);
	if (rd.n && pthread_create(&tid, NULL, read_homes, &rd) != 0)
		rc = EXIT_IO;
	started = rd.n && rc == EXIT_OK;
	for (size_t i = 0; i < n && rc == EXIT_OK; i++) {
		sm_home_result r;
		sm_err err = { 0 };
		sm_home *h = NULL;
		if ((rc = next_home(&rd, &h)))
			break;
		void *ctx = NULL;
		sm_home_check_fn fn = source_fn(s, &ctx);
		int hrc = sm_home_check(h, pol, fn, ctx, s->trust, c->now, &r, &err);
		if (hrc) {
			sm_home_free(h);
			sm_err_wrap(&err, hrc, err.field, "%s", names[i]);
			rc = fail(c, hrc, &err);
			break;
		}
		const char *v = sm_verdict_name(r.verdict);
		const char *was = state ? json_string_value(json_object_get(state, names[i])) : NULL;
		bool differs = state && (!was || strcmp(was, v) != 0);
		counts[r.verdict]++;
		worst = r.verdict == SM_DENY || (r.verdict == SM_UNKNOWN && worst != SM_DENY) ||
				(r.verdict == SM_WARN && worst == SM_ALLOW)
			    ? r.verdict
			    : worst;
		json_object_set_new(next, names[i], json_string(v));
		if (differs)
			json_array_append_new(changed, json_pack("{s:s, s:s?, s:s}", "home", h->id, "was", was, "now", v));
		if (c->json)
			json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:i, s:I, s:I}", "home", h->id, "file", names[i],
							      "verdict", v, "level", r.level, "missing", (json_int_t)r.nmissing,
							      "unplanned", (json_int_t)r.nunplanned));
		else if (sm_buf_printf(&lines, "%s%*s %-8s level %d %s%*s missing %zu unplanned %zu%s%s%s\n", h->id,
				       pad_cols(h->id, 24), "", v, r.level, r.level ? stars(r.level) : "-",
				       pad_cols(r.level ? stars(r.level) : "-", 4), "", r.nmissing, r.nunplanned, differs ? "  (was " : "",
				       differs ? (was ? was : "new") : "", differs ? ")" : ""))
			rc = EXIT_IO;
		sm_home_result_cleanup(&r);
		sm_home_free(h);
	}
	if (started) { /* the reader may wait for room: tell it to stop, then take back what it holds */
		pthread_mutex_lock(&rd.mu);
		rd.stop = true;
		pthread_cond_signal(&rd.room);
		pthread_mutex_unlock(&rd.mu);
		pthread_join(tid, NULL);
		for (size_t k = rd.consumed; k < rd.produced; k++)
			sm_home_free(rd.slot[k % AHEAD]);
	}
	pthread_mutex_destroy(&rd.mu);
	pthread_cond_destroy(&rd.more);
	pthread_cond_destroy(&rd.room);
	if (rc == EXIT_OK && lines.len)
		fwrite(lines.data, 1, lines.len, stdout);
	sm_buf_cleanup(&lines);
	if (rc == EXIT_OK) {
		if (c->json)
			print_json(json_pack("{s:O, s:{s:I, s:I, s:I, s:I, s:I}, s:O?}", "homes", list, "summary", "homes",
					     (json_int_t)n, "allow", (json_int_t)counts[SM_ALLOW], "warn",
					     (json_int_t)counts[SM_WARN], "deny", (json_int_t)counts[SM_DENY], "unknown",
					     (json_int_t)counts[SM_UNKNOWN], "changed", since ? changed : NULL));
		else
			printf("%zu %s: %zu allow, %zu warn, %zu deny, %zu unknown\n", n, plural(n, "home", "homes"),
			       counts[SM_ALLOW], counts[SM_WARN], counts[SM_DENY], counts[SM_UNKNOWN]);
		if (since) {
			char *text = json_dumps(next, JSON_INDENT(1) | JSON_SORT_KEYS);
			sm_err err = { 0 };
			int wrc = text ? sm_file_write_atomic(since, text, strlen(text), 0644, &err) : SM_ENOMEM;
			free(text);
			if (wrc)
				rc = fail(c, wrc, &err);
			else if (!c->json)
				fprintf(stderr, "%zu %s since the last run (%s)\n", json_array_size(changed),
					plural(json_array_size(changed), "home changed its verdict", "homes changed verdict"),
					since);
		}
		if (rc == EXIT_OK)
			rc = verdict_exit(worst);
	}
	json_decref(state);
	json_decref(next);
	json_decref(list);
	json_decref(changed);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

int cmd_home(cli *c, int argc, char **argv)
{
	opt o[] = { { "policy", true }, { "offline", false }, { "cache", true }, { "add", true, true }, { "report", true },
		    { "lang", true }, { "since", true }, { 0 } };
	const char *pos[2];
	size_t np;
	sm_policy pol;
	sm_home *h = NULL;
	source s = { 0 };
	struct stat st;
	int rc = opt_parse(c, "home", argc, argv, o, pos, 2, &np);
	if (rc)
		goto out;
	if (np != 2 || strcmp(pos[0], "check") != 0) {
		rc = usage_error(c, "home: usage: starmark home check HOME.json|DIR [--policy FILE] [--server URL | --offline "
				    "--cache DIR] [--trust F] [--add SPEC]... [--report FILE.html|FILE.pdf] [--lang ja|en] "
				    "[--since STATEFILE]");
		goto out;
	}
	const char *lang = o[5].seen ? o[5].value : "ja";
	if (strcmp(lang, "ja") != 0 && strcmp(lang, "en") != 0) {
		rc = usage_error(c, "home check: --lang is ja or en, not '%s'", lang);
		goto out;
	}
	if (o[1].seen && c->server) {
		rc = usage_error(c, "home check: --offline and --server exclude each other");
		goto out;
	}
	if (o[2].seen && !o[1].seen) {
		rc = usage_error(c, "home check: --cache goes with --offline");
		goto out;
	}
	if (o[5].seen && !o[4].seen) {
		rc = usage_error(c, "home check: --lang goes with --report");
		goto out;
	}
	if (o[0].seen) {
		uint8_t *text = NULL;
		size_t n = 0;
		sm_err err = { 0 };
		if ((rc = sm_file_read(o[0].value, SM_POLICY_MAX_SIZE, &text, &n, &err)) == 0)
			rc = sm_policy_parse((const char *)text, n, &pol, &err);
		free(text);
		if (rc) {
			rc = fail(c, rc, &err);
			goto out;
		}
	}
	bool estate = stat(pos[1], &st) == 0 && S_ISDIR(st.st_mode);
	if (estate && (o[3].seen || o[4].seen)) {
		rc = usage_error(c, "home check: --add and --report take one home, not a directory");
		goto out;
	}
	if (!estate && o[6].seen) {
		rc = usage_error(c, "home check: --since goes with a directory of homes");
		goto out;
	}
	if (!estate) {
		if ((rc = load_home(c, pos[1], &h)))
			goto out;
		for (size_t i = 0; i < o[3].n; i++) {
			sm_err err = { 0 };
			int arc = sm_home_add(h, o[3].values[i], &err);
			if (arc) {
				rc = fail(c, arc, &err);
				goto out;
			}
		}
	}
	if ((rc = open_source(c, o[1].seen, o[2].value, &s)))
		goto out;
	/* the policy must fit the scheme: the home's own, or the one given */
	const sm_policy *use = o[0].seen ? &pol : NULL;
	sm_policy chosen;
	sm_err ferr = { 0 };
	if (h ? (rc = sm_home_policy(h, use, s.trust->levels, &chosen, &ferr)) != 0
	      : use && (rc = sm_policy_fits(use, s.trust->levels, &ferr)) != 0) {
		rc = fail(c, rc, &ferr);
		goto out;
	}
	rc = estate ? check_estate(c, &s, pos[1], use, o[6].value) : check_one(c, &s, h, o[3].n, use, o[4].value, lang);
out:
	close_source(&s);
	sm_home_free(h);
	for (size_t i = 0; i < sizeof(o) / sizeof(o[0]); i++)
		free(o[i].values);
	return rc;
}

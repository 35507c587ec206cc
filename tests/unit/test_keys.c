/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of lib/keys.c: RFC 8032 vectors, kid, key files and passphrase files. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/asn1t.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "starmark/keys.h"

struct vec {
	const char *seed, *pub, *msg, *sig;
};

/* RFC 8032 section 7.1: TEST 1, TEST 2, TEST 3 and TEST SHA(abc). */
static const struct vec rfc8032[] = {
	{ "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
	  "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
	  "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
	  "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b" },
	{ "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
	  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
	  "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
	  "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00" },
	{ "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
	  "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
	  "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
	  "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a" },
	{ "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
	  "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
	  "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
	  "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
	  "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b589"
	  "09351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704" },
};

/* Decode hex into out (room for strlen(hex)/2 bytes); returns the byte count. */
static size_t unhex(const char *hex, uint8_t *out)
{
	size_t n = strlen(hex) / 2;

	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

static sm_key *vec_key(const struct vec *v)
{
	uint8_t seed[32];
	sm_key *k = NULL;

	assert_int_equal(unhex(v->seed, seed), 32);
	assert_int_equal(sm_key_from_seed(seed, &k), 0);
	return k;
}

/* A fresh temporary directory per test, removed with everything in it afterwards. */
struct fx {
	char dir[64];
	char path[128];
	char path2[128];
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/sm-test-keys-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/key.pem", f->dir);
	snprintf(f->path2, sizeof(f->path2), "%s/other", f->dir);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	unlink(f->path);
	unlink(f->path2);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void write_file(const char *path, const void *data, size_t n, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static size_t read_file(const char *path, char *buf, size_t cap)
{
	FILE *fp = fopen(path, "rb");
	size_t n;

	assert_non_null(fp);
	n = fread(buf, 1, cap - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return n;
}

static void test_keys_rfc8032_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rfc8032) / sizeof(rfc8032[0]); i++) {
		const struct vec *v = &rfc8032[i];
		uint8_t pub[32], want_pub[32], msg[128], want_sig[64], sig[64];
		size_t n = unhex(v->msg, msg);
		sm_key *k = vec_key(v);

		unhex(v->pub, want_pub);
		unhex(v->sig, want_sig);
		assert_true(sm_key_has_private(k));
		sm_key_public(k, pub);
		assert_memory_equal(pub, want_pub, 32);
		assert_int_equal(sm_key_sign(k, n ? msg : NULL, n, sig), 0);
		assert_memory_equal(sig, want_sig, 64);
		assert_int_equal(sm_key_verify(k, msg, n, sig), 0);
		sm_key_free(k);
	}
}

static void test_keys_verify_public_only(void **state)
{
	const struct vec *v = &rfc8032[2];
	uint8_t pub[32], msg[2], sig[64];
	sm_key *k = NULL;

	(void)state;
	unhex(v->pub, pub);
	unhex(v->msg, msg);
	unhex(v->sig, sig);
	assert_int_equal(sm_key_from_public(pub, &k), 0);
	assert_false(sm_key_has_private(k));
	assert_int_equal(sm_key_verify(k, msg, sizeof(msg), sig), 0);
	assert_int_equal(sm_key_sign(k, msg, sizeof(msg), sig), SM_EKEY);
	sm_key_free(k);
}

static void test_keys_verify_rejects_flipped_bits(void **state)
{
	const struct vec *v = &rfc8032[2];
	uint8_t msg[2], sig[64];
	sm_key *k = vec_key(v);

	(void)state;
	unhex(v->msg, msg);
	unhex(v->sig, sig);
	for (size_t bit = 0; bit < 8 * sizeof(sig); bit++) {
		sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(sm_key_verify(k, msg, sizeof(msg), sig), SM_ECRYPTO);
		sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	for (size_t bit = 0; bit < 8 * sizeof(msg); bit++) {
		msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(sm_key_verify(k, msg, sizeof(msg), sig), SM_ECRYPTO);
		msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	assert_int_equal(sm_key_verify(k, msg, 1, sig), SM_ECRYPTO);
	assert_int_equal(sm_key_verify(k, msg, sizeof(msg), sig), 0);
	sm_key_free(k);
}

static void test_keys_sha256_and_kid(void **state)
{
	uint8_t h[32], want[32], kid[SM_KID_LEN], want_kid[SM_KID_LEN];
	sm_key *k = vec_key(&rfc8032[0]);

	(void)state;
	sm_sha256("abc", 3, h);
	unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", want);
	assert_memory_equal(h, want, 32);
	/* kid = SHA-256(d75a98...511a)[:8], computed independently with Python hashlib. */
	sm_key_kid(k, kid);
	unhex("21fe31dfa154a261", want_kid);
	assert_memory_equal(kid, want_kid, SM_KID_LEN);
	sm_key_free(k);
}

static void test_keys_generate_distinct(void **state)
{
	sm_key *a = NULL, *b = NULL;
	uint8_t pa[32], pb[32], sig[64];

	(void)state;
	assert_int_equal(sm_key_generate(&a), 0);
	assert_int_equal(sm_key_generate(&b), 0);
	sm_key_public(a, pa);
	sm_key_public(b, pb);
	assert_memory_not_equal(pa, pb, 32);
	assert_int_equal(sm_key_sign(a, (const uint8_t *)"m", 1, sig), 0);
	assert_int_equal(sm_key_verify(a, (const uint8_t *)"m", 1, sig), 0);
	assert_int_equal(sm_key_verify(b, (const uint8_t *)"m", 1, sig), SM_ECRYPTO);
	sm_key_free(a);
	sm_key_free(b);
	sm_key_free(NULL);
}

static void assert_same_key(const sm_key *a, const sm_key *b)
{
	uint8_t pa[32], pb[32], sa[64], sb[64];

	sm_key_public(a, pa);
	sm_key_public(b, pb);
	assert_memory_equal(pa, pb, 32);
	assert_true(sm_key_has_private(b));
	assert_int_equal(sm_key_sign(a, (const uint8_t *)"x", 1, sa), 0);
	assert_int_equal(sm_key_sign(b, (const uint8_t *)"x", 1, sb), 0);
	assert_memory_equal(sa, sb, 64);
}

static void test_keys_save_load_plain(void **state)
{
	struct fx *f = *state;
	sm_key *k = vec_key(&rfc8032[1]), *l = NULL;
	sm_err err;
	struct stat st;
	char pem[4096];

	sm_err_clear(&err);
	assert_int_equal(sm_key_save(k, f->path, NULL, &err), 0);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	read_file(f->path, pem, sizeof(pem));
	assert_non_null(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
	assert_int_equal(sm_key_load(f->path, NULL, &l, &err), 0);
	assert_same_key(k, l);
	sm_key_free(l);
	/* A passphrase given for a plain key is not needed and does no harm. */
	assert_int_equal(sm_key_load(f->path, "unused", &l, &err), 0);
	sm_key_free(l);
	sm_key_free(k);
}

/* The PBKDF2 parameters really written: iteration count and PRF. */
static void assert_pbkdf2(const char *path, long want_iter)
{
	FILE *fp = fopen(path, "r");
	X509_SIG *p8 = NULL;
	const X509_ALGOR *alg = NULL;
	const ASN1_OBJECT *obj = NULL;
	const void *pval = NULL;
	int ptype = 0;
	PBE2PARAM *pbe2 = NULL;
	PBKDF2PARAM *kdf = NULL;

	assert_non_null(fp);
	p8 = PEM_read_PKCS8(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(p8);
	X509_SIG_get0(p8, &alg, NULL);
	X509_ALGOR_get0(&obj, &ptype, &pval, alg);
	assert_int_equal(OBJ_obj2nid(obj), NID_pbes2);
	pbe2 = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM), alg->parameter);
	assert_non_null(pbe2);
	assert_int_equal(OBJ_obj2nid(pbe2->keyfunc->algorithm), NID_id_pbkdf2);
	assert_int_equal(OBJ_obj2nid(pbe2->encryption->algorithm), NID_aes_256_cbc);
	kdf = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBKDF2PARAM), pbe2->keyfunc->parameter);
	assert_non_null(kdf);
	assert_int_equal(ASN1_INTEGER_get(kdf->iter), want_iter);
	assert_int_equal(kdf->salt->type, V_ASN1_OCTET_STRING);
	assert_int_equal(ASN1_STRING_length(kdf->salt->value.octet_string), 16);
	assert_non_null(kdf->prf);
	assert_int_equal(OBJ_obj2nid(kdf->prf->algorithm), NID_hmacWithSHA256);
	PBKDF2PARAM_free(kdf);
	PBE2PARAM_free(pbe2);
	X509_SIG_free(p8);
}

/* One encrypted file, three loads: right, wrong and missing passphrase (each ~0.5 s of PBKDF2). */
static void test_keys_save_load_encrypted(void **state)
{
	struct fx *f = *state;
	sm_key *k = vec_key(&rfc8032[3]), *l = NULL;
	sm_err err;
	struct stat st;
	char pem[4096];

	sm_err_clear(&err);
	assert_int_equal(sm_key_save(k, f->path, "correct horse", &err), 0);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	read_file(f->path, pem, sizeof(pem));
	assert_non_null(strstr(pem, "-----BEGIN ENCRYPTED PRIVATE KEY-----"));
	assert_pbkdf2(f->path, 600000);

	assert_int_equal(sm_key_load(f->path, "correct horse", &l, &err), 0);
	assert_same_key(k, l);
	sm_key_free(l);
	l = NULL;

	assert_int_equal(sm_key_load(f->path, "correct horsf", &l, &err), SM_EKEY);
	assert_null(l);
	assert_int_equal(err.code, SM_EKEY);
	assert_non_null(strstr(err.msg, "wrong passphrase for key"));
	assert_non_null(strstr(err.msg, f->path));

	assert_int_equal(sm_key_load(f->path, NULL, &l, &err), SM_EKEY);
	assert_null(l);
	assert_non_null(strstr(err.msg, "is passphrase-protected: give --passphrase-file"));
	/* An empty passphrase is no passphrase: no PBKDF2 run, the same answer. */
	assert_int_equal(sm_key_load(f->path, "", &l, &err), SM_EKEY);
	assert_non_null(strstr(err.msg, "is passphrase-protected"));
	sm_key_free(k);
}

static void test_keys_save_refuses_existing(void **state)
{
	struct fx *f = *state;
	sm_key *k = vec_key(&rfc8032[0]);
	sm_err err;
	char buf[64];

	write_file(f->path, "keep me", 7, 0600);
	assert_int_equal(sm_key_save(k, f->path, NULL, &err), SM_EEXIST);
	assert_non_null(strstr(err.msg, "already exists"));
	assert_int_equal(read_file(f->path, buf, sizeof(buf)), 7);
	assert_string_equal(buf, "keep me");
	sm_key_free(k);
}

static void test_keys_save_refuses_public_only(void **state)
{
	struct fx *f = *state;
	uint8_t pub[32];
	sm_key *k = NULL;
	sm_err err;

	unhex(rfc8032[0].pub, pub);
	assert_int_equal(sm_key_from_public(pub, &k), 0);
	assert_int_equal(sm_key_save(k, f->path, NULL, &err), SM_EKEY);
	assert_non_null(strstr(err.msg, "no private half"));
	assert_int_equal(access(f->path, F_OK), -1);
	sm_key_free(k);
}

static void test_keys_load_refuses_open_mode(void **state)
{
	struct fx *f = *state;
	sm_key *k = vec_key(&rfc8032[0]), *l = NULL;
	sm_err err;
	char want[256];

	assert_int_equal(sm_key_save(k, f->path, NULL, &err), 0);
	assert_int_equal(chmod(f->path, 0644), 0);
	assert_int_equal(sm_key_load(f->path, NULL, &l, &err), SM_EKEY);
	assert_null(l);
	snprintf(want, sizeof(want), "key file %s is readable by others (mode 0644); chmod 600 it", f->path);
	assert_string_equal(err.msg, want);
	assert_int_equal(chmod(f->path, 0620), 0);
	assert_int_equal(sm_key_load(f->path, NULL, &l, &err), SM_EKEY);
	assert_non_null(strstr(err.msg, "mode 0620"));
	assert_int_equal(chmod(f->path, 0600), 0);
	assert_int_equal(sm_key_load(f->path, NULL, &l, &err), 0);
	sm_key_free(l);
	sm_key_free(k);
}

static void test_keys_load_refuses_truncated_and_garbage(void **state)
{
	struct fx *f = *state;
	sm_key *k = vec_key(&rfc8032[0]), *l = NULL;
	sm_err err;
	char pem[4096];
	size_t n;

	assert_int_equal(sm_key_save(k, f->path, NULL, &err), 0);
	n = read_file(f->path, pem, sizeof(pem));
	/* Every truncation of a valid key file is refused, never a crash. */
	for (size_t cut = 0; cut + 1 < n; cut++) {
		write_file(f->path2, pem, cut, 0600);
		assert_int_equal(sm_key_load(f->path2, NULL, &l, &err), SM_EKEY);
		assert_null(l);
		assert_non_null(strstr(err.msg, "is not a valid Ed25519 PEM private key"));
		unlink(f->path2);
	}
	/* Garbage, and a PEM with a corrupted body. */
	write_file(f->path2, "hello, world\n", 13, 0600);
	assert_int_equal(sm_key_load(f->path2, NULL, &l, &err), SM_EKEY);
	assert_non_null(strstr(err.msg, "is not a valid Ed25519 PEM private key"));
	unlink(f->path2);
	pem[40] = pem[40] == 'A' ? 'B' : 'A';
	pem[41] = '*';
	write_file(f->path2, pem, n, 0600);
	assert_int_equal(sm_key_load(f->path2, NULL, &l, &err), SM_EKEY);
	assert_non_null(strstr(err.msg, "is not a valid Ed25519 PEM private key"));
	sm_key_free(k);
}

static void test_keys_load_refuses_missing_and_huge(void **state)
{
	struct fx *f = *state;
	sm_key *l = NULL;
	sm_err err;
	char *big = malloc(70 * 1024);

	assert_int_equal(sm_key_load(f->path, NULL, &l, &err), SM_EKEY);
	assert_non_null(strstr(err.msg, "cannot open key file"));
	assert_non_null(strstr(err.msg, "No such file"));
	assert_non_null(big);
	memset(big, 'A', 70 * 1024);
	write_file(f->path, big, 70 * 1024, 0600);
	assert_int_equal(sm_key_load(f->path, NULL, &l, &err), SM_EKEY);
	assert_non_null(strstr(err.msg, "not a key file"));
	assert_null(l);
	free(big);
}

static void test_keys_load_refuses_other_key_type(void **state)
{
	struct fx *f = *state;
	/* An X25519 key: valid PKCS#8, wrong algorithm. */
	static const char x25519[] = "-----BEGIN PRIVATE KEY-----\n"
				     "MC4CAQAwBQYDK2VuBCIEIMDZjHvYeGM7ER8hBy0+pA9AxN3qK36zrWp2afWVXpxc\n"
				     "-----END PRIVATE KEY-----\n";
	sm_key *l = NULL;
	sm_err err;

	write_file(f->path, x25519, sizeof(x25519) - 1, 0600);
	assert_int_equal(sm_key_load(f->path, NULL, &l, &err), SM_EKEY);
	assert_null(l);
	assert_non_null(strstr(err.msg, "not Ed25519"));
}

static void test_keys_passphrase_read(void **state)
{
	struct fx *f = *state;
	char *p = NULL;
	sm_err err;
	char big[SM_PASSPHRASE_MAX + 10];

	write_file(f->path, "s3cret pass\nsecond line\n", 24, 0600);
	assert_int_equal(sm_passphrase_read(f->path, &p, &err), 0);
	assert_string_equal(p, "s3cret pass");
	free(p);
	write_file(f->path, "no newline", 10, 0600);
	assert_int_equal(sm_passphrase_read(f->path, &p, &err), 0);
	assert_string_equal(p, "no newline");
	free(p);
	write_file(f->path, "crlf\r\n", 6, 0600);
	assert_int_equal(sm_passphrase_read(f->path, &p, &err), 0);
	assert_string_equal(p, "crlf");
	free(p);

	write_file(f->path, "\nsecond", 7, 0600);
	assert_int_equal(sm_passphrase_read(f->path, &p, &err), SM_EINVAL);
	assert_null(p);
	assert_non_null(strstr(err.msg, "is empty"));
	write_file(f->path, "", 0, 0600);
	assert_int_equal(sm_passphrase_read(f->path, &p, &err), SM_EINVAL);

	memset(big, 'x', sizeof(big));
	write_file(f->path, big, SM_PASSPHRASE_MAX, 0600);
	assert_int_equal(sm_passphrase_read(f->path, &p, &err), 0);
	assert_int_equal(strlen(p), SM_PASSPHRASE_MAX);
	free(p);
	p = NULL;
	write_file(f->path, big, SM_PASSPHRASE_MAX + 1, 0600);
	assert_int_equal(sm_passphrase_read(f->path, &p, &err), SM_ETOOBIG);
	assert_null(p);
	assert_non_null(strstr(err.msg, "longer than 1024 bytes"));

	write_file(f->path, "a\0b\n", 4, 0600);
	assert_int_equal(sm_passphrase_read(f->path, &p, &err), SM_EINVAL);
	assert_non_null(strstr(err.msg, "NUL"));

	assert_int_equal(sm_passphrase_read(f->path2, &p, &err), SM_EIO);
	assert_non_null(strstr(err.msg, "cannot open passphrase file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys_rfc8032_vectors),
		cmocka_unit_test(test_keys_verify_public_only),
		cmocka_unit_test(test_keys_verify_rejects_flipped_bits),
		cmocka_unit_test(test_keys_sha256_and_kid),
		cmocka_unit_test(test_keys_generate_distinct),
		cmocka_unit_test_setup_teardown(test_keys_save_load_plain, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_keys_save_load_encrypted, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_keys_save_refuses_existing, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_keys_save_refuses_public_only, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_keys_load_refuses_open_mode, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_keys_load_refuses_truncated_and_garbage, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_keys_load_refuses_missing_and_huge, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_keys_load_refuses_other_key_type, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_keys_passphrase_read, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

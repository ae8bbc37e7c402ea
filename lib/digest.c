/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "digest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

struct slxd_sha256 {
	EVP_MD_CTX *ctx;
};

slxd_sha256 *slxd_sha256_new(void)
{
	slxd_sha256 *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
		slxd_sha256_free(h);
		return NULL;
	}
	return h;
}

void slxd_sha256_update(slxd_sha256 *h, const void *data, size_t len)
{
	if (len)
		EVP_DigestUpdate(h->ctx, data, len);
}

void slxd_sha256_final(slxd_sha256 *h, char hex[SLXD_SHA256_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	static const char digits[] = "0123456789abcdef";

	EVP_DigestFinal_ex(h->ctx, md, &n);
	for (size_t i = 0; i < n && i < SLXD_SHA256_HEX_LEN / 2; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[SLXD_SHA256_HEX_LEN] = '\0';
	slxd_sha256_free(h);
}

int slxd_sha256_reset(slxd_sha256 *h)
{
	return EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) == 1 ? 0 : -1;
}

void slxd_sha256_free(slxd_sha256 *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

void slxd_sha256_buf(const void *data, size_t len, char hex[SLXD_SHA256_HEX_LEN + 1])
{
	slxd_sha256 *h = slxd_sha256_new();
	if (!h)
		abort(); /* OpenSSL without SHA-256 or memory: nothing sane to do */
	slxd_sha256_update(h, data, len);
	slxd_sha256_final(h, hex);
}

int slxd_sha256_file(const char *path, char hex[SLXD_SHA256_HEX_LEN + 1], slxd_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return slxd_fail(err, "cannot read %s: %s", path, strerror(errno));
	slxd_sha256 *h = slxd_sha256_new();
	if (!h) {
		close(fd);
		return slxd_fail(err, "out of memory hashing %s", path);
	}
	char buf[1 << 16];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			slxd_sha256_free(h);
			close(fd);
			return slxd_fail(err, "cannot read %s: %s", path, strerror(e));
		}
		if (n == 0)
			break;
		slxd_sha256_update(h, buf, (size_t)n);
	}
	close(fd);
	slxd_sha256_final(h, hex);
	return 0;
}

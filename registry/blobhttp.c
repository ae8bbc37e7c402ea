/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "blobhttp.h"

#include <stdio.h>
#include <string.h>

/* Longest header value looked at: a request that needs more is not ours. */
#define VALUE_MAX 4096

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Does the list of entity tags `v` (If-None-Match: "*" or 1#entity-tag)
 * name etag?  If-None-Match compares weakly: W/"x" matches "x".  A list
 * that does not parse matches nothing: the whole blob is sent, which is
 * always correct. */
static bool etag_listed(const char *v, const char *etag)
{
	size_t elen = strlen(etag);
	const char *p = v;

	if (strnlen(v, VALUE_MAX + 1) > VALUE_MAX)
		return false;
	while (is_ows(*p))
		p++;
	if (p[0] == '*') {
		for (p++; is_ows(*p); p++)
			;
		return *p == '\0';
	}
	bool found = false;
	for (;;) {
		while (is_ows(*p) || *p == ',')
			p++;
		if (!*p)
			return found;
		if (p[0] == 'W' && p[1] == '/')
			p += 2;
		if (*p != '"')
			return false;
		const char *end = strchr(p + 1, '"');
		if (!end)
			return false;
		/* etagc: no controls, no spaces, no quotes inside */
		for (const char *q = p + 1; q < end; q++)
			if ((unsigned char)*q <= 0x20 || *q == 0x7f)
				return false;
		if ((size_t)(end + 1 - p) == elen && memcmp(p, etag, elen) == 0)
			found = true;
		p = end + 1;
		while (is_ows(*p))
			p++;
		if (*p && *p != ',')
			return false;
	}
}

/* Digits only, at most 19 of them (fits int64 without overflow). */
static bool number(const char **p, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	size_t n = 0;
	while (*s >= '0' && *s <= '9') {
		if (++n > 19)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
		s++;
	}
	if (!n)
		return false;
	*p = s;
	*out = v;
	return true;
}

static void refuse(struct slxd_blob_http *o, uint64_t size, const char *why)
{
	o->status = 416;
	o->offset = 0;
	o->length = 0;
	o->why = why;
	snprintf(o->range, sizeof(o->range), "bytes */%llu", (unsigned long long)size);
}

void slxd_blob_http_decide(uint64_t size, const char *fp, const char *if_none_match,
			   const char *range, const char *if_range, struct slxd_blob_http *o)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->etag, sizeof(o->etag), "\"%.64s\"", fp);
	o->status = 200;
	o->length = size;

	if (if_none_match && etag_listed(if_none_match, o->etag)) {
		o->status = 304;
		o->length = 0;
		return;
	}
	if (!range)
		return;
	/* If-Range: only a strong, exact match of our ETag keeps the Range; a
	 * date or another tag means "send it all" */
	if (if_range) {
		const char *v = if_range;
		while (is_ows(*v))
			v++;
		size_t n = strlen(o->etag);
		if (strncmp(v, o->etag, n) != 0)
			return;
		for (v += n; is_ows(*v); v++)
			;
		if (*v)
			return;
	}
	const char *p = range;
	while (is_ows(*p))
		p++;
	/* another unit: ignored, as RFC 9110 14.2 asks */
	if (strncmp(p, "bytes=", 6) != 0)
		return;
	if (strnlen(p, VALUE_MAX + 1) > VALUE_MAX)
		return refuse(o, size, "the Range header is too long");
	p += 6;
	uint64_t first = 0, last = 0;
	bool suffix = *p == '-';
	if (suffix) {
		p++;
		if (!number(&p, &last))
			return refuse(o, size,
				      "the Range header is not bytes=FIRST-[LAST] or bytes=-N");
	} else {
		if (!number(&p, &first) || *p++ != '-')
			return refuse(o, size,
				      "the Range header is not bytes=FIRST-[LAST] or bytes=-N");
		if (*p >= '0' && *p <= '9') {
			if (!number(&p, &last))
				return refuse(
					o, size,
					"the Range header is not bytes=FIRST-[LAST] or bytes=-N");
			if (last < first)
				return refuse(o, size,
					      "the Range's last byte comes before its first");
		} else {
			last = UINT64_MAX;
		}
	}
	while (is_ows(*p))
		p++;
	if (*p == ',')
		return refuse(o, size, "only one byte range per request is served");
	if (*p)
		return refuse(o, size, "the Range header is not bytes=FIRST-[LAST] or bytes=-N");
	if (suffix) {
		if (last == 0 || size == 0)
			return refuse(o, size, "the Range asks for no bytes of the image file");
		first = last >= size ? 0 : size - last;
		last = size - 1;
	} else {
		if (first >= size)
			return refuse(o, size, "the Range starts past the end of the image file");
		if (last >= size)
			last = size - 1;
	}
	o->status = 206;
	o->offset = first;
	o->length = last - first + 1;
	snprintf(o->range, sizeof(o->range), "bytes %llu-%llu/%llu", (unsigned long long)first,
		 (unsigned long long)last, (unsigned long long)size);
}

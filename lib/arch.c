/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Image architectures (arch.h). */
#define _GNU_SOURCE
#include "arch.h"

#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

bool slxd_arch_valid(const char *a)
{
	size_t n = strlen(a);
	if (n == 0 || n > SLXD_ARCH_MAX || a[0] == '-' || a[0] == '_')
		return false;
	return strspn(a, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

const char *slxd_arch_name(const char *a)
{
	static const char *const alias[][2] = {
		{ "amd64", "x86_64" }, { "x86-64", "x86_64" },   { "arm64", "aarch64" },
		{ "armhf", "armv7l" }, { "armel", "armv6l" },    { "i386", "i686" },
		{ "386", "i686" },     { "ppc64el", "ppc64le" }, { "riscv64gc", "riscv64" },
	};
	for (size_t i = 0; i < sizeof(alias) / sizeof(alias[0]); i++)
		if (strcmp(a, alias[i][0]) == 0)
			return alias[i][1];
	return a;
}

int slxd_arch_check_submit(const char *image, const char *image_arch, const char *nodes,
			   slxd_error *err)
{
	struct utsname u;
	if (!image_arch || !image_arch[0] || (nodes && strcmp(nodes, "any") == 0))
		return 0;
	const char *want = slxd_arch_name(image_arch);
	const char *source = "architectures= in spank_lxd.conf";
	if (!nodes || !nodes[0]) {
		source = "this submit host's; a cluster of several lists them in architectures=";
		if (uname(&u) != 0)
			return 0; /* cannot tell: the node checks */
		nodes = u.machine;
	}
	char item[SLXD_ARCH_MAX + 1];
	for (const char *p = nodes; *p;) {
		size_t len = strcspn(p, ",");
		snprintf(item, sizeof(item), "%.*s", (int)len, p);
		if (strcmp(slxd_arch_name(item), want) == 0)
			return 0;
		p += len;
		p += *p == ',';
	}
	return slxd_fail(err,
			 "image %s is built for %s, this cluster's nodes are %s (%s): ask for "
			 "an image of the nodes' architecture",
			 image, want, nodes, source);
}

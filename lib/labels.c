/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "labels.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void slxd_container_name(uint32_t jobid, char out[32])
{
	snprintf(out, 32, SLXD_CONTAINER_PREFIX "%" PRIu32, jobid);
}

/* "slxd-spare-" + key + "-" + 8 hex */
#define SPARE_NAME_LEN (sizeof(SLXD_SPARE_PREFIX) - 1 + SLXD_SPARE_KEY_LEN + 1 + 8)

int slxd_spare_name_ok(const char *name)
{
	size_t p = sizeof(SLXD_SPARE_PREFIX) - 1;
	if (strlen(name) != SPARE_NAME_LEN || strncmp(name, SLXD_SPARE_PREFIX, p) != 0)
		return 0;
	for (const char *s = name + p; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') || *s == '-'))
			return 0;
	return name[p + 12] == '-' && name[p + SLXD_SPARE_KEY_LEN] == '-';
}

const char *slxd_label(json_t *inst, const char *key)
{
	return json_string_value(json_object_get(json_object_get(inst, "config"), key));
}

bool slxd_label_is(json_t *inst, const char *key, const char *value)
{
	const char *v = slxd_label(inst, key);
	return v && value && strcmp(v, value) == 0;
}

bool slxd_label_number(json_t *inst, const char *key, unsigned long long max,
		       unsigned long long *out)
{
	const char *s = slxd_label(inst, key);
	if (!s || *s < '0' || *s > '9')
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

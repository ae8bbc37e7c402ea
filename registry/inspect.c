/* SPDX-License-Identifier: GPL-2.0-or-later */
/* An image tarball's headers, summed up for review (registry/inspect.h). */
#define _GNU_SOURCE
#include "inspect.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "cleanup.h"
#include "tarcheck.h"

/* ---- security.capability ---------------------------------------------------- */

static const char *const cap_names[] = {
	"cap_chown",
	"cap_dac_override",
	"cap_dac_read_search",
	"cap_fowner",
	"cap_fsetid",
	"cap_kill",
	"cap_setgid",
	"cap_setuid",
	"cap_setpcap",
	"cap_linux_immutable",
	"cap_net_bind_service",
	"cap_net_broadcast",
	"cap_net_admin",
	"cap_net_raw",
	"cap_ipc_lock",
	"cap_ipc_owner",
	"cap_sys_module",
	"cap_sys_rawio",
	"cap_sys_chroot",
	"cap_sys_ptrace",
	"cap_sys_pacct",
	"cap_sys_admin",
	"cap_sys_boot",
	"cap_sys_nice",
	"cap_sys_resource",
	"cap_sys_time",
	"cap_sys_tty_config",
	"cap_mknod",
	"cap_lease",
	"cap_audit_write",
	"cap_audit_control",
	"cap_setfcap",
	"cap_mac_override",
	"cap_mac_admin",
	"cap_syslog",
	"cap_wake_alarm",
	"cap_block_suspend",
	"cap_audit_read",
	"cap_perfmon",
	"cap_bpf",
	"cap_checkpoint_restore",
};

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void append(char *out, size_t outlen, const char *fmt, const char *s)
{
	size_t o = strlen(out);
	if (o < outlen)
		snprintf(out + o, outlen - o, fmt, s);
}

/* One group of getcap's output: the capabilities in `set`, then =FLAGS. */
static void cap_group(uint64_t set, const char *flags, char *out, size_t outlen)
{
	char num[16];
	bool first = true;
	if (!set)
		return;
	if (out[0])
		append(out, outlen, "%s", " ");
	for (unsigned b = 0; b < 64; b++) {
		if (!(set & (UINT64_C(1) << b)))
			continue;
		const char *name =
			b < sizeof(cap_names) / sizeof(cap_names[0]) ? cap_names[b] : NULL;
		if (!name) {
			snprintf(num, sizeof(num), "cap_%u", b);
			name = num;
		}
		append(out, outlen, first ? "%s" : ",%s", name);
		first = false;
	}
	append(out, outlen, "=%s", flags);
}

/* struct vfs_cap_data (linux/capability.h), little-endian: magic_etc, then
 * {permitted, inheritable} for the low and (revisions 2, 3) high 32 bits;
 * revision 3 adds the root uid of the user namespace it is for. */
void slxd_inspect_caps(const void *val, size_t len, char *out, size_t outlen)
{
	const unsigned char *p = val;
	uint32_t magic = len >= 4 ? le32(p) : 0, rev = magic & 0xff000000u;
	bool eff = magic & 1;
	uint64_t perm, inh;
	if (!outlen)
		return;
	out[0] = '\0';
	if (!((rev == 0x01000000u && len == 12) || (rev == 0x02000000u && len == 20) ||
	      (rev == 0x03000000u && len == 24))) {
		snprintf(out, outlen, "unparsable (%zu bytes)", len);
		return;
	}
	perm = le32(p + 4);
	inh = le32(p + 8);
	if (rev != 0x01000000u) {
		perm |= (uint64_t)le32(p + 12) << 32;
		inh |= (uint64_t)le32(p + 16) << 32;
	}
	cap_group(perm & inh, eff ? "eip" : "ip", out, outlen);
	cap_group(perm & ~inh, eff ? "ep" : "p", out, outlen);
	cap_group(inh & ~perm, eff ? "ei" : "i", out, outlen);
	if (!out[0])
		snprintf(out, outlen, "(none)%s", eff ? " =e" : "");
	if (rev == 0x03000000u) {
		char r[32];
		snprintf(r, sizeof(r), " [rootid=%u]", le32(p + 20));
		append(out, outlen, "%s", r);
	}
}

/* ---- metadata.yaml ---------------------------------------------------------- */

static const char *scalar(yaml_document_t *d, yaml_node_t *n)
{
	(void)d;
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* architecture, creation_date and properties into the report.  The
 * registry refused at push anything but plain YAML (lib/tarcheck.c); here a
 * document of another shape only leaves the fields out. */
static int read_metadata(const char *buf, size_t len, json_t *rep, slxd_error *err)
{
	yaml_parser_t p;
	yaml_document_t d;
	if (!yaml_parser_initialize(&p))
		return slxd_fail(err, "out of memory");
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&p, &d)) {
		slxd_fail(err, "the image's metadata.yaml is not valid YAML: %s", p.problem ?: "?");
		yaml_parser_delete(&p);
		return -1;
	}
	yaml_parser_delete(&p);
	yaml_node_t *root = yaml_document_get_root_node(&d);
	json_t *props = json_object_get(rep, "properties");
	if (root && root->type == YAML_MAPPING_NODE) {
		for (yaml_node_pair_t *pr = root->data.mapping.pairs.start;
		     pr < root->data.mapping.pairs.top; pr++) {
			const char *k = scalar(&d, yaml_document_get_node(&d, pr->key));
			yaml_node_t *vn = yaml_document_get_node(&d, pr->value);
			const char *v = scalar(&d, vn);
			if (!k)
				continue;
			if (strcmp(k, "architecture") == 0 && v) {
				json_object_set_new(rep, "architecture", json_string(v));
			} else if (strcmp(k, "creation_date") == 0 && v) {
				char *end;
				long long t = strtoll(v, &end, 10);
				if (*v && !*end)
					json_object_set_new(rep, "creation_date", json_integer(t));
			} else if (strcmp(k, "properties") == 0 && vn &&
				   vn->type == YAML_MAPPING_NODE) {
				for (yaml_node_pair_t *q = vn->data.mapping.pairs.start;
				     q < vn->data.mapping.pairs.top; q++) {
					const char *pk =
						scalar(&d, yaml_document_get_node(&d, q->key));
					const char *pv =
						scalar(&d, yaml_document_get_node(&d, q->value));
					if (pk && pv)
						json_object_set_new(props, pk, json_string(pv));
				}
			}
		}
	}
	yaml_document_delete(&d);
	/* json_string refuses invalid UTF-8: such a value is just absent */
	const char *os = json_string_value(json_object_get(props, "os"));
	json_object_set_new(rep, "os", os ? json_string(os) : json_null());
	const char *env = json_string_value(json_object_get(props, "oci.env"));
	json_t *e = env ? json_loads(env, 0, NULL) : NULL;
	size_t i;
	json_t *v;
	json_array_foreach (e, i, v)
		if (!json_is_string(v)) {
			json_decref(e);
			e = NULL;
			break;
		}
	json_object_set_new(rep, "env", json_is_array(e) ? e : json_null());
	if (e && !json_is_array(e))
		json_decref(e);
	return 0;
}

/* ---- The walk ----------------------------------------------------------------- */

struct finding {
	const char *key; /* the list in the report; its count is key_count */
	json_t *list;
	uint64_t count;
};

static void add(struct finding *f, json_t *item)
{
	f->count++;
	if (json_array_size(f->list) < SLXD_INSPECT_MAX_LIST)
		json_array_append(f->list, item);
	json_decref(item);
}

/* The item of f whose path is `path`, if listed. */
static json_t *find(const struct finding *f, const char *path)
{
	size_t i;
	json_t *v;
	json_array_foreach (f->list, i, v)
		if (strcmp(json_string_value(json_object_get(v, "path")) ?: "", path) == 0)
			return v;
	return NULL;
}

static json_t *json_path(const char *p)
{
	/* not UTF-8 (json_string refuses it): shown with its odd bytes as '?' */
	json_t *s = json_string(p);
	if (!s) {
		char *c = strdup(p);
		for (char *q = c; q && *q; q++)
			if ((unsigned char)*q >= 0x80)
				*q = '?';
		s = json_string(c ? c : "?");
		free(c);
	}
	return s;
}

static void mode_str(mode_t m, char out[8])
{
	snprintf(out, 8, "%04o", (unsigned)(m & 07777));
}

static int walk(struct archive *a, json_t *rep, slxd_error *err)
{
	struct slxd_tarcheck_limits lim;
	struct finding fs[3] = { { "setid", json_array(), 0 },
				 { "capabilities", json_array(), 0 },
				 { "world_writable_dirs", json_array(), 0 } };
	struct archive_entry *e;
	uint64_t entries = 0, files = 0, size = 0, members = 0;
	bool meta = false;
	char path[4096 + 8], target[4096 + 8], mode[8];
	int rc = -1, r;

	slxd_tarcheck_default_limits(&lim);
	json_object_set_new(rep, "properties", json_object());
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		const char *name = archive_entry_pathname(e);
		if (++members > lim.max_entries) {
			slxd_fail(err, "the image has more than %llu entries",
				  (unsigned long long)lim.max_entries);
			goto out;
		}
		if (!name || slxd_relpath_clean(name, path, sizeof(path)) != SLXD_RELPATH_OK)
			continue; /* the registry refused these at push; nothing to report */
		if (strcmp(path, "metadata.yaml") == 0 && !meta) {
			la_int64_t n = archive_entry_size(e);
			if (n < 0 || (uint64_t)n > lim.max_metadata_size) {
				slxd_fail(err,
					  "the image's metadata.yaml is larger than %llu bytes",
					  (unsigned long long)lim.max_metadata_size);
				goto out;
			}
			cleanup_free char *buf = malloc((size_t)n + 1);
			if (!buf || archive_read_data(a, buf, (size_t)n) != n) {
				slxd_fail(err, "cannot read the image's metadata.yaml: %s",
					  buf ? archive_error_string(a) ?: "short read"
					      : "out of memory");
				goto out;
			}
			if (read_metadata(buf, (size_t)n, rep, err) < 0)
				goto out;
			meta = true;
			continue;
		}
		if (strncmp(path, "rootfs/", 7) != 0)
			continue;
		const char *rel = path + 6; /* "/usr/bin/x": as it is in the container */
		mode_t m = archive_entry_mode(e);
		const char *hl = archive_entry_hardlink(e);
		entries++;

		if (hl) {
			/* one inode: its mode and xattrs are the target's */
			if (slxd_relpath_clean(hl, target, sizeof(target)) != SLXD_RELPATH_OK ||
			    strncmp(target, "rootfs/", 7) != 0)
				continue;
			files++;
			for (int k = 0; k < 2; k++) {
				json_t *t = find(&fs[k], target + 6);
				if (!t)
					continue;
				json_t *c = json_deep_copy(t);
				json_object_set_new(c, "path", json_path(rel));
				json_object_set_new(c, "hardlink_to", json_path(target + 6));
				add(&fs[k], c);
			}
			continue;
		}
		if (S_ISREG(m)) {
			files++;
			size += (uint64_t)archive_entry_size(e);
			if (m & (S_ISUID | S_ISGID)) {
				mode_str(m, mode);
				add(&fs[0],
				    json_pack("{s:o, s:s, s:I, s:I, s:b, s:b}", "path",
					      json_path(rel), "mode", mode, "uid",
					      (json_int_t)archive_entry_uid(e), "gid",
					      (json_int_t)archive_entry_gid(e), "setuid",
					      (m & S_ISUID) != 0, "setgid", (m & S_ISGID) != 0));
			}
		}
		if (S_ISDIR(m) && (m & S_IWOTH) && !(m & S_ISVTX)) {
			mode_str(m, mode);
			add(&fs[2], json_pack("{s:o, s:s, s:I, s:I}", "path", json_path(rel),
					      "mode", mode, "uid", (json_int_t)archive_entry_uid(e),
					      "gid", (json_int_t)archive_entry_gid(e)));
		}
		const char *xn;
		const void *xv;
		size_t xl;
		archive_entry_xattr_reset(e);
		while (archive_entry_xattr_next(e, &xn, &xv, &xl) == ARCHIVE_OK) {
			char caps[1024];
			if (strcmp(xn, "security.capability") != 0)
				continue;
			slxd_inspect_caps(xv, xl, caps, sizeof(caps));
			add(&fs[1],
			    json_pack("{s:o, s:s}", "path", json_path(rel), "capabilities", caps));
		}
	}
	if (r != ARCHIVE_EOF) {
		slxd_fail(err, "cannot read the image: %s",
			  archive_error_string(a) ?: "not a tarball");
		goto out;
	}
	if (!meta) {
		slxd_fail(err, "not an LXD image: it has no metadata.yaml");
		goto out;
	}
	json_object_set_new(rep, "entries", json_integer((json_int_t)entries));
	json_object_set_new(rep, "files", json_integer((json_int_t)files));
	json_object_set_new(rep, "unpacked_size", json_integer((json_int_t)size));
	for (int k = 0; k < 3; k++) {
		char key[64];
		json_object_set(rep, fs[k].key, fs[k].list);
		snprintf(key, sizeof(key), "%s_count", fs[k].key);
		json_object_set_new(rep, key, json_integer((json_int_t)fs[k].count));
	}
	rc = 0;
out:
	for (int k = 0; k < 3; k++)
		json_decref(fs[k].list);
	return rc;
}

static json_t *run(struct archive *a, int open_rc, slxd_error *err)
{
	json_t *rep = json_object();
	if (open_rc != ARCHIVE_OK) {
		slxd_fail(err, "cannot read the image: %s",
			  archive_error_string(a) ?: "not a tarball");
	} else if (rep && walk(a, rep, err) == 0) {
		archive_read_free(a);
		return rep;
	}
	json_decref(rep);
	archive_read_free(a);
	return NULL;
}

json_t *slxd_inspect_fd(int fd, slxd_error *err)
{
	struct archive *a = slxd_tarcheck_reader();
	if (!a) {
		slxd_fail(err, "out of memory");
		return NULL;
	}
	return run(a, archive_read_open_fd(a, fd, (size_t)64 * 1024), err);
}

json_t *slxd_inspect_buf(const void *buf, size_t len, slxd_error *err)
{
	struct archive *a = slxd_tarcheck_reader();
	if (!a) {
		slxd_fail(err, "out of memory");
		return NULL;
	}
	return run(a, archive_read_open_memory(a, buf, len), err);
}

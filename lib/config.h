/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Site configuration of the node side: the plugstack.conf arguments
 * (key=value words) and the optional file they name (config=PATH, one
 * key=value per line, '#' comments).  Arguments given on the plugstack line
 * override the file.  Unknown keys and bad values are errors: a node that
 * is misconfigured refuses jobs with a clear line rather than guessing. */
#ifndef SLXD_CONFIG_H
#define SLXD_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

#include "common.h"
#include "error.h"
#include "jobenv.h"
#include "opts.h"

#define SLXD_ALLOW_MAX        32
#define SLXD_REGISTRY_URL_MAX 512
#define SLXD_SPARES_LIMIT     256 /* spares_max= at most */

struct slxd_config {
	char lxd_socket[SLXD_PATH_MAX + 1];      /* lxd_socket= */
	int runtime;                             /* runtime= (enum slxd_runtime) */
	char storage_pool[128];                  /* storage_pool= ("" = profile's) */
	char profile[128];                       /* profile= (default "default") */
	char approved_images[SLXD_PATH_MAX + 1]; /* approved_images= */
	char spool_dir[SLXD_PATH_MAX + 1];       /* slurmd_spool_dir= */
	char state_dir[SLXD_PATH_MAX + 1];       /* state_dir= (locks, markers) */
	char download_dir[SLXD_PATH_MAX + 1];    /* download_dir= (image pulls, on disk) */
	char init_path[SLXD_PATH_MAX + 1];       /* init= host path of slxd-init */
	char subuid_path[SLXD_PATH_MAX + 1];     /* subuid= */
	char subgid_path[SLXD_PATH_MAX + 1];     /* subgid= */
	struct slxd_mount_list default_mounts;   /* default_mounts= */
	char mount_allow[SLXD_ALLOW_MAX][SLXD_PATH_MAX + 1]; /* mount_allow=a,b */
	int n_mount_allow;
	int lxd_timeout; /* lxd_timeout= seconds */
	/* registry= "" (approved_images file only), http(s)://HOST[:PORT]
	 * or file:///STORE (the service's store on a shared file system) */
	char registry[SLXD_REGISTRY_URL_MAX + 1];
	/* registry_cache= "" or http(s)://HOST[:PORT]: an HTTP cache in front
	 * of an http(s) registry that blob downloads go through (lookups
	 * still go to registry=; the node checks every byte's digest) */
	char registry_cache[SLXD_REGISTRY_URL_MAX + 1];
	int registry_timeout; /* registry_timeout= seconds */
	long registry_grace;  /* registry_grace= seconds */
	/* registry_uid= the uid slxd-registryd runs as (MUNGE proves it on
	 * every answer) and that owns a file:// store; -1 = not set, and a
	 * node with registry= set refuses to resolve until it is */
	long long registry_uid;
	unsigned long long image_cache_max; /* image_cache_max= bytes, 0 = no bound */
	unsigned long long root_size;       /* root_size= job root disk bytes, 0 = none */
	unsigned long long root_size_max;   /* root_size_max= bytes, 0 = no maximum */
	long template_max_age;              /* template_max_age= seconds, 0 = none */
	long spare_max_idle;                /* spare_max_idle= seconds, 0 = no spares */
	long spares_max;          /* spares_max= spares per user and image (sparepool.h) */
	char lxd_min_version[16]; /* lxd_min_version= X.Y[.Z] (default 5.0) */
	long gc_min_age;          /* gc_min_age= seconds (slxd-gc, gc.h) */
	int cwd_policy;           /* cwd_policy= (enum slxd_cwd_policy) */
	/* the payload's environment (jobenv.h) */
	char env_set[SLXD_ENV_LIST_MAX + 1];   /* env_set=NAME=VALUE,... */
	char env_unset[SLXD_ENV_LIST_MAX + 1]; /* env_unset=PATTERN,... */
	char env_deny[SLXD_ENV_LIST_MAX + 1];  /* env_deny=PATTERN,... (default SLURM_*) */
	int image_env;                         /* image_env= (enum slxd_image_env) */
	/* architectures= the nodes' (arch.h): "" this host's, "any" no
	 * check at submit */
	char architectures[128];
	/* devices.h: where the GRES device files are named ("" = none), the
	 * site's devices for every job, and which GPU user space is set up */
	char gres_conf[SLXD_PATH_MAX + 1]; /* gres_conf= */
	/* this node's NodeName for gres.conf's NodeName= ("" = short host name) */
	char node_name[128];        /* node_name= */
	char default_devices[4096]; /* default_devices=a,b (paths, globs) */
	int gpu_runtime;            /* gpu_runtime= (enum slxd_gpu_runtime) */
};

enum slxd_gpu_runtime {
	SLXD_GPU_NONE = 0, /* only the allocated device files */
	SLXD_GPU_NVIDIA,   /* + LXD's nvidia.runtime and NVIDIA's control devices */
	SLXD_GPU_ROCM,     /* + /dev/kfd */
};

/* Which working directories are mounted into a job's container
 * (mounts.h: slxd_cwd_judge).  /, /tmp and /proc, /sys, /dev are judged
 * the same under every policy. */
enum slxd_cwd_policy {
	SLXD_CWD_ANY = 0,    /* any directory the task entered (default) */
	SLXD_CWD_ALLOW_LIST, /* only below mount_allow */
	SLXD_CWD_NONE,       /* never: tasks start at / inside */
};

/* The node's container daemon (runtime.h). */
enum slxd_runtime {
	SLXD_RUNTIME_LXD = 0, /* LXD (default) */
	SLXD_RUNTIME_INCUS,   /* Incus 6.0 or later */
};

void slxd_config_defaults(struct slxd_config *cfg);

/* A size in bytes with an optional K, M, G or T suffix ("20G"); `what`
 * names it in the error. */
int slxd_parse_bytes(const char *v, const char *what, unsigned long long *out, slxd_error *err);

/* Apply one "key=value" word (plugstack argument or file line). */
int slxd_config_set(struct slxd_config *cfg, const char *word, slxd_error *err);

/* Read a config file.  It must be a regular file owned by root and not
 * writable by group or others (it decides what users may mount). */
int slxd_config_load_file(struct slxd_config *cfg, const char *path, slxd_error *err);

/* The parser behind slxd_config_load_file, without the ownership and mode
 * checks (those belong to opening a path; tests feed it fmemopen streams).
 * `name` labels errors as "name:line: ...". */
int slxd_config_load_stream(struct slxd_config *cfg, FILE *f, const char *name, slxd_error *err);

/* Defaults, then file (if a config= argument names one), then the other
 * arguments, in that order. */
int slxd_config_from_args(struct slxd_config *cfg, int argc, char **argv, slxd_error *err);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Every path slurm-lxd uses when the configuration names none: the one
 * list to read when packaging or auditing a node or the registry host.
 * Config keys (lib/config.c, registry/regconf.c) override all but the
 * config files' own places, which the command lines (-c) override. */
#ifndef SLXD_PATHS_H
#define SLXD_PATHS_H

/* Where `make install` puts slxd-init and slxd-imagecheck; the Makefile
 * passes LIBEXECDIR to the objects that use it. */
#ifndef SLXD_LIBEXECDIR
#define SLXD_LIBEXECDIR "/usr/local/libexec/slurm-lxd"
#endif

/* The node */
#define SLXD_NODE_CONFIG          "/etc/slurm/spank_lxd.conf"  /* helpers' -c */
#define SLXD_DEFAULT_LXD_SOCKET   "/var/lib/lxd/unix.socket"   /* lxd_socket= */
#define SLXD_DEFAULT_INCUS_SOCKET "/var/lib/incus/unix.socket" /* lxd_socket= with runtime=incus */
#define SLXD_DEFAULT_APPROVED     "/etc/slurm/lxd-images.conf" /* approved_images= */
#define SLXD_DEFAULT_SPOOL_DIR    "/var/spool/slurmd"          /* slurmd_spool_dir= */
#define SLXD_DEFAULT_STATE_DIR    "/run/slurm-lxd"             /* state_dir= */
/* on disk: an image pulled into /run would take its size of RAM */
#define SLXD_DEFAULT_DOWNLOAD_DIR "/var/lib/slurm-lxd/downloads" /* download_dir= */
#define SLXD_DEFAULT_INIT         SLXD_LIBEXECDIR "/slxd-init"   /* init= */
#define SLXD_IMAGECHECK           SLXD_LIBEXECDIR "/slxd-imagecheck"
#define SLXD_DEFAULT_SUBUID       "/etc/subuid"          /* subuid= */
#define SLXD_DEFAULT_SUBGID       "/etc/subgid"          /* subgid= */
#define SLXD_DEFAULT_GRES_CONF    "/etc/slurm/gres.conf" /* gres_conf= */

/* The registry service */
#define SLXD_REGCONF_DEFAULT "/etc/slurm-lxd/registryd.conf" /* slxd-registryd -c */
#define SLXD_DEFAULT_STORE   "/var/lib/slurm-lxd/registry"   /* store= */

#endif

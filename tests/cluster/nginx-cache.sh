# SPDX-License-Identifier: GPL-2.0-or-later
# An nginx proxy_cache in front of the registry, as a rack's cache would be
# (docs/admin-guide.md, "Distributing images to many nodes"), started and
# stopped by pid on a loopback port.  Sourced by tests/integration/cache.sh
# and bench/cache.sh.
#
#   nginx_cache_start DIR PORT UPSTREAM_URL [ADDR]   sets NGINX_CACHE_PID
#     (listens on ADDR, default 127.0.0.1; inside network namespace
#     $NGINX_CACHE_NETNS when that is set: bench/cache-scale.sh)
#   nginx_cache_stop                          stops that pid, waits for it
#
# Call both from the same shell (not start in a ( ) subshell): the pid and
# the wait are that shell's.
#
# DIR (made by the caller, removed by it) holds the configuration, the
# cache, and access.log: one line per request,
#   URI STATUS CACHE_STATUS UPSTREAM_STATUS BYTES_SENT UPSTREAM_BYTES
# (CACHE_STATUS MISS: fetched from the registry; HIT: served from the cache).

nginx_cache_conf() { # dir port upstream
	cat <<EOF
# Written by tests/cluster/nginx-cache.sh
daemon off;
master_process on;
worker_processes 2;
user www-data;
pid $1/nginx.pid;
error_log $1/error.log info;
events { worker_connections 512; }
http {
	log_format slxd '\$request_uri \$status \$upstream_cache_status \$upstream_status \$body_bytes_sent \$upstream_bytes_received';
	access_log $1/access.log slxd;
	client_body_temp_path $1/tmp/body;
	proxy_temp_path $1/tmp/proxy;
	fastcgi_temp_path $1/tmp/fastcgi;
	uwsgi_temp_path $1/tmp/uwsgi;
	scgi_temp_path $1/tmp/scgi;
	# image files only: keep them a week after their last use, up to 20 GB
	proxy_cache_path $1/cache levels=1:2 keys_zone=slxd_blobs:10m max_size=20g inactive=7d use_temp_path=off;
	server {
		listen ${4:-127.0.0.1}:$2;
		# only the content-addressed image files; lookups go to the registry
		location /v1/blobs/ {
			proxy_pass $3;
			proxy_http_version 1.1;
			proxy_cache slxd_blobs;
			# the registry's Cache-Control decides: approved files are
			# "public, immutable", pending ones "private, no-store"
			proxy_cache_key \$uri;
			# one request to the registry per file, however many nodes ask
			# at once; the others wait for it (a large image takes a while)
			proxy_cache_lock on;
			proxy_cache_lock_timeout 30m;
			proxy_cache_lock_age 30m;
			proxy_read_timeout 10m;
		}
		location / { return 404; }
	}
}
EOF
}

nginx_cache_start() { # dir port upstream
	local i
	mkdir -p "$1/tmp" "$1/cache"
	chmod 711 "$1" # the workers (www-data) reach the cache through it
	chown www-data "$1/tmp" "$1/cache"
	nginx_cache_conf "$@" >"$1/nginx.conf"
	# not on our stdout: a caller's $(...) would wait for nginx to end
	${NGINX_CACHE_NETNS:+ip netns exec "$NGINX_CACHE_NETNS"} /usr/sbin/nginx -c "$1/nginx.conf" -e "$1/error.log" </dev/null >/dev/null 2>>"$1/error.log" &
	NGINX_CACHE_PID=$!
	for i in $(seq 100); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "http://${4:-127.0.0.1}:$2/")" = 404 ] && return 0
		kill -0 "$NGINX_CACHE_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "nginx did not start on ${4:-127.0.0.1}:$2; see $1/error.log:" >&2
	tail -5 "$1/error.log" >&2
	nginx_cache_stop
	return 1
}

nginx_cache_stop() {
	[ -n "${NGINX_CACHE_PID:-}" ] || return 0
	kill -QUIT "$NGINX_CACHE_PID" 2>/dev/null
	wait "$NGINX_CACHE_PID" 2>/dev/null
	NGINX_CACHE_PID=
}

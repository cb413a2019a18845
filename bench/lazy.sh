#!/bin/bash
# lazy.sh - lazy restore benchmark (run by `make bench` after run.sh).
#
# For each size in BENCH_LAZY_SIZES (MiB; default "1024 4096", 4096 only
# with enough free memory) and BENCH_REPS (default 3) runs:
#
# 1. bench/uffdcopy SIZE: the machine's raw UFFDIO_COPY rate (2 MiB batches
#    of data in memory into a registered area) and bare uffd round trip.
# 2. bench/workload, dumped once, restored both ways from the same images:
#    `criu restore -d` (full) and `criu restore -d --lazy-pages` (daemon
#    started by restore).  In the lazy run the workload is signalled as soon
#    as restore returns and checks every word while pages arrive.  Reports
#    the time until restore returns with the process running, the time until
#    every page is in (the daemon's summary) and the workload's verdict.
#    A third restore, lazy, signals the workload only once every page is in:
#    the background fill alone (no faults), as a fraction of the raw rate.
# 3. bench/faultlat, dumped once, restored lazily and signalled at once: it
#    times its own first touch of 2000 pages in random 256 KiB blocks and
#    exits (before the background fill is done).  Reports the latency the
#    program saw (touches slower than 2 us: faults) and the daemon's fault
#    service figures; then the same with the pages from `criu page-server`
#    over 127.0.0.1, with the token, then with --tls (certificates made
#    with certtool, if it is there).
# 4. post-copy (`criu dump --lazy-pages`, with `unshare --pid`): bench/
#    workload is dumped with its memory left in it, the images without
#    pages copied, restored in a pid namespace of its own (the source still
#    holds the pid) and signalled at once; reports the dump's time until its
#    images are written (the program's stop before the restore), the time
#    until the restored copy runs, until every page is over and the source
#    killed (the dump exits), and the workload's verdict; with the token,
#    then with --tls.
# Appends the tables to bench/out/results.md.
. "$(dirname "$0")/env.sh"
REPS=${BENCH_REPS:-3}
avail_mib=$(awk '/MemAvailable/ { print int($2 / 1024) }' /proc/meminfo)
if [ -z "${BENCH_LAZY_SIZES:-}" ]; then
	BENCH_LAZY_SIZES=1024
	# 4 GiB: the process, its image on tmpfs and a restored copy
	[ "$avail_mib" -gt 14000 ] && BENCH_LAZY_SIZES="1024 4096"
fi
gcc -O2 -Wall -Wextra -o "$OUT/workload" bench/workload.c || exit 1
gcc -O2 -Wall -Wextra -o "$OUT/faultlat" bench/faultlat.c || exit 1
gcc -O2 -Wall -Wextra -o "$OUT/uffdcopy" bench/uffdcopy.c -lpthread || exit 1

now() { date +%s.%N; }
WPID=
trap '[ -n "$WPID" ] && kill -9 $WPID 2>/dev/null; rm -rf "$IMGDIR/lazy-img" "$IMGDIR/lazy-fl"' EXIT
# waits for a verdict file
verdict() {
	for _ in $(seq 3000); do [ -s "$1" ] && break; sleep 0.01; done
	cat "$1" 2>/dev/null
}
# field NAME from the line on stdin
field() { grep -o "$1=[0-9.]*" | head -1 | cut -d= -f2; }
# warm MIB: touch and free MIB MiB, so that the next timed run gets memory
# the host has not taken back (bench/uffdcopy.c "warm")
warm() { "$OUT/uffdcopy" "$1" warm; }
gone() { for _ in $(seq 500); do [ -e /proc/$1 ] || break; sleep 0.01; done; }

# dump_prog IMG LOGDIR PROG ARGS...: starts PROG, waits for READY, dumps it; sets pid
dump_prog() {
	local img=$1 run=$2; shift 2
	rm -rf "$img"
	"$@" < /dev/null > "$run/prog.out" 2>&1 &
	WPID=$!
	for _ in $(seq 600); do grep -q READY "$run/prog.out" 2> /dev/null && break; sleep 0.1; done
	"$CRIU" dump -t "$WPID" -D "$img" -o "$run/dump.log" -v4 || { echo "bench/lazy: dump failed" >&2; exit 1; }
	wait "$WPID" 2>/dev/null
	pid=$WPID
	WPID=
	gone "$pid"
}

# waits for the daemon's stats line in $1/lazy-pages.log; prints it
daemon_stats() {
	for _ in $(seq 6000); do grep -q 'stats:' "$1/lazy-pages.log" 2>/dev/null && break; sleep 0.005; done
	grep -o 'stats:.*' "$1/lazy-pages.log"
}

# certs DIR: a CA, a server certificate for 127.0.0.1 and a client's, in DIR;
# sets TLS_SRV, TLS_CLI (the options of each end); 1 without certtool
TLS_SRV=() TLS_CLI=()
certs() {
	local d=$1 n
	command -v certtool > /dev/null || return 1
	mkdir -p "$d"
	printf 'cn = "bench CA"\nca\ncert_signing_key\nexpiration_days = 2\n' > "$d/ca.tmpl"
	printf 'cn = "127.0.0.1"\nip_address = "127.0.0.1"\ntls_www_server\nexpiration_days = 2\n' > "$d/server.tmpl"
	printf 'cn = "bench client"\ntls_www_client\nexpiration_days = 2\n' > "$d/client.tmpl"
	{
	certtool --generate-privkey --key-type=ecdsa --outfile "$d/ca-key.pem" &&
	certtool --generate-self-signed --load-privkey "$d/ca-key.pem" --template "$d/ca.tmpl" --outfile "$d/ca.pem" &&
	for n in server client; do
		certtool --generate-privkey --key-type=ecdsa --outfile "$d/$n-key.pem" &&
		certtool --generate-certificate --load-privkey "$d/$n-key.pem" --load-ca-certificate "$d/ca.pem" \
			--load-ca-privkey "$d/ca-key.pem" --template "$d/$n.tmpl" --outfile "$d/$n.pem" || return 1
	done
	} > /dev/null 2>&1 || return 1
	TLS_SRV=(--tls --tls-cacert "$d/ca.pem" --tls-cert "$d/server.pem" --tls-key "$d/server-key.pem")
	TLS_CLI=(--tls --tls-cacert "$d/ca.pem" --tls-cert "$d/client.pem" --tls-key "$d/client-key.pem")
}

# sec MODE END: the options of END (srv, cli) for MODE (token, tls)
sec() {
	[ "$1" = tls ] || return 0
	if [ "$2" = srv ]; then echo "${TLS_SRV[@]}"; else echo "${TLS_CLI[@]}"; fi
}

# token SRC DST: the page server's token (DIR/ps-token), handed over
token() {
	for _ in $(seq 2500); do [ -s "$1/ps-token" ] && break; sleep 0.002; done
	cp -p "$1/ps-token" "$2/"
}

# postcopy MIB RUN [MODE]: the post-copy rows (skipped without pid
# namespaces); MODE token (default) or tls
postcopy() {
	local mib=$1 run=$2 mode=${3:-token} img=$IMGDIR/lazy-pc rep port dp rp t0 t1 t2 t3 t4 hp nspid ok
	unshare --pid --fork --mount-proc true 2> /dev/null || { echo "post-copy: no pid namespaces, skipped"; return; }
	{
	echo
	echo "Post-copy (criu dump --lazy-pages, restore in a pid namespace, pages over 127.0.0.1, $mode):"
	echo
	echo "| run | dump: images written s | restore: running s | all over, source gone s | verified |"
	echo "|---|---|---|---|---|"
	} | tee -a "$run/table.md"
	for rep in $(seq "$REPS"); do
		rm -rf "$img" "$img.dst" "$run/result" "$run/prog.out"
		"$OUT/workload" "$mib" "$run/result" < /dev/null > "$run/prog.out" 2>&1 &
		WPID=$!
		for _ in $(seq 600); do grep -q READY "$run/prog.out" 2> /dev/null && break; sleep 0.1; done
		port=$(( 20000 + RANDOM % 20000 ))
		t0=$(now)
		"$CRIU" dump -t "$WPID" -D "$img" --lazy-pages --address 127.0.0.1 --port "$port" \
			$(sec "$mode" srv) -o "$run/pc-dump-$rep.log" -v4 < /dev/null > /dev/null 2>&1 &
		dp=$!
		for _ in $(seq 3000); do [ -e "$img/inventory.img" ] && break; sleep 0.002; done
		t1=$(now)
		mkdir -p "$img.dst" && cp "$img"/*.img "$img.dst/"
		[ "$mode" = tls ] || token "$img" "$img.dst"
		t2=$(now)
		unshare --pid --fork --mount-proc "$CRIU" restore -D "$img.dst" --lazy-pages --page-server \
			--address 127.0.0.1 --port "$port" $(sec "$mode" cli) --pidfile "$run/pc-pid" -o "$run/pc-rst-$rep.log" -v4 \
			< /dev/null > /dev/null 2>&1 &
		rp=$!
		rm -f "$run/pc-pid"
		for _ in $(seq 3000); do [ -s "$run/pc-pid" ] && break; sleep 0.002; done
		t3=$(now)
		nspid=$(cat "$run/pc-pid" 2> /dev/null)
		hp=$(for s in /proc/[0-9]*/status; do
			awk -v n="$nspid" '/^NSpid:/ && NF == 3 && $3 == n { split(FILENAME, a, "/"); print a[3] }' "$s" 2> /dev/null
		     done | head -1)
		[ -n "$hp" ] && kill -USR1 "$hp"
		wait "$dp"
		t4=$(now)
		ok=$(verdict "$run/result")
		wait "$rp"
		kill -9 "$WPID" 2> /dev/null	# gone already, unless the migration failed
		wait "$WPID" 2> /dev/null
		WPID=
		awk -v r="$rep" -v a="$(echo "$t1 - $t0" | bc)" -v b="$(echo "$t3 - $t2" | bc)" \
		    -v c="$(echo "$t4 - $t2" | bc)" -v ok="$ok" \
		    'BEGIN { printf "| %s | %.3f | %.4f | %.3f | %s |\n", r, a, b, c, ok }'
	done | tee -a "$run/table.md"
	rm -rf "$img" "$img.dst"
}

for MIB in $BENCH_LAZY_SIZES; do
	run=$OUT/lazy-$MIB
	rm -rf "$run"; mkdir -p "$run"
	raw=$("$OUT/uffdcopy" "$MIB")
	echo "$raw"
	raw_gbs=$(echo "$raw" | field copy_gbs)

	img=$IMGDIR/lazy-img
	dump_prog "$img" "$run" "$OUT/workload" "$MIB" "$run/result"
	{
	echo "$MIB MiB: raw UFFDIO_COPY $raw_gbs GB/s (best of 3; worst $(echo "$raw" | field copy_worst_gbs): fresh guest memory the host took back is slow to touch), bare uffd round trip p50 $(echo "$raw" | field rt_p50_us) us, p99 $(echo "$raw" | field rt_p99_us) us"
	echo
	echo "| run | full restore s | lazy restore s | lazy / full | all pages in s | all in / full | faults | fill alone GB/s | fill alone / raw copy | verified (full / lazy / fill alone) |"
	echo "|---|---|---|---|---|---|---|---|---|---|"
	} | tee "$run/table.md"
	for rep in $(seq "$REPS"); do
		rm -f "$run/result" "$img/lazy-pages.log"
		warm "$MIB"
		t0=$(now)
		"$CRIU" restore -D "$img" -d --pidfile "$run/pid" -o "$run/full-$rep.log" -v4 || exit 1
		t1=$(now)
		kill -USR1 "$pid"
		full_ok=$(verdict "$run/result")
		gone "$pid"
		rm -f "$run/result"
		warm "$MIB"
		t2=$(now)
		"$CRIU" restore -D "$img" -d --lazy-pages --pidfile "$run/pid" -o "$run/lazy-$rep.log" -v4 || exit 1
		t3=$(now)
		kill -USR1 "$pid"
		st=$(daemon_stats "$img")
		lazy_ok=$(verdict "$run/result")
		gone "$pid"
		cp "$img/lazy-pages.log" "$run/lazy-pages-$rep.log"
		el=$(echo "$st" | field elapsed_s)
		n=$(echo "$st" | field faults)
		# the fill alone: the workload is signalled only once every page is in
		rm -f "$run/result" "$img/lazy-pages.log"
		warm "$MIB"
		"$CRIU" restore -D "$img" -d --lazy-pages --pidfile "$run/pid" -o "$run/fill-$rep.log" -v4 || exit 1
		st=$(daemon_stats "$img")
		kill -USR1 "$pid"
		fill_ok=$(verdict "$run/result")
		gone "$pid"
		# all pages in: restore's start to the daemon's end (it starts at the first process)
		awk -v r="$rep" -v f="$(echo "$t1 - $t0" | bc)" -v l="$(echo "$t3 - $t2" | bc)" \
		    -v el="$el" -v fel="$(echo "$st" | field elapsed_s)" -v b="$(echo "$st" | field bytes)" \
		    -v raw="$raw_gbs" -v n="$n" -v ok="$full_ok / $lazy_ok / $fill_ok" \
		    'BEGIN { all = l + el; g = b / fel / 1e9;
			     printf "| %s | %.3f | %.4f | %.1f%% | %.3f | %.2f | %s | %.2f | %.2f | %s |\n",
				    r, f, l, 100 * l / f, all, all / f, n, g, g / raw, ok }'
	done | tee -a "$run/table.md"
	rm -rf "$img"

	img=$IMGDIR/lazy-fl
	dump_prog "$img" "$run" "$OUT/faultlat" "$MIB" "$run/fl-result"
	{
	echo
	echo "| run | program: faulted touches | p50 us | p99 us | max us | daemon: faults | p50 us | p99 us | pages in when it exited | verified |"
	echo "|---|---|---|---|---|---|---|---|---|---|"
	} | tee -a "$run/table.md"
	for rep in $(seq "$REPS"); do
		rm -f "$run/fl-result" "$img/lazy-pages.log"
		"$CRIU" restore -D "$img" -d --lazy-pages --pidfile "$run/pid" -o "$run/fl-$rep.log" -v4 || exit 1
		kill -USR1 "$pid"
		res=$(verdict "$run/fl-result")
		st=$(daemon_stats "$img")
		gone "$pid"
		cp "$img/lazy-pages.log" "$run/fl-lazy-pages-$rep.log"
		echo "| $rep | $(echo "$res" | field faults) | $(echo "$res" | field fault_p50_us) | $(echo "$res" | field fault_p99_us) | $(echo "$res" | field fault_max_us) | $(echo "$st" | field faults) | $(echo "$st" | field lat_p50_us) | $(echo "$st" | field lat_p99_us) | $(echo "$st" | field pages) | ${res%% *} |"
	done | tee -a "$run/table.md"
	# the same over loopback TCP: pages from `criu page-server` on 127.0.0.1
	# the restore side has every image but the pages (local ones would be read locally)
	rm -rf "$img.remote" && mkdir -p "$img.remote"
	for f in "$img"/*.img; do
		case $f in */pages-*) ;; *) cp "$f" "$img.remote/" ;; esac
	done
	modes=token
	certs "$run/certs" && modes="token tls"
	for mode in $modes; do
	{
	echo
	echo "Over loopback TCP (criu page-server on 127.0.0.1, $mode):"
	echo
	echo "| run | program: faulted touches | p50 us | p99 us | max us | daemon: faults | p50 us | p99 us | pages in when it exited | verified |"
	echo "|---|---|---|---|---|---|---|---|---|---|"
	} | tee -a "$run/table.md"
	for rep in $(seq "$REPS"); do
		rm -f "$run/fl-result" "$img.remote/lazy-pages.log"
		port=$(( 20000 + RANDOM % 20000 ))
		"$CRIU" page-server -D "$img" --address 127.0.0.1 --port "$port" $(sec "$mode" srv) \
			-o "$run/ps-$mode-$rep.log" < /dev/null > /dev/null 2>&1 &
		sp=$!
		[ "$mode" = tls ] || token "$img" "$img.remote"
		"$CRIU" restore -D "$img.remote" -d --lazy-pages --page-server --address 127.0.0.1 --port "$port" \
			$(sec "$mode" cli) --pidfile "$run/pid" -o "$run/flr-$rep.log" -v4 || exit 1
		kill -USR1 "$pid"
		res=$(verdict "$run/fl-result")
		st=$(daemon_stats "$img.remote")
		gone "$pid"
		wait "$sp"
		echo "| $rep | $(echo "$res" | field faults) | $(echo "$res" | field fault_p50_us) | $(echo "$res" | field fault_p99_us) | $(echo "$res" | field fault_max_us) | $(echo "$st" | field faults) | $(echo "$st" | field lat_p50_us) | $(echo "$st" | field lat_p99_us) | $(echo "$st" | field pages) | ${res%% *} |"
	done | tee -a "$run/table.md"
	done
	rm -rf "$img" "$img.remote"
	for mode in $modes; do
		postcopy "$MIB" "$run" "$mode"
	done
	{ echo; echo "## lazy restore, $MIB MiB"; echo; cat "$run/table.md"; } >> "$OUT/results.md"
done

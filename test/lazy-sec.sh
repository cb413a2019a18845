# test/lazy-sec.sh - the page server's safety checks, part of the lazy
# section (listed in test/lazy.sh's LAZY_CHECKS; sourced by run.sh).  A
# peer without the token (or the certificate) is played by ps_attack
# below, speaking the protocol as version 3 (no authentication) and as
# versions 4 and 5 with a guessed token.
#   ps_unpriv    `criu page-server` with no --address: it listens on
#                127.0.0.1 only, its token is 0600; a user (nobody) who
#                cannot read the token gets no page of the dumped program
#                with any hello; the real restore then runs
#   ps_stray_bye during a post-copy dump, a peer without the token says
#                PS_BYE: the dump logs and ignores it (source still
#                frozen, dump still serving); the real restore completes
#   ps_garbage   a hello then close, half a request, a read of an address
#                not in the images, an unknown op, random bytes, then 200
#                connections at once: the page server is alive after each
#                and serves the real restore
#   ps_idle      200 idle connections and 2 half-sent hellos held open
#                through a lazy restore whose pages are still arriving
#                when the program runs: it passes within 5 s
#   ps_silent    a server that accepts and never answers: restore fails
#                within 15 s with a line saying so, nothing left running;
#                then a page server stopped (SIGSTOP) while a lazily
#                restored program still needs pages: the program is
#                killed and restore fails, within 45 s
#   tls          certificates made with certtool (a CA, the server's for
#                127.0.0.1, the client's; another CA): a post-copy
#                migration over TLS on every connection (no token file
#                anywhere), then a page server with --tls refusing a
#                client that trusts another CA and one whose certificate
#                another CA signed, and serving the right one

# ps_attack MODE PORT [PID]: a peer without the token, on 127.0.0.1:PORT
#   read   asks for PID's map with each hello; prints "leaked N" (bytes of
#          page data or map it got) and whether it could read DIR/ps-token
#          (TOKEN=path)
#   bye    says PS_BYE with each hello
#   garbage  the bad clients of ps_garbage, then 200 connections at once
#   hold   200 idle connections and 2 half hellos, held until killed
ps_attack() {
	python3 - "$@" <<'PY'
import os, socket, struct, sys, time
mode, port = sys.argv[1], int(sys.argv[2])
pid = int(sys.argv[3]) if len(sys.argv) > 3 else 0
MAGIC = 0x53504c43
HELLOS = [struct.pack("<II", MAGIC, 3), struct.pack("<IIII32s", MAGIC, 4, 0, 0, bytes(32)),
          struct.pack("<IIII32sQ", MAGIC, 5, 0, 0, bytes(32), 0)]
def req(op, pid=0, addr=0, ln=0):
    return struct.pack("<IIQQ", op, pid, addr, ln)
def conn():
    s = socket.create_connection(("127.0.0.1", port), timeout=3)
    return s
def recv_n(s, n):
    b = b""
    while len(b) < n:
        d = s.recv(n - len(b))
        if not d:
            break
        b += d
    return b
def greet(s, h):
    s.sendall(h)
    head = recv_n(s, 8)
    if len(head) < 8:
        return False
    magic, ver = struct.unpack("<II", head)
    if ver >= 4:
        n = 40 if ver == 4 else 48
        rest = recv_n(s, n)
        if len(rest) < n or struct.unpack_from("<I", rest)[0] != 0:
            return False
    return magic == MAGIC
if mode == "read":
    tok = os.environ.get("TOKEN", "")
    try:
        open(tok).read()
        print("token readable", flush=True)
    except OSError as e:
        print("token unreadable:", e.strerror, flush=True)
    leaked = 0
    for h in HELLOS:
        try:
            s = conn()
            if greet(s, h):
                s.sendall(req(1, pid))
                rp = recv_n(s, 24)
                if len(rp) == 24:
                    st, fl, ln, x = struct.unpack("<IIQQ", rp)
                    if st == 0:
                        leaked += len(recv_n(s, min(ln, 1 << 20)))
            s.close()
        except OSError as e:
            print("hello", h[4], ":", e, flush=True)
    print("leaked", leaked, flush=True)
elif mode == "bye":
    for h in HELLOS:
        try:
            s = conn()
            s.sendall(h + req(3))
            time.sleep(0.3)
            s.close()
        except OSError as e:
            print("bye:", e, flush=True)
    print("said bye", flush=True)
elif mode == "garbage":
    def alive():
        s = conn(); s.close()
    steps = [
        ("hello then close", lambda s: s.sendall(HELLOS[0])),
        ("half a request", lambda s: s.sendall(HELLOS[0] + req(2, pid)[:10])),
        ("half a v4 hello", lambda s: s.sendall(HELLOS[1][:20])),
        ("read not in the images", lambda s: s.sendall(HELLOS[0] + req(2, pid, 0x1000, 4096))),
        ("unknown op", lambda s: s.sendall(HELLOS[0] + req(99, pid))),
        ("v4 unknown op", lambda s: s.sendall(HELLOS[1] + req(99, pid))),
        ("v5 unknown op", lambda s: s.sendall(HELLOS[2] + req(99, pid))),
        ("random bytes", lambda s: s.sendall(os.urandom(100))),
    ]
    for name, f in steps:
        s = conn()
        f(s)
        time.sleep(0.2)
        s.close()
        time.sleep(0.1)
        alive()
        print("alive after", name, flush=True)
    many = []
    for i in range(200):
        many.append(conn())
    for s in many:
        s.sendall(HELLOS[0])
    time.sleep(0.5)
    for s in many:
        s.close()
    time.sleep(0.3)
    alive()
    print("alive after 200 connections", flush=True)
elif mode == "hold":
    held = [conn() for i in range(200)]
    a = conn(); a.sendall(HELLOS[1][:20]); held.append(a)
    b = conn(); b.sendall(HELLOS[0] + req(2, pid)[:10]); held.append(b)
    print("holding", len(held), flush=True)
    time.sleep(120)
PY
}

# ps_server DIR IMG [ADDRESS]: `criu page-server` on IMG (PORT, SP); its token copied to DIR/dst
ps_server() {
	local dir=$1 img=$2 addr=${3:-127.0.0.1}
	PORT=$(test_port 8)
	if [ "$addr" = none ]; then
		"$CRIU" page-server -D "$img" --port "$PORT" -v4 -o "$dir/page-server.log" \
			> /dev/null 2>&1 < /dev/null &
	else
		"$CRIU" page-server -D "$img" --address "$addr" --port "$PORT" -v4 \
			-o "$dir/page-server.log" > /dev/null 2>&1 < /dev/null &
	fi
	SP=$!
	track "$SP"
	wait_for 5 bash -c "ss -ltn | grep -q ':$PORT '"
}

# ps_restore DIR PID: the real lazy restore from the page server at PORT, finished; 0 or reported
ps_restore() {
	local dir=$1 pid=$2
	copy_meta "$dir/img" "$dir/dst"
	copy_token "$dir/img" "$dir/dst"
	RESTORE_EXTRA=(--lazy-pages --page-server --address 127.0.0.1 --port "$PORT")
	restore_bg "$dir" "$dir/dst"
	await_restored "$dir" "$pid" "$TAGNAME" || return 1
	finish "$dir" "$TAGNAME" "$pid" || return 1
	if ! wait_for 10 bash -c "! kill -0 $SP 2>/dev/null"; then
		result FAIL "FAIL $TAGNAME: the page server still runs after the restore"
		return 1
	fi
	wait "$SP" || { result FAIL "FAIL $TAGNAME: page-server failed: $(criu_error "$dir/page-server.log")"; return 1; }
	return 0
}

lazy_ps_unpriv() {
	local dir=$1 pid out mode
	command -v python3 > /dev/null || { result SKIP "SKIP $TAGNAME: no python3"; return; }
	lazy_dump anon_pattern "$dir" || return
	pid=$PID
	chmod 755 "$dir" "$dir/img"
	ps_server "$dir" "$dir/img" none || { result FAIL "FAIL $TAGNAME: page-server not listening: $(criu_error "$dir/page-server.log")"; return; }
	mode=$(stat -c %a "$dir/img/ps-token" 2>/dev/null)
	out=$(TOKEN=$dir/img/ps-token setpriv --reuid=nobody --regid=nogroup --clear-groups \
		bash -c "$(declare -f ps_attack); ps_attack read $PORT $pid" 2>&1)
	echo "$out" > "$dir/attack.log"
	if ! grep -q '^leaked 0$' <<< "$out"; then
		result FAIL "FAIL $TAGNAME: an unprivileged user read the program's memory: $(tr '\n' ' ' <<< "$out")"
	elif ! ss -ltn | grep -q "127.0.0.1:$PORT "; then
		result FAIL "FAIL $TAGNAME: with no --address the page server does not listen on 127.0.0.1 only: $(ss -ltn | grep ":$PORT " | tr -s ' ')"
	elif [ "$mode" != 600 ]; then
		result FAIL "FAIL $TAGNAME: the token's mode is ${mode:-(no token)}, not 600"
	elif ! grep -q 'token unreadable' <<< "$out"; then
		result FAIL "FAIL $TAGNAME: nobody could read the token: $out"
	elif ! grep -q 'refused: wrong token\|speaks version 3' "$dir/page-server.log"; then
		result FAIL "FAIL $TAGNAME: the page server did not log the refusals"
	elif ps_restore "$dir" "$pid"; then
		result PASS "PASS $TAGNAME"
	fi
}

lazy_ps_stray_bye() {
	local dir=$1 pid out
	have_pidns || { result SKIP "SKIP $TAGNAME: cannot create a pid namespace (unshare --pid)"; return; }
	command -v python3 > /dev/null || { result SKIP "SKIP $TAGNAME: no python3"; return; }
	postcopy_dump "$dir" || return
	pid=$PID
	out=$(ps_attack bye "$PORT" 2>&1)
	sleep 0.5
	if ! alive "$DPID"; then
		wait "$DPID"
		result FAIL "FAIL $TAGNAME: a stray PS_BYE ended the post-copy dump (status $?): $(criu_error "$dir/dump.log")"
		return
	fi
	if ! alive "$pid" || [ "$(proc_state "$pid")" != t ]; then
		result FAIL "FAIL $TAGNAME: the source is not kept frozen after a stray PS_BYE ($(proc_state "$pid"))"
		return
	fi
	if ! grep -q 'refused: wrong token\|speaks version 3' "$dir/dump.log"; then
		result FAIL "FAIL $TAGNAME: the dump did not log the stray client"
		return
	fi
	export CRIU_LAZY_BG_DELAY_US=200
	postcopy_run "$dir" "$PORT" || return
	if [ "$RST" -ne 0 ] || ! grep -q '^PASS$' "$dir/test.log"; then
		result FAIL "FAIL $TAGNAME: restore exited with $RST: $(log_tail "$dir/test.log") $(criu_error "$dir/restore.log")"
	elif [ "$DST" -ne 0 ] || ! grep -q 'the restore is complete' "$dir/dump.log"; then
		result FAIL "FAIL $TAGNAME: dump --lazy-pages exited with $DST: $(criu_error "$dir/dump.log")"
	elif alive "$pid"; then
		result FAIL "FAIL $TAGNAME: the source $pid still exists after the migration"
	else
		result PASS "PASS $TAGNAME"
	fi
}

lazy_ps_garbage() {
	local dir=$1 pid out
	command -v python3 > /dev/null || { result SKIP "SKIP $TAGNAME: no python3"; return; }
	lazy_dump anon_pattern "$dir" || return
	pid=$PID
	ps_server "$dir" "$dir/img" || { result FAIL "FAIL $TAGNAME: page-server not listening"; return; }
	out=$(ps_attack garbage "$PORT" "$pid" 2>&1)
	echo "$out" > "$dir/attack.log"
	if ! alive "$SP"; then
		result FAIL "FAIL $TAGNAME: the page server died: $(grep -c 'alive after' <<< "$out") steps survived, then: $(tail -1 <<< "$out" | cut -c1-150); $(criu_error "$dir/page-server.log")"
	elif ! grep -q 'alive after 200 connections' <<< "$out"; then
		result FAIL "FAIL $TAGNAME: $(tail -1 <<< "$out" | cut -c1-200)"
	else
		export CRIU_LAZY_BG_DELAY_US=200
		ps_restore "$dir" "$pid" && result PASS "PASS $TAGNAME"
	fi
}

lazy_ps_idle() {
	local dir=$1 pid hp t0 t1
	command -v python3 > /dev/null || { result SKIP "SKIP $TAGNAME: no python3"; return; }
	lazy_dump anon_pattern "$dir" || return
	pid=$PID
	ps_server "$dir" "$dir/img" || { result FAIL "FAIL $TAGNAME: page-server not listening"; return; }
	ps_attack hold "$PORT" "$pid" > "$dir/attack.log" 2>&1 &
	hp=$!
	track "$hp"
	wait_for 5 grep -q holding "$dir/attack.log" || { result FAIL "FAIL $TAGNAME: could not open the idle connections: $(log_tail "$dir/attack.log")"; return; }
	# pages still arriving while the program checks them
	export CRIU_LAZY_BG_DELAY_US=2000
	t0=$(date +%s%N)
	if ps_restore "$dir" "$pid"; then
		t1=$(( ($(date +%s%N) - t0) / 1000000 ))
		echo "restore with 202 idle connections: $t1 ms" > "$dir/time"
		if [ "$t1" -gt 5000 ]; then
			result FAIL "FAIL $TAGNAME: the restore took $t1 ms with idle connections open"
		else
			result PASS "PASS $TAGNAME"
		fi
	fi
	kill "$hp" 2> /dev/null
}

lazy_ps_silent() {
	local dir=$1 pid sp st t0 t1 hp
	command -v python3 > /dev/null || { result SKIP "SKIP $TAGNAME: no python3"; return; }
	lazy_dump anon_256m "$dir" || return
	pid=$PID
	PORT=$(test_port 8)
	python3 -c "
import socket, sys, time
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(('127.0.0.1', int(sys.argv[1]))); ls.listen(8); held = []
while True:
    held.append(ls.accept()[0])
" "$PORT" > /dev/null 2>&1 &
	sp=$!
	track "$sp"
	wait_for 5 bash -c "ss -ltn | grep -q ':$PORT '"
	copy_meta "$dir/img" "$dir/dst"
	# a token of the right form: the silence, not the word, is what is tested
	printf '%064d\n' 0 > "$dir/dst/ps-token"
	chmod 600 "$dir/dst/ps-token"
	RESTORE_EXTRA=(--lazy-pages --page-server --address 127.0.0.1 --port "$PORT")
	t0=$(date +%s)
	restore_bg "$dir" "$dir/dst"
	if ! wait_for 15 bash -c "! kill -0 $RPID 2>/dev/null"; then
		result FAIL "FAIL $TAGNAME: restore still waits on a silent server after 15 s"
		kill "$sp"
		return
	fi
	wait "$RPID"; st=$?
	# (the daemon gives up on the hello as restore gives up on the daemon: its line may follow)
	wait_for 8 grep -q 'no answer to hello' "$dir/restore.log" "$dir/dst/lazy-pages.log"
	kill "$sp"
	if [ $st -eq 0 ]; then
		result FAIL "FAIL $TAGNAME: restore exited 0 with a silent server"
		return
	elif ! grep -q 'no answer to hello' "$dir/restore.log" "$dir/dst/lazy-pages.log"; then
		result FAIL "FAIL $TAGNAME: restore did not say why: $(criu_error "$dir/restore.log")"
		return
	elif alive "$pid"; then
		result FAIL "FAIL $TAGNAME: pid $pid runs"
		return
	fi
	# the daemon's side: the server goes silent while pages are still needed
	rm -rf "$dir/dst"
	ps_server "$dir" "$dir/img" || { result FAIL "FAIL $TAGNAME: page-server not listening"; return; }
	copy_meta "$dir/img" "$dir/dst"
	copy_token "$dir/img" "$dir/dst"
	export CRIU_LAZY_BG_DELAY_US=20000
	RESTORE_EXTRA=(--lazy-pages --page-server --address 127.0.0.1 --port "$PORT")
	restore_bg "$dir" "$dir/dst"
	await_restored "$dir" "$pid" "$TAGNAME" || return
	kill -STOP "$SP"
	kill -USR1 "$pid"
	t0=$(date +%s)
	if ! wait_for 45 bash -c "! kill -0 $RPID 2>/dev/null"; then
		result FAIL "FAIL $TAGNAME: restore still waits on a stopped page server after 45 s"
		kill -KILL "$SP" "$pid"
		return
	fi
	wait "$RPID"; st=$?
	t1=$(( $(date +%s) - t0 ))
	kill -KILL "$SP"
	if grep -q '^PASS$' "$dir/test.log"; then
		result FAIL "FAIL $TAGNAME: the program passed without its pages (all in before the stop?)"
	elif grep -q '^FAIL' "$dir/test.log"; then
		result FAIL "FAIL $TAGNAME: the program ran on bad memory: $(grep -m1 '^FAIL' "$dir/test.log")"
	elif [ $st -eq 0 ]; then
		result FAIL "FAIL $TAGNAME: restore exited 0 though the page server went silent"
	elif alive "$pid"; then
		result FAIL "FAIL $TAGNAME: pid $pid still runs on a silent page server"
	elif ! grep -q 'no reply for' "$dir/dst/lazy-pages.log"; then
		result FAIL "FAIL $TAGNAME: the daemon did not say the server went silent: $(log_tail "$dir/dst/lazy-pages.log")"
	else
		echo "silent page server: restore failed after $t1 s" > "$dir/time"
		result PASS "PASS $TAGNAME"
	fi
}

# tls_certs DIR: DIR/ca.pem, server.pem/key (127.0.0.1), client.pem/key, and
# other-ca.pem, other-client.pem/key (signed by another CA)
tls_certs() {
	local d=$1 ca pair n by t
	mkdir -p "$d"
	cat > "$d/ca.tmpl" <<-T
	cn = "criu test CA"
	ca
	cert_signing_key
	crl_signing_key
	expiration_days = 2
	T
	cat > "$d/server.tmpl" <<-T
	cn = "127.0.0.1"
	ip_address = "127.0.0.1"
	tls_www_server
	expiration_days = 2
	T
	cat > "$d/client.tmpl" <<-T
	cn = "criu test client"
	tls_www_client
	expiration_days = 2
	T
	for ca in ca other-ca; do
		certtool --generate-privkey --key-type=ecdsa --outfile "$d/$ca-key.pem" &&
		certtool --generate-self-signed --load-privkey "$d/$ca-key.pem" --template "$d/ca.tmpl" \
			--outfile "$d/$ca.pem" || return 1
	done
	for pair in server:ca client:ca other-client:other-ca; do
		n=${pair%%:*} by=${pair#*:} t=${pair%%:*}
		[ "$t" = other-client ] && t=client
		certtool --generate-privkey --key-type=ecdsa --outfile "$d/$n-key.pem" &&
		certtool --generate-certificate --load-privkey "$d/$n-key.pem" --load-ca-certificate "$d/$by.pem" \
			--load-ca-privkey "$d/$by-key.pem" --template "$d/$t.tmpl" --outfile "$d/$n.pem" || return 1
	done 
} > /dev/null 2>&1

lazy_tls() {
	local dir=$1 pid c=$1/certs st srv cli
	command -v certtool > /dev/null || { result SKIP "SKIP $TAGNAME: no certtool (gnutls-bin)"; return; }
	have_pidns || { result SKIP "SKIP $TAGNAME: cannot create a pid namespace (unshare --pid)"; return; }
	tls_certs "$c" || { result FAIL "FAIL $TAGNAME: certtool could not make the certificates"; return; }
	srv=(--tls --tls-cacert "$c/ca.pem" --tls-cert "$c/server.pem" --tls-key "$c/server-key.pem")
	cli=(--tls --tls-cacert "$c/ca.pem" --tls-cert "$c/client.pem" --tls-key "$c/client-key.pem")
	# post-copy over TLS: the dump's server, the restore's fetch, the daemon's two connections
	start_prog anon_pattern "$dir" || { result FAIL "FAIL $TAGNAME: anon_pattern did not start"; return; }
	pid=$PID
	wait_for 5 in_sigwait "$pid"
	PORT=$(test_port 8)
	"$CRIU" dump -t "$pid" -D "$dir/img" --lazy-pages --address 127.0.0.1 --port "$PORT" "${srv[@]}" \
		-v4 -o "$dir/dump.log" > /dev/null 2>&1 < /dev/null &
	DPID=$!
	track "$DPID"
	if ! wait_for 20 bash -c "[ -e '$dir/img/inventory.img' ] || ! kill -0 $DPID 2>/dev/null" ||
	   ! wait_for 5 bash -c "ss -ltn | grep -q '127.0.0.1:$PORT '"; then
		result FAIL "FAIL $TAGNAME: dump --lazy-pages --tls is not serving: $(criu_error "$dir/dump.log")"
		return
	fi
	copy_meta "$dir/img" "$dir/dst"
	export CRIU_LAZY_BG_DELAY_US=200
	RESTORE_EXTRA=(--lazy-pages --page-server --address 127.0.0.1 --port "$PORT" "${cli[@]}")
	restore_ns "$dir" "$dir/dst"
	await_ns_restored "$dir" || return
	kill -USR1 "$HPID"
	wait "$RPID"; st=$?
	wait "$DPID"; DST=$?
	if [ $st -ne 0 ] || ! grep -q '^PASS$' "$dir/test.log"; then
		result FAIL "FAIL $TAGNAME: restore over TLS exited with $st: $(log_tail "$dir/test.log") $(criu_error "$dir/restore.log") $(criu_error "$dir/dst/lazy-pages.log")"
		return
	elif [ "$DST" -ne 0 ] || alive "$pid"; then
		result FAIL "FAIL $TAGNAME: dump --lazy-pages --tls exited with $DST: $(criu_error "$dir/dump.log")"
		return
	elif [ -e "$dir/img/ps-token" ] || [ -e "$dir/dst/ps-token" ]; then
		result FAIL "FAIL $TAGNAME: a token file was made with --tls"
		return
	elif ! grep -q 'a client (TLS)' "$dir/dump.log"; then
		result FAIL "FAIL $TAGNAME: the dump did not log its TLS clients"
		return
	fi
	# a page server with --tls: clients of the wrong CA are refused, the right one served
	rm -rf "$dir/img" "$dir/dst" "$dir/test.log"
	lazy_dump anon_pattern "$dir" || return
	pid=$PID
	PORT=$(test_port 8)
	"$CRIU" page-server -D "$dir/img" --address 127.0.0.1 --port "$PORT" "${srv[@]}" -v4 \
		-o "$dir/page-server.log" > /dev/null 2>&1 < /dev/null &
	SP=$!
	track "$SP"
	wait_for 5 bash -c "ss -ltn | grep -q ':$PORT '"
	copy_meta "$dir/img" "$dir/dst"
	local bad=(--tls --tls-cacert "$c/other-ca.pem" --tls-cert "$c/client.pem" --tls-key "$c/client-key.pem")
	local bad2=(--tls --tls-cacert "$c/ca.pem" --tls-cert "$c/other-client.pem" --tls-key "$c/other-client-key.pem")
	local n=0 args
	for args in bad bad2; do
		local -n a=$args
		n=$(( n + 1 ))
		"$CRIU" restore -D "$dir/dst" --lazy-pages --page-server --address 127.0.0.1 --port "$PORT" \
			"${a[@]}" -v4 -o "$dir/restore-bad$n.log" > "$dir/restore-bad$n.out" 2>&1 < /dev/null
		st=$?
		if [ $st -eq 0 ] || alive "$pid"; then
			result FAIL "FAIL $TAGNAME: a client with $args certificates was served"
			return
		elif ! grep -q 'certificate is refused\|TLS handshake failed' "$dir/restore-bad$n.log" "$dir/dst/lazy-pages.log"; then
			result FAIL "FAIL $TAGNAME: the refused client ($args) did not say why: $(criu_error "$dir/restore-bad$n.log")"
			return
		fi
	done
	if ! alive "$SP"; then
		result FAIL "FAIL $TAGNAME: the page server died of a refused client: $(criu_error "$dir/page-server.log")"
		return
	fi
	RESTORE_EXTRA=(--lazy-pages --page-server --address 127.0.0.1 --port "$PORT" "${cli[@]}")
	restore_bg "$dir" "$dir/dst"
	await_restored "$dir" "$pid" "$TAGNAME" || return
	finish "$dir" "$TAGNAME" "$pid" || return
	wait "$SP" || { result FAIL "FAIL $TAGNAME: page-server --tls failed: $(criu_error "$dir/page-server.log")"; return; }
	result PASS "PASS $TAGNAME"
}

# Top-level build.  `make` builds criu/criu; `make test` runs the test suite;
# `make bench` runs the benchmarks.
CC      ?= gcc
CFLAGS  ?= -O2 -g
CFLAGS  += -MMD -MP -std=gnu11 -Wall -Wextra -Werror=implicit-function-declaration \
	   -D_GNU_SOURCE -I.
LDLIBS  := -lprotobuf-c -lxxhash -ljson-c -lcap -lpthread -lgnutls
# network: inet_diag and network namespaces through libnl, the network
# lock and namespace rulesets through libnftables
CFLAGS  += -I/usr/include/libnl3
LDLIBS  += -lnl-route-3 -lnl-3 -lnftables

PROTOS      := $(wildcard images/*.proto)
PROTO_C     := $(PROTOS:.proto=.pb-c.c)
PROTO_H     := $(PROTOS:.proto=.pb-c.h)

COMMON_SRC  := $(wildcard common/*.c)
IMAGES_SRC  := $(filter-out %.pb-c.c,$(wildcard images/*.c))
# every folder of criu/ but the restorer (pie/, built apart below)
CRIU_SRC    := $(filter-out criu/pie/%,$(wildcard criu/*.c criu/*/*.c))
# the page-server protocol (client, server loop, `criu page-server`), below
# both the lazy-pages daemon and criu
PAGEXFER_SRC := $(wildcard pagexfer/*.c)
LAZY_SRC    := $(wildcard lazy-pages/*.c)
SRC         := $(COMMON_SRC) $(IMAGES_SRC) $(PROTO_C) $(CRIU_SRC) $(PAGEXFER_SRC) $(LAZY_SRC)
OBJ         := $(SRC:.c=.o)

# The restorer: freestanding, position-independent, no libc, embedded as a blob.
PIE_SRC     := $(wildcard criu/pie/*.c)
PIE_OBJ     := $(PIE_SRC:.c=.pie.o)
DEPS        := $(OBJ:.o=.d) $(PIE_OBJ:.o=.d)
PIE_CFLAGS  := -MMD -MP -std=gnu11 -O2 -Wall -Wextra -fpie -ffreestanding -nostdlib \
	       -fno-stack-protector -fno-asynchronous-unwind-tables -fno-unwind-tables \
	       -fno-jump-tables -fno-builtin -fno-plt -fcf-protection=none \
	       -fvisibility=hidden -mno-red-zone -mgeneral-regs-only -I.

TEST_LIB    := $(wildcard test/lib/*.c)
TEST_SRC    := $(wildcard test/progs/*.c)
TEST_BIN    := $(TEST_SRC:.c=)
# the tests' image editor (test/tools/img-edit.c)
TEST_TOOLS  := test/tools/img-edit

.PHONY: all clean test bench demo deps fuzz fuzzers asan install uninstall
all: criu/criu $(TEST_BIN) $(TEST_TOOLS) test/rpc/rpc-client lib/libcriu.a test/rpc/libcriu-test \
	lib/libcriu.so test/rpc/libcriu-test-so test/rpc/ctr-counter test/rpc/ctr-tcp-echo test/rpc/libcriu-drive

images/%.pb-c.c images/%.pb-c.h: images/%.proto
	protoc-c --proto_path=images --c_out=images $<

# every object waits for the generated protobuf headers; the headers each
# object includes are tracked by the compiler (-MMD: the .d files below)
$(OBJ): | $(PROTO_H)

%.o: %.c
	$(CC) $(CFLAGS) -c -o $@ $<

images/%.pb-c.o: images/%.pb-c.c
	$(CC) $(CFLAGS) -Wno-unused-parameter -c -o $@ $<

criu/pie/%.pie.o: criu/pie/%.c
	$(CC) $(PIE_CFLAGS) -c -o $@ $<

criu/pie/restorer.elf: $(PIE_OBJ) criu/pie/restorer.lds
	$(CC) -nostdlib -static -Wl,--no-dynamic-linker -Wl,-T,criu/pie/restorer.lds \
		-Wl,--build-id=none -o $@ $(PIE_OBJ)
	@if readelf -r $@ | grep -q 'R_X86'; then echo "restorer has relocations" >&2; rm -f $@; exit 1; fi

criu/pie/restorer.bin: criu/pie/restorer.elf
	objcopy -O binary $< $@

criu/pie/blob.o: criu/pie/blob.S criu/pie/restorer.bin
	$(CC) -c -o $@ $<

criu/criu: $(OBJ) criu/pie/blob.o
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

test/progs/%: test/progs/%.c $(TEST_LIB) $(wildcard test/lib/*.h)
	$(CC) -std=gnu11 -O1 -g -Wall -Wextra -D_GNU_SOURCE -mavx2 -I. -o $@ $< $(TEST_LIB) -lm -lpthread
# keyring_thread.c is keyring_process.c built with IN_THREAD 1
test/progs/keyring_thread: test/progs/keyring_process.c

test/tools/img-edit: test/tools/img-edit.c common/log.o images/image.o $(PROTO_C:.c=.o)
	$(CC) $(CFLAGS) -o $@ $^ -lprotobuf-c -lxxhash

# the RPC test client (test/rpc.sh)
test/rpc/rpc-client: test/rpc/rpc-client.c images/rpc.pb-c.o
	$(CC) $(CFLAGS) -Wno-unused-parameter -o $@ $^ -lprotobuf-c

# the program of the container tests (test/rpc-ctr.sh): static, for a busybox rootfs
test/rpc/ctr-counter: test/rpc/ctr-counter.c
	$(CC) -std=gnu11 -O1 -Wall -Wextra -static -o $@ $<

# the TCP echo server of test/progs/tcp_echo.c, static, for the same rootfs
# (rpc/podman_tcp: a container with a connection from the host)
test/rpc/ctr-tcp-echo: test/progs/tcp_echo.c $(TEST_LIB) $(wildcard test/lib/*.h)
	$(CC) -std=gnu11 -O1 -Wall -Wextra -D_GNU_SOURCE -I. -static -o $@ $< $(TEST_LIB) -lpthread

# libcriu: a C client of criu swrk with libcriu's names (lib/criu.h); users
# link lib/libcriu.a -lprotobuf-c
lib/libcriu.o lib/libcriu-ns.o: lib/libcriu-opts.h lib/criu.h images/rpc.pb-c.h
lib/libcriu.a: lib/libcriu.o lib/libcriu-ns.o images/rpc.pb-c.o
	$(AR) rcs $@ $^
test/rpc/libcriu-test: test/rpc/libcriu-test.c lib/libcriu.a
	$(CC) $(CFLAGS) -Ilib -o $@ $^ -lprotobuf-c
# criu's dump and restore command line through libcriu's setters (mntns/runc_libcriu)
test/rpc/libcriu-drive: test/rpc/libcriu-drive.c lib/libcriu.a
	$(CC) $(CFLAGS) -o $@ $^ -lprotobuf-c

# libcriu.so.2 (upstream libcriu's soname): the same library, shared; only
# libcriu's names are exported (lib/libcriu.map), not the protobuf code
lib/%.pic.o: lib/%.c lib/libcriu-opts.h lib/criu.h images/rpc.pb-c.h
	$(CC) $(CFLAGS) -fPIC -c -o $@ $<
images/rpc.pb-c.pic.o: images/rpc.pb-c.c images/rpc.pb-c.h
	$(CC) $(CFLAGS) -fPIC -Wno-unused-parameter -c -o $@ $<
lib/libcriu.so.2: lib/libcriu.pic.o lib/libcriu-ns.pic.o images/rpc.pb-c.pic.o lib/libcriu.map
	$(CC) -shared -Wl,-soname,libcriu.so.2 -Wl,--version-script=lib/libcriu.map -o $@ \
		$(filter %.o,$^) -lprotobuf-c
lib/libcriu.so: lib/libcriu.so.2
	ln -sf libcriu.so.2 $@
# the same test program, linked with the shared library
test/rpc/libcriu-test-so: test/rpc/libcriu-test.c lib/libcriu.so
	$(CC) $(CFLAGS) -Ilib -o $@ $< -Llib -lcriu -Wl,-rpath,$(CURDIR)/lib

# make install [PREFIX=/usr/local] [DESTDIR=]: criu into sbin, where runc and
# podman look for it, and its man page (made with go-md2man)
PREFIX  ?= /usr/local
SBINDIR := $(PREFIX)/sbin
MAN8DIR := $(PREFIX)/share/man/man8

Documentation/criu.8: Documentation/criu.md
	sed '1s/^# criu(8)$$/% CRIU 8/' $< | go-md2man -out $@

install: criu/criu Documentation/criu.8 lib/libcriu.a lib/libcriu.so.2
	install -D -m 0755 criu/criu $(DESTDIR)$(SBINDIR)/criu
	install -D -m 0644 Documentation/criu.8 $(DESTDIR)$(MAN8DIR)/criu.8
	install -D -m 0644 lib/libcriu.a $(DESTDIR)$(PREFIX)/lib/libcriu.a
	install -D -m 0755 lib/libcriu.so.2 $(DESTDIR)$(PREFIX)/lib/libcriu.so.2
	ln -sf libcriu.so.2 $(DESTDIR)$(PREFIX)/lib/libcriu.so
	install -D -m 0644 lib/criu.h $(DESTDIR)$(PREFIX)/include/criu/criu.h

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/criu $(DESTDIR)$(MAN8DIR)/criu.8 \
		$(DESTDIR)$(PREFIX)/lib/libcriu.a $(DESTDIR)$(PREFIX)/lib/libcriu.so.2 \
		$(DESTDIR)$(PREFIX)/lib/libcriu.so $(DESTDIR)$(PREFIX)/include/criu/criu.h
	-rmdir $(DESTDIR)$(PREFIX)/include/criu 2>/dev/null

# test and demo install what is missing first, so that on a fresh machine
# `make demo` and `make test` are all it takes
deps:
	@bash scripts/install-deps.sh

test: deps
	$(MAKE) all fuzzers
	bash test/run.sh

# libFuzzer harnesses (fuzz/*.c, clang from Debian): `make fuzz` runs each
# for FUZZ_TIME seconds (test/run.sh's fuzz section: a few seconds each)
FUZZ_CC     ?= clang
FUZZ_TIME   ?= 60
FUZZ_FLAGS  := -g -O1 -std=gnu11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
	       -fno-sanitize-recover=undefined -I.
FUZZERS     := fuzz/out/fuzz-images fuzz/out/fuzz-lazy-sock fuzz/out/fuzz-page-server fuzz/out/fuzz-pagemap-entry
fuzz/out/fuzz-images: fuzz/fuzz-images.c images/image.c images/pbjson.c common/log.c $(PROTO_C) | $(PROTO_H)
	@mkdir -p fuzz/out
	$(FUZZ_CC) $(FUZZ_FLAGS) -Wno-unused-parameter -o $@ $(filter %.c,$^) -lprotobuf-c -lxxhash -ljson-c
# the pagemap's own decoder against protobuf-c
fuzz/out/fuzz-pagemap-entry: fuzz/fuzz-pagemap-entry.c images/pagemap-entry.c images/pagemap.pb-c.c | $(PROTO_H)
	@mkdir -p fuzz/out
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $(filter %.c,$^) -lprotobuf-c
fuzz/out/fuzz-lazy-sock: fuzz/fuzz-lazy-sock.c lazy-pages/sock.c common/log.c
	@mkdir -p fuzz/out
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^
# the page server's loop as a client reaches it (pagexfer/)
fuzz/out/fuzz-page-server: fuzz/fuzz-page-server.c pagexfer/ps-serve.c pagexfer/ps-auth.c pagexfer/ps-io.c pagexfer/ps-tls.c \
		images/pages.c images/pagemap-entry.c images/image.c common/log.c $(PROTO_C) | $(PROTO_H)
	@mkdir -p fuzz/out
	$(FUZZ_CC) $(FUZZ_FLAGS) -Wno-unused-parameter -o $@ $(filter %.c,$^) -lprotobuf-c -lxxhash -lgnutls -lpthread
fuzzers: $(FUZZERS)
fuzz: deps
	$(MAKE) fuzzers
	bash fuzz/run.sh $(FUZZ_TIME)

# criu built with ASan and UBSan (the restorer blob without: PIE_CFLAGS), then
# the part of the suite in ASAN_TESTS (Documentation/fuzzing.md); `make clean
# all` goes back to the normal build
ASAN_FLAGS  := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
ASAN_TESTS  ?= bad_input cli safety anon_pattern threads signals tree pipes sockets incremental \
	       lazy/anon_pattern lazy/corrupt
asan: deps
	$(MAKE) clean
	CFLAGS="$(ASAN_FLAGS)" $(MAKE) all
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		bash test/run.sh $(ASAN_TESTS)

bench: deps
	$(MAKE) all
	bash bench/run.sh
	bash bench/lazy.sh
	bash bench/vs-criu.sh
	bash bench/coldstart.sh
	bash bench/incremental.sh
	bash bench/scatter.sh
	bash bench/fds.sh
	bash bench/threads.sh
	bash bench/tree.sh
	bash bench/snapshot.sh
	bash bench/snappause.sh
	bash bench/net.sh
	bash bench/ctr.sh
	bash bench/container.sh
	bash bench/podman.sh

demo: deps
	$(MAKE) all
	bash scripts/demo.sh

clean:
	rm -f $(OBJ) $(PROTO_C) $(PROTO_H) $(PIE_OBJ) criu/pie/restorer.elf criu/pie/restorer.bin \
		criu/pie/blob.o criu/criu $(TEST_BIN) $(TEST_TOOLS) $(DEPS) $(FUZZERS) \
		test/rpc/rpc-client Documentation/criu.8 lib/libcriu.o lib/libcriu-ns.o lib/libcriu.a \
		test/rpc/libcriu-test test/rpc/ctr-counter test/rpc/ctr-tcp-echo test/rpc/libcriu-drive lib/libcriu.pic.o lib/libcriu-ns.pic.o images/rpc.pb-c.pic.o \
		lib/libcriu.so.2 lib/libcriu.so test/rpc/libcriu-test-so

-include $(DEPS)

# test/mntns.sh runs it in a rootfs that holds only busybox: static
test/progs/mntns_state: test/progs/mntns_state.c
	$(CC) -std=gnu11 -O1 -g -Wall -Wextra -D_GNU_SOURCE -static -o $@ $<

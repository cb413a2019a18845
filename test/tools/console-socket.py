#!/usr/bin/env python3
# console-socket.py SOCKET OUT [ROWS COLS]: the taker of a container's
# console, as runc's --console-socket wants one (test/rpc-ctr.sh,
# rpc/runc_terminal).  Listens on the unix socket SOCKET; each connection
# brings a pseudo-terminal master (SCM_RIGHTS), logged to OUT as
# "MASTER N rows R cols C" (its window size when it came); with ROWS and
# COLS the first master's window is set to that size.  Everything read
# from any master is appended to OUT.  Runs until killed.
import array, fcntl, os, select, socket, struct, sys, termios

path, out = sys.argv[1], sys.argv[2]
size = (int(sys.argv[3]), int(sys.argv[4])) if len(sys.argv) > 4 else None
try:
    os.unlink(path)
except FileNotFoundError:
    pass
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(4)
log = open(out, "ab", buffering=0)
masters, n = [], 0
while True:
    ready, _, _ = select.select([srv] + masters, [], [], 1.0)
    for x in ready:
        if x is srv:
            c, _ = srv.accept()
            _, fds, _, _ = socket.recv_fds(c, 1024, 4)
            c.close()
            for fd in fds:
                n += 1
                if n == 1 and size:
                    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", size[0], size[1], 0, 0))
                r, c2, _, _ = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
                log.write(b"MASTER %d rows %d cols %d\n" % (n, r, c2))
                masters.append(fd)
        else:
            try:
                data = os.read(x, 4096)
            except OSError:
                data = b""
            if data:
                log.write(data)
            else:
                masters.remove(x)

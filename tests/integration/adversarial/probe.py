"""Real connections for the adversarial tests, one process per side.

  probe.py serve NAME TCPPORTS UDPPORTS   listeners on 0.0.0.0 and :: (TCP with
      IP_TRANSPARENT so tproxy may hand them connections); each answers a
      connection or datagram with "NAME:PORT" (the port it listens on, i.e. where
      the connection landed). Prints "ready" once listening, serves until killed.
  probe.py ask UID SPEC...   SPEC = tcp|udp,ADDR,PORT; as UID (-1: unchanged)
      sends one probe per SPEC and prints one line each: the answer, or "none".
"""

import os
import select
import socket
import sys

IP_TRANSPARENT = 19
TIMEOUT = float(os.environ.get("PROBE_TIMEOUT", "1.0"))


def serve(name, tcp_ports, udp_ports):
    socks = {}
    for fam, any_addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        for kind, ports in ((socket.SOCK_STREAM, tcp_ports), (socket.SOCK_DGRAM, udp_ports)):
            for p in ports:
                s = socket.socket(fam, kind)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if fam == socket.AF_INET6:
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                    s.setsockopt(socket.IPPROTO_IPV6, 75, 1)  # IPV6_TRANSPARENT
                else:
                    s.setsockopt(socket.SOL_IP, IP_TRANSPARENT, 1)
                s.bind((any_addr, p))
                if kind == socket.SOCK_STREAM:
                    s.listen(64)
                socks[s.fileno()] = (s, kind, p)
    print("ready", flush=True)
    while True:
        ready, _, _ = select.select(list(socks), [], [])
        for fd in ready:
            s, kind, p = socks[fd]
            answer = f"{name}:{p}".encode()
            try:
                if kind == socket.SOCK_STREAM:
                    c, _ = s.accept()
                    c.settimeout(TIMEOUT)
                    c.sendall(answer)
                    c.close()
                else:
                    _, peer = s.recvfrom(512)
                    s.sendto(answer, peer)
            except OSError:
                pass


def ask(uid, specs):
    if uid >= 0:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    for spec in specs:
        proto, addr, port = spec.split(",")
        fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
        s.settimeout(TIMEOUT)
        try:
            if proto == "tcp":
                s.connect((addr, int(port)))
                answer = s.recv(64).decode()
            else:
                s.sendto(b"q", (addr, int(port)))
                answer = s.recv(64).decode()
        except OSError as e:
            answer = f"none({e.__class__.__name__})"
        finally:
            s.close()
        print(answer or "none(empty)", flush=True)


def ports(text):
    return [int(p) for p in text.split(",") if p]


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], ports(sys.argv[3]), ports(sys.argv[4]))
    else:
        ask(int(sys.argv[2]), sys.argv[3:])

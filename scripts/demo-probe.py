#!/usr/bin/env python3
"""Tiny listener/client for scripts/demo.sh (not part of meshcap itself).

serve NAME PORT...          answer each TCP connection with where it landed
connect HOST PORT [UID]     connect (as UID) and print the listener's answer
"""
import os
import select
import socket
import struct
import sys

SO_ORIGINAL_DST = 80


def original_destination(conn):
    try:
        raw = conn.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
        port, addr = struct.unpack("!2xH4s8x", raw)
        return f"{socket.inet_ntoa(addr)}:{port}"
    except OSError:
        return "-"


def serve(name, ports):
    listeners = []
    for port in ports:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", port))
        s.listen(16)
        listeners.append(s)
    print("ready", flush=True)
    while True:
        ready, _, _ = select.select(listeners, [], [])
        for s in ready:
            conn, _ = s.accept()
            port = s.getsockname()[1]
            conn.sendall(f"{name}:{port} orig={original_destination(conn)}\n".encode())
            conn.close()


def connect(host, port, uid):
    if uid is not None:
        os.setgid(uid)
        os.setuid(uid)
    try:
        with socket.create_connection((host, port), timeout=2) as c:
            print(c.makefile().readline().strip())
    except OSError as e:
        print(f"nothing ({e.strerror or e})")


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], [int(p) for p in sys.argv[3:]])
    else:
        connect(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[4] else None)

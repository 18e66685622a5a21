#!/usr/bin/env python3
"""Prints lo's IPv6 addresses, one a line: "ADDR/PREFIX proto N" (N = the
address's IFA_PROTO, 0 when it has none). A test oracle for the tag meshcap
puts on the ::6 it adds: iproute2 older than 6.2 does not print it.

usage: lo_addrs.py"""

import ipaddress
import socket
import struct

RTM_NEWADDR, RTM_GETADDR = 20, 22
NLM_F_REQUEST, NLM_F_DUMP = 1, 0x300
NLMSG_DONE, NLMSG_ERROR = 3, 2
IFA_ADDRESS, IFA_LOCAL, IFA_PROTO = 1, 2, 11


def main():
    lo = socket.if_nametoindex("lo")
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    body = struct.pack("BBBBI", socket.AF_INET6, 0, 0, 0, 0)
    s.send(struct.pack("IHHII", 16 + len(body), RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + body)
    out = []
    while True:
        data = s.recv(65536)
        at = 0
        while at < len(data):
            length, kind = struct.unpack_from("IH", data, at)
            if kind == NLMSG_DONE:
                print("\n".join(out))
                return
            if kind == NLMSG_ERROR:
                raise SystemExit("netlink error")
            if kind == RTM_NEWADDR:
                _, prefix, _, _, index = struct.unpack_from("BBBBI", data, at + 16)
                attrs, a = {}, at + 24
                while a < at + length:
                    alen, atype = struct.unpack_from("HH", data, a)
                    attrs[atype & 0x3fff] = data[a + 4:a + alen]
                    a += (alen + 3) & ~3
                addr = attrs.get(IFA_LOCAL) or attrs.get(IFA_ADDRESS)
                if index == lo and addr:
                    proto = attrs[IFA_PROTO][0] if IFA_PROTO in attrs else 0
                    out.append(f"{ipaddress.IPv6Address(addr)}/{prefix} proto {proto}")
            at += (length + 3) & ~3


if __name__ == "__main__":
    main()

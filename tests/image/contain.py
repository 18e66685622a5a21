#!/usr/bin/python3
"""contain.py: run a command in a rootfs the way a container runtime runs
meshcap's init container, so the tests prove the image works under the
deploy/ manifests' securityContext and not just under a root chroot.

    contain.py [--caps LIST|all|none] [--user UID[:GID]] [--rw] [-e K=V]... ROOT -- CMD [ARG]...

What it does (runc's order, reduced to what meshcap can notice):
  * new mount and PID namespaces (the command is PID 1, /proc is its own);
    the network namespace is the caller's: run it under `ip netns exec`;
  * ROOT bind-mounted on itself and remounted read-only
    (readOnlyRootFilesystem: true) unless --rw;
  * /proc, /sys (read-only) and a tmpfs /dev with null, zero, random, urandom;
  * chroot(ROOT), chdir("/");
  * capabilities: the bounding set, inheritable and ambient sets cut down to
    --caps (default net_admin,net_raw: "drop ALL, add NET_ADMIN, NET_RAW"), so
    root's capabilities after exec are exactly those;
  * --user UID:GID other than root: runc's order, setgroups([]), setgid,
    setuid with PR_SET_KEEPCAPS, then permitted = effective = --caps and
    ambient empty, as runc does for `runAsUser` (Kubernetes asks for no
    ambient capabilities). execve then clears them again unless the program
    file carries them as file capabilities, which is what a non-root init
    container (Linkerd's, uid 65534) relies on;
  * no_new_privs (allowPrivilegeEscalation: false);
  * an environment holding only PATH and the -e variables.

The exit status is the command's (128+N when killed by signal N).
Needs root on the host. Linux x86-64 / arm64 (generic syscalls via libc).
"""
import argparse
import ctypes
import ctypes.util
import os
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWPID = 0x20000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
PR_SET_KEEPCAPS = 8
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
LINUX_CAPABILITY_VERSION_3 = 0x20080522

CAPS = {
    "chown": 0, "dac_override": 1, "dac_read_search": 2, "fowner": 3, "fsetid": 4,
    "kill": 5, "setgid": 6, "setuid": 7, "setpcap": 8, "linux_immutable": 9,
    "net_bind_service": 10, "net_broadcast": 11, "net_admin": 12, "net_raw": 13,
    "ipc_lock": 14, "ipc_owner": 15, "sys_module": 16, "sys_rawio": 17,
    "sys_chroot": 18, "sys_ptrace": 19, "sys_pacct": 20, "sys_admin": 21,
    "sys_boot": 22, "sys_nice": 23, "sys_resource": 24, "sys_time": 25,
    "sys_tty_config": 26, "mknod": 27, "lease": 28, "audit_write": 29,
    "audit_control": 30, "setfcap": 31, "mac_override": 32, "mac_admin": 33,
    "syslog": 34, "wake_alarm": 35, "block_suspend": 36, "audit_read": 37,
    "perfmon": 38, "bpf": 39, "checkpoint_restore": 40,
}

libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def check(ret, what):
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def mount(src, target, fstype, flags, data=None):
    check(libc.mount(src.encode() if src else None, target.encode(),
                     fstype.encode() if fstype else None, ctypes.c_ulong(flags),
                     data.encode() if data else None),
          f"mount {fstype or src} on {target}")


class CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def mask(caps, word):
    return sum(1 << (c - 32 * word) for c in caps if 32 * word <= c < 32 * (word + 1))


def set_process_caps(keep):
    """permitted = effective = keep, inheritable empty (runc after setuid)."""
    hdr = CapHeader(LINUX_CAPABILITY_VERSION_3, 0)
    data = (CapData * 2)()
    for w in (0, 1):
        data[w].effective = data[w].permitted = mask(keep, w)
        data[w].inheritable = 0
    check(libc.capset(ctypes.byref(hdr), data), "capset")


def limit_caps(keep, last_cap):
    for cap in range(last_cap + 1):
        if cap not in keep:
            check(libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), f"drop capability {cap}")
    check(libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clear ambient caps")
    hdr = CapHeader(LINUX_CAPABILITY_VERSION_3, 0)
    data = (CapData * 2)()
    check(libc.capget(ctypes.byref(hdr), data), "capget")
    data[0].inheritable = data[1].inheritable = 0
    check(libc.capset(ctypes.byref(hdr), data), "capset")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--caps", default="net_admin,net_raw")
    ap.add_argument("--user", default="0:0")
    ap.add_argument("--rw", action="store_true")
    ap.add_argument("-e", dest="env", action="append", default=[])
    ap.add_argument("root")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        ap.error("no command")
    root = os.path.realpath(args.root)
    last_cap = int(open("/proc/sys/kernel/cap_last_cap").read())
    if args.caps == "all":
        keep = set(range(last_cap + 1))
    elif args.caps == "none":
        keep = set()
    else:
        keep = {CAPS[c.strip().lower().removeprefix("cap_")] for c in args.caps.split(",")}
    uid, _, gid = args.user.partition(":")
    uid, gid = int(uid), int(gid or uid)
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
    for kv in args.env:
        k, _, v = kv.partition("=")
        env[k] = v

    check(libc.unshare(CLONE_NEWNS | CLONE_NEWPID), "unshare(mount, pid)")
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status):
            sys.exit(128 + os.WTERMSIG(status))
        sys.exit(os.WEXITSTATUS(status))

    try:
        mount(None, "/", None, MS_REC | MS_PRIVATE)
        mount(root, root, None, MS_BIND | MS_REC)
        mount("proc", f"{root}/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        mount("sysfs", f"{root}/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY)
        mount("tmpfs", f"{root}/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=64k")
        for dev in ("null", "zero", "random", "urandom"):
            open(f"{root}/dev/{dev}", "w").close()
            mount(f"/dev/{dev}", f"{root}/dev/{dev}", None, MS_BIND)
        if not args.rw:
            mount(None, root, None, MS_REMOUNT | MS_BIND | MS_RDONLY)
        os.chroot(root)
        os.chdir("/")
        limit_caps(keep, last_cap)
        if uid:
            check(libc.prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0), "keepcaps")
        if gid:
            os.setgroups([])
            os.setgid(gid)
        if uid:
            os.setuid(uid)
            set_process_caps(keep)
        check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
        os.execve(cmd[0], cmd, env)
    except OSError as e:
        print(f"contain.py: {e}", file=sys.stderr)
        os._exit(127)


if __name__ == "__main__":
    main()

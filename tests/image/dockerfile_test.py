#!/usr/bin/python3
"""dockerfile_test.py SOURCE_DIR

The image cannot drift from what tests/image/ checks: the Dockerfile's final
stage is `FROM scratch` and copies only the directory that
scripts/make-rootfs.sh built in the build stage; the build stage is Debian 12,
installs the deps with scripts/install-deps.sh, builds every default target
(so what make-rootfs.sh takes from next to the binary is there) in Release
with hardening on, checks the hardening, and hands that very binary to
make-rootfs.sh (which needs setcap, libcap2-bin, to give /meshcap its file
capabilities); ENTRYPOINT ["/meshcap"], CMD ["apply"].
"""
import json
import os
import re
import shlex
import sys

failures = []


def fail(msg):
    failures.append(msg)
    print(f"dockerfile_test: FAIL: {msg}", file=sys.stderr)


def ok(msg):
    print(f"dockerfile_test: ok: {msg}")


def instructions(text):
    """(KEYWORD, args) per instruction: comments dropped, continuations joined."""
    out, buf = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not buf and (not stripped or stripped.startswith("#")):
            continue
        if buf and stripped.startswith("#"):
            continue  # comment lines inside a continued instruction
        if stripped.endswith("\\"):
            buf += stripped[:-1] + " "
            continue
        buf += stripped
        kw, _, args = buf.partition(" ")
        out.append((kw.upper(), args.strip()))
        buf = ""
    if buf:
        kw, _, args = buf.partition(" ")
        out.append((kw.upper(), args.strip()))
    return out


def stages(instrs):
    """Global ARG defaults, then [{'from', 'name', 'body': [(kw, args)]}]."""
    args, result = {}, []
    for kw, rest in instrs:
        if kw == "FROM":
            words = rest.split()
            words = [w for w in words if not w.startswith("--platform")]
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            result.append({"from": words[0], "name": name, "body": []})
        elif not result:
            if kw == "ARG":
                k, _, v = rest.partition("=")
                args[k.strip()] = v.strip().strip('"')
        else:
            result[-1]["body"].append((kw, rest))
    return args, result


def expand(word, args):
    return re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), word)


def exec_form(kw, body):
    vals = [a for k, a in body if k == kw]
    if len(vals) != 1:
        fail(f"final stage has {len(vals)} {kw} instructions, want exactly 1")
        return None
    try:
        v = json.loads(vals[0])
    except ValueError:
        fail(f"{kw} is not in exec (JSON) form: {vals[0]}")
        return None
    return v


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: dockerfile_test.py SOURCE_DIR")
    src = sys.argv[1]
    path = os.path.join(src, "Dockerfile")
    text = open(path).read()
    global_args, st = stages(instructions(text))
    if len(st) < 2:
        fail(f"want a multi-stage build (build stage + final stage), found {len(st)} stage(s)")
        return
    final, build = st[-1], None

    # --- final stage ---------------------------------------------------------
    if final["from"] != "scratch":
        fail(f"final stage is FROM {final['from']}, want FROM scratch")
    else:
        ok("final stage is FROM scratch")
    copies = [a for k, a in final["body"] if k in ("COPY", "ADD")]
    runs = [a for k, a in final["body"] if k in ("RUN", "SHELL", "HEALTHCHECK", "VOLUME", "ONBUILD")]
    if runs:
        fail(f"final stage has instructions that need a shell or add state: {runs}")
    if len(copies) != 1:
        fail(f"final stage must copy exactly one thing (the rootfs), has {len(copies)}: {copies}")
        return
    words = shlex.split(copies[0])
    flags = [w for w in words if w.startswith("--")]
    paths = [w for w in words if not w.startswith("--")]
    frm = [f.split("=", 1)[1] for f in flags if f.startswith("--from=")]
    if [k for k, _ in final["body"] if k == "ADD"] or not frm:
        fail(f"final stage must `COPY --from=<build stage> <rootfs>/ /`, has: {copies[0]}")
        return
    build = next((s for s in st[:-1] if s["name"] == frm[0]), None)
    if build is None:
        fail(f"COPY --from={frm[0]} names no earlier stage")
        return
    if len(paths) != 2 or paths[1] != "/":
        fail(f"final stage COPY must have one source and destination /: {copies[0]}")
        return
    rootfs = paths[0].rstrip("/") or "/"
    if not paths[0].endswith("/"):
        fail(f"copy the rootfs's contents ({rootfs}/), not the directory itself")
    ok(f"final stage copies only {rootfs}/ from stage '{build['name']}' to /")

    entry = exec_form("ENTRYPOINT", final["body"])
    if entry is not None:
        if entry != ["/meshcap"]:
            fail(f'ENTRYPOINT is {entry}, want ["/meshcap"]')
        else:
            ok('ENTRYPOINT ["/meshcap"]')
    cmd = exec_form("CMD", final["body"])
    if cmd is not None:
        if cmd != ["apply"]:
            fail(f'CMD is {cmd}, want ["apply"]')
        else:
            ok('CMD ["apply"]')
    users = [a for k, a in final["body"] if k == "USER"]
    if any(u.split(":")[0] not in ("0", "root") for u in users):
        fail(f"final stage USER {users}: meshcap must run as uid 0 (with only NET_ADMIN/NET_RAW)")

    # --- build stage -------------------------------------------------------------
    base = expand(build["from"], global_args)
    if base not in ("debian:12", "debian:bookworm") and not re.match(r"debian:(12|bookworm)[.-]", base):
        fail(f"build stage is FROM {base}, want debian:12 (bookworm)")
    else:
        ok(f"build stage is FROM {base}")
    runs = " && ".join(a for k, a in build["body"] if k == "RUN")
    if "scripts/install-deps.sh" not in runs:
        fail("build stage does not run scripts/install-deps.sh")
    # make-rootfs.sh gives /meshcap its file capabilities with setcap.
    deps_path = os.path.join(src, "scripts/install-deps.sh")
    deps = open(deps_path).read() if os.path.exists(deps_path) else ""
    if "libcap2-bin" not in runs and "libcap2-bin" not in deps:
        fail("the build stage does not install libcap2-bin (setcap), which make-rootfs.sh needs")
    else:
        ok("the build stage has setcap (libcap2-bin) for make-rootfs.sh")

    m = re.search(r"cmake\s+(?:[^&;]*?\s)?-B\s*(\S+)([^&;]*)", runs)
    if not m:
        fail("build stage does not configure with cmake -S . -B DIR")
        return
    build_dir, cmake_args = m.group(1), m.group(0)
    if "-DCMAKE_BUILD_TYPE=Release" not in cmake_args:
        fail("cmake is not configured with -DCMAKE_BUILD_TYPE=Release")
    if re.search(r"-DMESHCAP_HARDEN=(OFF|0|NO|FALSE)", cmake_args, re.I) or \
            re.search(r"-DMESHCAP_SANITIZE=(ON|1|YES|TRUE)", cmake_args, re.I):
        fail("the image build turns hardening off or sanitizers on")
    # Every default target, not just meshcap: make-rootfs.sh also takes what
    # belongs next to the binary from the build directory.
    if not re.search(rf"cmake\s+--build\s+{re.escape(build_dir)}(?![^&;]*--target)", runs):
        fail(f"build stage does not build {build_dir}'s default targets (cmake --build {build_dir}, no --target)")
    binary = f"{build_dir}/meshcap"
    if not re.search(rf"scripts/check-hardening\.sh\s+{re.escape(binary)}\b", runs):
        fail(f"build stage does not check the hardening of {binary}")

    mk = re.findall(r"scripts/make-rootfs\.sh\s+(\S+)(?:\s+([^\s&;|]+))?", runs)
    if len(mk) != 1:
        fail(f"build stage must run scripts/make-rootfs.sh exactly once, runs it {len(mk)} times")
        return
    mk_dir, mk_bin = mk[0][0].rstrip("/"), mk[0][1]
    if mk_dir != rootfs:
        fail(f"make-rootfs.sh builds {mk_dir} but the final stage copies {rootfs}")
    if mk_bin != binary:
        fail(f"make-rootfs.sh is given '{mk_bin}', want the binary just built: {binary}")
    # Nothing else may write to the rootfs: every other mention is a read-only check.
    for mention in re.finditer(rf"(\S*)\s*{re.escape(rootfs)}(\S*)", runs):
        whole = mention.group(0)
        if "make-rootfs.sh" in whole or re.match(r"(scripts/)?check-hardening\.sh", mention.group(1)):
            continue
        fail(f"build stage touches {rootfs} outside make-rootfs.sh: '{whole}'")
    ok(f"the rootfs is made only by scripts/make-rootfs.sh {mk_dir} {mk_bin}")

    # --- the scripts it names exist, and the build context is clean ------------------------
    for script in ("scripts/install-deps.sh", "scripts/make-rootfs.sh", "scripts/check-hardening.sh"):
        p = os.path.join(src, script)
        if not (os.path.isfile(p) and os.access(p, os.X_OK)):
            fail(f"{script} is missing or not executable")
    ignore_path = os.path.join(src, ".dockerignore")
    ignore = open(ignore_path).read().split() if os.path.exists(ignore_path) else []
    for pattern in (".git", "build*"):
        if pattern not in ignore:
            fail(f".dockerignore does not exclude {pattern}")
    ok("scripts present and executable; .dockerignore keeps .git and build dirs out")


main()
if failures:
    print(f"dockerfile_test: {len(failures)} failure(s)", file=sys.stderr)
    sys.exit(1)
print("dockerfile_test: passed")

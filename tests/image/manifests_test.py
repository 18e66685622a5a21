#!/usr/bin/python3
"""manifests_test.py [--binary MESHCAP] DEPLOY_DIR

Every Kubernetes manifest in DEPLOY_DIR parses, and every pod that runs
meshcap's capture (an init container of the meshcap image running `apply`)
is set up the way docs/commands.md and deploy/README.md say:

  * securityContext: capabilities drop ALL and add exactly NET_ADMIN and
    NET_RAW, readOnlyRootFilesystem, runAsUser 0, runAsNonRoot false,
    allowPrivilegeEscalation false, not privileged; no `command` override
    (the image has no shell);
  * every env var is MESHCAP_<a known setting> (one `meshcap --help` lists
    when the binary prints help, else one of README.md's settings table), never
    MESHCAP_DRY_RUN nor a dry-run output option;
  * the proxy (the container listening on the outbound port) runs as uid/gid
    1337, and MESHCAP_PROXY_UID / MESHCAP_PROXY_GID name exactly that; no
    other container runs as a proxy uid (its traffic would bypass the proxy);
  * the proxy's other ports (health, metrics) are excluded from inbound
    capture, or the kubelet's probes would be redirected to the proxy;
  * a proxy that is a native sidecar (an init container with
    restartPolicy: Always) comes after meshcap; pod-native-sidecar.yaml has
    one, pod-init-container.yaml runs the proxy as a regular container;
  * with --binary: `meshcap apply --dry-run` with exactly the container's
    MESHCAP_* variables succeeds and its plan uses them.
"""
import argparse
import glob
import os
import re
import subprocess
import sys

import yaml

# README.md's settings table, as MESHCAP_<UPPER_SNAKE> names.
KNOWN_SETTINGS = """outbound-port inbound-port proxy-uid proxy-gid inbound-ports
exclude-inbound-ports outbound-cidrs exclude-outbound-cidrs exclude-outbound-ports
include-outbound-ports exclude-interfaces virt-interfaces inbound-mode capture-dns
dns-port dns-servers ipv6 backend netns log-level log-format verify""".split()
# Settings that only matter to `apply --dry-run` (MESHCAP_DRY_RUN is checked apart).
OUTPUT_ONLY = {"format", "family", "help", "version"}
PROXY_UID = 1337
REQUIRED_FILES = ("pod-init-container.yaml", "pod-native-sidecar.yaml")

failures = []


def fail(where, msg):
    failures.append(f"{where}: {msg}")
    print(f"manifests_test: FAIL: {where}: {msg}", file=sys.stderr)


def ok(msg):
    print(f"manifests_test: ok: {msg}")


def env_name(flag):
    return "MESHCAP_" + flag.upper().replace("-", "_")


def pod_specs(doc):
    """(kind/name, pod spec) for Pods and every workload with a pod template."""
    if not isinstance(doc, dict):
        return []
    kind, name = doc.get("kind", "?"), (doc.get("metadata") or {}).get("name", "?")
    spec = doc.get("spec") or {}
    if kind == "Pod":
        return [(f"{kind}/{name}", spec)]
    if kind == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec") or {})
    tmpl = spec.get("template")
    if isinstance(tmpl, dict) and isinstance(tmpl.get("spec"), dict):
        return [(f"{kind}/{name}", tmpl["spec"])]
    return []


def is_meshcap_image(c):
    return bool(re.search(r"(^|/)meshcap([:@]|$)", c.get("image", "")))


def is_capture(c):
    """Runs `meshcap apply` (the image's default command)."""
    args = c.get("args") or []
    return is_meshcap_image(c) and (not args or args[0] == "apply")


def ids(value):
    return [int(x) for x in str(value).split(",") if x.strip()]


def ports(value):
    """'15020,15021,8000-8100' -> list of (lo, hi)."""
    out = []
    for item in str(value).split(","):
        item = item.strip()
        if not item:
            continue
        lo, _, hi = item.partition("-")
        out.append((int(lo), int(hi or lo)))
    return out


def help_flags(binary):
    """Long flags the binary's --help lists, or None when it prints no help."""
    try:
        r = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=20)
    except OSError:
        return None
    flags = set(re.findall(r"--([a-z][a-z0-9-]+)", r.stdout + r.stderr))
    return flags if r.returncode == 0 and flags else None


def check_security(where, c):
    sc = c.get("securityContext") or {}
    caps = sc.get("capabilities") or {}
    if [str(x).upper() for x in caps.get("drop") or []] != ["ALL"]:
        fail(where, f"capabilities.drop is {caps.get('drop')}, want [ALL]")
    add = sorted(str(x).upper().removeprefix("CAP_") for x in caps.get("add") or [])
    if add != ["NET_ADMIN", "NET_RAW"]:
        fail(where, f"capabilities.add is {caps.get('add')}, want exactly NET_ADMIN and NET_RAW")
    want = {"readOnlyRootFilesystem": True, "runAsUser": 0, "runAsNonRoot": False,
            "allowPrivilegeEscalation": False}
    for key, value in want.items():
        if sc.get(key) != value:
            fail(where, f"securityContext.{key} is {sc.get(key)!r}, want {value!r}")
    if sc.get("privileged"):
        fail(where, "must not be privileged")
    if c.get("command") and c["command"][0] != "/meshcap":
        fail(where, f"command {c['command']} overrides the entrypoint; the image has no shell, only /meshcap")


def check_env(where, c, known_help):
    env = {}
    for e in c.get("env") or []:
        name = e.get("name", "")
        if "valueFrom" in e:
            fail(where, f"{name} uses valueFrom; the test (and a reader) cannot see its value")
            continue
        env[name] = str(e.get("value", ""))
        if name == "MESHCAP_DRY_RUN":
            fail(where, "MESHCAP_DRY_RUN would make the init container program nothing")
            continue
        if not name.startswith("MESHCAP_"):
            fail(where, f"env var {name} is not a MESHCAP_ setting")
            continue
        flag = name[len("MESHCAP_"):].lower().replace("_", "-")
        if flag in OUTPUT_ONLY:
            fail(where, f"{name} only shapes dry-run output; it has no place in a pod")
        elif known_help is not None:
            if flag not in known_help:
                fail(where, f"env var {name}: `meshcap --help` lists no --{flag}")
        elif flag not in KNOWN_SETTINGS:
            fail(where, f"env var {name} is not a meshcap setting (README.md, Settings)")
    if c.get("envFrom"):
        fail(where, "envFrom hides which settings are set; list them in env")
    return env


def containers_of(spec):
    inits = spec.get("initContainers") or []
    mains = spec.get("containers") or []
    return inits, mains


def port_numbers(c):
    return [p.get("containerPort") for p in c.get("ports") or []]


def check_pod(where, fname, spec, known_help, binary):
    inits, mains = containers_of(spec)
    meshcaps = [(i, c) for i, c in enumerate(inits) if is_capture(c)]
    stray = [c["name"] for c in mains if is_capture(c)]
    if stray:
        fail(where, f"meshcap runs as a regular container {stray}; it must be an init container")
    if not meshcaps:
        return False
    if len(meshcaps) > 1:
        fail(where, "more than one meshcap init container")
    idx, m = meshcaps[0]
    mwhere = f"{where} initContainer {m.get('name')}"
    if m.get("restartPolicy") == "Always":
        fail(mwhere, "meshcap must run to completion, not as a sidecar (restartPolicy: Always)")
    check_security(mwhere, m)
    env = check_env(mwhere, m, known_help)

    outbound = int(env.get("MESHCAP_OUTBOUND_PORT", 15001))
    inbound = int(env.get("MESHCAP_INBOUND_PORT", 15006))
    uids = ids(env.get("MESHCAP_PROXY_UID", PROXY_UID))
    gids = ids(env.get("MESHCAP_PROXY_GID", ",".join(map(str, uids))))

    # The proxy: the container that listens on the outbound port.
    candidates = [("init", i, c) for i, c in enumerate(inits) if outbound in port_numbers(c)]
    candidates += [("main", i, c) for i, c in enumerate(mains) if outbound in port_numbers(c)]
    if len(candidates) != 1:
        fail(where, f"want exactly one proxy container listening on the outbound port {outbound}, "
                    f"found {[c.get('name') for _, _, c in candidates]}")
        return True
    where_kind, pidx, proxy = candidates[0]
    pwhere = f"{where} proxy {proxy.get('name')}"
    psc = proxy.get("securityContext") or {}
    if psc.get("runAsUser") != PROXY_UID or psc.get("runAsGroup") != PROXY_UID:
        fail(pwhere, f"runs as {psc.get('runAsUser')}:{psc.get('runAsGroup')}, want {PROXY_UID}:{PROXY_UID}")
    if uids != [psc.get("runAsUser")]:
        fail(mwhere, f"MESHCAP_PROXY_UID {uids} does not match the proxy's runAsUser {psc.get('runAsUser')}")
    if psc.get("runAsGroup") not in gids:
        fail(mwhere, f"MESHCAP_PROXY_GID {gids} does not include the proxy's runAsGroup {psc.get('runAsGroup')}")
    if inbound not in port_numbers(proxy):
        fail(pwhere, f"does not declare the inbound port {inbound}")
    if psc.get("runAsNonRoot") is not True:
        fail(pwhere, "the proxy should set runAsNonRoot: true")
    # No other container may share the proxy's identity: its traffic would skip the proxy.
    for c in inits + mains:
        if c is proxy or c is m:
            continue
        sc = c.get("securityContext") or {}
        if sc.get("runAsUser") in uids or sc.get("runAsGroup") in gids:
            fail(where, f"container {c.get('name')} runs as a proxy uid/gid; its traffic would bypass the proxy")
        if sc.get("runAsUser") is None:
            fail(where, f"container {c.get('name')} sets no runAsUser; the image's user could be a proxy uid")
    # The proxy's own ports (health, metrics) must not be redirected to its inbound listener.
    excluded = ports(env.get("MESHCAP_EXCLUDE_INBOUND_PORTS", ""))
    for p in port_numbers(proxy):
        if p in (outbound, inbound):
            continue
        if not any(lo <= p <= hi for lo, hi in excluded):
            fail(mwhere, f"proxy port {p} is not in MESHCAP_EXCLUDE_INBOUND_PORTS; probes to it would be captured")

    # Layout: native sidecar after meshcap, or a classic proxy container.
    if where_kind == "init":
        if proxy.get("restartPolicy") != "Always":
            fail(pwhere, "a proxy among the init containers must be a native sidecar (restartPolicy: Always)")
        if pidx < idx:
            fail(pwhere, "the native sidecar proxy must come after meshcap, so it starts once the rules exist")
        if pidx != idx + 1:
            fail(pwhere, "put the proxy right after meshcap, so every later init container is proxied")
        if not proxy.get("startupProbe"):
            fail(pwhere, "a native sidecar proxy needs a startupProbe, so later containers wait until it listens")
    if fname == "pod-native-sidecar.yaml" and where_kind != "init":
        fail(where, "pod-native-sidecar.yaml must run the proxy as a native sidecar init container")
    if fname == "pod-init-container.yaml" and where_kind != "main":
        fail(where, "pod-init-container.yaml must run the proxy as a regular container")
    ok(f"{fname} {where}: meshcap init container #{idx}, proxy '{proxy.get('name')}' "
       f"({'native sidecar' if where_kind == 'init' else 'container'}) as {PROXY_UID}, env {sorted(env)}")

    if binary:
        dry_run(mwhere, binary, env, outbound, inbound)
    return True


def dry_run(where, binary, env, outbound, inbound):
    run_env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", **env}
    r = subprocess.run([binary, "apply", "--dry-run"], env=run_env, capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        fail(where, f"`meshcap apply --dry-run` with its env exited {r.returncode}: {r.stderr.strip()}")
        return
    out = r.stdout
    if not re.search(r"^\s*table\s+(inet|ip|ip6)\s+\S+", out, re.M):
        fail(where, f"`meshcap apply --dry-run` printed no nft table:\n{out}")
        return
    for port in (outbound, inbound):
        if str(port) not in out:
            fail(where, f"the dry-run plan never mentions port {port}")
    for cidr in filter(None, env.get("MESHCAP_EXCLUDE_OUTBOUND_CIDRS", "").split(",")):
        if cidr.split("/")[0] not in out:
            fail(where, f"the dry-run plan never mentions the excluded CIDR {cidr}")
    for lo, hi in ports(env.get("MESHCAP_EXCLUDE_INBOUND_PORTS", "")):
        text = str(lo) if lo == hi else f"{lo}-{hi}"
        if text not in out:
            fail(where, f"the dry-run plan never mentions the excluded inbound port {text}")
    ok(f"{where}: `meshcap apply --dry-run` accepts its env ({len(out.splitlines())} lines of nft)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary")
    ap.add_argument("deploy_dir")
    args = ap.parse_args()

    binary = args.binary
    known_help = None
    if binary:
        try:
            v = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=20)
            usable = v.returncode == 0
        except OSError:
            usable = False
        if not usable:
            fail(binary, "`meshcap --version` does not run; build the meshcap target")
            binary = None
        else:
            known_help = help_flags(binary)
            if known_help is None:
                print("manifests_test: note: `meshcap --help` lists no flags; env names checked against README.md's settings only")

    files = sorted(glob.glob(os.path.join(args.deploy_dir, "*.yaml")) +
                   glob.glob(os.path.join(args.deploy_dir, "*.yml")))
    names = {os.path.basename(f) for f in files}
    for required in REQUIRED_FILES:
        if required not in names:
            fail(args.deploy_dir, f"{required} is missing")
    for path in files:
        fname = os.path.basename(path)
        try:
            docs = [d for d in yaml.safe_load_all(open(path)) if d is not None]
        except yaml.YAMLError as e:
            fail(fname, f"does not parse: {e}")
            continue
        found = False
        for doc in docs:
            if not isinstance(doc, dict) or "apiVersion" not in doc or "kind" not in doc:
                fail(fname, "a document without apiVersion and kind")
                continue
            for where, spec in pod_specs(doc):
                found |= check_pod(where, fname, spec, known_help, binary)
        if fname in REQUIRED_FILES and not found:
            fail(fname, "has no pod with a meshcap init container running `apply`")
        ok(f"{fname}: {len(docs)} document(s) parsed")


main()
if failures:
    print(f"manifests_test: {len(failures)} failure(s)", file=sys.stderr)
    sys.exit(1)
print("manifests_test: passed")

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

The CNI mode (cni-daemonset.yaml, pod-cni-mode.yaml):

  * the DaemonSet that runs `meshcap cni install --watch`: hostPath
    /opt/cni/bin and /etc/cni/net.d mounted where --bin-dir and --conf-dir
    point, a toleration for every taint (operator: Exists, no key, no effect),
    priorityClassName system-node-critical, no service account token, no
    capability added (drop ALL), not privileged, no privilege escalation, a
    read-only root; a readiness exec probe `/meshcap cni install --check` with
    exactly the container's flags (--check for --watch);
  * a pod selected with meshcap.io/capture: enabled whose other meshcap.io/*
    annotations are capture settings (`meshcap cni --help` lists them), and a
    first init container `meshcap validate` that is unprivileged and not the
    proxy's uid;
  * names: every object, container, volume and port name is a valid
    Kubernetes name;
  * with --binary: the DaemonSet's command installs into a copy of a real
    conflist and its readiness probe then passes; the pod's annotations are
    accepted as flags by `meshcap apply --dry-run`.
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

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
CNI_FILES = ("cni-daemonset.yaml", "pod-cni-mode.yaml")
FIXTURE_CONFLIST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "cni",
                                "10-calico.conflist")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
PORT_NAME = re.compile(r"^(?=.*[a-z])[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$")

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


def check_names(fname, doc):
    meta = doc.get("metadata") or {}
    name = meta.get("name", "")
    if not DNS_SUBDOMAIN.match(name):
        fail(fname, f"{doc.get('kind')} name {name!r} is not a valid Kubernetes name")
    if "namespace" in meta and not DNS_LABEL.match(meta["namespace"]):
        fail(fname, f"namespace {meta['namespace']!r} is not a valid namespace name")
    for where, spec in pod_specs(doc):
        inits, mains = containers_of(spec)
        for c in inits + mains:
            if not DNS_LABEL.match(c.get("name", "")):
                fail(where, f"container name {c.get('name')!r} is not a DNS label")
            for p in c.get("ports") or []:
                if "name" in p and not PORT_NAME.match(p["name"]):
                    fail(where, f"port name {p['name']!r} is not a valid port name")
        for v in spec.get("volumes") or []:
            if not DNS_LABEL.match(v.get("name", "")):
                fail(where, f"volume name {v.get('name')!r} is not a DNS label")


def flag_value(args, name):
    """The value of --name=V or --name V in args, or None."""
    for i, a in enumerate(args):
        if a.startswith(f"--{name}="):
            return a.split("=", 1)[1]
        if a == f"--{name}" and i + 1 < len(args):
            return args[i + 1]
    return None


def check_cni_daemonset(where, doc, spec, binary):
    if doc.get("kind") != "DaemonSet":
        fail(where, "the CNI installer must be a DaemonSet (one per node)")
    inits, mains = containers_of(spec)
    installers = [c for c in mains if is_meshcap_image(c) and (c.get("args") or [])[:2] == ["cni", "install"]]
    if len(installers) != 1:
        fail(where, "want exactly one container running `meshcap cni install`")
        return
    c = installers[0]
    cwhere = f"{where} container {c.get('name')}"
    args = c["args"]
    if "--watch" not in args:
        fail(cwhere, "`cni install` without --watch: the entry would be lost when the primary CNI rewrites its file")
    if spec.get("priorityClassName") != "system-node-critical":
        fail(where, f"priorityClassName is {spec.get('priorityClassName')!r}, want system-node-critical")
    if spec.get("automountServiceAccountToken") is not False:
        fail(where, "automountServiceAccountToken must be false: the installer needs no API access")
    tolerations = spec.get("tolerations") or []
    if not any(t.get("operator") == "Exists" and "key" not in t and "effect" not in t for t in tolerations):
        fail(where, f"tolerations {tolerations} do not tolerate every taint (want {{operator: Exists}})")
    sc = c.get("securityContext") or {}
    caps = sc.get("capabilities") or {}
    if [str(x).upper() for x in caps.get("drop") or []] != ["ALL"]:
        fail(cwhere, f"capabilities.drop is {caps.get('drop')}, want [ALL]")
    if caps.get("add"):
        fail(cwhere, f"capabilities.add is {caps['add']}: writing root-owned host directories as root needs none")
    for key, value in {"privileged": False, "allowPrivilegeEscalation": False,
                       "readOnlyRootFilesystem": True}.items():
        if sc.get(key) is not value:
            fail(cwhere, f"securityContext.{key} is {sc.get(key)!r}, want {value!r}")
    # The host directories, mounted where the flags point.
    host = {v["name"]: (v.get("hostPath") or {}).get("path") for v in spec.get("volumes") or []}
    mounts = {m.get("mountPath"): host.get(m.get("name")) for m in c.get("volumeMounts") or []}
    for flag, want in (("bin-dir", "/opt/cni/bin"), ("conf-dir", "/etc/cni/net.d")):
        value = flag_value(args, flag)
        if value is None:
            fail(cwhere, f"--{flag} is not given")
        elif mounts.get(value) != want:
            fail(cwhere, f"--{flag} {value} is not the hostPath {want} (mounts: {mounts})")
        if mounts.get(value) is not None and any(m.get("readOnly") for m in c.get("volumeMounts") or []
                                                 if m.get("mountPath") == value):
            fail(cwhere, f"{value} is mounted read-only")
    probe = ((c.get("readinessProbe") or {}).get("exec") or {}).get("command")
    want_probe = ["/meshcap"] + ["--check" if a == "--watch" else a for a in args if a != "--keep-on-exit"]
    if probe is None:
        fail(cwhere, "no readinessProbe.exec (the image has no shell: exec /meshcap cni install --check)")
    elif probe != want_probe:
        fail(cwhere, f"readiness probe {probe} is not the container's command with --check: {want_probe}")
    ok(f"{where}: DaemonSet `meshcap {' '.join(args[:3])}`, hostPath bin and conf dirs, tolerates all, "
       "no token, no capability, readiness exec")
    if binary and probe:
        cni_install_run(cwhere, binary, args, probe)


def cni_install_run(where, binary, args, probe):
    """The container's command and probe, with the host directories in a temporary tree."""
    tmp = tempfile.mkdtemp(prefix="manifests-cni.")
    try:
        bin_dir, conf_dir = os.path.join(tmp, "bin"), os.path.join(tmp, "net.d")
        os.mkdir(bin_dir)
        os.mkdir(conf_dir)
        shutil.copy(FIXTURE_CONFLIST, conf_dir)
        where_to = {flag_value(args, "bin-dir"): bin_dir, flag_value(args, "conf-dir"): conf_dir}

        def remap(words):
            out = []
            for w in words:
                if w.startswith("--") and "=" in w and w.split("=", 1)[1] in where_to:
                    w = w.split("=", 1)[0] + "=" + where_to[w.split("=", 1)[1]]
                out.append(where_to.get(w, w))
            return out

        once = [a for a in remap(args) if a not in ("--watch", "--keep-on-exit")]
        r = subprocess.run([binary] + once, capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            fail(where, f"`meshcap {' '.join(once)}` exited {r.returncode}: {r.stderr.strip()}")
            return
        r = subprocess.run([binary] + remap(probe[1:]), capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            fail(where, f"the readiness probe fails after the install: {r.stderr.strip()}")
            return
        ok(f"{where}: its command installs into a copy of a conflist and its readiness probe then passes")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def capture_flags(binary):
    """The capture settings `meshcap cni --help` lists, or None."""
    try:
        r = subprocess.run([binary, "cni", "--help"], capture_output=True, text=True, timeout=20)
    except OSError:
        return None
    part = r.stdout.split("Capture settings", 1)
    return set(re.findall(r"--([a-z][a-z0-9-]+)", part[1])) if r.returncode == 0 and len(part) == 2 else None


def check_cni_pod(where, doc, spec, binary):
    tmeta = ((doc.get("spec") or {}).get("template") or {}).get("metadata") or doc.get("metadata") or {}
    annotations = tmeta.get("annotations") or {}
    if annotations.get("meshcap.io/capture") != "enabled":
        fail(where, "a CNI-mode pod must be selected with the annotation meshcap.io/capture: enabled")
    known = capture_flags(binary) if binary else None
    flags = []
    for key, value in annotations.items():
        if not key.startswith("meshcap.io/") or key == "meshcap.io/capture":
            continue
        flag = key[len("meshcap.io/"):]
        if not isinstance(value, str):
            fail(where, f"annotation {key} must be a string, is {value!r}")
        if known is not None and flag not in known:
            fail(where, f"annotation {key}: `meshcap cni --help` lists no capture setting --{flag}")
        flags += [f"--{flag}", str(value)]
    inits, mains = containers_of(spec)
    if not inits or not is_meshcap_image(inits[0]) or (inits[0].get("args") or [None])[0] != "validate":
        fail(where, "the first init container must be `meshcap validate` (it catches a pod the plugin missed)")
    else:
        v = inits[0]
        vwhere = f"{where} initContainer {v.get('name')}"
        sc = v.get("securityContext") or {}
        caps = sc.get("capabilities") or {}
        if caps.get("add") or [str(x).upper() for x in caps.get("drop") or []] != ["ALL"]:
            fail(vwhere, f"validate needs no capability: drop [ALL], add none (has {caps})")
        if sc.get("runAsNonRoot") is not True or sc.get("runAsUser") in (None, 0):
            fail(vwhere, "validate runs as a non-root user")
        if sc.get("runAsUser") == PROXY_UID or sc.get("runAsGroup") == PROXY_UID:
            fail(vwhere, "validate runs as the proxy's uid/gid: its connection would not be captured")
        if sc.get("privileged") or sc.get("allowPrivilegeEscalation") is not False:
            fail(vwhere, "validate must be unprivileged with allowPrivilegeEscalation: false")
    for c in inits + mains:
        caps = (c.get("securityContext") or {}).get("capabilities") or {}
        if any(str(x).upper().removeprefix("CAP_") in ("NET_ADMIN", "SYS_ADMIN") for x in caps.get("add") or []):
            fail(where, f"container {c.get('name')} adds {caps['add']}: a CNI-mode pod needs no NET_ADMIN")
    if binary and flags:
        r = subprocess.run([binary, "apply", "--dry-run", *flags], capture_output=True, text=True, timeout=30,
                           env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
        if r.returncode != 0:
            fail(where, f"the annotations as flags {flags} are refused: {r.stderr.strip()}")
    ok(f"{where}: CNI-mode pod, annotations {sorted(annotations)}, validate init container")


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
    for required in REQUIRED_FILES + CNI_FILES:
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
            check_names(fname, doc)
            for where, spec in pod_specs(doc):
                found |= check_pod(where, fname, spec, known_help, binary)
                if fname == "cni-daemonset.yaml":
                    check_cni_daemonset(f"{fname} {where}", doc, spec, binary)
                elif fname == "pod-cni-mode.yaml":
                    check_cni_pod(f"{fname} {where}", doc, spec, binary)
        if fname in REQUIRED_FILES and not found:
            fail(fname, "has no pod with a meshcap init container running `apply`")
        ok(f"{fname}: {len(docs)} document(s) parsed")


main()
if failures:
    print(f"manifests_test: {len(failures)} failure(s)", file=sys.stderr)
    sys.exit(1)
print("manifests_test: passed")

#!/usr/bin/env python3
"""`meshcap cni install|uninstall` against copies of real-world network configs.

usage: install_test.py MESHCAP FIXTURES_DIR

Each case works in a fresh temporary bin dir and conf dir. The oracle is the
file system: the bytes and mode of the config files, the installed plugin
(the launcher built next to MESHCAP as `meshcap`, and `meshcap.d`, a link to
one copy of MESHCAP with its loader and libraries), what the runtime would
read (the lexically first *.conf/*.conflist/*.json), and the plugin running.
"""
import hashlib
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest

MESHCAP = os.path.abspath(sys.argv[1])
LAUNCHER = os.path.join(os.path.dirname(MESHCAP), "meshcap-launcher")
COPY = re.compile(r"\.meshcap\.d-[0-9a-f]{16}")
FIXTURES = os.path.abspath(sys.argv[2])
LISTS = ["10-calico.conflist", "05-cilium.conflist", "10-flannel.conflist"]
SINGLE = "10-bridge.conf"
SETTINGS = ["--select", "all", "--exclude-namespaces", "kube-system,istio-system",
            "--exclude-inbound-ports", "15020,15021", "--outbound-port", "15001"]


def fixture(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return f.read()


def primary(conf):
    names = sorted(n for n in os.listdir(conf)
                   if os.path.splitext(n)[1] in (".conf", ".conflist", ".json"))
    return names[0] if names else None


class Case(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="meshcap-cni-install.")
        self.bin = os.path.join(self.tmp, "bin")
        self.conf = os.path.join(self.tmp, "net.d")
        os.mkdir(self.bin)
        os.mkdir(self.conf)
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stderr.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def dirs(self):
        return ["--bin-dir", self.bin, "--conf-dir", self.conf]

    def meshcap(self, *args, code=0):
        r = subprocess.run([MESHCAP, "cni", *args], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, code, f"meshcap cni {' '.join(args)}: {r.stderr}")
        return r

    def put(self, name, data, mode=0o644):
        path = os.path.join(self.conf, name)
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, mode)
        return path

    def read(self, name):
        with open(os.path.join(self.conf, name), "rb") as f:
            return f.read()

    def snapshot(self):
        """Every file, directory and link under the two dirs: bytes (hashed), mode, target."""
        out = {}
        for d in (self.bin, self.conf):
            for root, dirs, files in os.walk(d):
                for n in dirs + files:
                    p = os.path.join(root, n)
                    st = os.lstat(p)
                    if stat.S_ISLNK(st.st_mode):
                        out[p] = ("link", os.readlink(p))
                    elif stat.S_ISDIR(st.st_mode):
                        out[p] = ("dir", stat.S_IMODE(st.st_mode))
                    else:
                        with open(p, "rb") as f:
                            out[p] = (hashlib.sha256(f.read()).hexdigest(), stat.S_IMODE(st.st_mode))
        return out

    def stamps(self):
        """Inode and modification time of every entry in the bin dir."""
        out = {}
        for root, dirs, files in os.walk(self.bin):
            for n in dirs + files:
                st = os.lstat(os.path.join(root, n))
                out[os.path.join(root, n)] = (st.st_ino, st.st_mtime_ns)
        return out

    def entry_of(self, name):
        doc = json.loads(self.read(name))
        self.assertEqual(doc["plugins"][-1]["type"], "meshcap")
        return doc

    def same_bytes(self, a, b):
        with open(a, "rb") as x, open(b, "rb") as y:
            return x.read() == y.read()

    def binary_installed(self, meshcap=MESHCAP, launcher=LAUNCHER):
        """The plugin is in place, holds these files, and runs. Returns the copy's name."""
        path = os.path.join(self.bin, "meshcap")
        self.assertTrue(os.path.isfile(path))
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o755)
        self.assertTrue(self.same_bytes(path, launcher), "bin/meshcap is not the launcher")
        copy = os.readlink(os.path.join(self.bin, "meshcap.d"))
        self.assertRegex(copy, COPY)
        self.assertTrue(self.same_bytes(os.path.join(self.bin, copy, "meshcap"), meshcap))
        for name in ("meshcap", "ld.so"):
            self.assertEqual(stat.S_IMODE(os.stat(os.path.join(self.bin, copy, name)).st_mode), 0o755)
        libs = os.listdir(os.path.join(self.bin, copy, "lib"))
        # Exactly the libraries the binary loads (which ones depends on how it
        # was linked: docs/benchmarks.md, start-up).
        ldd = subprocess.run(["ldd", meshcap], capture_output=True, text=True, check=True).stdout
        self.assertIn("libc.so.6", libs)
        self.assertEqual(sorted(libs), sorted(line.split()[0] for line in ldd.splitlines() if "=>" in line))
        r = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith("meshcap "), r.stdout)
        return copy

    def wait_for(self, pred, what, timeout=10):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if pred():
                return
            time.sleep(0.02)
        self.fail(f"timed out waiting for {what}")


class Install(Case):
    def test_lists_install_twice_and_uninstall_exactly(self):
        for name in LISTS:
            with self.subTest(name):
                for n in os.listdir(self.conf):
                    os.unlink(os.path.join(self.conf, n))
                original = fixture(name)
                self.put(name, original, 0o640)
                self.meshcap("install", *self.dirs(), *SETTINGS)
                first = self.read(name)
                self.binary_installed()
                self.assertEqual(os.listdir(self.conf), [name])  # no temporary file left
                self.assertEqual(stat.S_IMODE(os.stat(os.path.join(self.conf, name)).st_mode), 0o640)
                doc = self.entry_of(name)
                before = json.loads(original)
                # every other plugin, and the list's own keys, exactly as they were
                self.assertEqual(doc["plugins"][:-1], before["plugins"])
                self.assertEqual({k: v for k, v in doc.items() if k != "plugins"},
                                 {k: v for k, v in before.items() if k != "plugins"})
                self.assertEqual(doc["plugins"][-1], {
                    "type": "meshcap",
                    "capabilities": {"io.kubernetes.cri.pod-annotations": True},
                    "select": "all",
                    "excludeNamespaces": ["kube-system", "istio-system"],
                    "capture": {"outboundPort": 15001, "excludeInboundPorts": "15020,15021"},
                })
                # the text before meshcap's entry is the original's up to its last plugin
                self.assertTrue(first.startswith(original[:original.rindex(b"}", 0, original.rindex(b"]")) + 1]))

                self.meshcap("install", *self.dirs(), *SETTINGS)
                self.assertEqual(self.read(name), first, "a second install changed the file")
                self.meshcap("install", "--check", *self.dirs(), *SETTINGS)

                self.meshcap("uninstall", *self.dirs())
                self.assertEqual(self.read(name), original)
                self.assertEqual(stat.S_IMODE(os.stat(os.path.join(self.conf, name)).st_mode), 0o640)
                self.assertEqual(os.listdir(self.bin), [])
                self.meshcap("uninstall", *self.dirs())  # nothing left to remove: success
                self.assertEqual(self.read(name), original)

    def test_single_conf_becomes_a_list_and_comes_back(self):
        original = fixture(SINGLE)
        self.put(SINGLE, original, 0o600)
        self.meshcap("install", *self.dirs())
        self.assertEqual(os.listdir(self.conf), ["10-bridge.conflist"])
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(self.conf, "10-bridge.conflist")).st_mode), 0o600)
        doc = self.entry_of("10-bridge.conflist")
        single = json.loads(original)
        self.assertEqual(doc["cniVersion"], single["cniVersion"])
        self.assertEqual(doc["name"], single["name"])
        self.assertEqual(doc["plugins"][0], single)
        self.assertEqual(len(doc["plugins"]), 2)
        first = self.read("10-bridge.conflist")
        self.meshcap("install", *self.dirs())
        self.assertEqual(self.read("10-bridge.conflist"), first)
        self.meshcap("uninstall", *self.dirs())
        self.assertEqual(os.listdir(self.conf), [SINGLE])
        self.assertEqual(self.read(SINGLE), original)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(self.conf, SINGLE)).st_mode), 0o600)

    def test_only_the_primary_config_is_touched(self):
        # 05-cilium sorts first: the runtime uses it, the others stay as they are
        for name in LISTS + ["99-other.json"]:
            self.put(name, fixture(name) if name in LISTS else fixture(LISTS[0]))
        self.put("00-notes.txt", b"not a config\n")
        before = self.snapshot()
        self.meshcap("install", *self.dirs())
        after = self.snapshot()
        changed = sorted(os.path.relpath(p, self.tmp) for p in set(before) | set(after)
                         if before.get(p) != after.get(p) and not p.startswith(self.bin + "/"))
        self.assertEqual(changed, ["net.d/05-cilium.conflist"])
        self.binary_installed()
        self.meshcap("uninstall", *self.dirs())
        self.assertEqual(self.snapshot(), before)

    def test_changed_settings_replace_the_entry(self):
        self.put(LISTS[0], fixture(LISTS[0]))
        self.meshcap("install", *self.dirs(), "--outbound-port", "15001")
        self.meshcap("install", *self.dirs(), "--outbound-port", "16001")
        doc = self.entry_of(LISTS[0])
        self.assertEqual([p["type"] for p in doc["plugins"]].count("meshcap"), 1)
        self.assertEqual(doc["plugins"][-1]["capture"], {"outboundPort": 16001})
        # --check compares against the entry these flags make
        self.meshcap("install", "--check", *self.dirs(), "--outbound-port", "16001")
        self.meshcap("install", "--check", *self.dirs(), "--outbound-port", "15001", code=4)
        self.meshcap("uninstall", *self.dirs())
        self.assertEqual(self.read(LISTS[0]), fixture(LISTS[0]))

    def test_check(self):
        self.meshcap("install", "--check", *self.dirs(), code=4)  # nothing there
        self.put(LISTS[1], fixture(LISTS[1]))
        self.meshcap("install", "--check", *self.dirs(), code=4)
        self.meshcap("install", *self.dirs())
        self.meshcap("install", "--check", *self.dirs())
        os.unlink(os.path.join(self.bin, "meshcap"))
        r = self.meshcap("install", "--check", *self.dirs(), code=4)
        self.assertIn("meshcap", r.stderr)
        self.meshcap("install", *self.dirs())
        os.unlink(os.path.join(self.bin, "meshcap.d"))  # the launcher has nothing to run
        r = self.meshcap("install", "--check", *self.dirs(), code=4)
        self.assertIn("meshcap.d", r.stderr)
        self.meshcap("install", *self.dirs())
        self.meshcap("install", "--check", *self.dirs())
        self.put(LISTS[1], fixture(LISTS[1]))  # the primary CNI rewrote its file
        self.meshcap("install", "--check", *self.dirs(), code=4)

    def test_binary_before_config(self):
        self.put(LISTS[0], fixture(LISTS[0]))
        os.rmdir(self.bin)
        with open(self.bin, "w") as f:  # a bin dir that cannot take the binary
            f.write("x")
        r = self.meshcap("install", *self.dirs(), code=1)
        self.assertIn(self.bin, r.stderr)
        self.assertEqual(self.read(LISTS[0]), fixture(LISTS[0]))

    def test_no_config_yet(self):
        r = self.meshcap("install", *self.dirs(), code=1)
        self.assertIn("primary CNI", r.stderr)

    def test_bad_input_touches_nothing(self):
        self.put(LISTS[0], fixture(LISTS[0]))
        before = self.snapshot()
        for args in (["--outbound-port", "0"], ["--netns", "/proc/1/ns/net"], ["--select", "some"],
                     ["--exclude-namespaces", "Kube_System"], ["--keep-on-exit"], ["--bogus"],
                     ["--inbound-ports", "80", "--inbound-port", "80"], ["--dialects", "istio,kuma"],
                     ["--dialects", "Istio"], ["--backend", "nftables"], ["--log-level", "loud"],
                     ["--log-file", "relative.log"], ["--log-format", "json"]):
            with self.subTest(args):
                r = self.meshcap("install", *self.dirs(), *args, code=2)
                self.assertEqual(r.stderr.count("\n"), 1, r.stderr)
                self.assertEqual(self.snapshot(), before)
        self.meshcap("reinstall", *self.dirs(), code=2)

    def test_every_top_level_key_and_the_plugin_accepts_the_entry(self):
        self.put(LISTS[0], fixture(LISTS[0]))
        flags = ["--dialects", "istio,linkerd", "--backend", "nft", "--log-level", "debug",
                 "--log-file", os.path.join(self.tmp, "plugin.log"), *SETTINGS]
        self.meshcap("install", *self.dirs(), *flags)
        doc = self.entry_of(LISTS[0])
        entry = doc["plugins"][-1]
        self.assertEqual(entry, {
            "type": "meshcap",
            "capabilities": {"io.kubernetes.cri.pod-annotations": True},
            "select": "all",
            "excludeNamespaces": ["kube-system", "istio-system"],
            "dialects": ["istio", "linkerd"],
            "backend": "nft",
            "logLevel": "debug",
            "logFile": os.path.join(self.tmp, "plugin.log"),
            "capture": {"outboundPort": 15001, "excludeInboundPorts": "15020,15021"},
        })
        self.meshcap("install", "--check", *self.dirs(), *flags)
        # The installed plugin reads the entry as a runtime hands it over
        # (the list's name and version added). STATUS reads every setting
        # first (a refused one is code 7), then probes the kernel in a
        # throwaway namespace of its own (code 50 where it may not make one).
        conf = dict(entry, cniVersion="1.1.0", name=doc["name"])
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "CNI_COMMAND": "STATUS", "CNI_PATH": self.bin}
        r = subprocess.run([os.path.join(self.bin, "meshcap")], input=json.dumps(conf), env=env,
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            self.assertEqual(json.loads(r.stdout)["code"], 50, r.stdout + r.stderr)
        with open(os.path.join(self.tmp, "plugin.log")) as f:
            self.assertIn("STATUS", f.read() + r.stderr)
        # The same entry with a value the plugin refuses: code 7, naming it.
        r = subprocess.run([os.path.join(self.bin, "meshcap")], env=env, capture_output=True, text=True,
                           input=json.dumps(dict(conf, dialects=["istio", "kuma"])), timeout=30)
        self.assertNotEqual(r.returncode, 0)
        err = json.loads(r.stdout)
        self.assertEqual(err["code"], 7)
        self.assertIn("kuma", err["msg"])
        self.meshcap("uninstall", *self.dirs())
        self.assertEqual(self.read(LISTS[0]), fixture(LISTS[0]))

    def test_a_config_that_is_not_json_is_left_alone(self):
        self.put("10-broken.conflist", b'{"plugins": [')
        self.meshcap("install", *self.dirs(), code=1)
        self.assertEqual(self.read("10-broken.conflist"), b'{"plugins": [')


class Bundle(Case):
    """The plugin files: layout, idempotence, switching copies atomically."""

    def other_build(self):
        """A second build: MESHCAP with a byte appended (it still runs) and its launcher."""
        d = os.path.join(self.tmp, "other-build")
        os.mkdir(d)
        shutil.copy(MESHCAP, os.path.join(d, "meshcap"))
        with open(os.path.join(d, "meshcap"), "ab") as f:
            f.write(b"\0")
        shutil.copy(LAUNCHER, os.path.join(d, "meshcap-launcher"))
        return os.path.join(d, "meshcap")

    def install_with(self, meshcap, *extra):
        r = subprocess.run([meshcap, "cni", "install", *self.dirs(), *extra],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_layout_and_a_second_install_writes_nothing(self):
        self.put(LISTS[0], fixture(LISTS[0]))
        self.meshcap("install", *self.dirs())
        copy = self.binary_installed()
        self.assertEqual(sorted(os.listdir(self.bin)), sorted([copy, "meshcap", "meshcap.d"]))
        self.assertEqual(sorted(os.listdir(os.path.join(self.bin, copy))), ["ld.so", "lib", "meshcap"])
        before = self.stamps()
        self.meshcap("install", *self.dirs())
        self.assertEqual(self.stamps(), before, "a second install rewrote something")

    def test_install_from_an_installed_copy(self):
        self.put(LISTS[0], fixture(LISTS[0]))
        self.meshcap("install", *self.dirs())
        copy = self.binary_installed()
        before = self.stamps()
        # The installed plugin installs itself: into its own dir (nothing to do) ...
        self.install_with(os.path.join(self.bin, "meshcap"))
        self.assertEqual(self.stamps(), before)
        # ... and into another one: the same files.
        other = os.path.join(self.tmp, "bin2")
        r = subprocess.run([os.path.join(self.bin, "meshcap"), "cni", "install", "--bin-dir", other,
                            "--conf-dir", self.conf], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(os.readlink(os.path.join(other, "meshcap.d")), copy)
        r = subprocess.run(["diff", "-r", "--no-dereference", self.bin, other], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_upgrade_switches_copies_and_keeps_the_one_before(self):
        self.put(LISTS[0], fixture(LISTS[0]))
        # What an older meshcap left: the plain binary as the plugin, two
        # older copies (the link names one), an interrupted install's leftovers.
        shutil.copy(MESHCAP, os.path.join(self.bin, "meshcap"))
        for old in (".meshcap.d-0123456789abcdef", ".meshcap.d-fedcba9876543210", ".meshcap.d-tmp-AbC123"):
            os.makedirs(os.path.join(self.bin, old, "lib"))
        os.symlink(".meshcap.d-0123456789abcdef", os.path.join(self.bin, ".meshcap.d-link-99"))
        os.symlink(".meshcap.d-0123456789abcdef", os.path.join(self.bin, "meshcap.d"))
        self.meshcap("install", *self.dirs())
        a = self.binary_installed()
        # the copy the link named until now stays for a plugin still starting from it
        self.assertEqual(sorted(os.listdir(self.bin)),
                         sorted([".meshcap.d-0123456789abcdef", a, "meshcap", "meshcap.d"]))
        before = self.stamps()
        self.meshcap("install", *self.dirs())
        self.assertEqual(self.stamps(), before, "an install with the same files changed something")

        b_meshcap = self.other_build()
        self.install_with(b_meshcap)
        b = self.binary_installed(b_meshcap, os.path.join(os.path.dirname(b_meshcap), "meshcap-launcher"))
        self.assertNotEqual(a, b)
        self.assertEqual(sorted(os.listdir(self.bin)), sorted([a, b, "meshcap", "meshcap.d"]))
        self.meshcap("install", *self.dirs())  # back to the first: its copy is reused
        self.assertEqual(self.binary_installed(), a)
        self.assertEqual(sorted(os.listdir(self.bin)), sorted([a, b, "meshcap", "meshcap.d"]))
        self.meshcap("uninstall", *self.dirs())
        self.assertEqual(os.listdir(self.bin), [])

    def test_a_damaged_copy_is_written_again(self):
        self.put(LISTS[0], fixture(LISTS[0]))
        self.meshcap("install", *self.dirs())
        copy = self.binary_installed()
        libc = os.path.join(self.bin, copy, "lib", "libc.so.6")
        os.truncate(libc, 1000)
        r = subprocess.run([os.path.join(self.bin, "meshcap"), "--version"], capture_output=True, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.meshcap("install", *self.dirs())
        self.assertEqual(self.binary_installed(), copy)

    def test_the_plugin_runs_while_installs_switch_copies(self):
        self.put(LISTS[0], fixture(LISTS[0]))
        self.meshcap("install", *self.dirs())
        b_meshcap = self.other_build()
        plugin = os.path.join(self.bin, "meshcap")
        failures, runs, stop = [], [0], threading.Event()

        def run_plugin():
            while not stop.is_set():
                r = subprocess.run([plugin, "--version"], capture_output=True, text=True, timeout=30)
                runs[0] += 1
                if r.returncode != 0 or not r.stdout.startswith("meshcap "):
                    failures.append((r.returncode, r.stdout, r.stderr))

        t = threading.Thread(target=run_plugin)
        t.start()
        try:
            for _ in range(3):
                self.install_with(b_meshcap)
                self.meshcap("install", *self.dirs())
        finally:
            stop.set()
            t.join()
        self.assertEqual(failures, [])
        self.assertGreater(runs[0], 5)
        self.binary_installed()


class Watch(Case):
    def start(self, *extra):
        p = subprocess.Popen([MESHCAP, "cni", "install", "--watch", *self.dirs(), *extra],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.procs.append(p)
        return p

    def has_entry(self, name):
        try:
            doc = json.loads(self.read(name))
        except (OSError, ValueError):
            return False
        return doc["plugins"][-1]["type"] == "meshcap"

    def rewrite(self, name, data):
        # as an installer does: a temporary file renamed over the config
        tmp = os.path.join(self.conf, ".tmp-" + name)
        with open(tmp, "wb") as f:
            f.write(data)
        os.rename(tmp, os.path.join(self.conf, name))

    def test_entry_comes_back_and_goes_on_sigterm(self):
        name = LISTS[0]
        self.put(name, fixture(name))
        p = self.start()
        self.wait_for(lambda: self.has_entry(name), "the entry")
        self.binary_installed()
        for i in range(3):
            self.rewrite(name, fixture(name))  # renamed over
            self.wait_for(lambda: self.has_entry(name), f"the entry after rewrite {i}")
        with open(os.path.join(self.conf, name), "wb") as f:  # written in place
            f.write(fixture(name))
        self.wait_for(lambda: self.has_entry(name), "the entry after an in-place write")
        # a quiet file stays quiet: no rewrite loop on meshcap's own writes
        settled = os.stat(os.path.join(self.conf, name)).st_mtime_ns
        time.sleep(0.5)
        self.assertEqual(os.stat(os.path.join(self.conf, name)).st_mtime_ns, settled)
        self.assertIsNone(p.poll())
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(timeout=10), 0, p.stderr.read())
        self.assertEqual(self.read(name), fixture(name))
        self.assertEqual(os.listdir(self.bin), [])

    def test_waits_for_the_primary_cni(self):
        p = self.start()
        time.sleep(0.3)
        self.assertIsNone(p.poll())
        self.rewrite(LISTS[2], fixture(LISTS[2]))
        self.wait_for(lambda: self.has_entry(LISTS[2]), "the entry once the primary CNI wrote its config")
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(timeout=10), 0)
        self.assertEqual(self.read(LISTS[2]), fixture(LISTS[2]))

    def test_single_conf_rewritten_by_its_owner(self):
        self.put(SINGLE, fixture(SINGLE))
        p = self.start()
        self.wait_for(lambda: self.has_entry("10-bridge.conflist") and not os.path.exists(
            os.path.join(self.conf, SINGLE)), "the converted list")
        self.rewrite(SINGLE, fixture(SINGLE))  # the owner writes its .conf again
        self.wait_for(lambda: os.listdir(self.conf) == ["10-bridge.conflist"] and self.has_entry(
            "10-bridge.conflist"), "the list again")
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(timeout=10), 0)
        self.assertEqual(os.listdir(self.conf), [SINGLE])
        self.assertEqual(self.read(SINGLE), fixture(SINGLE))

    def test_keep_on_exit(self):
        name = LISTS[1]
        self.put(name, fixture(name))
        p = self.start("--keep-on-exit", "--outbound-port", "15001")
        self.wait_for(lambda: self.has_entry(name), "the entry")
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(timeout=10), 0)
        self.assertTrue(self.has_entry(name))
        self.binary_installed()
        self.meshcap("install", "--check", *self.dirs(), "--outbound-port", "15001")


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)

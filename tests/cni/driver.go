// The CNI test driver: runs meshcap as a chained plugin through libcni, the
// library container runtimes use, on real network namespaces, and proves
// what it did with real connections and the kernel's own tools.
//
//	driver run SCENARIO --plugin PATH   (as root; re-executes itself in a
//	                                     throwaway "node" namespace first)
//	driver helper serve PORT...         (listens; tells each client where it landed)
//	driver helper connect ADDR:PORT     (prints what the listener said)
//
// Built offline in GOPATH mode against Debian's golang-github-appc-cni-dev.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
)

const soOriginalDst = 80

const annotationsCap = "io.kubernetes.cri.pod-annotations"

var (
	plugin   string // the meshcap binary under test
	binDir   string // holds `meshcap`, found by libcni next to /usr/lib/cni
	tmp      string
	self     string
	failures int
	netnsSeq int
)

func main() {
	if len(os.Args) >= 3 && os.Args[1] == "helper" {
		helper(os.Args[2], os.Args[3:])
		return
	}
	if len(os.Args) < 5 || os.Args[1] != "run" || os.Args[3] != "--plugin" {
		fmt.Fprintln(os.Stderr, "usage: driver run SCENARIO --plugin PATH")
		os.Exit(2)
	}
	self, _ = os.Executable()
	plugin, _ = filepath.Abs(os.Args[4])
	if os.Getenv("MCTEST_CNI_NODE") == "" {
		// The runtime's own namespace is a throwaway one, and so are the
		// mounts of every namespace this run creates: the host is never touched.
		cmd := exec.Command("unshare", "--net", "--mount", "--propagation", "private", "--", self)
		cmd.Args = append(cmd.Args, os.Args[1:]...)
		cmd.Env = append(os.Environ(), "MCTEST_CNI_NODE=1")
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				os.Exit(ee.ExitCode())
			}
			fmt.Fprintln(os.Stderr, "cannot run in a new network namespace:", err)
			os.Exit(1)
		}
		return
	}
	must(run("ip", "link", "set", "lo", "up"))
	// Namespace files of this run live and die with its mount namespace.
	must(os.MkdirAll("/run/netns", 0o755))
	must(run("mount", "-t", "tmpfs", "mccni", "/run/netns"))
	var err error
	tmp, err = os.MkdirTemp("", "meshcap-cni-")
	must(err)
	defer os.RemoveAll(tmp)
	binDir = filepath.Join(tmp, "bin")
	must(os.MkdirAll(binDir, 0o755))
	must(os.Symlink(plugin, filepath.Join(binDir, "meshcap")))

	scenarios := map[string]func(){
		"chain":      scenarioChain,
		"robustness": scenarioRobustness,
		"direct":     scenarioDirect,
		"badinput":   scenarioBadInput,
		"concurrent": scenarioConcurrent,
		"validate":   scenarioValidate,
		"dialects":   scenarioDialects,
		"bench":      scenarioBench, // bench/cni.sh; not a test
	}
	f, ok := scenarios[os.Args[2]]
	if !ok {
		fmt.Fprintln(os.Stderr, "unknown scenario", os.Args[2])
		os.Exit(2)
	}
	f()
	if failures > 0 {
		fmt.Printf("FAIL: %d checks failed\n", failures)
		os.RemoveAll(tmp)
		os.Exit(1)
	}
	fmt.Println("PASS")
}

// ---- small helpers -----------------------------------------------------

func must(err error) {
	if err != nil {
		fmt.Println("FATAL:", err)
		if tmp != "" {
			os.RemoveAll(tmp)
		}
		os.Exit(1)
	}
}

func check(ok bool, format string, args ...interface{}) bool {
	msg := fmt.Sprintf(format, args...)
	if ok {
		fmt.Println("ok   ", msg)
	} else {
		fmt.Println("FAIL ", msg)
		failures++
	}
	return ok
}

func run(argv ...string) error {
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, out)
	}
	return nil
}

func firstLine(s string) string { return strings.SplitN(s, "\n", 2)[0] }

func output(argv ...string) string {
	out, _ := exec.Command(argv[0], argv[1:]...).Output()
	return string(out)
}

var comment = regexp.MustCompile(`(?m)^#.*\n`)

// The namespace's netfilter and policy-routing state, as the standard tools
// print it. netns "" is the node (this process's namespace).
func snapshot(netns string) string {
	pre := []string{}
	if netns != "" {
		pre = []string{"ip", "netns", "exec", netns}
	}
	var b strings.Builder
	for _, argv := range [][]string{
		{"nft", "list", "ruleset"},
		{"iptables-legacy-save"},
		{"ip6tables-legacy-save"},
		{"ip", "rule"},
		{"ip", "-6", "rule"},
	} {
		b.WriteString("## " + strings.Join(argv, " ") + "\n")
		b.WriteString(comment.ReplaceAllString(output(append(pre, argv...)...), ""))
	}
	return b.String()
}

func nftRuleset(netns string) string {
	return output("ip", "netns", "exec", netns, "nft", "list", "ruleset")
}

type namespace struct{ name, path string }

func newNetns() namespace {
	netnsSeq++
	name := fmt.Sprintf("mccni-%d-%d", os.Getpid(), netnsSeq)
	must(run("ip", "netns", "add", name))
	must(run("ip", "-n", name, "link", "set", "lo", "up"))
	return namespace{name, "/var/run/netns/" + name}
}

func (n namespace) del() { _ = run("ip", "netns", "del", n.name) }

// ---- libcni ------------------------------------------------------------

func cniConfig() *libcni.CNIConfig {
	return libcni.NewCNIConfigWithCacheDir([]string{binDir, "/usr/lib/cni"}, filepath.Join(tmp, "cache"), nil)
}

func meshcapEntry(extra string) string {
	entry := `{"type": "meshcap", "capabilities": {"` + annotationsCap + `": true}`
	if extra != "" {
		entry += ", " + extra
	}
	return entry + "}"
}

// bridge + host-local (Debian's, in /usr/lib/cni) followed by meshcap.
func bridgeList(meshcapExtra string) *libcni.NetworkConfigList {
	text := `{
  "cniVersion": "1.0.0",
  "name": "mcnet",
  "plugins": [
    {"type": "bridge", "bridge": "mcbr0", "isGateway": true, "ipMasq": false,
     "ipam": {"type": "host-local", "dataDir": "` + filepath.Join(tmp, "ipam") + `",
              "ranges": [[{"subnet": "10.99.0.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    ` + meshcapEntry(meshcapExtra) + `
  ]
}`
	list, err := libcni.ConfListFromBytes([]byte(text))
	must(err)
	return list
}

func meshcapOnlyList(version, meshcapExtra string) *libcni.NetworkConfigList {
	text := `{"cniVersion": "` + version + `", "name": "mconly", "plugins": [` + meshcapEntry(meshcapExtra) + `]}`
	list, err := libcni.ConfListFromBytes([]byte(text))
	must(err)
	return list
}

type pod struct {
	ns          namespace
	id          string
	k8sNS, name string
	annotations map[string]string
}

func (p pod) rt() *libcni.RuntimeConf {
	rt := &libcni.RuntimeConf{
		ContainerID: p.id,
		NetNS:       p.ns.path,
		IfName:      "eth0",
		Args: [][2]string{
			{"IgnoreUnknown", "1"},
			{"K8S_POD_NAMESPACE", p.k8sNS},
			{"K8S_POD_NAME", p.name},
			{"K8S_POD_INFRA_CONTAINER_ID", p.id},
		},
	}
	// As containerd does: the pod's annotations under the capability name.
	if p.annotations != nil {
		rt.CapabilityArgs = map[string]interface{}{annotationsCap: p.annotations}
	}
	return rt
}

func newPod(k8sNS, name string, annotations map[string]string) pod {
	return pod{newNetns(), "c" + strings.Repeat("0", 8) + fmt.Sprint(netnsSeq), k8sNS, name, annotations}
}

// Runs one libcni verb and checks that the node's namespace is byte-for-byte
// what it was before.
func verb(what string, f func() error) error {
	before := snapshot("")
	err := f()
	after := snapshot("")
	check(before == after, "%s leaves the node's nft ruleset, iptables and ip rules unchanged", what)
	if before != after {
		fmt.Printf("before:\n%s\nafter:\n%s\n", before, after)
	}
	return err
}

func podIP(n namespace) string {
	out := output("ip", "-n", n.name, "-4", "-o", "addr", "show", "dev", "eth0")
	m := regexp.MustCompile(`inet (\d+\.\d+\.\d+\.\d+)/`).FindStringSubmatch(out)
	if m == nil {
		return ""
	}
	return m[1]
}

// ---- connections -------------------------------------------------------

type server struct{ cmd *exec.Cmd }

// A listener on each port inside netns ("" = the node).
func serve(netns string, ports ...string) *server {
	argv := []string{self, "helper", "serve"}
	if netns != "" {
		argv = append([]string{"ip", "netns", "exec", netns}, argv...)
	}
	cmd := exec.Command(argv[0], append(argv[1:], ports...)...)
	stdout, err := cmd.StdoutPipe()
	must(err)
	cmd.Stderr = os.Stderr
	must(cmd.Start())
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		must(fmt.Errorf("listener in %q did not start: %q", netns, line))
	}
	return &server{cmd}
}

func (s *server) stop() {
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
}

// Where a connection from netns ("" = the node) to addr landed: "PORT ORIGDST".
func connect(netns, addr string) string {
	argv := []string{self, "helper", "connect", addr}
	if netns != "" {
		argv = append([]string{"ip", "netns", "exec", netns}, argv...)
	}
	out, err := exec.Command(argv[0], argv[1:]...).Output()
	if err != nil {
		return "no connection"
	}
	return strings.TrimSpace(string(out))
}

func helper(mode string, args []string) {
	switch mode {
	case "serve":
		for _, p := range args {
			l, err := net.Listen("tcp4", "0.0.0.0:"+p)
			if err != nil {
				fmt.Println("listen:", err)
				os.Exit(1)
			}
			go func(l net.Listener) {
				for {
					c, err := l.Accept()
					if err != nil {
						return
					}
					local := c.LocalAddr().(*net.TCPAddr)
					fmt.Fprintf(c, "%d %s\n", local.Port, originalDst(c.(*net.TCPConn)))
					c.Close()
				}
			}(l)
		}
		fmt.Println("ready")
		select {}
	case "connect":
		c, err := net.DialTimeout("tcp4", args[0], 2*time.Second)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		line, _ := bufio.NewReader(c).ReadString('\n')
		fmt.Print(line)
	}
}

func originalDst(c *net.TCPConn) string {
	raw, err := c.SyscallConn()
	if err != nil {
		return "-"
	}
	dst := "-"
	_ = raw.Control(func(fd uintptr) {
		m, err := syscall.GetsockoptIPv6Mreq(int(fd), syscall.SOL_IP, soOriginalDst)
		if err == nil {
			a := m.Multiaddr
			dst = fmt.Sprintf("%d.%d.%d.%d:%d", a[4], a[5], a[6], a[7], int(a[2])<<8|int(a[3]))
		}
	})
	return dst
}

// ---- scenarios ---------------------------------------------------------

// bridge + host-local + meshcap through libcni: ADD, CHECK, DEL on four pods,
// with real connections in and out.
func scenarioChain() {
	ctx := context.Background()
	cni := cniConfig()
	list := bridgeList(`"capture": {"excludeInboundPorts": "15020,15021"}`)

	captured := newPod("default", "captured", map[string]string{"meshcap.io/capture": "enabled", "team": "a"})
	plain := newPod("default", "plain", map[string]string{"team": "b"})
	system := newPod("kube-system", "system", map[string]string{"meshcap.io/capture": "enabled"})
	override := newPod("default", "override", map[string]string{
		"meshcap.io/capture": "enabled", "meshcap.io/exclude-inbound-ports": "8080"})
	pods := []pod{captured, plain, system, override}
	defer func() {
		for _, p := range pods {
			p.ns.del()
		}
	}()

	for _, p := range pods {
		err := verb("ADD "+p.name, func() error {
			res, err := cni.AddNetworkList(ctx, list, p.rt())
			if err == nil {
				// bridge's result came through meshcap unchanged.
				b, _ := json.Marshal(res)
				check(strings.Contains(string(b), "10.99.0."), "ADD %s returns the bridge's result with its address: %s", p.name, b)
			}
			return err
		})
		check(err == nil, "ADD %s succeeds (%v)", p.name, err)
	}
	for _, p := range []pod{plain, system} {
		got := snapshot(p.ns.name)
		check(!strings.Contains(got, "meshcap") && !strings.Contains(got, "MESHCAP"),
			"pod %s (not captured) holds no meshcap rules", p.name)
	}
	for _, p := range []pod{captured, override} {
		check(strings.Contains(nftRuleset(p.ns.name), "table ip meshcap"), "pod %s holds meshcap's table", p.name)
	}

	// Real connections.
	node := serve("", "9999")
	defer node.stop()
	servers := []*server{}
	for _, p := range pods {
		servers = append(servers, serve(p.ns.name, "8080", "8081", "15001", "15006"))
	}
	defer func() {
		for _, s := range servers {
			s.stop()
		}
	}()
	gw := "10.99.0.1"
	for _, p := range pods {
		ip := podIP(p.ns)
		check(ip != "", "pod %s has an address from host-local", p.name)
		in8080 := connect("", ip+":8080")
		in8081 := connect("", ip+":8081")
		out := connect(p.ns.name, gw+":9999")
		switch p.name {
		case "captured":
			check(in8080 == "15006 "+ip+":8080", "inbound to captured pod lands on the inbound port with its original destination (%s)", in8080)
			check(out == "15001 "+gw+":9999", "captured pod's outbound lands on the outbound port with its original destination (%s)", out)
		case "plain", "system":
			check(strings.HasPrefix(in8080, "8080 "), "inbound to %s pod lands on the app (%s)", p.name, in8080)
			check(strings.HasPrefix(out, "9999 "), "%s pod's outbound reaches the node (%s)", p.name, out)
		case "override":
			check(strings.HasPrefix(in8080, "8080 "), "override pod: meshcap.io/exclude-inbound-ports 8080 lets 8080 through to the app (%s)", in8080)
			check(in8081 == "15006 "+ip+":8081", "override pod: 8081 is still captured (%s)", in8081)
			check(out == "15001 "+gw+":9999", "override pod's outbound is captured (%s)", out)
		}
	}

	for _, p := range pods {
		err := verb("CHECK "+p.name, func() error { return cni.CheckNetworkList(ctx, list, p.rt()) })
		check(err == nil, "CHECK %s succeeds (%v)", p.name, err)
	}
	// A failing ADD through libcni: the annotation is named, code 7, and the
	// node (where bridge has just run) is unchanged by meshcap.
	badPod := newPod("default", "badann", map[string]string{"meshcap.io/capture": "enabled", "meshcap.io/inbound-ports": "80,x"})
	pods = append(pods, badPod)
	err := verb("failing ADD", func() error { _, err := cni.AddNetworkList(ctx, list, badPod.rt()); return err })
	var cniError *types.Error
	check(errors.As(err, &cniError) && cniError.Code == 7 && strings.Contains(cniError.Msg, "meshcap.io/inbound-ports"),
		"ADD with a bad annotation fails through libcni with code 7 naming it (%v)", err)
	check(!strings.Contains(snapshot(badPod.ns.name), "meshcap"), "the failed ADD touched nothing in the pod")

	for _, p := range pods {
		err := verb("DEL "+p.name, func() error { return cni.DelNetworkList(ctx, list, p.rt()) })
		check(err == nil, "DEL %s succeeds (%v)", p.name, err)
		got := snapshot(p.ns.name)
		check(!strings.Contains(got, "meshcap") && !strings.Contains(got, "MESHCAP"), "after DEL pod %s holds no meshcap state", p.name)
	}
}

// ADD twice, CHECK after a rule was deleted by hand, DEL twice, DEL after the
// namespace is gone, CHECK of an uncaptured pod holding meshcap state; and the
// same through the iptables backend.
func scenarioRobustness() {
	ctx := context.Background()
	cni := cniConfig()
	for _, backend := range []string{"nft", "iptables"} {
		list := meshcapOnlyList("1.0.0", `"select": "all", "backend": "`+backend+`"`)
		p := newPod("default", "robust-"+backend, nil)
		state := func() string {
			if backend == "nft" {
				return nftRuleset(p.ns.name)
			}
			return snapshot(p.ns.name)
		}
		err := verb("ADD", func() error { _, err := cni.AddNetworkList(ctx, list, p.rt()); return err })
		check(err == nil, "[%s] first ADD (%v)", backend, err)
		first := state()
		err = verb("ADD again", func() error { _, err := cni.AddNetworkList(ctx, list, p.rt()); return err })
		check(err == nil, "[%s] second ADD (%v)", backend, err)
		check(state() == first && strings.Contains(strings.ToLower(first), "meshcap"), "[%s] ADD twice converges to one copy of the rules", backend)
		err = verb("CHECK", func() error { return cni.CheckNetworkList(ctx, list, p.rt()) })
		check(err == nil, "[%s] CHECK after ADD twice (%v)", backend, err)

		// Someone deletes one rule by hand.
		if backend == "nft" {
			out := output("ip", "netns", "exec", p.ns.name, "nft", "-a", "list", "chain", "ip", "meshcap", "inbound")
			m := regexp.MustCompile(`redirect to :15006 # handle (\d+)`).FindStringSubmatch(out)
			if check(m != nil, "[nft] found the inbound redirect rule's handle") {
				must(run("ip", "netns", "exec", p.ns.name, "nft", "delete", "rule", "ip", "meshcap", "inbound", "handle", m[1]))
			}
		} else {
			must(run("ip", "netns", "exec", p.ns.name, "iptables-legacy", "-t", "nat", "-F", "MESHCAP_INBOUND"))
		}
		err = verb("CHECK after a hand edit", func() error { return cni.CheckNetworkList(ctx, list, p.rt()) })
		msg := fmt.Sprint(err)
		var cniError *types.Error
		check(errors.As(err, &cniError) && cniError.Code == 101 && strings.Contains(cniError.Msg, "difference in details"),
			"[%s] CHECK after a rule was deleted by hand fails with code 101 (%s)", backend, firstLine(msg))
		check(strings.Contains(msg, "15006"), "[%s] CHECK's error names the missing rule (redirect to 15006)", backend)
		err = verb("ADD repairs", func() error { _, err := cni.AddNetworkList(ctx, list, p.rt()); return err })
		check(err == nil && state() == first, "[%s] ADD again restores the rules (%v)", backend, err)

		err = verb("DEL", func() error { return cni.DelNetworkList(ctx, list, p.rt()) })
		check(err == nil, "[%s] DEL (%v)", backend, err)
		check(!strings.Contains(strings.ToLower(snapshot(p.ns.name)), "meshcap"), "[%s] DEL removed everything", backend)
		err = verb("DEL twice", func() error { return cni.DelNetworkList(ctx, list, p.rt()) })
		check(err == nil, "[%s] DEL twice succeeds (%v)", backend, err)

		// CHECK of a pod that is not captured but holds meshcap state.
		uncaptured := meshcapOnlyList("1.0.0", `"select": "annotated", "backend": "`+backend+`"`)
		_, err = cni.AddNetworkList(ctx, list, p.rt())
		must(err)
		err = cni.CheckNetworkList(ctx, uncaptured, p.rt())
		check(errors.As(err, &cniError) && cniError.Code == 101 && strings.Contains(cniError.Msg, "not captured"),
			"[%s] CHECK of an uncaptured pod whose namespace holds meshcap state fails with 101 (%s)", backend, firstLine(fmt.Sprint(err)))
		_ = cni.DelNetworkList(ctx, list, p.rt())
		err = cni.CheckNetworkList(ctx, uncaptured, p.rt())
		check(err == nil, "[%s] CHECK of an uncaptured clean pod succeeds (%v)", backend, err)

		// DEL after the namespace is gone.
		_, err = cni.AddNetworkList(ctx, list, p.rt())
		must(err)
		p.ns.del()
		err = verb("DEL of a deleted netns", func() error { return cni.DelNetworkList(ctx, list, p.rt()) })
		check(err == nil, "[%s] DEL after the namespace was deleted succeeds (%v)", backend, err)
	}
}

// The plugin executed directly, as the specification prescribes: VERSION,
// STATUS, GC and cniVersion 1.1.0 (beyond Debian's libcni), DEL without
// prevResult or CNI_NETNS.
func scenarioDirect() {
	p := newPod("default", "direct", nil)
	defer p.ns.del()
	conf := func(version, extra string) string {
		c := `{"cniVersion": "` + version + `", "name": "direct", "type": "meshcap"`
		if extra != "" {
			c += ", " + extra
		}
		return c + "}"
	}
	env := map[string]string{"CNI_CONTAINERID": "direct1", "CNI_NETNS": p.ns.path, "CNI_IFNAME": "eth0", "CNI_PATH": binDir}

	out, code := execPlugin("VERSION", env, conf("1.1.0", ""))
	check(code == 0 && strings.Contains(out, `"1.1.0"`) && strings.Contains(out, `"0.3.1"`), "VERSION lists 0.3.1 through 1.1.0: %s", out)
	out, code = execPlugin("VERSION", env, conf("0.1.0", ""))
	check(code == 0 && strings.Contains(out, "supportedVersions"), "VERSION answers for any config version: %s", out)

	before := snapshot("")
	out, code = execPlugin("STATUS", map[string]string{"CNI_PATH": binDir}, conf("1.1.0", ""))
	check(code == 0 && out == "", "STATUS (1.1.0) succeeds, prints nothing (%d %q)", code, out)
	check(snapshot("") == before, "STATUS leaves the node's namespace unchanged")
	// A node where neither backend can take the rules: a plugin that may make
	// the probe's namespace (CAP_SYS_ADMIN) but not program it (no
	// CAP_NET_ADMIN); and one that cannot even make the namespace.
	for _, caps := range []string{"-all,+sys_admin", "-all"} {
		cmd := exec.Command("setpriv", "--inh-caps", "-all", "--bounding-set", caps, plugin)
		cmd.Env = []string{"CNI_COMMAND=STATUS", "CNI_PATH=" + binDir}
		cmd.Stdin = strings.NewReader(conf("1.1.0", ""))
		raw, _ := cmd.Output()
		var status cniErr
		_ = json.Unmarshal(raw, &status)
		check(cmd.ProcessState.ExitCode() != 0 && status.Code == 50, "STATUS with capabilities %s is code 50: %s", caps, strings.TrimSpace(string(raw)))
	}
	out, code = execPlugin("GC", map[string]string{"CNI_PATH": binDir}, conf("1.1.0", `"cni.dev/valid-attachments": []`))
	check(code == 0 && out == "", "GC (1.1.0) succeeds (%d %q)", code, out)
	check(snapshot("") == before, "GC leaves the node's namespace unchanged")

	prev := `"prevResult": {"cniVersion": "1.1.0", "interfaces": [{"name": "eth0"}], "ips": [{"address": "10.1.2.3/24", "interface": 0}]}`
	for _, v := range []string{"0.3.1", "0.4.0", "1.0.0", "1.1.0"} {
		out, code = execPlugin("ADD", env, conf(v, `"select": "all", `+strings.Replace(prev, "1.1.0", v, 1)))
		var res map[string]interface{}
		_ = json.Unmarshal([]byte(out), &res)
		check(code == 0 && res["cniVersion"] == v && strings.Contains(out, "10.1.2.3/24"),
			"ADD %s prints prevResult unchanged in the config's version: %s", v, out)
		check(strings.Contains(nftRuleset(p.ns.name), "table ip meshcap"), "ADD %s programmed the pod", v)
		if v != "0.3.1" {
			out, code = execPlugin("CHECK", env, conf(v, `"select": "all", `+strings.Replace(prev, "1.1.0", v, 1)))
			check(code == 0, "CHECK %s succeeds (%d %s)", v, code, out)
		}
		// DEL without prevResult still cleans up.
		out, code = execPlugin("DEL", env, conf(v, `"select": "all"`))
		check(code == 0 && !strings.Contains(nftRuleset(p.ns.name), "meshcap"), "DEL %s without prevResult cleans up (%d %s)", v, code, out)
	}
	out, code = execPlugin("ADD", env, conf("1.1.0", `"select": "all"`))
	check(code == 0 && strings.TrimSpace(out) == `{"cniVersion":"1.1.0"}`, "ADD without prevResult prints an empty result: %s", out)
	out, code = execPlugin("ADD", env, conf("1.1.0", `"select": "annotated", `+prev))
	check(code == 0 && strings.Contains(out, "10.1.2.3/24"), "ADD of an uncaptured pod passes prevResult through: %s", out)
	noNetns := map[string]string{"CNI_CONTAINERID": "direct1", "CNI_IFNAME": "eth0"}
	out, code = execPlugin("DEL", noNetns, conf("1.1.0", ""))
	check(code == 0, "DEL with no CNI_NETNS succeeds (%d %s)", code, out)
	check(strings.Contains(nftRuleset(p.ns.name), "meshcap"), "... and touches nothing")
	out, code = execPlugin("DEL", env, conf("1.1.0", `"capture": {"outboundPort": "bad"}`))
	check(code == 0 && !strings.Contains(nftRuleset(p.ns.name), "meshcap"), "DEL cleans up even when the settings are invalid (%d %s)", code, out)
	stale := filepath.Join(tmp, "stale-netns")
	must(os.WriteFile(stale, nil, 0o644))
	out, code = execPlugin("DEL", map[string]string{"CNI_CONTAINERID": "x", "CNI_IFNAME": "eth0", "CNI_NETNS": stale}, conf("1.1.0", ""))
	check(code == 0, "DEL of a path left behind by a deleted namespace (an empty file) succeeds (%d %s)", code, out)
	// The throwaway node holds meshcap rules of its own (as if an admin ran
	// `meshcap apply` there): a DEL naming the node must leave them alone.
	must(run(plugin, "apply"))
	defer func() { _ = run(plugin, "cleanup") }()
	nodeBefore := snapshot("")
	check(strings.Contains(nodeBefore, "meshcap"), "the throwaway node holds meshcap rules")
	own := map[string]string{"CNI_CONTAINERID": "x", "CNI_IFNAME": "eth0", "CNI_NETNS": fmt.Sprintf("/proc/%d/ns/net", os.Getpid())}
	out, code = execPlugin("DEL", own, conf("1.1.0", `"select": "all"`))
	check(code == 0 && snapshot("") == nodeBefore, "DEL naming the node's own namespace succeeds and touches nothing (%d %s)", code, out)
	missing := map[string]string{"CNI_CONTAINERID": "x", "CNI_IFNAME": "eth0", "CNI_NETNS": "/var/run/netns/does-not-exist"}
	out, code = execPlugin("DEL", missing, conf("1.1.0", ""))
	check(code == 0, "DEL of a namespace path that does not exist succeeds (%d %s)", code, out)

	// logFile: every line is appended there too.
	logFile := filepath.Join(tmp, "meshcap.log")
	_, code = execPlugin("ADD", env, conf("1.0.0", `"select": "all", "logFile": "`+logFile+`"`))
	_, code2 := execPlugin("DEL", env, conf("1.0.0", `"select": "all", "logFile": "`+logFile+`"`))
	logged, _ := os.ReadFile(logFile)
	check(code == 0 && code2 == 0 && strings.Contains(string(logged), "applied") && strings.Contains(string(logged), "removed"),
		"logFile gets the log lines of ADD and DEL: %q", logged)
}

type cniErr struct {
	CNIVersion string `json:"cniVersion"`
	Code       int    `json:"code"`
	Msg        string `json:"msg"`
	Details    string `json:"details"`
}

func execPlugin(command string, env map[string]string, stdin string) (string, int) {
	return execProgram(plugin, command, env, stdin)
}

func execProgram(program, command string, env map[string]string, stdin string) (string, int) {
	cmd := exec.Command(program)
	// A runtime's minimal environment: nothing of the caller's.
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	if command != "" {
		cmd.Env = append(cmd.Env, "CNI_COMMAND="+command)
	}
	keys := []string{}
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	cmd.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		code = -1
	}
	return string(out), code
}

// Every kind of bad input: the right code in a JSON error object on stdout,
// a non-zero exit, and nothing touched in the pod's or the node's namespace.
func scenarioBadInput() {
	p := newPod("default", "bad", nil)
	defer p.ns.del()
	file := filepath.Join(tmp, "regular-file")
	must(os.WriteFile(file, []byte("x"), 0o644))
	good := map[string]string{"CNI_CONTAINERID": "bad1", "CNI_NETNS": p.ns.path, "CNI_IFNAME": "eth0", "CNI_PATH": binDir,
		"CNI_ARGS": "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=bad"}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range good {
			m[a] = b
		}
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	conf := func(extra string) string {
		return `{"cniVersion": "1.0.0", "name": "bad", "type": "meshcap", "select": "all"` + extra + `}`
	}
	ann := func(k, v string) string {
		return conf(`, "runtimeConfig": {"` + annotationsCap + `": {"` + k + `": ` + v + `}}`)
	}
	// A pod a mesh injected, with one more annotation, under both dialects.
	meshAnn := func(injected map[string]string, k, v string) string {
		a := map[string]string{k: v}
		for x, y := range injected {
			a[x] = y
		}
		b, _ := json.Marshal(a)
		return conf(`, "dialects": ["istio", "linkerd"], "runtimeConfig": {"` + annotationsCap + `": ` + string(b) + `}`)
	}
	type tc struct {
		name    string
		command string
		env     map[string]string
		stdin   string
		code    int
		mention string
	}
	cases := []tc{
		{"malformed JSON", "ADD", good, `{"cniVersion": "1.0.0", "name": `, 6, "not valid JSON"},
		{"not an object", "ADD", good, `[1, 2]`, 6, "object"},
		{"too deep", "ADD", good, conf(`, "x": ` + strings.Repeat("[", 100) + strings.Repeat("]", 100)), 6, "nested"},
		{"too large", "ADD", good, conf(`, "x": "` + strings.Repeat("a", 5<<20) + `"`), 6, "larger"},
		{"unsupported cniVersion", "ADD", good, `{"cniVersion": "0.2.0", "name": "bad", "type": "meshcap"}`, 1, "0.2.0"},
		{"future cniVersion", "ADD", good, `{"cniVersion": "9.0.0", "name": "bad", "type": "meshcap"}`, 1, "9.0.0"},
		{"no cniVersion", "ADD", good, `{"name": "bad", "type": "meshcap"}`, 1, "cniVersion"},
		{"unsupported version before bad settings", "ADD", good, `{"cniVersion": "0.1.0", "capture": {"outboundPort": true}}`, 1, "0.1.0"},
		{"CHECK below 0.4.0", "CHECK", good, strings.Replace(conf(""), "1.0.0", "0.3.1", 1), 1, "CHECK"},
		{"STATUS below 1.1.0", "STATUS", good, conf(""), 1, "STATUS"},
		{"GC below 1.1.0", "GC", good, conf(""), 1, "GC"},
		{"unknown CNI_COMMAND", "FROB", good, conf(""), 4, "FROB"},
		{"empty CNI_COMMAND", "", with("CNI_COMMAND", "") /* unset below */, conf(""), 4, "CNI_COMMAND"},
		{"missing CNI_NETNS", "ADD", with("CNI_NETNS", ""), conf(""), 4, "CNI_NETNS"},
		{"missing CNI_CONTAINERID", "ADD", with("CNI_CONTAINERID", ""), conf(""), 4, "CNI_CONTAINERID"},
		{"missing CNI_IFNAME", "ADD", with("CNI_IFNAME", ""), conf(""), 4, "CNI_IFNAME"},
		{"CHECK missing CNI_NETNS", "CHECK", with("CNI_NETNS", ""), conf(""), 4, "CNI_NETNS"},
		{"netns does not exist", "ADD", with("CNI_NETNS", "/var/run/netns/no-such-ns"), conf(""), 4, "does not exist"},
		{"netns is a regular file", "ADD", with("CNI_NETNS", file), conf(""), 4, "not a network namespace"},
		{"netns is a directory", "ADD", with("CNI_NETNS", tmp), conf(""), 4, "not a network namespace"},
		{"netns is another kind of namespace", "ADD", with("CNI_NETNS", "/proc/self/ns/uts"), conf(""), 4, "not a network namespace"},
		{"netns is the node's own", "ADD", with("CNI_NETNS", fmt.Sprintf("/proc/%d/ns/net", os.Getpid())), conf(""), 4, "runs in"},
		{"netns relative", "ADD", with("CNI_NETNS", "netns/x"), conf(""), 4, "absolute"},
		{"CNI_ARGS malformed", "ADD", with("CNI_ARGS", "garbage"), conf(""), 4, "CNI_ARGS"},
		{"CNI_ARGS unknown key", "ADD", with("CNI_ARGS", "FOO=1"), conf(""), 4, "FOO"},
		{"capture number as boolean", "ADD", good, conf(`, "capture": {"outboundPort": true}`), 7, "capture.outboundPort"},
		{"capture number as object", "ADD", good, conf(`, "capture": {"inboundPort": {}}`), 7, "capture.inboundPort"},
		{"capture number out of range", "ADD", good, conf(`, "capture": {"outboundPort": 70000}`), 7, "capture.outboundPort"},
		{"capture list as object", "ADD", good, conf(`, "capture": {"excludeInboundPorts": {"a": 1}}`), 7, "capture.excludeInboundPorts"},
		{"capture list as boolean", "ADD", good, conf(`, "capture": {"outboundCidrs": false}`), 7, "capture.outboundCidrs"},
		{"capture list with a nested array", "ADD", good, conf(`, "capture": {"proxyUid": [[1]]}`), 7, "capture.proxyUid"},
		{"capture list bad item", "ADD", good, conf(`, "capture": {"excludeOutboundCidrs": ["10.0.0.0/33"]}`), 7, "capture.excludeOutboundCidrs"},
		{"capture switch as number", "ADD", good, conf(`, "capture": {"captureDns": 3}`), 7, "capture.captureDns"},
		{"capture switch bad word", "ADD", good, conf(`, "capture": {"captureDns": "maybe"}`), 7, "capture.captureDns"},
		{"capture word as number", "ADD", good, conf(`, "capture": {"inboundMode": 1}`), 7, "capture.inboundMode"},
		{"capture word unknown", "ADD", good, conf(`, "capture": {"ipv6": "sometimes"}`), 7, "capture.ipv6"},
		{"capture not a capture setting", "ADD", good, conf(`, "capture": {"netns": "/proc/1/ns/net"}`), 7, "capture.netns"},
		{"capture verify is no capture setting", "ADD", good, conf(`, "capture": {"verify": "none"}`), 7, "capture.verify"},
		{"capture unknown key", "ADD", good, conf(`, "capture": {"outboundPorts": 1}`), 7, "capture.outboundPorts"},
		{"capture not an object", "ADD", good, conf(`, "capture": 5`), 7, "capture"},
		{"capture makes a loop", "ADD", good, conf(`, "capture": {"proxyUid": "", "proxyGid": ""}`), 7, "loop"},
		{"excludeNamespaces not an array", "ADD", good, conf(`, "excludeNamespaces": "kube-system"`), 7, "excludeNamespaces"},
		{"select unknown", "ADD", good, conf(`, "select": "some"`), 7, "select"},
		{"backend unknown", "ADD", good, conf(`, "backend": "ebpf"`), 7, "backend"},
		{"logLevel unknown", "ADD", good, conf(`, "logLevel": "loud"`), 7, "logLevel"},
		{"runtimeConfig not an object", "ADD", good, conf(`, "runtimeConfig": 1`), 7, "runtimeConfig"},
		{"bad annotation value", "ADD", good, ann("meshcap.io/outbound-port", `"abc"`), 7, "meshcap.io/outbound-port"},
		{"bad annotation list", "ADD", good, ann("meshcap.io/exclude-inbound-ports", `"80,x"`), 7, "meshcap.io/exclude-inbound-ports"},
		{"unknown meshcap.io annotation", "ADD", good, ann("meshcap.io/frobnicate", `"1"`), 7, "meshcap.io/frobnicate"},
		{"annotation for a run setting", "ADD", good, ann("meshcap.io/netns", `"/proc/1/ns/net"`), 7, "meshcap.io/netns"},
		{"bad meshcap.io/capture", "ADD", good, ann("meshcap.io/capture", `"yes"`), 7, "meshcap.io/capture"},
		{"CHECK with a bad annotation", "CHECK", good, ann("meshcap.io/inbound-mode", `"magic"`), 7, "meshcap.io/inbound-mode"},
		{"unknown dialect", "ADD", good, conf(`, "dialects": ["istio", "consul"]`), 7, "consul"},
		{"dialects not an array", "ADD", good, conf(`, "dialects": "istio"`), 7, "dialects"},
		{"Istio excludeInboundPorts", "ADD", good, meshAnn(istioPod, "traffic.sidecar.istio.io/excludeInboundPorts", "15020,x"), 7, "traffic.sidecar.istio.io/excludeInboundPorts"},
		{"Istio includeOutboundIPRanges", "ADD", good, meshAnn(istioPod, "traffic.sidecar.istio.io/includeOutboundIPRanges", "10.0.0.0/33"), 7, "traffic.sidecar.istio.io/includeOutboundIPRanges"},
		{"Istio excludeOutboundIPRanges *", "ADD", good, meshAnn(istioPod, "traffic.sidecar.istio.io/excludeOutboundIPRanges", "*"), 7, "traffic.sidecar.istio.io/excludeOutboundIPRanges"},
		{"Istio interceptionMode", "ADD", good, meshAnn(istioPod, "sidecar.istio.io/interceptionMode", "SOMETIMES"), 7, "sidecar.istio.io/interceptionMode"},
		{"Istio reroute-virtual-interfaces", "ADD", good, meshAnn(istioPod, "istio.io/reroute-virtual-interfaces", "a/b"), 7, "istio.io/reroute-virtual-interfaces"},
		{"Linkerd skip-outbound-ports", "ADD", good, meshAnn(linkerdPod, "config.linkerd.io/skip-outbound-ports", "443,99999"), 7, "config.linkerd.io/skip-outbound-ports"},
		{"Linkerd skip-subnets", "ADD", good, meshAnn(linkerdPod, "config.linkerd.io/skip-subnets", "10.0.0.0/8,x"), 7, "config.linkerd.io/skip-subnets"},
		{"Linkerd proxy-uid", "ADD", good, meshAnn(linkerdPod, "config.linkerd.io/proxy-uid", "nobody"), 7, "config.linkerd.io/proxy-uid"},
		{"CHECK with a bad Linkerd annotation", "CHECK", good, meshAnn(linkerdPod, "config.linkerd.io/skip-inbound-ports", "4190,y"), 7, "config.linkerd.io/skip-inbound-ports"},
	}
	nodeBefore := snapshot("")
	podBefore := snapshot(p.ns.name)
	for _, c := range cases {
		env := c.env
		command := c.command
		if c.name == "empty CNI_COMMAND" {
			env = with("CNI_COMMAND", "x")
			delete(env, "CNI_COMMAND")
			env["CNI_COMMAND"] = ""
			command = ""
		}
		out, code := execPlugin(command, env, c.stdin)
		var e cniErr
		jerr := json.Unmarshal([]byte(out), &e)
		check(jerr == nil && code != 0 && e.Code == c.code && strings.Contains(e.Msg, c.mention) && e.CNIVersion != "",
			"%s: exit %d, code %d (want %d), msg names %q: %s", c.name, code, e.Code, c.code, c.mention, strings.TrimSpace(out))
		check(snapshot(p.ns.name) == podBefore && snapshot("") == nodeBefore, "%s: nothing touched", c.name)
	}
}

// The annotations Istio's and Linkerd's injectors write.
var (
	istioPod   = map[string]string{"sidecar.istio.io/status": `{"initContainers":null,"containers":["istio-proxy"],"volumes":["istio-envoy"]}`}
	linkerdPod = map[string]string{"linkerd.io/proxy-version": "stable-2.14.10"}
)

func annotations(base map[string]string, kv ...string) map[string]string {
	a := map[string]string{}
	for k, v := range base {
		a[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		a[kv[i]] = kv[i+1]
	}
	return a
}

// "dialects": ["istio", "linkerd"] with select: annotated: pods Istio or
// Linkerd injected are captured with their mesh's ports, an annotation of
// the mesh changes what is captured, an opted-out pod is left alone even
// under select: all, and a bad mesh annotation fails ADD with code 7.
func scenarioDialects() {
	ctx := context.Background()
	cni := cniConfig()
	list := bridgeList(`"dialects": ["istio", "linkerd"]`)
	all := bridgeList(`"dialects": ["istio", "linkerd"], "select": "all"`)

	istio := newPod("default", "istio", istioPod)
	istioSkip := newPod("default", "istio-skip", annotations(istioPod, "traffic.sidecar.istio.io/excludeOutboundPorts", "9999"))
	istioOff := newPod("default", "istio-off", annotations(istioPod, "sidecar.istio.io/inject", "false"))
	linkerd := newPod("default", "linkerd", linkerdPod)
	linkerdSkip := newPod("default", "linkerd-skip", annotations(linkerdPod, "config.linkerd.io/skip-outbound-ports", "9999"))
	pods := []pod{istio, istioSkip, istioOff, linkerd, linkerdSkip}
	listOf := func(p pod) *libcni.NetworkConfigList {
		if p.name == "istio-off" {
			return all
		}
		return list
	}
	defer func() {
		for _, p := range pods {
			p.ns.del()
		}
	}()
	for _, p := range pods {
		err := verb("ADD "+p.name, func() error { _, err := cni.AddNetworkList(ctx, listOf(p), p.rt()); return err })
		check(err == nil, "ADD %s succeeds (%v)", p.name, err)
	}
	check(!strings.Contains(strings.ToLower(snapshot(istioOff.ns.name)), "meshcap"),
		"pod istio-off (sidecar.istio.io/inject: \"false\", select: all) holds no meshcap rules")

	node := serve("", "9998", "9999")
	defer node.stop()
	servers := []*server{}
	for _, p := range pods {
		servers = append(servers, serve(p.ns.name, "8080", "15001", "15006", "15008", "15021", "4140", "4143", "4191"))
	}
	defer func() {
		for _, s := range servers {
			s.stop()
		}
	}()
	gw := "10.99.0.1"
	for _, p := range pods {
		ip := podIP(p.ns)
		in := connect("", ip+":8080")
		out9998 := connect(p.ns.name, gw+":9998")
		out9999 := connect(p.ns.name, gw+":9999")
		switch p.name {
		case "istio", "istio-skip":
			check(in == "15006 "+ip+":8080", "%s: inbound lands on Istio's 15006 with its original destination (%s)", p.name, in)
			in15021 := connect("", ip+":15021")
			check(strings.HasPrefix(in15021, "15021 "), "%s: inbound to 15021 (always excluded in CNI mode) reaches the pod's listener (%s)", p.name, in15021)
			in15008 := connect("", ip+":15008")
			check(strings.HasPrefix(in15008, "15008 "), "%s: inbound to the tunnel port 15008 is never captured (%s)", p.name, in15008)
			check(out9998 == "15001 "+gw+":9998", "%s: outbound lands on Istio's 15001 (%s)", p.name, out9998)
			if p.name == "istio" {
				check(out9999 == "15001 "+gw+":9999", "istio: outbound to 9999 is captured too (%s)", out9999)
			} else {
				check(strings.HasPrefix(out9999, "9999 "), "istio-skip: traffic.sidecar.istio.io/excludeOutboundPorts 9999 lets it reach the node (%s)", out9999)
			}
		case "linkerd", "linkerd-skip":
			check(in == "4143 "+ip+":8080", "%s: inbound lands on Linkerd's 4143 with its original destination (%s)", p.name, in)
			in4191 := connect("", ip+":4191")
			check(strings.HasPrefix(in4191, "4191 "), "%s: inbound to the proxy's admin port 4191 is not captured (%s)", p.name, in4191)
			check(out9998 == "4140 "+gw+":9998", "%s: outbound lands on Linkerd's 4140 (%s)", p.name, out9998)
			if p.name == "linkerd" {
				check(out9999 == "4140 "+gw+":9999", "linkerd: outbound to 9999 is captured too (%s)", out9999)
			} else {
				check(strings.HasPrefix(out9999, "9999 "), "linkerd-skip: config.linkerd.io/skip-outbound-ports 9999 lets it reach the node (%s)", out9999)
			}
		case "istio-off":
			check(strings.HasPrefix(in, "8080 "), "istio-off: inbound reaches the app (%s)", in)
			check(strings.HasPrefix(out9998, "9998 "), "istio-off: outbound reaches the node (%s)", out9998)
		}
	}

	for _, p := range pods {
		err := verb("CHECK "+p.name, func() error { return cni.CheckNetworkList(ctx, listOf(p), p.rt()) })
		check(err == nil, "CHECK %s succeeds (%v)", p.name, err)
	}
	// Bad mesh annotations through libcni: code 7 naming the annotation, and
	// nothing of meshcap's in the pod.
	for _, bad := range []struct{ name, key, value string }{
		{"bad-istio", "traffic.sidecar.istio.io/excludeInboundPorts", "15020,http"},
		{"bad-linkerd", "config.linkerd.io/proxy-uid", "2102,2103"},
	} {
		base := istioPod
		if strings.HasPrefix(bad.key, "config.linkerd.io") {
			base = linkerdPod
		}
		p := newPod("default", bad.name, annotations(base, bad.key, bad.value))
		pods = append(pods, p)
		err := verb("failing ADD "+bad.name, func() error { _, err := cni.AddNetworkList(ctx, list, p.rt()); return err })
		var cniError *types.Error
		check(errors.As(err, &cniError) && cniError.Code == 7 && strings.Contains(cniError.Msg, bad.key),
			"%s: ADD fails through libcni with code 7 naming %s (%v)", bad.name, bad.key, err)
		check(!strings.Contains(strings.ToLower(snapshot(p.ns.name)), "meshcap"), "%s: the failed ADD touched nothing in the pod", bad.name)
	}
	for _, p := range pods {
		err := verb("DEL "+p.name, func() error { return cni.DelNetworkList(ctx, listOf(p), p.rt()) })
		check(err == nil, "DEL %s succeeds (%v)", p.name, err)
		check(!strings.Contains(strings.ToLower(snapshot(p.ns.name)), "meshcap"), "after DEL pod %s holds no meshcap state", p.name)
	}
}

// 20 concurrent ADDs into 20 namespaces through libcni: all succeed, all verify.
func scenarioConcurrent() {
	ctx := context.Background()
	cni := cniConfig()
	list := meshcapOnlyList("1.0.0", `"select": "all"`)
	pods := []pod{}
	for i := 0; i < 20; i++ {
		pods = append(pods, newPod("default", fmt.Sprintf("c%d", i), nil))
	}
	defer func() {
		for _, p := range pods {
			p.ns.del()
		}
	}()
	before := snapshot("")
	errs := make([]error, len(pods))
	var wg sync.WaitGroup
	start := time.Now()
	for i := range pods {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, errs[i] = cni.AddNetworkList(ctx, list, pods[i].rt())
		}(i)
	}
	wg.Wait()
	fmt.Printf("20 concurrent ADDs took %v\n", time.Since(start))
	for i, p := range pods {
		check(errs[i] == nil, "concurrent ADD %d succeeds (%v)", i, errs[i])
		check(strings.Contains(nftRuleset(p.ns.name), "redirect to :15001"), "pod %d holds the rules", i)
		err := cni.CheckNetworkList(ctx, list, p.rt())
		check(err == nil, "CHECK %d verifies (%v)", i, err)
	}
	for i := range pods {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = cni.DelNetworkList(ctx, list, pods[i].rt())
		}(i)
	}
	wg.Wait()
	for i, p := range pods {
		check(errs[i] == nil && !strings.Contains(nftRuleset(p.ns.name), "meshcap"), "concurrent DEL %d (%v)", i, errs[i])
	}
	check(snapshot("") == before, "the node's namespace is unchanged after 40 concurrent verbs")
}

// `meshcap validate`, unprivileged, as the init container of a CNI-mode pod:
// 0 in a pod the plugin captured, 4 (or --failure-exit-code) in one it did not.
func scenarioValidate() {
	ctx := context.Background()
	cni := cniConfig()
	list := bridgeList("")
	captured := newPod("default", "v-captured", map[string]string{"meshcap.io/capture": "enabled"})
	plain := newPod("default", "v-plain", nil)
	defer captured.ns.del()
	defer plain.ns.del()
	for _, p := range []pod{captured, plain} {
		_, err := cni.AddNetworkList(ctx, list, p.rt())
		must(err)
	}
	validate := func(p pod, extra ...string) (int, string) {
		argv := append([]string{"ip", "netns", "exec", p.ns.name, "setpriv", "--reuid", "65534", "--regid", "65534",
			"--clear-groups", "--inh-caps", "-all", "--bounding-set", "-all", plugin, "validate"}, extra...)
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		}
		return 0, string(out)
	}
	code, out := validate(captured)
	check(code == 0, "validate as uid 65534 with no capabilities in a captured pod exits 0 (%d: %s)", code, firstLine(out))
	code, out = validate(plain)
	check(code == 4 && strings.Contains(out, "not captured"), "validate in an uncaptured pod exits 4 (%d: %s)", code, firstLine(out))
	code, out = validate(plain, "--failure-exit-code", "126")
	check(code == 126, "validate --failure-exit-code 126 in an uncaptured pod exits 126 (%d: %s)", code, firstLine(out))
	code, out = validate(captured, "--outbound-port", "15002")
	check(code == 4, "validate with settings the pod's rules do not match exits 4 (%d: %s)", code, firstLine(out))
	code, out = validate(captured, "--failure-exit-code", "0")
	check(code == 2, "validate --failure-exit-code 0 is bad input (%d: %s)", code, firstLine(out))
	for _, p := range []pod{captured, plain} {
		_ = cni.DelNetworkList(ctx, list, p.rt())
	}
}

// ADD latency (bench/cni.sh): through libcni with meshcap chained vs the same
// conflist without it, and meshcap's ADD run alone vs `meshcap apply --netns`
// of the same settings. Each plugin variant is a bin dir holding `meshcap`:
// MCBENCH_PLUGINS="name=DIR name=DIR ..." (default: the plain binary), e.g.
// the bundle `cni install` lays out next to the binary itself. Every run gets
// a fresh namespace and the cases interleave. Milliseconds.
func scenarioBench() {
	n, _ := strconv.Atoi(os.Getenv("N"))
	if n <= 0 {
		n = 30
	}
	type variant struct{ name, dir string }
	variants := []variant{}
	for _, f := range strings.Fields(os.Getenv("MCBENCH_PLUGINS")) {
		kv := strings.SplitN(f, "=", 2)
		if len(kv) != 2 {
			must(fmt.Errorf("MCBENCH_PLUGINS: %q is not name=dir", f))
		}
		variants = append(variants, variant{kv[0], kv[1]})
	}
	if len(variants) == 0 {
		variants = []variant{{"binary", binDir}}
	}
	ctx := context.Background()
	with := bridgeList(`"select": "all"`)
	without := bridgeList("")
	without.Plugins = without.Plugins[:1] // bridge + host-local alone
	times := map[string][]time.Duration{}
	order := []string{}
	timed := func(name string, f func() error) {
		if _, ok := times[name]; !ok {
			order = append(order, name)
		}
		start := time.Now()
		err := f()
		times[name] = append(times[name], time.Since(start))
		must(err)
	}
	chained := func(name string, cni *libcni.CNIConfig, list *libcni.NetworkConfigList) {
		p := newPod("default", "bench", nil)
		timed(name, func() error { _, err := cni.AddNetworkList(ctx, list, p.rt()); return err })
		_ = cni.DelNetworkList(ctx, list, p.rt())
		p.ns.del()
	}
	prev := `"prevResult": {"cniVersion": "1.0.0", "interfaces": [{"name": "eth0"}], "ips": [{"address": "10.1.2.3/24", "interface": 0}]}`
	conf := `{"cniVersion": "1.0.0", "name": "b", "type": "meshcap", "select": "all", ` + prev + `}`
	for i := 0; i < n; i++ {
		chained("libcni ADD, bridge+host-local", libcni.NewCNIConfigWithCacheDir([]string{"/usr/lib/cni"}, filepath.Join(tmp, "cache"), nil), without)
		for _, v := range variants {
			cni := libcni.NewCNIConfigWithCacheDir([]string{v.dir, "/usr/lib/cni"}, filepath.Join(tmp, "cache"), nil)
			chained("libcni ADD, bridge+host-local+meshcap ("+v.name+")", cni, with)
		}
		for _, v := range variants {
			p := newPod("default", "bench", nil)
			env := map[string]string{"CNI_CONTAINERID": "bench", "CNI_NETNS": p.ns.path, "CNI_IFNAME": "eth0", "CNI_PATH": v.dir}
			timed("meshcap ADD alone ("+v.name+")", func() error {
				out, code := execProgram(filepath.Join(v.dir, "meshcap"), "ADD", env, conf)
				if code != 0 {
					return fmt.Errorf("ADD: %s", out)
				}
				return nil
			})
			p.ns.del()
		}
		p := newPod("default", "bench", nil)
		timed("meshcap apply --netns (binary)", func() error {
			cmd := exec.Command(plugin, "apply", "--netns", p.ns.path)
			cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
			return cmd.Run()
		})
		p.ns.del()
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	median := func(name string) float64 {
		s := append([]time.Duration(nil), times[name]...)
		sort.Slice(s, func(a, b int) bool { return s[a] < s[b] })
		return ms(s[len(s)/2])
	}
	fmt.Printf("%-52s %7s %7s %7s %7s %7s  (n=%d)\n", "case", "median", "p25", "p75", "min", "max", n)
	for _, k := range order {
		s := append([]time.Duration(nil), times[k]...)
		sort.Slice(s, func(a, b int) bool { return s[a] < s[b] })
		fmt.Printf("%-52s %7.2f %7.2f %7.2f %7.2f %7.2f\n", k, median(k), ms(s[len(s)/4]), ms(s[3*len(s)/4]), ms(s[0]), ms(s[len(s)-1]))
	}
	apply := median("meshcap apply --netns (binary)")
	for _, v := range variants {
		share := median("libcni ADD, bridge+host-local+meshcap ("+v.name+")") - median("libcni ADD, bridge+host-local")
		add := median("meshcap ADD alone (" + v.name + ")")
		verdict := "met"
		if add > apply+1 {
			verdict = "NOT met"
		}
		fmt.Printf("%s: meshcap's share of the chained ADD %.2f ms; its ADD %.2f = apply %+.2f ms (target <= +1 ms: %s)\n",
			v.name, share, add, add-apply, verdict)
	}
}

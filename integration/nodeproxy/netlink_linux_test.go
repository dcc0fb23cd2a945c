package nodeproxy_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/cloudlb/cloudlb/nodeproxy"
)

// testNetns creates a network namespace for the test and returns its name and a netlink handle
// in it; both go when the test ends. It skips, saying why, when it cannot.
func testNetns(t *testing.T) (string, *netlink.Handle) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping the netlink test: it creates a network namespace, which needs root (CI runs as root)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("skipping the netlink test: `ip` not found (Debian package iproute2)")
	}
	name := "cloudlb-test-" + strconv.FormatUint(rand.Uint64()%1e9, 10)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("skipping the netlink test: cannot create a network namespace (ip netns add %s: %v: %s)", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	ns, err := netns.GetFromName(name)
	if err != nil {
		t.Fatalf("open network namespace %s: %v", name, err)
	}
	t.Cleanup(func() { ns.Close() })
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatalf("netlink handle in %s: %v", name, err)
	}
	t.Cleanup(h.Close)
	return name, h
}

// bridgeForDummy stands in for a kernel without the dummy link type (CONFIG_DUMMY unset, as in
// some microVM kernels): it creates a bridge (no ports: like a dummy, it delivers its addresses
// locally only) when asked for a dummy and reports it as a dummy, so every address call is
// still the kernel's.
type bridgeForDummy struct{ *netlink.Handle }

func (b bridgeForDummy) LinkAdd(link netlink.Link) error {
	if _, ok := link.(*netlink.Dummy); ok {
		link = &netlink.Bridge{LinkAttrs: *link.Attrs()}
	}
	return b.Handle.LinkAdd(link)
}

func (b bridgeForDummy) LinkByName(name string) (netlink.Link, error) {
	l, err := b.Handle.LinkByName(name)
	if _, ok := l.(*netlink.Bridge); ok && name == bridgedDummy {
		return &netlink.Dummy{LinkAttrs: *l.Attrs()}, nil
	}
	return l, err
}

// bridgedDummy is the only name bridgeForDummy passes off as a dummy.
const bridgedDummy = "cloudlb0"

// dummyHandle is h, or h with a bridge standing in for the dummy when the kernel has no dummy
// link type; kind is the link kind iproute2 will report.
func dummyHandle(t *testing.T, ns string, h *netlink.Handle) (nodeproxy.NetlinkHandle, string) {
	t.Helper()
	if err := exec.Command("ip", "-n", ns, "link", "add", "probe0", "type", "dummy").Run(); err == nil {
		ipRun(t, ns, "link", "del", "probe0")
		return h, "dummy"
	}
	t.Logf("the kernel (%s) has no dummy link type; a bridge stands in for %s, the netlink address calls are real", kernelRelease(), bridgedDummy)
	return bridgeForDummy{h}, "bridge"
}

func kernelRelease() string {
	b, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return strings.TrimSpace(string(b))
}

// ipLink is what `ip -d -j addr show` says about a link.
type ipLink struct {
	Flags    []string `json:"flags"`
	LinkInfo struct {
		Kind string `json:"info_kind"`
	} `json:"linkinfo"`
	Addrs []struct {
		Local     string `json:"local"`
		PrefixLen int    `json:"prefixlen"`
		Scope     string `json:"scope"`
	} `json:"addr_info"`
}

// linkState reads the link from the namespace with iproute2, not with the code under test:
// its kind, whether it is up, and its addresses other than the kernel's link-local one.
func linkState(t *testing.T, ns, link string) (kind string, up bool, addrs []string) {
	t.Helper()
	out, err := exec.Command("ip", "-n", ns, "-d", "-j", "addr", "show", "dev", link).Output()
	if err != nil {
		return "", false, nil // no such link
	}
	var links []ipLink
	if err := json.Unmarshal(out, &links); err != nil || len(links) != 1 {
		t.Fatalf("ip addr show: %v: %s", err, out)
	}
	l := links[0]
	for _, a := range l.Addrs {
		if a.Scope == "link" {
			continue
		}
		addrs = append(addrs, a.Local+"/"+strconv.Itoa(a.PrefixLen))
	}
	slices.Sort(addrs)
	return l.LinkInfo.Kind, slices.Contains(l.Flags, "UP"), addrs
}

func ipRun(t *testing.T, ns string, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("ip -n %s %v: %v: %s", ns, args, err, out)
	}
}

// TestLoadBalancerIPsInNetworkNamespace runs the netlink actuator in a network namespace of its
// own: the dummy interface is created and brought up, the addresses follow the Desired, and an
// agent starting over an interface left by a previous run removes what is stale.
func TestLoadBalancerIPsInNetworkNamespace(t *testing.T) {
	ns, nh := testNetns(t)
	const link = bridgedDummy
	h, wantKind := dummyHandle(t, ns, nh)
	ctx := context.Background()
	act, err := nodeproxy.NewLoadBalancerIPsWithHandle(nodeproxy.LoadBalancerIPOptions{Interface: link}, h)
	if err != nil {
		t.Fatal(err)
	}
	apply := func(act *nodeproxy.LoadBalancerIPs, want []string) {
		t.Helper()
		var d nodeproxy.Desired
		for _, a := range want {
			d.LoadBalancerIPs = append(d.LoadBalancerIPs, netip.MustParsePrefix(a).Addr())
		}
		if err := act.Reconcile(ctx, &d); err != nil {
			t.Fatalf("Apply(%v): %v", want, err)
		}
		kind, up, got := linkState(t, ns, link)
		if kind != wantKind || !up {
			t.Errorf("link %s: kind %q, up %v; want an up %s", link, kind, up, wantKind)
		}
		if !slices.Equal(got, want) {
			t.Errorf("addresses on %s = %v, want %v", link, got, want)
		}
	}

	if kind, _, _ := linkState(t, ns, link); kind != "" {
		t.Fatalf("%s exists before the first Apply", link)
	}
	apply(act, []string{"2001:db8::10/128", "203.0.113.10/32"}) // sorted as linkState sorts
	apply(act, []string{"2001:db8::10/128", "203.0.113.11/32", "203.0.113.12/32"})
	apply(act, []string{"203.0.113.12/32"})
	apply(act, nil)

	// A previous run left addresses behind (and someone set the link down): a new actuator's
	// first Apply keeps the wanted one and removes the rest.
	ipRun(t, ns, "addr", "add", "198.51.100.7/32", "dev", link)
	ipRun(t, ns, "addr", "add", "203.0.113.12/32", "dev", link)
	ipRun(t, ns, "addr", "add", "2001:db8::99/128", "dev", link)
	ipRun(t, ns, "link", "set", link, "down")
	restarted, err := nodeproxy.NewLoadBalancerIPsWithHandle(nodeproxy.LoadBalancerIPOptions{Interface: link}, h)
	if err != nil {
		t.Fatal(err)
	}
	apply(restarted, []string{"203.0.113.12/32"})

	// A link of that name that is not a dummy is someone else's: refused, untouched.
	ipRun(t, ns, "link", "add", "br0", "type", "bridge")
	ipRun(t, ns, "addr", "add", "10.9.0.1/24", "dev", "br0")
	other, err := nodeproxy.NewLoadBalancerIPsWithHandle(nodeproxy.LoadBalancerIPOptions{Interface: "br0"}, nh)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Reconcile(ctx, &nodeproxy.Desired{}); err == nil {
		t.Error("Apply on a bridge succeeded, want an error")
	}
	if _, _, got := linkState(t, ns, "br0"); !slices.Equal(got, []string{"10.9.0.1/24"}) {
		t.Errorf("br0 addresses = %v, want untouched", got)
	}
}

// TestAgentBindsLoadBalancerIPs runs the whole agent (informers, decision, actuator) with
// --bind-load-balancer-ips and the netlink actuator in a network namespace of its own: the
// Service's ingress IPs appear on the interface when the controller writes its status, move
// when the status changes, and go when the Service is deleted.
func TestAgentBindsLoadBalancerIPs(t *testing.T) {
	ns, nh := testNetns(t)
	const link = bridgedDummy
	h, _ := dummyHandle(t, ns, nh)
	client := newClient(t)
	const node = "netlink-agent"
	createNode(t, client, node)
	namespace := createNamespace(t, client, "netlink")
	startAgentWith(t, node, func(o *nodeproxy.Options) { o.BindLoadBalancerIPs = true }, func(agent *nodeproxy.Agent) {
		act, err := nodeproxy.NewLoadBalancerIPsWithHandle(nodeproxy.LoadBalancerIPOptions{Interface: link}, h)
		if err != nil {
			t.Fatal(err)
		}
		agent.AddActuator(act)
	})
	waitAddrs := func(want ...string) {
		t.Helper()
		slices.Sort(want)
		deadline := time.Now().Add(30 * time.Second)
		for {
			_, _, got := linkState(t, ns, link)
			if slices.Equal(got, want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("addresses on %s = %v, want %v", link, got, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	setIngress := func(name string, ips ...string) {
		t.Helper()
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			svc, err := client.CoreV1().Services(namespace).Get(t.Context(), name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			svc.Status.LoadBalancer.Ingress = nil
			for _, ip := range ips {
				svc.Status.LoadBalancer.Ingress = append(svc.Status.LoadBalancer.Ingress, v1.LoadBalancerIngress{IP: ip})
			}
			_, err = client.CoreV1().Services(namespace).UpdateStatus(t.Context(), svc, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			t.Fatalf("set the ingress of %s: %v", name, err)
		}
	}

	createLocalService(t, client, namespace, "web", 0)
	createLocalService(t, client, namespace, "api", 0)
	setIngress("web", "203.0.113.30")
	setIngress("api", "203.0.113.31", "2001:db8::31")
	waitAddrs("203.0.113.30/32", "203.0.113.31/32", "2001:db8::31/128")
	setIngress("web", "203.0.113.32")
	waitAddrs("203.0.113.32/32", "203.0.113.31/32", "2001:db8::31/128")
	if err := client.CoreV1().Services(namespace).Delete(t.Context(), "api", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitAddrs("203.0.113.32/32")
}

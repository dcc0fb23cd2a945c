package nodeproxy_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/cloudlb/cloudlb/nodeproxy"
)

// echoBackend is one endpoint: its TCP server writes its name and closes,
// its UDP server answers every datagram with its name.
type echoBackend struct {
	name     string
	ip       string
	tcpPort  int32
	udpPort  int32
	accepted atomic.Int64 // TCP connections
	answered atomic.Int64 // UDP datagrams
}

func startEchoBackend(t *testing.T, name, ip string) *echoBackend {
	t.Helper()
	b := &echoBackend{name: name, ip: ip}
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatalf("backend %s: %v", name, err)
	}
	t.Cleanup(func() { ln.Close() })
	b.tcpPort = int32(ln.Addr().(*net.TCPAddr).Port)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.accepted.Add(1)
			_, _ = fmt.Fprintln(c, name)
			c.Close()
		}
	}()
	pc, err := net.ListenPacket("udp", ip+":0")
	if err != nil {
		t.Fatalf("backend %s: %v", name, err)
	}
	t.Cleanup(func() { pc.Close() })
	b.udpPort = int32(pc.LocalAddr().(*net.UDPAddr).Port)
	go func() {
		buf := make([]byte, 1500)
		for {
			_, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			b.answered.Add(1)
			_, _ = pc.WriteTo([]byte(name), from)
		}
	}()
	return b
}

// slice is an EndpointSlice with b as its only endpoint (each backend has its own ports, so
// each gets its own slice, as during a rollout that changes the target port).
func (b *echoBackend) slice(ns, svc, node string) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: svc + "-" + b.name, Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports: []discoveryv1.EndpointPort{
			{Name: ptr.To("tcp"), Protocol: ptr.To(v1.ProtocolTCP), Port: ptr.To(b.tcpPort)},
			{Name: ptr.To("udp"), Protocol: ptr.To(v1.ProtocolUDP), Port: ptr.To(b.udpPort)},
		},
		Endpoints: []discoveryv1.Endpoint{endpoint(b.ip, node, yes, yes, no)},
	}
}

// tcpHit connects from clientIP to the NodePort and returns the backend's name.
func tcpHit(clientIP string, nodePort int32) (string, error) {
	d := net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(clientIP)}}
	c, err := d.Dial("tcp", "127.0.0.1:"+strconv.Itoa(int(nodePort)))
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

// udpHit sends one datagram from a new socket on clientIP (a new flow) and returns the answer.
func udpHit(clientIP string, nodePort int32) (string, error) {
	c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(clientIP)}, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(nodePort)})
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := c.Write([]byte("hi")); err != nil {
		return "", err
	}
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	return string(buf[:n]), err
}

// hits makes n connections (or flows) from clientIP and returns the sorted distinct backends;
// any error is returned as "error: ...".
func hits(hit func(string, int32) (string, error), clientIP string, nodePort int32, n int) []string {
	var got []string
	for range n {
		name, err := hit(clientIP, nodePort)
		if err != nil {
			name = "error: " + err.Error()
		}
		if !slices.Contains(got, name) {
			got = append(got, name)
		}
	}
	slices.Sort(got)
	return got
}

// eventually polls cond until it returns "" or the wait times out, then fails with its last
// complaint.
func eventually(t *testing.T, what string, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	var last string
	for time.Now().Before(deadline) {
		if last = cond(); last == "" {
			return
		}
		time.Sleep(pollInterval)
	}
	t.Fatalf("%s: %s", what, last)
}

// endpointIP is an address of this machine that the API server accepts in an EndpointSlice (it
// refuses loopback and link-local ones): the backends listen there, on their own ports.
func endpointIP(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && ipn.IP.IsGlobalUnicast() {
			return ipn.IP.String()
		}
	}
	t.Skip("no non-loopback IPv4 address on this machine for the endpoints (the API server refuses loopback endpoints)")
	return ""
}

// TestNodePortProxy: the agent with the NodePort proxy on a Local Service with TCP and UDP
// ports, two endpoints on this node (a, b) and one on another node (remote), each listening on
// its own ports of this machine's address: NodePort traffic on 127.0.0.1 reaches only the
// local endpoints, an endpoint removed from its slice gets no more traffic, ClientIP affinity
// keeps each client (a loopback source address) on one endpoint, and the NodePorts close with
// the Service.
func TestNodePortProxy(t *testing.T) {
	client := newClient(t)
	const node, other = "np-proxy-a", "np-proxy-b"
	ns := createNamespace(t, client, "np-proxy")
	createNode(t, client, node)
	ip := endpointIP(t)
	a := startEchoBackend(t, "a", ip)
	b := startEchoBackend(t, "b", ip)
	remote := startEchoBackend(t, "remote", ip)

	var proxies *nodeproxy.NodePortProxies
	startAgent(t, node, func(agent *nodeproxy.Agent) {
		var err error
		proxies, err = nodeproxy.NewNodePortProxies(nodeproxy.NodePortProxyOptions{
			NodePortAddresses: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
			Events:            agent.Events(),
		})
		if err != nil {
			t.Fatal(err)
		}
		agent.AddActuator(proxies)
	})

	services := client.CoreV1().Services(ns)
	svc, err := services.Create(t.Context(), &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "echo"},
		Spec: v1.ServiceSpec{
			Type:                  v1.ServiceTypeLoadBalancer,
			ExternalTrafficPolicy: v1.ServiceExternalTrafficPolicyLocal,
			Selector:              map[string]string{"app": "echo"},
			Ports: []v1.ServicePort{
				{Name: "tcp", Protocol: v1.ProtocolTCP, Port: 80},
				{Name: "udp", Protocol: v1.ProtocolUDP, Port: 53},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create service: %v", err)
	}
	t.Cleanup(func() { _ = services.Delete(context.Background(), "echo", metav1.DeleteOptions{}) })
	tcpPort, udpPort := svc.Spec.Ports[0].NodePort, svc.Spec.Ports[1].NodePort
	epSlices := client.DiscoveryV1().EndpointSlices(ns)
	for _, s := range []*discoveryv1.EndpointSlice{a.slice(ns, "echo", node), b.slice(ns, "echo", node), remote.slice(ns, "echo", other)} {
		if _, err := epSlices.Create(t.Context(), s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	// Round robin over the two local endpoints, never the remote one.
	both := []string{"a", "b"}
	for _, p := range []struct {
		proto string
		hit   func(string, int32) (string, error)
		port  int32
	}{{"TCP", tcpHit, tcpPort}, {"UDP", udpHit, udpPort}} {
		eventually(t, p.proto+" NodePort reaches both local endpoints", func() string {
			if got := hits(p.hit, "127.0.0.1", p.port, 10); !equal(got, both) {
				return fmt.Sprintf("backends %v, want %v", got, both)
			}
			return ""
		})
	}
	if n := remote.accepted.Load() + remote.answered.Load(); n != 0 {
		t.Errorf("the endpoint on the other node got %d connections or datagrams", n)
	}

	// b leaves its slice (its pod is gone): no more connections or flows to it.
	bSlice, err := epSlices.Get(t.Context(), "echo-b", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bSlice.Endpoints = nil
	if _, err := epSlices.Update(t.Context(), bSlice, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the removed endpoint gets no more traffic", func() string {
		if got := hits(tcpHit, "127.0.0.1", tcpPort, 6); !equal(got, []string{"a"}) {
			return fmt.Sprintf("TCP backends %v", got)
		}
		return ""
	})
	before := b.accepted.Load() + b.answered.Load()
	if got := hits(tcpHit, "127.0.0.1", tcpPort, 10); !equal(got, []string{"a"}) {
		t.Errorf("TCP backends after removal %v, want [a]", got)
	}
	if got := hits(udpHit, "127.0.0.1", udpPort, 10); !equal(got, []string{"a"}) {
		t.Errorf("UDP backends after removal %v, want [a]", got)
	}
	if after := b.accepted.Load() + b.answered.Load(); after != before {
		t.Errorf("the removed endpoint got %d more connections or datagrams", after-before)
	}

	// b comes back and the Service turns on ClientIP affinity: each client (a loopback source
	// address) sticks to one endpoint, and between them the clients use both.
	bSlice, err = epSlices.Get(t.Context(), "echo-b", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bSlice.Endpoints = []discoveryv1.Endpoint{endpoint(b.ip, node, yes, yes, no)}
	if _, err := epSlices.Update(t.Context(), bSlice, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Wait for b before turning affinity on: clients pinned while b is away would stay on a.
	eventually(t, "the endpoint is back", func() string {
		if got := hits(tcpHit, "127.0.0.1", tcpPort, 6); !equal(got, both) {
			return fmt.Sprintf("TCP backends %v, want %v", got, both)
		}
		return ""
	})
	svc, err = services.Get(t.Context(), "echo", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc.Spec.SessionAffinity = v1.ServiceAffinityClientIP
	svc.Spec.SessionAffinityConfig = &v1.SessionAffinityConfig{ClientIP: &v1.ClientIPConfig{TimeoutSeconds: ptr.To[int32](300)}}
	if _, err := services.Update(t.Context(), svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		proto string
		hit   func(string, int32) (string, error)
		port  int32
	}{{"TCP", tcpHit, tcpPort}, {"UDP", udpHit, udpPort}} {
		eventually(t, p.proto+" affinity holds per client", func() string {
			var used []string
			for i := 10; i < 18; i++ {
				clientIP := "127.0.0." + strconv.Itoa(i)
				got := hits(p.hit, clientIP, p.port, 6)
				if len(got) != 1 || strings.HasPrefix(got[0], "error") {
					return fmt.Sprintf("client %s reached %v", clientIP, got)
				}
				if !slices.Contains(used, got[0]) {
					used = append(used, got[0])
				}
			}
			slices.Sort(used)
			if !equal(used, both) {
				return fmt.Sprintf("clients together reached %v, want %v", used, both)
			}
			return ""
		})
	}
	if n := remote.accepted.Load() + remote.answered.Load(); n != 0 {
		t.Errorf("the endpoint on the other node got %d connections or datagrams", n)
	}
	want := []string{"TCP/" + strconv.Itoa(int(tcpPort)), "UDP/" + strconv.Itoa(int(udpPort))}
	if got := proxies.Ports()[types.NamespacedName{Namespace: ns, Name: "echo"}]; !equal(got, want) {
		t.Errorf("proxied ports %v, want %v", got, want)
	}

	// The Service goes: its NodePorts are closed.
	if err := services.Delete(t.Context(), "echo", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the NodePort closes with the Service", func() string {
		if name, err := tcpHit("127.0.0.1", tcpPort); err == nil {
			return "TCP NodePort still answers: " + name
		}
		return ""
	})
}

func equal(a, b []string) bool { return slices.Equal(a, b) }

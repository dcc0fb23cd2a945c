package nodeproxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/component-base/metrics/testutil"
	testclock "k8s.io/utils/clock/testing"
)

// probeJSON mirrors kube-proxy's body for field-by-field comparison.
type probeJSON struct {
	Service struct {
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
	} `json:"service"`
	LocalEndpoints      int  `json:"localEndpoints"`
	ServiceProxyHealthy bool `json:"serviceProxyHealthy"`
}

type probeResult struct {
	code   int
	header http.Header
	raw    string
	body   probeJSON
}

func probe(t *testing.T, method, url string) probeResult {
	t.Helper()
	r, err := tryProbe(method, url)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// tryProbe is probe for goroutines other than the test's: it returns the error.
func tryProbe(method, url string) (probeResult, error) {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		return probeResult{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return probeResult{}, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return probeResult{}, err
	}
	r := probeResult{code: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if method != http.MethodHead {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			return r, fmt.Errorf("body %q is not JSON: %w", raw, err)
		}
	}
	return r, nil
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int32 {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return int32(l.Addr().(*net.TCPAddr).Port)
}

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

func newServers(t *testing.T, health *HealthState, events EventRecorder, listen func(string, string) (net.Listener, error)) *ServiceHealthServers {
	t.Helper()
	s := NewServiceHealthServers(HealthServerOptions{NodePortAddresses: loopback, Health: health, Events: events, Listen: listen})
	t.Cleanup(s.Close)
	return s
}

func served(ns, name string, port int32, n int) ServiceDecision {
	return ServiceDecision{Service: types.NamespacedName{Namespace: ns, Name: name}, UID: types.UID("uid-" + name), HealthCheckNodePort: port, LocalEndpoints: n}
}

func url(port int32, path string) string {
	return "http://127.0.0.1:" + strconv.Itoa(int(port)) + path
}

func TestServiceProbeResponses(t *testing.T) {
	t.Parallel()
	clk := testclock.NewFakeClock(time.Now())
	health := NewHealthState(clk, time.Minute)
	s := newServers(t, health, nil, nil)
	port := freePort(t)
	apply := func(n int) {
		if err := s.Apply(t.Context(), &Desired{Services: []ServiceDecision{served("default", "web", port, n)}}); err != nil {
			t.Fatal(err)
		}
	}
	apply(1)

	tests := []struct {
		name      string
		n         int
		stale     bool
		method    string
		path      string
		wantCode  int
		wantRaw   string
		wantProxy bool
	}{
		{
			name: "one endpoint, healthy", n: 1, method: http.MethodGet, path: "/healthz", wantCode: 200, wantProxy: true,
			wantRaw: "{\n\t\"service\": {\n\t\t\"namespace\": \"default\",\n\t\t\"name\": \"web\"\n\t},\n\t\"localEndpoints\": 1,\n\t\"serviceProxyHealthy\": true\n}",
		},
		{
			name: "any path and method", n: 3, method: http.MethodPost, path: "/some/other/path?x=1", wantCode: 200, wantProxy: true,
			wantRaw: "{\n\t\"service\": {\n\t\t\"namespace\": \"default\",\n\t\t\"name\": \"web\"\n\t},\n\t\"localEndpoints\": 3,\n\t\"serviceProxyHealthy\": true\n}",
		},
		{
			name: "no local endpoint: 503 with the same body shape", n: 0, method: http.MethodGet, path: "/", wantCode: 503, wantProxy: true,
			wantRaw: "{\n\t\"service\": {\n\t\t\"namespace\": \"default\",\n\t\t\"name\": \"web\"\n\t},\n\t\"localEndpoints\": 0,\n\t\"serviceProxyHealthy\": true\n}",
		},
		{
			name: "stale agent: 503 even with endpoints", n: 2, stale: true, method: http.MethodGet, path: "/healthz", wantCode: 503, wantProxy: false,
			wantRaw: "{\n\t\"service\": {\n\t\t\"namespace\": \"default\",\n\t\t\"name\": \"web\"\n\t},\n\t\"localEndpoints\": 2,\n\t\"serviceProxyHealthy\": false\n}",
		},
	}
	for _, tt := range tests { // sequential: they share the server
		t.Run(tt.name, func(t *testing.T) {
			apply(tt.n)
			if tt.stale {
				health.QueuedUpdate()
				clk.Step(2 * time.Minute)
				defer health.Updated(clk.Now())
			}
			r := probe(t, tt.method, url(port, tt.path))
			if r.code != tt.wantCode {
				t.Errorf("code = %d, want %d", r.code, tt.wantCode)
			}
			for k, want := range map[string]string{
				"Content-Type":                     "application/json",
				"X-Content-Type-Options":           "nosniff",
				"X-Load-Balancing-Endpoint-Weight": strconv.Itoa(tt.n),
				"Content-Length":                   strconv.Itoa(len(tt.wantRaw)),
			} {
				if got := r.header.Values(k); len(got) != 1 || got[0] != want {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
			if r.raw != tt.wantRaw {
				t.Errorf("body =\n%s\nwant\n%s", r.raw, tt.wantRaw)
			}
			if r.body.Service.Namespace != "default" || r.body.Service.Name != "web" {
				t.Errorf("service = %+v", r.body.Service)
			}
			if r.body.LocalEndpoints != tt.n {
				t.Errorf("localEndpoints = %d, want %d", r.body.LocalEndpoints, tt.n)
			}
			if r.body.ServiceProxyHealthy != tt.wantProxy {
				t.Errorf("serviceProxyHealthy = %v, want %v", r.body.ServiceProxyHealthy, tt.wantProxy)
			}
		})
	}
}

// TestServiceProbeBodyLength pins the body length to kube-proxy's observed one: a capture of a
// one-endpoint Service shows Content-Length 127, which is 111 bytes plus the namespace and
// name ("default" and a 16-character name here).
func TestServiceProbeBodyLength(t *testing.T) {
	t.Parallel()
	body := probeBody(nil, probeHead(types.NamespacedName{Namespace: "default", Name: "0123456789abcdef"}), 1, true)
	if len(body) != 127 {
		t.Errorf("len = %d, want 127:\n%s", len(body), body)
	}
}

func TestServiceHealthServersLifecycle(t *testing.T) {
	t.Parallel()
	s := newServers(t, nil, nil, nil)
	p1, p2 := freePort(t), freePort(t)
	apply := func(svcs ...ServiceDecision) {
		t.Helper()
		if err := s.Apply(t.Context(), &Desired{Services: svcs}); err != nil {
			t.Fatal(err)
		}
	}
	dialFails := func(port int32) bool {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port))), time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	}

	apply(served("ns", "a", p1, 1))
	if r := probe(t, http.MethodGet, url(p1, "/")); r.code != 200 || r.body.LocalEndpoints != 1 {
		t.Fatalf("after start: %d %s", r.code, r.raw)
	}
	apply(served("ns", "a", p1, 0))
	if r := probe(t, http.MethodGet, url(p1, "/")); r.code != 503 || r.header.Get("X-Load-Balancing-Endpoint-Weight") != "0" {
		t.Fatalf("after count 0: %d %v %s", r.code, r.header, r.raw)
	}
	// Port change: the old port closes, the new one opens.
	apply(served("ns", "a", p2, 2))
	if r := probe(t, http.MethodGet, url(p2, "/")); r.code != 200 || r.body.LocalEndpoints != 2 {
		t.Fatalf("on the new port: %d %s", r.code, r.raw)
	}
	if !dialFails(p1) {
		t.Error("old port still listening after the port changed")
	}
	if got, want := s.Ports(), map[types.NamespacedName]int32{{Namespace: "ns", Name: "a"}: p2}; !reflect.DeepEqual(got, want) {
		t.Errorf("Ports = %v, want %v", got, want)
	}
	// In one Apply, Service a goes and its port is handed to Service b: b is served.
	apply(served("ns", "b", p2, 1))
	if r := probe(t, http.MethodGet, url(p2, "/")); r.code != 200 || r.body.Service.Name != "b" {
		t.Fatalf("port handed to another Service: %d %s", r.code, r.raw)
	}
	// Service gone: closed.
	apply()
	if !dialFails(p2) {
		t.Error("port still listening after the Service went")
	}
	if len(s.Ports()) != 0 {
		t.Errorf("Ports = %v, want none", s.Ports())
	}
}

func TestServiceHealthServersBindFailure(t *testing.T) {
	t.Parallel()
	taken, free := freePort(t), freePort(t)
	var mu sync.Mutex
	attempts := 0
	listen := func(network, addr string) (net.Listener, error) {
		if strings.HasSuffix(addr, ":"+strconv.Itoa(int(taken))) {
			mu.Lock()
			attempts++
			mu.Unlock()
			return nil, &net.OpError{Op: "listen", Net: network, Err: syscall.EADDRINUSE}
		}
		return net.Listen(network, addr)
	}
	rec := record.NewFakeRecorder(10)
	s := newServers(t, nil, rec, listen)
	name := fmt.Sprintf("bind-failure-%d", taken) // the metric is process-wide: a unique label
	d := &Desired{Services: []ServiceDecision{served("ns", name, taken, 1), served("ns", "ok", free, 1)}}
	for range 3 {
		if err := s.Apply(t.Context(), d); err != nil {
			t.Fatalf("Apply = %v; a bind failure is reported, not returned", err)
		}
	}
	if r := probe(t, http.MethodGet, url(free, "/")); r.code != 200 {
		t.Errorf("the other Service answers %d, want 200", r.code)
	}
	if attempts != 3 {
		t.Errorf("listen attempts on the taken port = %d, want 3 (every Apply retries)", attempts)
	}
	// One Event, not one per retry.
	close(rec.Events)
	var events []string
	for e := range rec.Events {
		events = append(events, e)
	}
	if len(events) != 1 || !strings.HasPrefix(events[0], "Warning FailedToStartServiceHealthcheck node has no available health check port "+strconv.Itoa(int(taken))) ||
		!strings.Contains(events[0], "address already in use") {
		t.Errorf("events = %q", events)
	}
	v, err := testutil.GetCounterMetricValue(bindFailures.WithLabelValues("ns", name))
	if err != nil || v != 3 {
		t.Errorf("bind failure metric = %v, %v; want 3", v, err)
	}
}

func TestBindAddresses(t *testing.T) {
	t.Parallel()
	ifAddrs := func() ([]net.Addr, error) {
		return []net.Addr{
			&net.IPNet{IP: net.ParseIP("127.0.0.1"), Mask: net.CIDRMask(8, 32)},
			&net.IPNet{IP: net.ParseIP("10.1.2.3").To4(), Mask: net.CIDRMask(24, 32)},
			&net.IPNet{IP: net.ParseIP("10.9.0.1"), Mask: net.CIDRMask(16, 128)}, // 4-in-6 form
			&net.IPNet{IP: net.ParseIP("fd00::5"), Mask: net.CIDRMask(64, 128)},
			&net.IPAddr{IP: net.ParseIP("10.1.2.4")},
		}, nil
	}
	all, all4, all6 := bindAddr{network: "tcp"}, bindAddr{network: "tcp4"}, bindAddr{network: "tcp6"}
	host := func(h string) bindAddr { return bindAddr{network: "tcp", host: h} }
	tests := []struct {
		name     string
		prefixes []string
		ifErr    bool
		want     []bindAddr
	}{
		{name: "no flag: every address", want: []bindAddr{all}},
		{name: "one CIDR", prefixes: []string{"10.0.0.0/8"}, want: []bindAddr{host("10.1.2.3"), host("10.9.0.1")}},
		{name: "two families", prefixes: []string{"10.1.2.0/24", "fd00::/8"}, want: []bindAddr{host("10.1.2.3"), host("fd00::5")}},
		{name: "no match", prefixes: []string{"192.168.0.0/16"}},
		{name: "addresses unreadable: every address", prefixes: []string{"10.0.0.0/8"}, ifErr: true, want: []bindAddr{all}},
		{name: "both whole ranges: every address", prefixes: []string{"0.0.0.0/0", "::/0"}, want: []bindAddr{all}},
		{name: "IPv4 whole range: the IPv4 wildcard", prefixes: []string{"0.0.0.0/0"}, want: []bindAddr{all4}},
		{name: "IPv6 whole range plus an IPv4 CIDR", prefixes: []string{"::/0", "127.0.0.0/8"}, want: []bindAddr{all6, host("127.0.0.1")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := HealthServerOptions{InterfaceAddrs: ifAddrs}
			if tt.ifErr {
				opts.InterfaceAddrs = func() ([]net.Addr, error) { return nil, errors.New("boom") }
			}
			for _, p := range tt.prefixes {
				opts.NodePortAddresses = append(opts.NodePortAddresses, netip.MustParsePrefix(p))
			}
			got := NewServiceHealthServers(opts).bindAddresses(testLogger(t))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("bindAddresses = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestMetrics is not parallel, so the process-wide counters move only by its own probes.
func TestMetrics(t *testing.T) {
	s := newServers(t, nil, nil, nil)
	port := freePort(t)
	apply := func(svcs ...ServiceDecision) {
		t.Helper()
		if err := s.Apply(t.Context(), &Desired{Services: svcs}); err != nil {
			t.Fatal(err)
		}
	}
	counter := func(code string) float64 {
		v, err := testutil.GetCounterMetricValue(serviceProbes.WithLabelValues(code))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	ok0, bad0 := counter("200"), counter("503")
	apply(served("metrics", "web", port, 2))
	if v, err := testutil.GetGaugeMetricValue(localEndpoints.WithLabelValues("metrics", "web")); err != nil || v != 2 {
		t.Errorf("local_endpoints = %v, %v; want 2", v, err)
	}
	probe(t, http.MethodGet, url(port, "/"))
	probe(t, http.MethodGet, url(port, "/"))
	apply(served("metrics", "web", port, 0))
	probe(t, http.MethodGet, url(port, "/"))
	if d := counter("200") - ok0; d != 2 {
		t.Errorf("200 probes counted = %v, want 2", d)
	}
	if d := counter("503") - bad0; d != 1 {
		t.Errorf("503 probes counted = %v, want 1", d)
	}
	if n := countSeries(t, "cloudlb_nodeproxy_local_endpoints", "metrics", "web"); n != 1 {
		t.Errorf("local_endpoints series of metrics/web = %d, want 1", n)
	}
	apply()
	// The series of a Service that went is deleted, not left at its last value.
	if n := countSeries(t, "cloudlb_nodeproxy_local_endpoints", "metrics", "web"); n != 0 {
		t.Errorf("local_endpoints series of metrics/web after it went = %d, want 0", n)
	}
}

// countSeries counts the series of metric name for one Service in the legacy registry.
func countSeries(t *testing.T, name, ns, svc string) int {
	t.Helper()
	mfs, err := legacyregistry.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if testutil.LabelsMatch(m, map[string]string{"namespace": ns, "service": svc}) {
				n++
			}
		}
	}
	return n
}

// TestProbesDuringChurn: probes keep being answered, consistently, while the count and the
// agent's health change underneath (run with -race).
func TestProbesDuringChurn(t *testing.T) {
	t.Parallel()
	health := NewHealthState(nil, time.Minute)
	s := newServers(t, health, nil, nil)
	port := freePort(t)
	if err := s.Apply(t.Context(), &Desired{Services: []ServiceDecision{served("ns", "churn", port, 1)}}); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				r, err := tryProbe(http.MethodGet, url(port, "/"))
				if err != nil {
					t.Error(err)
					return
				}
				n := r.body.LocalEndpoints
				if r.header.Get("X-Load-Balancing-Endpoint-Weight") != strconv.Itoa(n) ||
					(r.code == 200) != (n > 0 && r.body.ServiceProxyHealthy) {
					t.Errorf("inconsistent answer: %d %v %s", r.code, r.header, r.raw)
					return
				}
			}
		}()
	}
	for i := range 200 {
		if err := s.Apply(t.Context(), &Desired{Services: []ServiceDecision{served("ns", "churn", port, i%3)}}); err != nil {
			t.Fatal(err)
		}
		health.QueuedUpdate()
		health.Updated(time.Now())
	}
	close(stop)
	wg.Wait()
}

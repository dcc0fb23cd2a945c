package nodeproxy

import (
	"context"
	"io"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// startBenchServer serves one Service with one local endpoint on a loopback port.
func startBenchServer(b *testing.B) (*ServiceHealthServers, string) {
	b.Helper()
	s := NewServiceHealthServers(HealthServerOptions{NodePortAddresses: loopback})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := int32(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	d := &Desired{Services: []ServiceDecision{{Service: types.NamespacedName{Namespace: "default", Name: "web"}, HealthCheckNodePort: port, LocalEndpoints: 1}}}
	if err := s.Apply(context.Background(), d); err != nil {
		b.Fatal(err)
	}
	return s, url(port, "/healthz")
}

// BenchmarkServiceProbe: keep-alive probes from Go clients in this process (client and server
// share the CPUs).
func BenchmarkServiceProbe(b *testing.B) {
	s, u := startBenchServer(b)
	defer s.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Get(u)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("code %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "probes/s")
}

var (
	wrkRate = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkP99  = regexp.MustCompile(`\n\s+99%\s+([0-9.]+)(us|ms|s)\b`)
)

// BenchmarkServiceProbeWrk: one healthCheckNodePort server under wrk with 50 connections (the
// issue's benchmark). It runs wrk once, whatever b.N, and reports probes/s and p99 latency;
// skipped without wrk (Debian package wrk).
func BenchmarkServiceProbeWrk(b *testing.B) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		b.Skip("wrk not installed (apt-get install wrk)")
	}
	s, u := startBenchServer(b)
	defer s.Close()
	b.ResetTimer()
	out, err := exec.Command(wrk, "-t2", "-c50", "-d5s", "--latency", u).CombinedOutput()
	b.StopTimer()
	if err != nil {
		b.Fatalf("wrk: %v\n%s", err, out)
	}
	rate := wrkRate.FindSubmatch(out)
	p99 := wrkP99.FindSubmatch(out)
	if rate == nil || p99 == nil {
		b.Fatalf("cannot parse wrk output:\n%s", out)
	}
	r, _ := strconv.ParseFloat(string(rate[1]), 64)
	v, _ := strconv.ParseFloat(string(p99[1]), 64)
	unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[string(p99[2])]
	b.ReportMetric(r, "probes/s")
	b.ReportMetric(v*float64(unit)/float64(time.Millisecond), "p99-ms")
	b.ReportMetric(0, "ns/op") // one wrk run per call: ns/op means nothing
}

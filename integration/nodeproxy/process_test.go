package nodeproxy_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildBinary builds cmd/cloudlb-nodeproxy from this checkout, so the test never runs a stale
// bin/ (the build cache makes it cheap after the first time).
func buildBinary(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "cloudlb-nodeproxy")
	cmd := exec.Command("go", "build", "-o", out, "github.com/cloudlb/cloudlb/cmd/cloudlb-nodeproxy")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

// TestBinaryServesAndStopsOnSIGTERM runs the real binary with its flags: /healthz follows the
// Node object, /metrics serves the agent's metrics, and SIGTERM stops it cleanly.
func TestBinaryServesAndStopsOnSIGTERM(t *testing.T) {
	bin := buildBinary(t)
	client := newClient(t)
	const node = "np-node-proc"
	healthz := net.JoinHostPort("127.0.0.1", strconv.Itoa(freeLoopbackPort(t)))
	metricsAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(freeLoopbackPort(t)))
	var logs bytes.Buffer
	cmd := exec.Command(bin,
		"--kubeconfig="+shared.KubeconfigPath(),
		"--node-name="+node,
		"--healthz-bind-address="+healthz,
		"--metrics-bind-address="+metricsAddr,
		"--nodeport-addresses=127.0.0.0/8",
		"--sync-period=1s",
		"--v=2")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("cloudlb-nodeproxy output:\n%s", logs.String())
		}
	}()

	// No Node object yet: alive, but not eligible.
	no, yes := false, true
	waitFor(t, "/livez", "http://"+healthz+"/livez", nodeHealthIs(200, nil))
	waitFor(t, "/healthz without a Node", "http://"+healthz+"/healthz", nodeHealthIs(503, &no))
	createNode(t, client, node)
	waitFor(t, "/healthz with the Node", "http://"+healthz+"/healthz", nodeHealthIs(200, &yes))

	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`cloudlb_nodeproxy_syncs_total{result="ok"}`,
		`cloudlb_nodeproxy_node_health_probes_total{code="503",path="/healthz"}`,
		`cloudlb_nodeproxy_node_health_probes_total{code="200",path="/livez"}`,
		"cloudlb_nodeproxy_last_successful_sync_timestamp_seconds",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics has no %s", want)
		}
	}

	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v", err)
		}
		if took := time.Since(sent); took > maxExit {
			t.Errorf("exited %s after SIGTERM, want at most %s", took.Round(time.Millisecond), maxExit)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("still running %s after SIGTERM", waitTimeout)
	}
	for _, addr := range []string{healthz, metricsAddr} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after exit", addr)
		} else if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Logf("dial %s: %v", addr, err)
		}
	}
}

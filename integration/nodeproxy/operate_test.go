package nodeproxy_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
)

// These tests run the binary as an operator meets it: --version, the logging flags, its logs
// while the API server cannot be reached, and how fast SIGTERM stops it.

// maxExit is how long the agent may take to exit after SIGTERM, in every state: the kubelet
// waits terminationGracePeriodSeconds, and a rolling update of the DaemonSet waits for each node.
const maxExit = 2 * time.Second

// firstWarningWithin bounds the first "API server unreachable" line after start.
const firstWarningWithin = 10 * time.Second

// syncBuffer is the child's output; the test reads it while exec's goroutine writes it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// agentProcess is the binary running as a child of the test.
type agentProcess struct {
	cmd     *exec.Cmd
	logs    *syncBuffer
	exited  chan error
	started time.Time
}

// startBinary starts bin with args; it is killed when the test ends, and its output is
// logged when the test failed.
func startBinary(t *testing.T, bin string, args ...string) *agentProcess {
	t.Helper()
	p := &agentProcess{cmd: exec.Command(bin, args...), logs: &syncBuffer{}, exited: make(chan error, 1)}
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.started = time.Now()
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("cloudlb-nodeproxy %s output:\n%s", strings.Join(args, " "), p.logs.String())
		}
	})
	return p
}

// lines are the output lines so far.
func (p *agentProcess) lines() []string {
	return strings.Split(strings.TrimSpace(p.logs.String()), "\n")
}

// count is how many output lines ok accepts.
func (p *agentProcess) count(ok func(string) bool) int {
	n := 0
	for _, l := range p.lines() {
		if ok(l) {
			n++
		}
	}
	return n
}

// waitLines polls the output until ok accepts n lines, at most within after the start; it
// returns when the last of them was seen, measured from the start.
func (p *agentProcess) waitLines(t *testing.T, what string, n int, within time.Duration, ok func(string) bool) time.Duration {
	t.Helper()
	for {
		elapsed := time.Since(p.started)
		if p.count(ok) >= n {
			return elapsed
		}
		if elapsed > within {
			t.Fatalf("no %d lines of %s within %s of the start", n, what, within)
		}
		select {
		case err := <-p.exited:
			p.exited <- err
			t.Fatalf("exited (%v) before %d lines of %s", err, n, what)
		case <-time.After(pollInterval):
		}
	}
}

// terminate sends SIGTERM and returns how long the process took to exit; it fails the test if
// the exit status is not 0.
func (p *agentProcess) terminate(t *testing.T) time.Duration {
	t.Helper()
	sent := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.exited:
		took := time.Since(sent)
		if err != nil {
			t.Errorf("exit after SIGTERM: %v", err)
		}
		return took
	case <-time.After(waitTimeout):
		t.Fatalf("still running %s after SIGTERM", waitTimeout)
		return 0
	}
}

// kubeconfigFor is the shared admin kubeconfig pointed at server instead.
func kubeconfigFor(t *testing.T, server string) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(shared.KubeconfigPath())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cfg.Clusters {
		c.Server = server
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// unreachableWarning matches the agent's warning about addr, in the text format.
func unreachableWarning(addr string) func(string) bool {
	return func(l string) bool {
		return strings.HasPrefix(l, "W") && strings.Contains(l, "API server unreachable") && strings.Contains(l, addr)
	}
}

func contains(s string) func(string) bool {
	return func(l string) bool { return strings.Contains(l, s) }
}

// agentArgs are the flags of a test agent on loopback ports of its own.
func agentArgs(t *testing.T, kubeconfig string, extra ...string) []string {
	return append([]string{
		"--kubeconfig=" + kubeconfig,
		"--node-name=np-node-operate",
		"--healthz-bind-address=" + net.JoinHostPort("127.0.0.1", strconv.Itoa(freeLoopbackPort(t))),
		"--metrics-bind-address=" + net.JoinHostPort("127.0.0.1", strconv.Itoa(freeLoopbackPort(t))),
		"--nodeport-addresses=127.0.0.0/8",
	}, extra...)
}

// TestBinaryVersion: --version prints the version internal/version holds (stamped with
// -ldflags -X, else what the toolchain recorded), and exits 0 without a cluster or --node-name.
func TestBinaryVersion(t *testing.T) {
	goVersion := regexp.QuoteMeta(runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + ")\n")
	tests := []struct {
		name  string
		flags []string
		want  string // a regexp of the whole output
	}{
		{
			name:  "no ldflags, no VCS stamp",
			flags: []string{"-buildvcs=false"},
			want:  `^cloudlb-nodeproxy v0\.0\.0-dev \(commit unknown, ` + goVersion + `$`,
		},
		{
			// The tree may have other engineers' changes in it: "with uncommitted changes" is optional.
			name:  "no ldflags, the commit from the VCS",
			flags: []string{"-buildvcs=true"},
			want:  `^cloudlb-nodeproxy v\S+ \(commit [0-9a-f]{40}( with uncommitted changes)?, (built \S+, )?` + goVersion + `$`,
		},
		{
			name:  "release from ldflags",
			flags: []string{"-buildvcs=false", "-ldflags=-X github.com/cloudlb/cloudlb/internal/version.gitVersion=v9.8.7-test"},
			want:  `^cloudlb-nodeproxy v9\.8\.7-test \(commit unknown, ` + goVersion + `$`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // no agent runs: nothing shared but the build cache
			bin := filepath.Join(t.TempDir(), "cloudlb-nodeproxy")
			args := append(append([]string{"build"}, tt.flags...), "-o", bin, "github.com/cloudlb/cloudlb/cmd/cloudlb-nodeproxy")
			if b, err := exec.Command("go", args...).CombinedOutput(); err != nil {
				t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, b)
			}
			out, err := exec.Command(bin, "--version").CombinedOutput()
			if err != nil {
				t.Fatalf("--version: %v\n%s", err, out)
			}
			if !regexp.MustCompile(tt.want).Match(out) {
				t.Errorf("--version printed %q, want it to match %s", out, tt.want)
			}
		})
	}
}

// TestBinaryExitsPromptlyOnSIGTERM: in each state the agent exits within maxExit of SIGTERM.
func TestBinaryExitsPromptlyOnSIGTERM(t *testing.T) {
	bin := buildBinary(t)
	tests := []struct {
		name string
		// server is the API server address the kubeconfig names; empty is the real one.
		server func(t *testing.T) string
		args   []string
		// ready waits for the state to SIGTERM in.
		ready func(t *testing.T, p *agentProcess, server string)
		// check looks at the whole output after the exit.
		check func(t *testing.T, lines []string)
	}{
		{
			name: "running",
			ready: func(t *testing.T, p *agentProcess, _ string) {
				p.waitLines(t, "start", 1, waitTimeout, contains("Node agent started"))
			},
		},
		{
			name: "running with JSON logs",
			args: []string{"--logging-format=json"},
			ready: func(t *testing.T, p *agentProcess, _ string) {
				p.waitLines(t, "start", 1, waitTimeout, contains("Node agent started"))
			},
			check: func(t *testing.T, lines []string) {
				for _, l := range lines {
					var entry struct {
						Msg *string `json:"msg"`
					}
					if err := json.Unmarshal([]byte(l), &entry); err != nil || entry.Msg == nil {
						t.Errorf("not a JSON log entry with a msg: %q (%v)", l, err)
					}
				}
			},
		},
		{
			// Nothing listens on the port: every request fails at once, and client-go's
			// reflectors back off for up to 30 s without a word above --v=2. By the third
			// warning (about 11 s) their back-offs are 6-13 s long, sleeps that ignore the stop
			// channel and that the agent used to wait out after SIGTERM (3.9-4.7 s measured).
			name:   "API server unreachable",
			server: func(t *testing.T) string { return "https://127.0.0.1:" + strconv.Itoa(freeLoopbackPort(t)) },
			ready: func(t *testing.T, p *agentProcess, server string) {
				u, _ := url.Parse(server)
				first := p.waitLines(t, "unreachable warnings", 1, firstWarningWithin, unreachableWarning(u.Host))
				t.Logf("first warning %s after the start", first.Round(time.Millisecond))
				p.waitLines(t, "unreachable warnings", 3, firstWarningWithin+waitTimeout, unreachableWarning(u.Host))
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kubeconfig, server := shared.KubeconfigPath(), ""
			if tt.server != nil {
				server = tt.server(t)
				kubeconfig = kubeconfigFor(t, server)
			}
			p := startBinary(t, bin, agentArgs(t, kubeconfig, tt.args...)...)
			tt.ready(t, p, server)
			took := p.terminate(t)
			t.Logf("exited %s after SIGTERM", took.Round(time.Millisecond))
			if took > maxExit {
				t.Errorf("exited %s after SIGTERM, want at most %s", took.Round(time.Millisecond), maxExit)
			}
			if tt.check != nil {
				tt.check(t, p.lines())
			}
		})
	}
}

// TestBinaryLogsWhenAPIServerIsReachedAgain: the agent starts while nothing listens at the
// kubeconfig's address, warns, and says so once a proxy to the API server opens there.
func TestBinaryLogsWhenAPIServerIsReachedAgain(t *testing.T) {
	bin := buildBinary(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(freeLoopbackPort(t)))
	p := startBinary(t, bin, agentArgs(t, kubeconfigFor(t, "https://"+addr))...)
	p.waitLines(t, "unreachable warnings", 1, firstWarningWithin, unreachableWarning(addr))

	real, err := url.Parse(shared.RESTConfig().Host)
	if err != nil {
		t.Fatal(err)
	}
	proxyTCP(t, addr, real.Host)
	p.waitLines(t, "reached again", 1, waitTimeout, func(l string) bool {
		return strings.HasPrefix(l, "I") && strings.Contains(l, "API server reachable again") && strings.Contains(l, addr)
	})
	p.waitLines(t, "start", 1, waitTimeout, contains("Node agent started"))
	if took := p.terminate(t); took > maxExit {
		t.Errorf("exited %s after SIGTERM, want at most %s", took.Round(time.Millisecond), maxExit)
	}
}

// proxyTCP forwards connections to from to to until the test ends; TLS passes through, and the
// API server's certificate names 127.0.0.1 whatever the port.
func proxyTCP(t *testing.T, from, to string) {
	t.Helper()
	l, err := net.Listen("tcp", from)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var (
		mu     sync.Mutex
		conns  []net.Conn
		closed bool
	)
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		closed = true
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", to)
			if err != nil {
				in.Close()
				continue
			}
			mu.Lock()
			if closed { // accepted just before the cleanup closed l
				mu.Unlock()
				in.Close()
				out.Close()
				return
			}
			conns = append(conns, in, out)
			mu.Unlock()
			for _, pair := range [][2]net.Conn{{in, out}, {out, in}} {
				wg.Go(func() {
					_, err := io.Copy(pair[0], pair[1])
					if err != nil && !errors.Is(err, net.ErrClosed) {
						t.Logf("proxy: %v", err)
					}
					pair[0].Close()
					pair[1].Close()
				})
			}
		}
	})
}

package controllermanager

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cloudlb/cloudlb/integration/controlplane"
	"github.com/cloudlb/cloudlb/providers/fake"
)

func TestBuildArgs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		opts      Options
		want, not []string
	}{
		{
			name: "defaults",
			opts: Options{Kubeconfig: "/k"},
			want: []string{"--cloud-provider=fake", "--cloud-config=/cc", "--kubeconfig=/k", "--authentication-kubeconfig=/k",
				"--authorization-kubeconfig=/k", "--bind-address=127.0.0.1", "--secure-port=4242", "--controllers=service", "--leader-elect=false"},
			not: []string{"--cluster-name", "--leader-elect-resource-name", "--leader-elect-lease-duration"},
		},
		{
			name: "leader election",
			opts: Options{Kubeconfig: "/k", LeaderElect: true, LeaseName: "l", LeaseDuration: 4 * time.Second,
				RenewDeadline: 3 * time.Second, RetryPeriod: 500 * time.Millisecond, ClusterName: "c", Controllers: []string{"service", "cloud-node"}},
			want: []string{"--leader-elect=true", "--leader-elect-resource-name=l", "--leader-elect-lease-duration=4s",
				"--leader-elect-renew-deadline=3s", "--leader-elect-retry-period=500ms", "--cluster-name=c", "--controllers=service,cloud-node"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.opts.ExtraArgs = []string{"--v=2"}
			got := buildArgs(tc.opts, "/cc", 4242)
			for _, w := range tc.want {
				if !slices.Contains(got, w) {
					t.Errorf("args %q lack %q", got, w)
				}
			}
			for _, n := range tc.not {
				if slices.ContainsFunc(got, func(a string) bool { return strings.HasPrefix(a, n) }) {
					t.Errorf("args %q contain %s", got, n)
				}
			}
			if got[len(got)-1] != "--v=2" {
				t.Errorf("extra args must come last to override: %q", got)
			}
		})
	}
}

func TestMissingBinary(t *testing.T) {
	t.Parallel()
	_, err := Start(t.Context(), Options{Kubeconfig: "/k", Binary: filepath.Join(t.TempDir(), "nope")})
	if err == nil || !strings.Contains(err.Error(), "make build") {
		t.Fatalf("Start with a missing binary: err = %v, want one saying `make build`", err)
	}
}

func TestStartKillStop(t *testing.T) {
	t.Parallel()
	cp := controlplane.StartForTest(t)
	parent := t.TempDir()
	logPath := filepath.Join(t.TempDir(), "ccm.log")
	p, err := Start(t.Context(), Options{
		Kubeconfig:  cp.KubeconfigPath(),
		CloudConfig: fake.Config{StatePath: filepath.Join(t.TempDir(), "state.json"), Identity: "t"},
		Dir:         parent,
		LogPath:     logPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	cc, err := os.ReadFile(filepath.Join(p.dir, cloudConfigName))
	if err != nil || !strings.Contains(string(cc), "identity: t") {
		t.Errorf("cloud config = %q, %v; want the fake.Config as YAML", cc, err)
	}

	if err := p.Kill(); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	if !p.Exited() {
		t.Fatal("process still running after Kill")
	}
	if err := syscall.Kill(-p.PID(), 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process group %d after Kill: kill(-pgid, 0) = %v, want ESRCH", p.PID(), err)
	}
	// A killed process is an expected exit: Stop reports nothing and cleans up.
	if err := p.Stop(); err != nil {
		t.Errorf("Stop after Kill: %v", err)
	}
	if entries, err := os.ReadDir(parent); err != nil || len(entries) != 0 {
		t.Errorf("Options.Dir after Stop: entries %v, err %v; want empty", entries, err)
	}
	if _, err := os.Stat(logPath); err != nil {
		t.Errorf("explicit LogPath must survive Stop: %v", err)
	}

	// A second process terminated by Stop exits cleanly too.
	p2, err := Start(t.Context(), Options{Kubeconfig: cp.KubeconfigPath(), LogPath: logPath})
	if err != nil {
		t.Fatal(err)
	}
	if err := p2.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if err := syscall.Kill(-p2.PID(), 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process group %d after Stop: kill(-pgid, 0) = %v, want ESRCH", p2.PID(), err)
	}
}

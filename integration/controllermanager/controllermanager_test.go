package controllermanager_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/cloudlb/cloudlb/integration/controllermanager"
	"github.com/cloudlb/cloudlb/integration/controlplane"
	"github.com/cloudlb/cloudlb/providers/fake"
)

func TestStartKillStop(t *testing.T) {
	t.Parallel()
	cp := controlplane.StartForTest(t)
	parent := t.TempDir()
	logPath := filepath.Join(t.TempDir(), "ccm.log")
	p, err := controllermanager.Start(t.Context(), controllermanager.Options{
		Kubeconfig:  cp.KubeconfigPath(),
		CloudConfig: fake.Config{StatePath: filepath.Join(t.TempDir(), "state.json"), Identity: "t"},
		Dir:         parent,
		LogPath:     logPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	cc, err := os.ReadFile(p.CloudConfigPath())
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
	p2, err := controllermanager.Start(t.Context(), controllermanager.Options{Kubeconfig: cp.KubeconfigPath(), LogPath: logPath})
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

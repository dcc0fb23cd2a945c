package process_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cloudlb/cloudlb/internal/process"
)

// start runs sh -c script with its log in a temporary directory and stops it when the test ends.
func start(t *testing.T, script string, mod func(*process.Options)) *process.Process {
	t.Helper()
	opts := process.Options{
		Name:    "child",
		Path:    "/bin/sh",
		Args:    []string{"-c", script},
		LogPath: filepath.Join(t.TempDir(), "child.log"),
	}
	if mod != nil {
		mod(&opts)
	}
	p, err := process.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Kill() })
	return p
}

// alive reports whether a process with pid exists (a zombie counts as gone once reaped).
func alive(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}

// waitFor polls cond until it holds or fails the test after 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// grandchild returns the PID the script printed on its first log line.
func grandchild(t *testing.T, p *process.Process) int {
	t.Helper()
	var pid int
	waitFor(t, "the grandchild's PID in the log", func() bool {
		n, err := strconv.Atoi(strings.TrimSpace(p.Tail(1)))
		pid = n
		return err == nil && n > 0
	})
	return pid
}

func TestStopAndKillEndTheGroup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		script string
		grace  time.Duration
		end    func(*process.Process) error
	}{
		{name: "Stop", script: "sleep 60 & echo $!; wait", end: (*process.Process).Stop},
		{name: "Kill", script: "sleep 60 & echo $!; wait", end: (*process.Process).Kill},
		{
			name:   "Stop escalates to SIGKILL after the grace",
			script: `trap "" TERM; sleep 60 & echo $!; wait`,
			grace:  200 * time.Millisecond,
			end:    (*process.Process).Stop,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := start(t, tt.script, func(o *process.Options) { o.StopGrace = tt.grace })
			child := grandchild(t, p)
			if p.Exited() {
				t.Fatalf("exited before %s: %v", tt.name, p.Wait())
			}
			if err := tt.end(p); err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if !p.Exited() {
				t.Error("not reaped after it returned")
			}
			waitFor(t, "the grandchild (pid "+strconv.Itoa(child)+") to die with its group", func() bool { return !alive(child) })
			// The exit was asked for, so a later Stop reports nothing.
			if err := p.Stop(); err != nil {
				t.Errorf("Stop after %s: %v", tt.name, err)
			}
		})
	}
}

func TestStopReportsAnEarlierExit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		script   string
		wantCode int
	}{
		{name: "non-zero status", script: "exit 3", wantCode: 3},
		{name: "status 0", script: "exit 0", wantCode: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := start(t, tt.script, nil)
			<-p.Done()
			err := p.Stop()
			if err == nil || !strings.Contains(err.Error(), "child exited unexpectedly") {
				t.Fatalf("Stop = %v, want an unexpected exit of child", err)
			}
			var exitErr *exec.ExitError
			switch {
			case tt.wantCode == 0 && errors.As(err, &exitErr):
				t.Errorf("Stop = %v, want no *exec.ExitError for status 0", err)
			case tt.wantCode != 0 && (!errors.As(err, &exitErr) || exitErr.ExitCode() != tt.wantCode):
				t.Errorf("Stop = %v, want an *exec.ExitError with code %d", err, tt.wantCode)
			}
			if again := p.Stop(); again != err {
				t.Errorf("second Stop = %v, want the same error %v", again, err)
			}
		})
	}
}

func TestTailAndLog(t *testing.T) {
	t.Parallel()
	logPath := filepath.Join(t.TempDir(), "child.log")
	if err := os.WriteFile(logPath, []byte("earlier run\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var out strings.Builder
	// Only standard output: with copies to other writers, the two streams go through separate
	// pipes and reach the log in no fixed order.
	p := start(t, "for i in 1 2 3 4 5; do echo line$i; done", func(o *process.Options) {
		o.LogPath, o.AppendLog = logPath, true
		o.Stdout = process.NewLineWriter(&mu, &out, "[child] ")
	})
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	if got, want := p.Tail(2), "line4\nline5"; got != want {
		t.Errorf("Tail(2) = %q, want %q", got, want)
	}
	if got := p.Tail(100); !strings.HasPrefix(got, "earlier run\nline1\n") {
		t.Errorf("Tail(100) = %q, want the whole log, the earlier content kept", got)
	}
	if !p.LogContains("line3") || p.LogContains("earlier run") {
		t.Error("LogContains must see this process's lines and not what the log held before")
	}
	mu.Lock()
	defer mu.Unlock()
	if got, want := out.String(), "[child] line1\n[child] line2\n[child] line3\n[child] line4\n[child] line5\n"; got != want {
		t.Errorf("copied output = %q, want %q", got, want)
	}
}

func TestStartFails(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, err := process.Start(process.Options{Name: "child", Path: filepath.Join(dir, "missing"), LogPath: filepath.Join(dir, "log")})
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Start of a missing binary = %v, want os.ErrNotExist", err)
	}
}

func TestNewLineWriterNil(t *testing.T) {
	t.Parallel()
	if w := process.NewLineWriter(&sync.Mutex{}, nil, "x"); w != nil {
		t.Errorf("NewLineWriter(nil) = %v, want nil", w)
	}
}

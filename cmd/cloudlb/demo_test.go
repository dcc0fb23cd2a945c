package main

import (
	"strings"
	"testing"

	"github.com/cloudlb/cloudlb/internal/controlplane"
)

func TestDemoUsageErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"positional argument", []string{"demo", "now"}, "unexpected arguments"},
		{"zero timeout", []string{"demo", "--timeout=0s"}, "--timeout must be positive"},
		{"unknown flag", []string{"demo", "--nope"}, "flag provided but not defined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := runCLI(t, "", tc.args...)
			if code != exitUsage || !strings.Contains(stderr, tc.wantErr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, exitUsage, tc.wantErr)
			}
		})
	}
}

// Not parallel: it sets an environment variable.
func TestDemoWithoutTestbin(t *testing.T) {
	t.Setenv(controlplane.BinDirEnv, t.TempDir())
	code, stdout, stderr := runCLI(t, "", "demo")
	if code != exitInvalid || !strings.Contains(stderr, "run make testbin") {
		t.Errorf("exit %d, stderr %q; want %d and a hint to run make testbin", code, stderr, exitInvalid)
	}
	if stdout != "" {
		t.Errorf("nothing must start without the binaries, got output %q", stdout)
	}
}

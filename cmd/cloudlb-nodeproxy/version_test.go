package main

import (
	"bytes"
	"testing"

	"github.com/cloudlb/cloudlb/internal/version"
)

// TestVersionFlag: --version prints cloudlb's build on one line and exits before the flags are
// validated, so it needs no --node-name (nor NODE_NAME) and ignores invalid values. What the
// line holds in every kind of build is internal/version's test.
func TestVersionFlag(t *testing.T) {
	t.Setenv("NODE_NAME", "") // not parallel: --version must work without it
	want := "cloudlb-nodeproxy " + version.Get().String() + "\n"
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"alone", []string{"--version"}},
		{"with invalid flags", []string{"--version", "--sync-period=0s", "--proxy-protocol=3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := newCommand()
			var out, errOut bytes.Buffer
			cmd.SetOut(&out)
			cmd.SetErr(&errOut)
			cmd.SetArgs(tc.args)
			if err := cmd.Execute(); err != nil {
				t.Fatalf("Execute(%v): %v; stderr %q", tc.args, err, errOut.String())
			}
			if out.String() != want {
				t.Errorf("stdout = %q\nwant %q", out.String(), want)
			}
		})
	}
}

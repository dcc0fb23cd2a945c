// Package controllermanager holds the test side of internal/controllermanager: a
// cloudlb-controller-manager process stopped when the test ends.
package controllermanager

import (
	"context"
	"testing"

	"github.com/cloudlb/cloudlb/internal/controllermanager"
)

// Process and Options are internal/controllermanager's; the aliases keep tests to one import.
type (
	Process = controllermanager.Process
	Options = controllermanager.Options
)

// Start starts the process; see internal/controllermanager.Start.
func Start(ctx context.Context, opts Options) (*Process, error) {
	return controllermanager.Start(ctx, opts)
}

// ResolveBinary returns the cloudlb-controller-manager binary to run; see internal/controllermanager.
func ResolveBinary(explicit string) (string, error) { return controllermanager.ResolveBinary(explicit) }

// tailLines is how many log lines a failed test logs.
const tailLines = 40

// StartForTest starts the process and stops it when tb's test ends, logging the tail of its
// log if the test failed; it calls tb.Fatal on error.
func StartForTest(tb testing.TB, opts Options) *Process {
	tb.Helper()
	p, err := Start(tb.Context(), opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("--- last %d lines of %s ---\n%s", tailLines, p.LogPath(), p.Tail(tailLines))
		}
		if err := p.Stop(); err != nil {
			tb.Errorf("stop cloudlb-controller-manager: %v", err)
		}
	})
	return p
}

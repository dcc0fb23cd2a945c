package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"k8s.io/klog/v2"
)

// TestSideBySide runs every phase for both providers (3 Classic and 3 NLB Services with
// -short, 50 of each without) and checks the invariants that must hold whatever the ratios.
func TestSideBySide(t *testing.T) {
	klog.SetOutput(io.Discard)
	klog.LogToStderr(false)
	services := 50
	if testing.Short() {
		services = 3
	}
	rows, err := Run(context.Background(), services, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 9 {
		t.Fatalf("got %d phases, want 9 (create, no-op, node add and delete per kind, restart)", len(rows))
	}
	for _, r := range rows {
		if r.Ours.NA != "" || r.Upstream.NA != "" {
			t.Logf("%s: not available: %q %q", r.Step, r.Ours.NA, r.Upstream.NA)
			continue
		}
		if r.Step != restartPhase && (r.Ours.Total() == 0 || r.Upstream.Total() == 0) {
			t.Errorf("%s: a provider made no call: %+v", r.Step, r)
		}
		if (strings.HasPrefix(r.Step, "no-op") || r.Step == restartPhase) && r.Ours.Writes != 0 {
			t.Errorf("%s: cloudlb wrote on a pass over converged Services: %s", r.Step, r.Ours.Calls)
		}
	}
	var b bytes.Buffer
	Print(&b, rows)
	PrintCalls(&b, rows)
	t.Log("\n" + b.String())
}

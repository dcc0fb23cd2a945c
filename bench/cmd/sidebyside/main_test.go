package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"k8s.io/klog/v2"
)

// TestSideBySide runs the whole sequence for both providers (3 Services in the node-add step
// with -short, 50 without) and checks the invariants that must hold whatever the ratios.
func TestSideBySide(t *testing.T) {
	klog.SetOutput(io.Discard)
	klog.LogToStderr(false)
	services := 50
	if testing.Short() {
		services = 3
	}
	rows, err := Run(context.Background(), services)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 7 {
		t.Fatalf("got %d steps, want 7 (create, no-op and add a node for CLB and NLB, delete)", len(rows))
	}
	for _, r := range rows {
		if r.Ours.Total() == 0 || r.Upstream.Total() == 0 {
			t.Errorf("%s: a provider made no call: %+v", r.Step, r)
		}
		if strings.HasPrefix(r.Step, "no-op") && r.Ours.Writes != 0 {
			t.Errorf("%s: cloudlb wrote on a no-op sync: %s", r.Step, r.Ours.Calls)
		}
	}
	var b bytes.Buffer
	Print(&b, rows)
	PrintCalls(&b, rows)
	t.Log("\n" + b.String())
}

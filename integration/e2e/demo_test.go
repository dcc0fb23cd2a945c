package e2e_test

import (
	"bytes"
	"context"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDemo runs `cloudlb demo` as users do (make demo): its own control plane, controller
// manager and fake cloud. It runs the built binary rather than a function: the demo lives in
// package main, which cannot be imported, and the binary is what `make demo` runs.
func TestDemo(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	// On timeout the demo is SIGKILLed; its etcd, kube-apiserver and controller manager follow
	// through their parent-death signal.
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "cloudlb"), "demo", "--timeout=60s")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	began := time.Now()
	err := cmd.Run()
	t.Logf("cloudlb demo took %s:\n%s", time.Since(began).Round(time.Millisecond), stdout.String())
	if err != nil {
		t.Fatalf("cloudlb demo: %v\nstderr:\n%s", err, stderr.String())
	}

	rows := map[string][]string{} // NAMESPACE/NAME -> columns, split on runs of spaces
	inTable := false
	for line := range strings.Lines(stdout.String()) {
		fields := strings.Fields(line)
		switch {
		case len(fields) > 0 && fields[0] == "NAMESPACE/NAME":
			inTable = true
		case len(fields) == 0:
			inTable = false
		case inTable:
			rows[fields[0]] = fields
		}
	}
	for _, name := range []string{"demo/web", "demo/billing-internal", "demo/shop", "demo/ingress"} {
		fields, ok := rows[name]
		if !ok {
			t.Errorf("no table row for %s", name)
			continue
		}
		// Columns: NAMESPACE/NAME CLASS SCHEME INGRESS PORTS... LAST EVENT.
		if len(fields) < 4 {
			t.Errorf("%s: short row %q", name, fields)
			continue
		}
		if _, err := netip.ParseAddr(fields[3]); err != nil {
			t.Errorf("%s: ingress column %q is not an address: row %q", name, fields[3], fields)
		}
		wantScheme := "external"
		if strings.HasSuffix(name, "-internal") {
			wantScheme = "internal"
		}
		if fields[2] != wantScheme {
			t.Errorf("%s: scheme %q, want %s", name, fields[2], wantScheme)
		}
	}
	if fields := rows["demo/broken-healthcheck"]; len(fields) < 4 || fields[3] != "<pending>" {
		t.Errorf("demo/broken-healthcheck: row %q, want a <pending> ingress", fields)
	}
	out := stdout.String()
	for _, want := range []string{
		"InvalidAnnotation",
		`service.beta.kubernetes.io/aws-load-balancer-healthcheck-interval: "3"`,
		"excluded by node.kubernetes.io/exclude-from-external-load-balancers=true: demo-node-3",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
}

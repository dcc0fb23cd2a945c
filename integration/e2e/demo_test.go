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
	stdout := runDemo(t)
	rows := demoTableRows(stdout)
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
	out := stdout
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

// TestDemoAWS runs `cloudlb demo --cloud aws` (make demo CLOUD=aws): the aws provider against
// the in-process fakeaws, so every valid Service gets an ELB DNS name.
func TestDemoAWS(t *testing.T) {
	out := runDemo(t, "--cloud", "aws")
	rows := demoTableRows(out)
	for _, name := range []string{"demo/web", "demo/billing-internal", "demo/shop", "demo/ingress"} {
		fields := rows[name]
		if len(fields) < 4 || !strings.HasSuffix(fields[3], ".elb.amazonaws.com") {
			t.Errorf("%s: row %q, want an ingress hostname ending in .elb.amazonaws.com", name, fields)
			continue
		}
		if wantScheme := map[bool]string{true: "internal", false: "external"}[strings.HasSuffix(name, "-internal")]; fields[2] != wantScheme {
			t.Errorf("%s: scheme %q, want %s", name, fields[2], wantScheme)
		}
	}
	if fields := rows["demo/broken-healthcheck"]; len(fields) < 4 || fields[3] != "<pending>" {
		t.Errorf("demo/broken-healthcheck: row %q, want a <pending> ingress", fields)
	}
	for _, want := range []string{
		"InvalidAnnotation",
		`service.beta.kubernetes.io/aws-load-balancer-healthcheck-interval: "3"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
}

// runDemo runs bin/cloudlb demo with args and returns its standard output; it fails the test
// unless the demo exits 0.
func runDemo(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	// On timeout the demo is SIGKILLed; its etcd, kube-apiserver and controller manager follow
	// through their parent-death signal.
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "cloudlb"), append([]string{"demo", "--timeout=60s"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	began := time.Now()
	err := cmd.Run()
	t.Logf("cloudlb demo %s took %s:\n%s", strings.Join(args, " "), time.Since(began).Round(time.Millisecond), stdout.String())
	if err != nil {
		t.Fatalf("cloudlb demo: %v\nstderr:\n%s", err, stderr.String())
	}
	return stdout.String()
}

// demoTableRows parses the demo table: NAMESPACE/NAME -> columns, split on runs of spaces.
func demoTableRows(out string) map[string][]string {
	rows := map[string][]string{}
	inTable := false
	for line := range strings.Lines(out) {
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
	return rows
}

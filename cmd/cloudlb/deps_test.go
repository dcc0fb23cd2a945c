package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestBinariesLinkNoTestCode: the shipped binaries link neither the testing package nor anything
// under integration/ (the fake clouds and the local control plane the demo uses are product packages).
func TestBinariesLinkNoTestCode(t *testing.T) {
	t.Parallel()
	for _, pkg := range []string{"./cmd/cloudlb", "./cmd/cloudlb-controller-manager", "./cmd/cloudlb-nodeproxy"} {
		out, err := exec.Command("go", "list", "-C", "../..", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if dep == "testing" || strings.Contains(dep, "/cloudlb/integration/") {
				t.Errorf("%s links %s", pkg, dep)
			}
		}
	}
}

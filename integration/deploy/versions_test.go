package deploy_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes"
)

// deployingDoc states the supported Kubernetes versions in one sentence, which supportedRange
// reads; the versions below must stay inside it.
var (
	deployingDoc   = filepath.Join("..", "..", "docs", "deploying.md")
	supportedLine  = regexp.MustCompile(`Supported Kubernetes versions: \*\*1\.(\d+) to 1\.(\d+)\*\*`)
	moduleRequires = regexp.MustCompile(`(?m)^\s*(?:require\s+)?(\S+)\s+v(\d+)\.(\d+)\.\d+\S*`)
)

// TestSupportedKubernetesVersions fails when the kube-apiserver the tests build
// (tools/testbin/go.mod's k8s.io/kubernetes) or run (the control plane of this package), or
// the client-go cloudlb is built with, is outside the range docs/deploying.md states. cloudlb
// is a cloud-controller-manager, which the version skew policy lets be one minor version older
// than kube-apiserver but never newer: the range must start at client-go's minor version.
func TestSupportedKubernetesVersions(t *testing.T) {
	t.Parallel()
	lo, hi := supportedRange(t)

	built := moduleMinor(t, filepath.Join("..", "..", "tools", "testbin", "go.mod"), "k8s.io/kubernetes", 1)
	if built < lo || built > hi {
		t.Errorf("the tests build kube-apiserver 1.%d (tools/testbin/go.mod), outside the supported 1.%d to 1.%d of %s", built, lo, hi, deployingDoc)
	}
	// client-go v0.N is Kubernetes 1.N.
	client := moduleMinor(t, filepath.Join("..", "..", "go.mod"), "k8s.io/client-go", 0)
	if client != lo {
		t.Errorf("cloudlb is built with client-go for Kubernetes 1.%d; %s must start its supported range there (a cloud-controller-manager may be older than kube-apiserver, never newer), not at 1.%d", client, deployingDoc, lo)
	}
	if hi > lo+1 {
		t.Errorf("%s states 1.%d to 1.%d: the version skew policy covers one minor version beyond the one cloudlb is built for", deployingDoc, lo, hi)
	}

	cs, err := kubernetes.NewForConfig(shared.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	info, err := cs.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	running, err := strconv.Atoi(strings.TrimSuffix(info.Minor, "+"))
	if err != nil || info.Major != "1" {
		t.Fatalf("kube-apiserver reports version %s.%s (%s)", info.Major, info.Minor, info.GitVersion)
	}
	if running != built {
		t.Errorf("the tests run kube-apiserver %s, but tools/testbin/go.mod builds 1.%d: bin/testbin is stale (make testbin)", info.GitVersion, built)
	}
	if running < lo || running > hi {
		t.Errorf("the tests run kube-apiserver %s, outside the supported 1.%d to 1.%d of %s", info.GitVersion, lo, hi, deployingDoc)
	}
}

// supportedRange reads the minor versions of the one "Supported Kubernetes versions" range the
// doc states (it may repeat it, never with other numbers).
func supportedRange(t *testing.T) (lo, hi int) {
	t.Helper()
	doc, err := os.ReadFile(deployingDoc)
	if err != nil {
		t.Fatal(err)
	}
	ranges := map[string]bool{}
	for _, m := range supportedLine.FindAllStringSubmatch(string(doc), -1) {
		ranges[m[1]+"-"+m[2]] = true
		lo, _ = strconv.Atoi(m[1])
		hi, _ = strconv.Atoi(m[2])
	}
	if len(ranges) != 1 {
		t.Fatalf("%s states %d different ranges matching %q, want one", deployingDoc, len(ranges), supportedLine)
	}
	if lo > hi {
		t.Fatalf("%s states the range 1.%d to 1.%d", deployingDoc, lo, hi)
	}
	return lo, hi
}

// moduleMinor is the minor version of module in a go.mod, whose major version must be major.
func moduleMinor(t *testing.T, gomod, module string, major int) int {
	t.Helper()
	raw, err := os.ReadFile(gomod)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range moduleRequires.FindAllStringSubmatch(string(raw), -1) {
		if m[1] != module {
			continue
		}
		maj, _ := strconv.Atoi(m[2])
		minor, _ := strconv.Atoi(m[3])
		if maj != major {
			t.Fatalf("%s requires %s v%d.%d, want major version %d", gomod, module, maj, minor, major)
		}
		return minor
	}
	t.Fatalf("%s does not require %s", gomod, module)
	return 0
}

// Package scale_test measures the real cloudlb-controller-manager binary (bin/, from `make
// build`) at cluster scale: a real etcd and kube-apiserver (one control plane for the package),
// a thousand Ready Nodes and thousands of LoadBalancer Services, the fake cloud provider and
// the binary's shipped defaults. It holds benchmarks only: `make test` does not run them.
package scale_test

import (
	"flag"
	"os"
	"testing"

	"github.com/cloudlb/cloudlb/integration/controlplane"
)

// shared is the control plane of every benchmark of this package.
var shared *controlplane.ControlPlane

func TestMain(m *testing.M) {
	// The package holds benchmarks only: without -bench (as in `make test`) there is nothing to
	// start a control plane for.
	flag.Parse()
	if flag.Lookup("test.bench").Value.String() == "" {
		os.Exit(m.Run())
	}
	os.Exit(controlplane.RunMain(m, controlplane.Options{}, func(cp *controlplane.ControlPlane) error {
		shared = cp
		return nil
	}))
}

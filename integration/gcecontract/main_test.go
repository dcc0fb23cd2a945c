// Package gcecontract_test is the GCE contract suite: the real service controller, the real
// kube-apiserver and the gce provider (with the real cloud.google.com/go/compute/apiv1 REST
// clients) against fakegce served in-process.
//
// Each test has its own namespace, LoadBalancerClass and controller, so tests run in
// parallel on one control plane. Nodes are cluster-wide: the tests that change Nodes, count
// calls or inject faults do not call t.Parallel, so Go runs them before the parallel ones.
//
// The tests every cloud's suite shares are integration/contract's (TestContract and
// TestContractParallel); this package holds the GCE side of them (cloud_test.go), its
// annotation cases and seed examples, and the tests only GCE has.
package gcecontract_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	cloudprovider "k8s.io/cloud-provider"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/fakecloud/fakegce"
	"github.com/cloudlb/cloudlb/integration/contract"
)

const (
	project     = "contract-project"
	region      = "us-central1"
	clusterName = "gcecontract"
	clusterID   = "gcecontract"
	nodeTag     = "gke-gcecontract-node"

	ilbSubnet     = "ilb-subnet"
	ilbSubnetCIDR = "10.20.0.0/24"
)

// suite is what every test shares.
type suite struct {
	// tenants are what every test's tenant is made of (cloud_test.go).
	tenants contract.Config
	fake    *fakegce.Server
	// endpoint is the providers' (cloud_test.go); served holds the calls made through it,
	// the suite's own reads with clientOpts among them (see permissions_test.go). The
	// suite's own writes in reach_test.go go to userEndpoint, which served does not count.
	endpoint, userEndpoint string
	served                 contract.Served
}

var shared suite

// TestMain starts the control plane and the fake, seeds three nodes in two zones, runs the
// tests, and then requires the cloud to hold nothing (every test deleted its Services) and the
// custom role to grant exactly what was called (permissions_test.go).
func TestMain(m *testing.M) {
	os.Exit(contract.Main(m, shared.setUp, shared.leftovers, shared.checkPermissions))
}

// leftovers reports what the cloud still holds: every test deleted its Services.
func (s *suite) leftovers(context.Context) error {
	left := s.fake.Resources()
	if len(left) == 0 {
		return nil
	}
	var names []string
	for _, r := range left {
		names = append(names, r.Kind+" "+r.Name)
	}
	return fmt.Errorf("left behind:\n  %s", strings.Join(names, "\n  "))
}

// nodes are the cluster's nodes: name and zone. "spare" has an instance but no Node until
// TestContract/NodeChurn adds it.
var nodes = []struct{ name, zone string }{
	{"node-a1", region + "-a"}, {"node-a2", region + "-a"}, {"node-b1", region + "-b"}, {"spare", region + "-b"},
}

func providerID(name, zone string) string { return "gce://" + project + "/" + zone + "/" + name }

func (s *suite) setUp(ctx context.Context, rest *rest.Config) error {
	s.tenants = contract.Config{REST: rest, NamespacePrefix: "gce", ClusterName: clusterName, AnnotationCloud: annotations.GCE,
		NewCloud: func(t *testing.T) cloudprovider.LoadBalancer { return newCloud(t, gceConf(s.endpoint)) }}
	s.fake = fakegce.New(fakegce.Options{Project: project, Region: region,
		OnCall: func(r *http.Request, key string) { s.served.Record(r, key) }})
	// A second subnet for the internal-load-balancer-subnet cases.
	s.fake.AddNetwork("default", map[string]string{ilbSubnet: ilbSubnetCIDR})
	// Never closed: the process ends with the package.
	s.endpoint = httptest.NewServer(s.served.Provider(s.fake)).URL
	s.userEndpoint = httptest.NewServer(s.fake).URL
	cs, err := kubernetes.NewForConfig(rest)
	if err != nil {
		return err
	}
	for _, n := range nodes {
		s.fake.AddInstance(fakegce.Instance{Name: n.name, Zone: n.zone, Tags: []string{nodeTag}})
		if n.name == "spare" {
			continue
		}
		if err := contract.CreateReadyNode(ctx, cs, node(n.name, n.zone)); err != nil {
			return err
		}
	}
	s.fake.ResetCalls()
	return nil
}

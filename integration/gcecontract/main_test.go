// Package gcecontract_test is the GCE contract suite: the real service controller, the real
// kube-apiserver and the gce provider (with the real cloud.google.com/go/compute/apiv1 REST
// clients) against fakegce served in-process.
//
// Each test has its own namespace, LoadBalancerClass and controller, so tests run in
// parallel on one control plane. Nodes are cluster-wide: the tests that change Nodes, count
// calls or inject faults do not call t.Parallel, so Go runs them before the parallel ones.
package gcecontract_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/cloudlb/cloudlb/fakecloud/fakegce"
	"github.com/cloudlb/cloudlb/integration/contract"
	"github.com/cloudlb/cloudlb/integration/controlplane"
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
	cp   *controlplane.ControlPlane
	fake *fakegce.Server
	// endpoint is the providers' (harness_test.go); served holds the calls made through it,
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
	os.Exit(contract.Main(m, func(ctx context.Context, cp *controlplane.ControlPlane) error {
		shared.cp = cp
		return shared.setUp(ctx)
	}, func(context.Context) error {
		left := shared.fake.Resources()
		if len(left) == 0 {
			return nil
		}
		var names []string
		for _, r := range left {
			names = append(names, r.Kind+" "+r.Name)
		}
		return fmt.Errorf("left behind:\n  %s", strings.Join(names, "\n  "))
	}, func(context.Context) error { return shared.checkPermissions() }))
}

// nodes are the cluster's nodes: name and zone. "spare" has an instance but no Node until
// TestNodeChurn adds it.
var nodes = []struct{ name, zone string }{
	{"node-a1", region + "-a"}, {"node-a2", region + "-a"}, {"node-b1", region + "-b"}, {"spare", region + "-b"},
}

func providerID(name, zone string) string { return "gce://" + project + "/" + zone + "/" + name }

func (s *suite) setUp(ctx context.Context) error {
	s.fake = fakegce.New(fakegce.Options{Project: project, Region: region,
		OnCall: func(r *http.Request, key string) { s.served.Record(r, key) }})
	// A second subnet for the internal-load-balancer-subnet cases.
	s.fake.AddNetwork("default", map[string]string{ilbSubnet: ilbSubnetCIDR})
	// Never closed: the process ends with the package.
	s.endpoint = httptest.NewServer(s.served.Provider(s.fake)).URL
	s.userEndpoint = httptest.NewServer(s.fake).URL
	cs, err := kubernetes.NewForConfig(cp(s.cp))
	if err != nil {
		return err
	}
	for _, n := range nodes {
		s.fake.AddInstance(fakegce.Instance{Name: n.name, Zone: n.zone, Tags: []string{nodeTag}})
		if n.name == "spare" {
			continue
		}
		if err := createReadyNode(ctx, cs, n.name, n.zone); err != nil {
			return err
		}
	}
	s.fake.ResetCalls()
	return nil
}

// cp returns the admin REST config without client-side rate limiting.
func cp(c *controlplane.ControlPlane) *rest.Config {
	cfg := c.RESTConfig()
	cfg.QPS, cfg.Burst = -1, 0
	return cfg
}

func createReadyNode(ctx context.Context, cs kubernetes.Interface, name, zone string) error {
	node := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{v1.LabelTopologyZone: zone}},
		Spec: v1.NodeSpec{ProviderID: providerID(name, zone)}}
	out, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create node %s: %w", name, err)
	}
	out.Status.Conditions = []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue,
		LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}}
	if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, out, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("mark node %s ready: %w", name, err)
	}
	return nil
}

// Package cloudmetrics_test checks that every cloud reports its API calls on the controller
// manager's /metrics: the real cloudlb-controller-manager binary (from `make build`, as in
// integration/e2e) runs the azure or the gce provider against fakeazure or fakegce served by
// this test process, one LoadBalancer Service gets its ingress, and cloudlb_cloud_api_calls_total
// must then count, by operation, exactly the calls the fake cloud served.
//
// Each test runs its own controller manager, serving only its own spec.loadBalancerClass, so
// the two clouds' tests run in parallel on one control plane and one set of Nodes.
package cloudmetrics_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/cloudlb/cloudlb/fakecloud/fakeazure"
	"github.com/cloudlb/cloudlb/fakecloud/fakegce"
	"github.com/cloudlb/cloudlb/integration/controllermanager"
	"github.com/cloudlb/cloudlb/integration/controlplane"
)

const (
	clusterName = "cloudmetrics"

	// The Azure subscription fakeazure serves.
	azureSub      = "00000000-0000-0000-0000-0000000000aa"
	azureRG       = "cluster-rg"
	azureLocation = "westeurope"
	azureNSG      = "cluster-nsg"

	// The GCE project fakegce serves.
	gceProject = "cloudmetrics-project"
	gceRegion  = "us-central1"
	gceNodeTag = "cloudmetrics-node"
)

// nodes are the cluster's Nodes: each has an InternalIP (Azure's backend pool) and a GCE
// instance (GCE's target pool).
var nodes = []struct{ name, ip, zone string }{
	{"node-1", "10.240.0.4", gceRegion + "-a"},
	{"node-2", "10.240.0.5", gceRegion + "-b"},
}

// suite is what the tests share.
type suite struct {
	cp    *controlplane.ControlPlane
	azure *fakeazure.Server
	gce   *fakegce.Server
	// azureURL and gceURL are the fakes' loopback endpoints.
	azureURL, gceURL string
}

var shared suite

func TestMain(m *testing.M) {
	// Fail, never skip: `make test-integration` builds the binaries first.
	if _, err := controllermanager.ResolveBinary(""); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: %v\n", err)
		os.Exit(1)
	}
	code := controlplane.RunMain(m, controlplane.Options{}, func(cp *controlplane.ControlPlane) error {
		shared.cp = cp
		return shared.setUp(context.Background())
	})
	shared.close()
	os.Exit(code)
}

// setUp serves the fake clouds, builds the Azure network through ARM, and registers the
// Nodes with their GCE instances.
func (s *suite) setUp(ctx context.Context) error {
	s.azure = fakeazure.New(fakeazure.Options{SubscriptionID: azureSub, Location: azureLocation})
	url, err := s.azure.Start("127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("fakeazure: %w", err)
	}
	s.azureURL = url
	if err := createAzureNetwork(ctx, url); err != nil {
		return err
	}
	s.gce = fakegce.New(fakegce.Options{Project: gceProject, Region: gceRegion})
	if s.gceURL, err = s.gce.Start("127.0.0.1:0"); err != nil {
		return fmt.Errorf("fakegce: %w", err)
	}
	cs, err := kubernetes.NewForConfig(s.cp.RESTConfig())
	if err != nil {
		return err
	}
	for _, n := range nodes {
		s.gce.AddInstance(fakegce.Instance{Name: n.name, Zone: n.zone, Tags: []string{gceNodeTag}})
		if err := createReadyNode(ctx, cs, n.name, n.ip, n.zone); err != nil {
			return err
		}
	}
	// What the set-up called is not the controller's.
	s.azure.ResetCalls()
	s.gce.ResetCalls()
	return nil
}

func (s *suite) close() {
	if s.azure != nil {
		_ = s.azure.Close()
	}
	if s.gce != nil {
		_ = s.gce.Close()
	}
}

// createAzureNetwork creates the virtual network and the cluster's NSG that azure.json names.
func createAzureNetwork(ctx context.Context, url string) error {
	f, err := armnetwork.NewClientFactory(azureSub, fakeazure.Credential(), fakeazure.ClientOptions(url))
	if err != nil {
		return err
	}
	poll := &runtime.PollUntilDoneOptions{Frequency: 5 * time.Millisecond}
	vp, err := f.NewVirtualNetworksClient().BeginCreateOrUpdate(ctx, azureRG, "vnet", armnetwork.VirtualNetwork{
		Location: to.Ptr(azureLocation),
		Properties: &armnetwork.VirtualNetworkPropertiesFormat{
			AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: to.SliceOfPtrs("10.240.0.0/16")},
			Subnets:      []*armnetwork.Subnet{{Name: to.Ptr("nodes"), Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: to.Ptr("10.240.0.0/16")}}},
		},
	}, nil)
	if err == nil {
		_, err = vp.PollUntilDone(ctx, poll)
	}
	if err != nil {
		return fmt.Errorf("create the vnet: %w", err)
	}
	np, err := f.NewSecurityGroupsClient().BeginCreateOrUpdate(ctx, azureRG, azureNSG, armnetwork.SecurityGroup{Location: to.Ptr(azureLocation)}, nil)
	if err == nil {
		_, err = np.PollUntilDone(ctx, poll)
	}
	if err != nil {
		return fmt.Errorf("create the NSG: %w", err)
	}
	return nil
}

func createReadyNode(ctx context.Context, cs kubernetes.Interface, name, ip, zone string) error {
	node := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{v1.LabelTopologyZone: zone}},
		Spec:       v1.NodeSpec{ProviderID: "gce://" + gceProject + "/" + zone + "/" + name},
	}
	out, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create node %s: %w", name, err)
	}
	out.Status.Addresses = []v1.NodeAddress{{Type: v1.NodeInternalIP, Address: ip}, {Type: v1.NodeHostName, Address: name}}
	out.Status.Conditions = []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue,
		LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}}
	if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, out, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("mark node %s ready: %w", name, err)
	}
	return nil
}

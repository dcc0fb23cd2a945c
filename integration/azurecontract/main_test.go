// Package azurecontract_test is the Azure contract suite: the real service controller, a
// real kube-apiserver and the azure provider against fakeazure served in-process, through
// the unmodified armnetwork clients.
//
// The subscription (virtual network with two subnets, cluster NSG with a rule of the user,
// three public IPs of the user) is built once per package through the ARM API. Each test has its own
// namespace, LoadBalancerClass and controller, so tests run in parallel on one control
// plane. Nodes are cluster-wide: the tests that change Nodes, count calls, inject faults or
// cut off and race writes (the wire between the clients and the fake) do not call
// t.Parallel, so Go runs them before the parallel ones. After every test the suite checks
// that the cloud holds nothing but what it built (leftovers).
//
// What it covers: the tests every cloud's suite shares (integration/contract, run by
// TestContract and TestContractParallel: every examples/azure manifest, a change of every
// Azure annotation key after creation kept complete against the registry, the controller
// killed between any two writes, 429 throttling, no-op resyncs, node churn, deletion and
// the lifecycle) and 412 races with another writer (TestConcurrentWriterRaces).
package azurecontract_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/fakecloud/fakeazure"
	"github.com/cloudlb/cloudlb/integration/contract"
)

const (
	clusterName = "azurecontract"
	sub         = "00000000-0000-0000-0000-0000000000cc"
	rg          = "cluster-rg"
	location    = "westeurope"
	nsgName     = "cluster-nsg"
	userRule    = "allow-ssh-from-office"
	userPIP     = "user-ip"
	// seedPIP is the user's static public IP the docs' loadBalancerIP example names by address.
	seedPIP = "user-ip-seed"
	// casePIP is the user's public IP the azure-pip-name case switches to.
	casePIP = "user-ip-case"
	// appsSubnet is the second subnet of the vnet, for azure-load-balancer-internal-subnet.
	appsSubnet = "apps-subnet"
	// plsSubnet holds the NAT addresses of Private Link Services (examples/azure/private-link.yaml).
	plsSubnet = "pls-subnet"
	prefix    = "service.beta.kubernetes.io/"
)

// suite is what every test shares.
type suite struct {
	// tenants are what every test's tenant is made of (cloud_test.go).
	tenants contract.Config
	fake    *fakeazure.Server
	// gate and wire sit between the clients and the fake: the gate cuts writes off, the
	// wire races them.
	gate *contract.WriteGate
	wire *wire
	// url is the provider's endpoint (cloud_test.go); the suite's own clients (f) use
	// another one in front of the same wire, so that served holds only the provider's calls.
	url    string
	f      *armnetwork.ClientFactory
	served contract.Served
}

var shared suite

// TestMain runs the suite on one control plane; once every test has deleted its Services, the
// cloud must hold nothing of ours and everything of the user's (leftovers), and the custom role
// must grant exactly what the provider needed (permissions_test.go).
func TestMain(m *testing.M) {
	os.Exit(contract.Main(m, shared.setUp, shared.leftovers, shared.checkPermissions))
}

// userPIPs are the user's public IPs, which cloudlb must never change or delete.
var userPIPs = []string{userPIP, seedPIP, casePIP}

var poll = &runtime.PollUntilDoneOptions{Frequency: 5 * time.Millisecond}

// setUp builds the subscription through ARM and registers three ready Nodes.
func (s *suite) setUp(ctx context.Context, rest *rest.Config) error {
	s.tenants = contract.Config{REST: rest, NamespacePrefix: "azure", ClusterName: clusterName, AnnotationCloud: annotations.Azure, NewCloud: newProvider}
	s.fake = fakeazure.New(fakeazure.Options{SubscriptionID: sub, Location: location,
		OnCall: func(r *http.Request, call string) { s.served.Record(r, armOperation(r, call)) }})
	// Never closed: the process ends with the package.
	s.wire = &wire{next: s.fake}
	s.gate = &contract.WriteGate{IsWrite: isWrite, Refuse: func(w http.ResponseWriter) {
		http.Error(w, `{"error":{"code":"ControllerDead","message":"writeGate: the controller is considered dead"}}`, http.StatusServiceUnavailable)
	}}
	front := s.gate.Wrap(s.wire)
	s.url = httptest.NewServer(s.served.Provider(front)).URL
	f, err := armnetwork.NewClientFactory(sub, fakeazure.Credential(), fakeazure.ClientOptions(httptest.NewServer(front).URL))
	if err != nil {
		return err
	}
	s.f = f
	vp, err := f.NewVirtualNetworksClient().BeginCreateOrUpdate(ctx, rg, "vnet", armnetwork.VirtualNetwork{
		Location: to.Ptr(location),
		Properties: &armnetwork.VirtualNetworkPropertiesFormat{
			AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: to.SliceOfPtrs("10.240.0.0/12")},
			Subnets: []*armnetwork.Subnet{
				{Name: to.Ptr("nodes"), Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: to.Ptr("10.240.0.0/16")}},
				{Name: to.Ptr(appsSubnet), Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: to.Ptr("10.241.0.0/24")}},
				{Name: to.Ptr(plsSubnet), Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: to.Ptr("10.242.0.0/24")}},
			},
		},
	}, nil)
	if err == nil {
		_, err = vp.PollUntilDone(ctx, poll)
	}
	if err != nil {
		return fmt.Errorf("create the vnet: %w", err)
	}
	np, err := f.NewSecurityGroupsClient().BeginCreateOrUpdate(ctx, rg, nsgName, armnetwork.SecurityGroup{
		Location: to.Ptr(location),
		Properties: &armnetwork.SecurityGroupPropertiesFormat{SecurityRules: []*armnetwork.SecurityRule{{
			Name: to.Ptr(userRule),
			Properties: &armnetwork.SecurityRulePropertiesFormat{
				Access: to.Ptr(armnetwork.SecurityRuleAccessAllow), Direction: to.Ptr(armnetwork.SecurityRuleDirectionInbound),
				Priority: to.Ptr[int32](500), Protocol: to.Ptr(armnetwork.SecurityRuleProtocolTCP),
				SourceAddressPrefix: to.Ptr("198.51.100.7/32"), SourcePortRange: to.Ptr("*"),
				DestinationAddressPrefix: to.Ptr("*"), DestinationPortRange: to.Ptr("22"),
			},
		}}},
	}, nil)
	if err == nil {
		_, err = np.PollUntilDone(ctx, poll)
	}
	if err != nil {
		return fmt.Errorf("create the NSG: %w", err)
	}
	for _, name := range userPIPs {
		pp, err := f.NewPublicIPAddressesClient().BeginCreateOrUpdate(ctx, rg, name, armnetwork.PublicIPAddress{
			Location: to.Ptr(location), SKU: &armnetwork.PublicIPAddressSKU{Name: to.Ptr(armnetwork.PublicIPAddressSKUNameStandard)},
			Tags:       map[string]*string{"owner": to.Ptr("me")},
			Properties: &armnetwork.PublicIPAddressPropertiesFormat{PublicIPAllocationMethod: to.Ptr(armnetwork.IPAllocationMethodStatic)},
		}, nil)
		if err == nil {
			_, err = pp.PollUntilDone(ctx, poll)
		}
		if err != nil {
			return fmt.Errorf("create the user's public IP %s: %w", name, err)
		}
	}
	cs, err := kubernetes.NewForConfig(rest)
	if err != nil {
		return err
	}
	for i := 1; i <= 3; i++ {
		if err := contract.CreateReadyNode(ctx, cs, node(fmt.Sprintf("node-%d", i), fmt.Sprintf("10.240.0.%d", 3+i))); err != nil {
			return err
		}
	}
	s.fake.ResetCalls()
	return nil
}

// leftovers reports what the fake holds beyond the subscription the suite built, and any
// rule but the user's in the NSG.
func (s *suite) leftovers(context.Context) error {
	var problems []string
	for _, r := range s.fake.Resources() {
		switch {
		case strings.EqualFold(r.Type, "Microsoft.Network/virtualNetworks") && r.Name == "vnet":
		case strings.EqualFold(r.Type, "Microsoft.Network/networkSecurityGroups") && r.Name == nsgName:
		case strings.EqualFold(r.Type, "Microsoft.Network/publicIPAddresses") && slices.Contains(userPIPs, r.Name):
			if len(r.Tags) != 1 || r.Tags["owner"] != "me" {
				problems = append(problems, fmt.Sprintf("the user's public IP %s was re-tagged: %v", r.Name, r.Tags))
			}
		default:
			problems = append(problems, r.Type+" "+r.Name)
		}
	}
	raw, ok := s.fake.Get(fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/networkSecurityGroups/%s", sub, rg, nsgName))
	var nsg armnetwork.SecurityGroup
	if !ok || json.Unmarshal(raw, &nsg) != nil {
		problems = append(problems, "the cluster NSG is gone")
	} else {
		var names []string
		for _, r := range nsg.Properties.SecurityRules {
			names = append(names, *r.Name)
		}
		if !slices.Equal(names, []string{userRule}) {
			problems = append(problems, fmt.Sprintf("NSG rules %v, want only the user's", names))
		}
	}
	fmt.Printf("fakeazure after the suite: %d resources\n", len(s.fake.Resources()))
	if len(problems) > 0 {
		return fmt.Errorf("left behind:\n  %s", strings.Join(problems, "\n  "))
	}
	return nil
}

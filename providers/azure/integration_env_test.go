package azure_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cloudlb/cloudlb/fakecloud/fakeazure"
	"github.com/cloudlb/cloudlb/providers/azure"
)

const (
	cluster = "demo"
	rg      = "cluster-rg"
	sub     = "00000000-0000-0000-0000-0000000000aa"
	nsgName = "cluster-nsg"
	prefix  = "service.beta.kubernetes.io/"
	// userRule is a rule of the user in the cluster NSG, which must survive everything.
	userRule = "allow-ssh-from-office"
	userPIP  = "user-ip"
)

// env is a fakeazure with the cluster's topology (created through armnetwork like a
// user's subscription), the provider built on it and the cluster's nodes.
type env struct {
	t     testing.TB
	srv   *fakeazure.Server
	url   string
	f     *armnetwork.ClientFactory
	cc    *azure.CloudConfig
	cloud *azure.Cloud
	nodes []*v1.Node
}

var poll = &runtime.PollUntilDoneOptions{Frequency: 5 * time.Millisecond}

func testCtx(t testing.TB) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func newEnv(t testing.TB, extraConfig string) *env {
	t.Helper()
	srv := fakeazure.New(fakeazure.Options{SubscriptionID: sub, Location: "westeurope"})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	f, err := armnetwork.NewClientFactory(sub, fakeazure.Credential(), fakeazure.ClientOptions(hs.URL))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, srv: srv, url: hs.URL, f: f}
	ctx := testCtx(t)
	vp, err := f.NewVirtualNetworksClient().BeginCreateOrUpdate(ctx, rg, "vnet", armnetwork.VirtualNetwork{
		Location: to.Ptr("westeurope"),
		Properties: &armnetwork.VirtualNetworkPropertiesFormat{
			AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: to.SliceOfPtrs("10.240.0.0/12")},
			Subnets: []*armnetwork.Subnet{
				{Name: to.Ptr("nodes"), Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: to.Ptr("10.240.0.0/16")}},
				{Name: to.Ptr("ilb"), Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: to.Ptr("10.241.0.0/24")}},
			},
		},
	}, nil)
	if err == nil {
		_, err = vp.PollUntilDone(ctx, poll)
	}
	if err != nil {
		t.Fatalf("creating the vnet: %v", err)
	}
	np, err := f.NewSecurityGroupsClient().BeginCreateOrUpdate(ctx, rg, nsgName, armnetwork.SecurityGroup{
		Location: to.Ptr("westeurope"),
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
		t.Fatalf("creating the NSG: %v", err)
	}
	pp, err := f.NewPublicIPAddressesClient().BeginCreateOrUpdate(ctx, rg, userPIP, armnetwork.PublicIPAddress{
		Location: to.Ptr("westeurope"),
		SKU:      &armnetwork.PublicIPAddressSKU{Name: to.Ptr(armnetwork.PublicIPAddressSKUNameStandard)},
		Tags:     map[string]*string{"owner": to.Ptr("me")},
		Properties: &armnetwork.PublicIPAddressPropertiesFormat{
			PublicIPAllocationMethod: to.Ptr(armnetwork.IPAllocationMethodStatic),
		},
	}, nil)
	if err == nil {
		_, err = pp.PollUntilDone(ctx, poll)
	}
	if err != nil {
		t.Fatalf("creating the user's public IP: %v", err)
	}
	e.cc = e.config(extraConfig)
	e.cloud = e.newCloud()
	for i := 1; i <= 3; i++ {
		e.nodes = append(e.nodes, node(fmt.Sprintf("node-%d", i), fmt.Sprintf("10.240.0.%d", 3+i)))
	}
	return e
}

// config is the azure.json of the cluster, plus extra top-level keys ("\"k\": v, ...").
func (e *env) config(extra string) *azure.CloudConfig {
	e.t.Helper()
	if extra != "" {
		extra = "," + extra
	}
	js := fmt.Sprintf(`{"cloud": "AzurePublicCloud", "tenantId": "t", "subscriptionId": %q, "resourceGroup": %q, "location": "westeurope",
		"vnetName": "vnet", "subnetName": "nodes", "securityGroupName": %q, "loadBalancerSku": "Standard",
		"resourceManagerEndpoint": %q, "routeRateLimit": {"cloudProviderRateLimit": true}%s}`, sub, rg, nsgName, e.url, extra)
	cc, err := azure.ParseCloudConfig(strings.NewReader(js))
	if err != nil {
		e.t.Fatal(err)
	}
	return cc
}

func (e *env) newCloud() *azure.Cloud {
	e.t.Helper()
	c, err := azure.NewWithCredential(e.cc, fakeazure.Credential(), fakeazure.ClientOptions(e.url),
		azure.Limits{QPS: 1000, Burst: 1000, RetryDelay: 10 * time.Millisecond, Poll: 5 * time.Millisecond})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func node(name, ip string) *v1.Node {
	return &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: v1.NodeStatus{Addresses: []v1.NodeAddress{{Type: v1.NodeInternalIP, Address: ip}}}}
}

func service(name, uid string, annotations map[string]string, mutate ...func(*v1.Service)) *v1.Service {
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, UID: types.UID(uid), Annotations: annotations},
		Spec: v1.ServiceSpec{
			Type: v1.ServiceTypeLoadBalancer,
			Ports: []v1.ServicePort{
				{Name: "https", Protocol: v1.ProtocolTCP, Port: 443, NodePort: 30443},
				{Name: "http", Protocol: v1.ProtocolTCP, Port: 80, NodePort: 30080},
			},
		},
	}
	for _, f := range mutate {
		f(svc)
	}
	return svc
}

// uid makes a distinct Service UID from n.
func uid(n int) string { return fmt.Sprintf("%08d-8b7d-4e6f-9a1b-2c3d4e5f6a7b", n) }

// svcPrefix is the Service's "a<uid>" prefix.
func svcPrefix(svc *v1.Service) string { return azure.ServicePrefix(svc) }

func (e *env) id(typ, name string) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/%s/%s", sub, rg, typ, name)
}

// lb reads a load balancer from the fake's state; nil when it does not exist.
func (e *env) lb(name string) *armnetwork.LoadBalancer {
	e.t.Helper()
	raw, ok := e.srv.Get(e.id("loadBalancers", name))
	if !ok {
		return nil
	}
	var lb armnetwork.LoadBalancer
	if err := json.Unmarshal(raw, &lb); err != nil {
		e.t.Fatal(err)
	}
	return &lb
}

func (e *env) pip(name string) *armnetwork.PublicIPAddress {
	e.t.Helper()
	raw, ok := e.srv.Get(e.id("publicIPAddresses", name))
	if !ok {
		return nil
	}
	var p armnetwork.PublicIPAddress
	if err := json.Unmarshal(raw, &p); err != nil {
		e.t.Fatal(err)
	}
	return &p
}

func (e *env) nsg() *armnetwork.SecurityGroup {
	e.t.Helper()
	raw, ok := e.srv.Get(e.id("networkSecurityGroups", nsgName))
	if !ok {
		e.t.Fatal("the cluster NSG is gone")
	}
	var g armnetwork.SecurityGroup
	if err := json.Unmarshal(raw, &g); err != nil {
		e.t.Fatal(err)
	}
	return &g
}

// securityRules are the NSG's rules by name.
func (e *env) securityRules() map[string]*armnetwork.SecurityRulePropertiesFormat {
	out := map[string]*armnetwork.SecurityRulePropertiesFormat{}
	for _, r := range e.nsg().Properties.SecurityRules {
		out[*r.Name] = r.Properties
	}
	return out
}

// counts splits the fake's calls since the last reset into writes and reads.
func (e *env) counts() (writes, reads int, calls map[string]int) {
	calls = e.srv.Calls()
	for k, n := range calls {
		switch {
		case strings.HasSuffix(k, ".Get") && !strings.HasPrefix(k, "AsyncOperation"), strings.HasSuffix(k, ".List"):
			reads += n
		}
	}
	return e.srv.Writes(), reads, calls
}

func (e *env) ensure(svc *v1.Service) *v1.LoadBalancerStatus {
	e.t.Helper()
	st, err := e.cloud.EnsureLoadBalancer(testCtx(e.t), cluster, svc, e.nodes)
	if err != nil {
		e.t.Fatalf("EnsureLoadBalancer(%s): %v", svc.Name, err)
	}
	return st
}

func (e *env) remove(svc *v1.Service) {
	e.t.Helper()
	if err := e.cloud.EnsureLoadBalancerDeleted(testCtx(e.t), cluster, svc); err != nil {
		e.t.Fatalf("EnsureLoadBalancerDeleted(%s): %v", svc.Name, err)
	}
}

// ruleByName finds a load balancing rule.
func ruleByName(lb *armnetwork.LoadBalancer, name string) *armnetwork.LoadBalancingRulePropertiesFormat {
	for _, r := range lb.Properties.LoadBalancingRules {
		if strings.EqualFold(*r.Name, name) {
			return r.Properties
		}
	}
	return nil
}

func probeByName(lb *armnetwork.LoadBalancer, name string) *armnetwork.ProbePropertiesFormat {
	for _, r := range lb.Properties.Probes {
		if strings.EqualFold(*r.Name, name) {
			return r.Properties
		}
	}
	return nil
}

func frontendNames(lb *armnetwork.LoadBalancer) []string {
	var out []string
	if lb == nil {
		return nil
	}
	for _, f := range lb.Properties.FrontendIPConfigurations {
		out = append(out, *f.Name)
	}
	return out
}

func poolIPs(lb *armnetwork.LoadBalancer) []string {
	var out []string
	for _, p := range lb.Properties.BackendAddressPools {
		for _, a := range p.Properties.LoadBalancerBackendAddresses {
			out = append(out, *a.Properties.IPAddress)
		}
	}
	return out
}

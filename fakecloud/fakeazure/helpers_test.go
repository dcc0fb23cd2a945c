package fakeazure

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
)

const (
	testRG       = "cluster-rg"
	testLocation = "westeurope"
)

// env is one fake behind an httptest server and the real SDK clients pointed at it.
type env struct {
	t   *testing.T
	srv *Server
	url string
	f   *armnetwork.ClientFactory
}

func newEnv(t *testing.T, o Options) *env {
	t.Helper()
	srv := New(o)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	f, err := armnetwork.NewClientFactory(srv.SubscriptionID(), Credential(), ClientOptions(ts.URL))
	if err != nil {
		t.Fatalf("client factory: %v", err)
	}
	return &env{t: t, srv: srv, url: ts.URL, f: f}
}

var pollFast = &runtime.PollUntilDoneOptions{Frequency: 5 * time.Millisecond}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// withHeader returns a context whose requests carry one extra header (If-Match, ...).
func withHeader(c context.Context, k, v string) context.Context {
	return runtime.WithHTTPHeader(c, http.Header{k: []string{v}})
}

// respErr asserts err is an *azcore.ResponseError with the status and code.
func respErr(t *testing.T, err error, status int, code string) {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("error = %v, want *azcore.ResponseError %d %s", err, status, code)
	}
	if re.StatusCode != status || re.ErrorCode != code {
		t.Fatalf("error = %d %s, want %d %s (%v)", re.StatusCode, re.ErrorCode, status, code, err)
	}
}

func (e *env) subID() string { return e.srv.SubscriptionID() }

func (e *env) id(coll, name string) string {
	return "/subscriptions/" + e.subID() + "/resourceGroups/" + testRG + "/providers/Microsoft.Network/" + coll + "/" + name
}

func (e *env) vnet(name, space string, subnets map[string]string) *armnetwork.VirtualNetwork {
	e.t.Helper()
	vn := armnetwork.VirtualNetwork{Location: ptr(testLocation), Properties: &armnetwork.VirtualNetworkPropertiesFormat{
		AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: []*string{ptr(space)}},
		Subnets:      []*armnetwork.Subnet{},
	}}
	for n, p := range subnets {
		vn.Properties.Subnets = append(vn.Properties.Subnets, &armnetwork.Subnet{Name: ptr(n), Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: ptr(p)}})
	}
	res, err := pollPut(e.t, func() (*runtime.Poller[armnetwork.VirtualNetworksClientCreateOrUpdateResponse], error) {
		return e.f.NewVirtualNetworksClient().BeginCreateOrUpdate(ctx(e.t), testRG, name, vn, nil)
	})
	if err != nil {
		e.t.Fatalf("create vnet %s: %v", name, err)
	}
	return &res.VirtualNetwork
}

func (e *env) pip(name string, tags map[string]*string) *armnetwork.PublicIPAddress {
	e.t.Helper()
	res, err := pollPut(e.t, func() (*runtime.Poller[armnetwork.PublicIPAddressesClientCreateOrUpdateResponse], error) {
		return e.f.NewPublicIPAddressesClient().BeginCreateOrUpdate(ctx(e.t), testRG, name,
			armnetwork.PublicIPAddress{Location: ptr(testLocation), Tags: tags}, nil)
	})
	if err != nil {
		e.t.Fatalf("create public IP %s: %v", name, err)
	}
	return &res.PublicIPAddress
}

func (e *env) putLB(name string, lb armnetwork.LoadBalancer) (*armnetwork.LoadBalancer, error) {
	e.t.Helper()
	res, err := pollPut(e.t, func() (*runtime.Poller[armnetwork.LoadBalancersClientCreateOrUpdateResponse], error) {
		return e.f.NewLoadBalancersClient().BeginCreateOrUpdate(ctx(e.t), testRG, name, lb, nil)
	})
	return &res.LoadBalancer, err
}

func (e *env) putNSG(name string, rules ...*armnetwork.SecurityRule) (*armnetwork.SecurityGroup, error) {
	e.t.Helper()
	res, err := pollPut(e.t, func() (*runtime.Poller[armnetwork.SecurityGroupsClientCreateOrUpdateResponse], error) {
		return e.f.NewSecurityGroupsClient().BeginCreateOrUpdate(ctx(e.t), testRG, name, armnetwork.SecurityGroup{
			Location: ptr(testLocation), Properties: &armnetwork.SecurityGroupPropertiesFormat{SecurityRules: rules}}, nil)
	})
	return &res.SecurityGroup, err
}

// pollPut starts a long-running call and polls it to the end.
func pollPut[T any](t *testing.T, begin func() (*runtime.Poller[T], error)) (T, error) {
	t.Helper()
	p, err := begin()
	if err != nil {
		var zero T
		return zero, err
	}
	return p.PollUntilDone(ctx(t), pollFast)
}

// publicLB is a load balancer with one public frontend, one IP-based pool, a probe and a rule.
func (e *env) publicLB(name, pipID, vnetID string) armnetwork.LoadBalancer {
	lbID := e.id("loadBalancers", name)
	return armnetwork.LoadBalancer{
		Location: ptr(testLocation),
		SKU:      &armnetwork.LoadBalancerSKU{Name: ptr(armnetwork.LoadBalancerSKUNameStandard)},
		Tags:     map[string]*string{"k8s-azure-cluster-name": ptr("kube")},
		Properties: &armnetwork.LoadBalancerPropertiesFormat{
			FrontendIPConfigurations: []*armnetwork.FrontendIPConfiguration{{
				Name: ptr("a1"), Properties: &armnetwork.FrontendIPConfigurationPropertiesFormat{PublicIPAddress: &armnetwork.PublicIPAddress{ID: ptr(pipID)}},
			}},
			BackendAddressPools: []*armnetwork.BackendAddressPool{{
				Name: ptr("kube"), Properties: &armnetwork.BackendAddressPoolPropertiesFormat{LoadBalancerBackendAddresses: []*armnetwork.LoadBalancerBackendAddress{
					{Name: ptr("node-1"), Properties: &armnetwork.LoadBalancerBackendAddressPropertiesFormat{IPAddress: ptr("10.0.1.10"), VirtualNetwork: &armnetwork.SubResource{ID: ptr(vnetID)}}},
				}},
			}},
			Probes: []*armnetwork.Probe{{
				Name: ptr("a1-TCP-80"), Properties: &armnetwork.ProbePropertiesFormat{Protocol: ptr(armnetwork.ProbeProtocolTCP), Port: ptr[int32](30080)},
			}},
			LoadBalancingRules: []*armnetwork.LoadBalancingRule{{
				Name: ptr("a1-TCP-80"), Properties: &armnetwork.LoadBalancingRulePropertiesFormat{
					Protocol: ptr(armnetwork.TransportProtocolTCP), FrontendPort: ptr[int32](80), BackendPort: ptr[int32](80),
					EnableFloatingIP:        ptr(true),
					FrontendIPConfiguration: &armnetwork.SubResource{ID: ptr(lbID + "/frontendIPConfigurations/a1")},
					BackendAddressPool:      &armnetwork.SubResource{ID: ptr(lbID + "/backendAddressPools/kube")},
					Probe:                   &armnetwork.SubResource{ID: ptr(lbID + "/probes/a1-TCP-80")},
				},
			}},
		},
	}
}

// allowRule is an inbound Allow rule on one TCP port.
func allowRule(name string, prio int32, port string) *armnetwork.SecurityRule {
	return &armnetwork.SecurityRule{Name: ptr(name), Properties: &armnetwork.SecurityRulePropertiesFormat{
		Priority: ptr(prio), Direction: ptr(armnetwork.SecurityRuleDirectionInbound), Access: ptr(armnetwork.SecurityRuleAccessAllow),
		Protocol: ptr(armnetwork.SecurityRuleProtocolTCP), SourceAddressPrefix: ptr("Internet"), SourcePortRange: ptr("*"),
		DestinationAddressPrefix: ptr("20.0.0.1"), DestinationPortRange: ptr(port),
	}}
}

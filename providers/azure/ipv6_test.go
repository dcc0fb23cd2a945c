package azure_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	v1 "k8s.io/api/core/v1"
)

// dualStackEnv is newEnv with IPv6 prefixes on the vnet and the node subnet, nodes with
// both families and a user's IPv6 public IP.
func dualStackEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, "")
	ctx := testCtx(t)
	vp, err := e.f.NewVirtualNetworksClient().BeginCreateOrUpdate(ctx, rg, "vnet", armnetwork.VirtualNetwork{
		Location: to.Ptr("westeurope"),
		Properties: &armnetwork.VirtualNetworkPropertiesFormat{
			AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: to.SliceOfPtrs("10.240.0.0/12", "fd00:db8::/48")},
			Subnets: []*armnetwork.Subnet{
				{Name: to.Ptr("nodes"), Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefixes: to.SliceOfPtrs("10.240.0.0/16", "fd00:db8::/64")}},
				{Name: to.Ptr("ilb"), Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: to.Ptr("10.241.0.0/24")}},
			},
		},
	}, nil)
	if err == nil {
		_, err = vp.PollUntilDone(ctx, poll)
	}
	if err != nil {
		t.Fatalf("making the vnet dual-stack: %v", err)
	}
	pp, err := e.f.NewPublicIPAddressesClient().BeginCreateOrUpdate(ctx, rg, "user-ip6", armnetwork.PublicIPAddress{
		Location: to.Ptr("westeurope"),
		SKU:      &armnetwork.PublicIPAddressSKU{Name: to.Ptr(armnetwork.PublicIPAddressSKUNameStandard)},
		Properties: &armnetwork.PublicIPAddressPropertiesFormat{
			PublicIPAllocationMethod: to.Ptr(armnetwork.IPAllocationMethodStatic), PublicIPAddressVersion: to.Ptr(armnetwork.IPVersionIPv6),
		},
	}, nil)
	if err == nil {
		_, err = pp.PollUntilDone(ctx, poll)
	}
	if err != nil {
		t.Fatalf("creating the user's IPv6 public IP: %v", err)
	}
	for i, n := range e.nodes {
		n.Status.Addresses = append(n.Status.Addresses, v1.NodeAddress{Type: v1.NodeInternalIP, Address: fmt.Sprintf("fd00:db8::%d", 10+i)})
	}
	return e
}

func dual(s *v1.Service) {
	s.Spec.IPFamilies = []v1.IPFamily{v1.IPv4Protocol, v1.IPv6Protocol}
}

func ingressIPs(st *v1.LoadBalancerStatus) []string {
	var out []string
	for _, in := range st.Ingress {
		out = append(out, in.IP)
	}
	return out
}

func poolByName(lb *armnetwork.LoadBalancer, name string) []string {
	for _, p := range lb.Properties.BackendAddressPools {
		if *p.Name == name {
			var out []string
			for _, a := range p.Properties.LoadBalancerBackendAddresses {
				out = append(out, *a.Properties.IPAddress)
			}
			slices.Sort(out)
			return out
		}
	}
	return nil
}

// TestDualStackPublic: a dual-stack public Service gets the frontends a<uid> and
// a<uid>-IPv6, each port's rule and probe twice (upstream's -IPv6 names, the IPv6 ones on
// the pool <cluster>-IPv6), the managed public IPs <cluster>-a<uid> and
// <cluster>-a<uid>-IPv6, both addresses in its status and NSG rules per family. A no-op
// reconcile writes nothing; azure-pip-name-ipv6 and azure-pip-prefix-id-ipv6 change the
// IPv6 public IP only; deleting the Service leaves nothing.
func TestDualStackPublic(t *testing.T) {
	t.Parallel()
	e := dualStackEnv(t)
	svc := service("web", uid(1), map[string]string{}, dual)
	p := svcPrefix(svc)
	st := e.ensure(svc)
	pip4, pip6 := e.pip(cluster+"-"+p), e.pip(cluster+"-"+p+"-IPv6")
	if pip4 == nil || pip6 == nil {
		t.Fatalf("managed public IPs missing: %v", e.srv.Resources())
	}
	if *pip6.Properties.PublicIPAddressVersion != armnetwork.IPVersionIPv6 || !strings.Contains(*pip6.Properties.IPAddress, ":") {
		t.Errorf("IPv6 public IP %s %s", *pip6.Properties.PublicIPAddressVersion, *pip6.Properties.IPAddress)
	}
	if got, want := ingressIPs(st), []string{*pip4.Properties.IPAddress, *pip6.Properties.IPAddress}; !slices.Equal(got, want) {
		t.Errorf("ingress %v, want %v", got, want)
	}
	lb := e.lb(cluster)
	if fs := frontendNames(lb); !slices.Equal(fs, []string{p, p + "-IPv6"}) {
		t.Errorf("frontends %v", fs)
	}
	for _, port := range []string{"443", "80"} {
		r := ruleByName(lb, p+"-TCP-"+port+"-IPv6")
		if r == nil {
			t.Fatalf("no IPv6 rule for %s", port)
		}
		if !strings.HasSuffix(*r.FrontendIPConfiguration.ID, "/"+p+"-IPv6") || !strings.HasSuffix(*r.BackendAddressPool.ID, "/"+cluster+"-IPv6") ||
			!strings.HasSuffix(*r.Probe.ID, "/"+p+"-TCP-"+port+"-IPv6") || !*r.EnableFloatingIP {
			t.Errorf("IPv6 rule %s: frontend %s pool %s probe %s floating %v", port, *r.FrontendIPConfiguration.ID, *r.BackendAddressPool.ID, *r.Probe.ID, *r.EnableFloatingIP)
		}
		if probeByName(lb, p+"-TCP-"+port+"-IPv6") == nil {
			t.Errorf("no IPv6 probe for %s", port)
		}
	}
	if got := poolByName(lb, cluster+"-IPv6"); !slices.Equal(got, []string{"fd00:db8::10", "fd00:db8::11", "fd00:db8::12"}) {
		t.Errorf("IPv6 pool %v", got)
	}
	rules := e.securityRules()
	if r := rules[p+"-TCP-Internet-IPv6"]; r == nil || *r.DestinationAddressPrefix != *pip6.Properties.IPAddress {
		t.Errorf("IPv6 NSG rule %+v", r)
	}
	if r := rules[p+"-TCP-Internet"]; r == nil || *r.DestinationAddressPrefix != *pip4.Properties.IPAddress {
		t.Errorf("IPv4 NSG rule %+v", r)
	}
	e.srv.ResetCalls()
	e.ensure(svc)
	if w, _, calls := e.counts(); w != 0 {
		t.Errorf("no-op reconcile wrote: %v", calls)
	}

	// The user's IPv6 public IP replaces the managed one, which is released.
	svc.Annotations[prefix+"azure-pip-name-ipv6"] = "user-ip6"
	st = e.ensure(svc)
	user := e.pip("user-ip6")
	if e.pip(cluster+"-"+p+"-IPv6") != nil || e.pip(cluster+"-"+p) == nil {
		t.Errorf("after azure-pip-name-ipv6: %v", e.srv.Resources())
	}
	if got := ingressIPs(st); len(got) != 2 || got[1] != *user.Properties.IPAddress {
		t.Errorf("ingress %v, want the user's IPv6 address %s second", got, *user.Properties.IPAddress)
	}
	if user.Tags["k8s-azure-service"] != nil {
		t.Errorf("the user's public IP was tagged: %v", user.Tags)
	}

	// A prefix for new IPv6 public IPs: the managed one is named after it.
	delete(svc.Annotations, prefix+"azure-pip-name-ipv6")
	prefixID := e.id("publicIPPrefixes", "edge6")
	svc.Annotations[prefix+"azure-pip-prefix-id-ipv6"] = prefixID
	e.ensure(svc)
	withPrefix := e.pip(cluster + "-" + p + "-edge6-IPv6")
	if withPrefix == nil || !strings.EqualFold(*withPrefix.Properties.PublicIPPrefix.ID, prefixID) {
		t.Errorf("IPv6 public IP from the prefix: %v", e.srv.Resources())
	}

	// The user's IPv6 public IP chosen by address.
	delete(svc.Annotations, prefix+"azure-pip-prefix-id-ipv6")
	svc.Annotations[prefix+"azure-load-balancer-ipv6"] = *user.Properties.IPAddress
	st = e.ensure(svc)
	if got := ingressIPs(st); len(got) != 2 || got[1] != *user.Properties.IPAddress || e.pip(cluster+"-"+p+"-edge6-IPv6") != nil {
		t.Errorf("pinned IPv6 address: ingress %v, resources %v", got, e.srv.Resources())
	}

	e.remove(svc)
	if n := len(e.srv.Resources()); n != 4 {
		t.Errorf("after deleting the Service the fake holds %v, want the vnet, the NSG and the user's two public IPs", e.srv.Resources())
	}
}

// TestDualStackInternal: the internal IPv6 frontend takes an address from the subnet's
// IPv6 prefix (static with azure-load-balancer-ipv6), and its rules do not float.
func TestDualStackInternal(t *testing.T) {
	t.Parallel()
	e := dualStackEnv(t)
	svc := service("db", uid(2), map[string]string{prefix + "azure-load-balancer-internal": "true"}, dual)
	p := svcPrefix(svc)
	st := e.ensure(svc)
	got := ingressIPs(st)
	if len(got) != 2 || !strings.HasPrefix(got[0], "10.240.") || !strings.HasPrefix(got[1], "fd00:db8::") {
		t.Errorf("ingress %v", got)
	}
	lb := e.lb(cluster + "-internal")
	r := ruleByName(lb, p+"-TCP-443-IPv6")
	if r == nil || *r.EnableFloatingIP || *r.BackendPort != 30443 {
		t.Errorf("internal IPv6 rule %+v: want floating IP off and the nodePort", r)
	}
	if r4 := ruleByName(lb, p+"-TCP-443"); r4 == nil || !*r4.EnableFloatingIP {
		t.Errorf("internal IPv4 rule %+v", r4)
	}
	svc.Annotations[prefix+"azure-load-balancer-ipv6"] = "fd00:db8::99"
	st = e.ensure(svc)
	if got := ingressIPs(st); len(got) != 2 || got[1] != "fd00:db8::99" {
		t.Errorf("pinned IPv6 ingress %v", got)
	}
	for _, f := range e.lb(cluster + "-internal").Properties.FrontendIPConfigurations {
		if *f.Name == p+"-IPv6" && (*f.Properties.PrivateIPAllocationMethod != "Static" || *f.Properties.PrivateIPAddressVersion != "IPv6") {
			t.Errorf("IPv6 frontend %s %s", *f.Properties.PrivateIPAllocationMethod, *f.Properties.PrivateIPAddressVersion)
		}
	}
	e.srv.ResetCalls()
	e.ensure(svc)
	if w, _, calls := e.counts(); w != 0 {
		t.Errorf("no-op reconcile wrote: %v", calls)
	}
	e.remove(svc)
	if n := len(e.srv.Resources()); n != 4 {
		t.Errorf("after deleting the Service the fake holds %v", e.srv.Resources())
	}
}

package azure_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/providers"
)

// pls reads a Private Link Service from the fake's state; nil when it does not exist.
func (e *env) pls(rgName, name string) *armnetwork.PrivateLinkService {
	e.t.Helper()
	raw, ok := e.srv.Get(fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/privateLinkServices/%s", sub, rgName, name))
	if !ok {
		return nil
	}
	var p armnetwork.PrivateLinkService
	if err := json.Unmarshal(raw, &p); err != nil {
		e.t.Fatal(err)
	}
	return &p
}

// plsCount is the number of Private Link Services in the fake.
func (e *env) plsCount() int {
	n := 0
	for _, r := range e.srv.Resources() {
		if r.Type == "Microsoft.Network/privateLinkServices" {
			n++
		}
	}
	return n
}

// natIPs renders the NAT IP configurations as "name method address primary" lines.
func natIPs(p *armnetwork.PrivateLinkService) []string {
	var out []string
	for _, c := range p.Properties.IPConfigurations {
		out = append(out, fmt.Sprintf("%s %s %s %s %v", *c.Name, *c.Properties.PrivateIPAllocationMethod, *c.Properties.PrivateIPAddress,
			lastPath(*c.Properties.Subnet.ID), *c.Properties.Primary))
	}
	return out
}

// Subscriptions of the visibility and auto-approval lists.
const (
	subA = "11111111-2222-3333-4444-555555555555"
	subB = "66666666-7777-8888-9999-000000000000"
)

func lastPath(id string) string { return id[strings.LastIndex(id, "/")+1:] }

func subs(p []*string) string {
	var out []string
	for _, s := range p {
		out = append(out, *s)
	}
	return strings.Join(out, " ")
}

// TestPrivateLinkServiceLifecycle creates a Private Link Service, changes each azure-pls-*
// key on the live Service (each change one write, then a no-op costing no write), removes
// azure-pls-create, brings it back and deletes the Service.
func TestPrivateLinkServiceLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	svc := service("partner", uid(1), map[string]string{
		prefix + "azure-load-balancer-internal":      "true",
		prefix + "azure-pls-create":                  "true",
		prefix + "azure-pls-ip-configuration-subnet": "ilb",
	})
	p := svcPrefix(svc)
	name := "pls-" + p
	e.ensure(svc)
	got := e.pls(rg, name)
	if got == nil {
		t.Fatalf("no private link service %s; resources %v", name, e.srv.Resources())
	}
	if fs := got.Properties.LoadBalancerFrontendIPConfigurations; len(fs) != 1 || !strings.EqualFold(*fs[0].ID, e.id("loadBalancers", cluster+"-internal")+"/frontendIPConfigurations/"+p) {
		t.Errorf("frontends %v", fs)
	}
	if *got.Tags["k8s-azure-cluster-name"] != cluster || *got.Tags["k8s-azure-owner-service"] != "shop/partner" {
		t.Errorf("tags %v", got.Tags)
	}
	if ips := natIPs(got); len(ips) != 1 || !strings.HasPrefix(ips[0], "ipconfig-0 Dynamic 10.241.0.") || !strings.HasSuffix(ips[0], " ilb true") {
		t.Errorf("NAT IP configurations %v", ips)
	}
	if *got.Properties.EnableProxyProtocol || len(got.Properties.Fqdns) != 0 {
		t.Errorf("proxy %v fqdns %v", *got.Properties.EnableProxyProtocol, got.Properties.Fqdns)
	}
	dynamicIP := *got.Properties.IPConfigurations[0].Properties.PrivateIPAddress

	set := func(k, v string) func(*v1.Service) { return func(s *v1.Service) { s.Annotations[prefix+k] = v } }
	steps := []struct {
		name   string
		change func(*v1.Service)
		check  func(t *testing.T, p *armnetwork.PrivateLinkService)
	}{
		{"two NAT IPs", set("azure-pls-ip-configuration-ip-address-count", "2"), func(t *testing.T, p *armnetwork.PrivateLinkService) {
			ips := natIPs(p)
			if len(ips) != 2 || ips[0] != "ipconfig-0 Dynamic "+dynamicIP+" ilb true" || !strings.HasSuffix(ips[1], " ilb false") {
				t.Errorf("NAT IP configurations %v (the primary keeps %s)", ips, dynamicIP)
			}
		}},
		{"static NAT IPs", set("azure-pls-ip-configuration-ip-address", "10.241.0.50 10.241.0.51"), func(t *testing.T, p *armnetwork.PrivateLinkService) {
			want := []string{"ipconfig-0 Static 10.241.0.50 ilb true", "ipconfig-1 Static 10.241.0.51 ilb false"}
			if ips := natIPs(p); !slices.Equal(ips, want) {
				t.Errorf("NAT IP configurations %v, want %v", ips, want)
			}
		}},
		{"one static, one dynamic", set("azure-pls-ip-configuration-ip-address", "10.241.0.60"), func(t *testing.T, p *armnetwork.PrivateLinkService) {
			ips := natIPs(p)
			if len(ips) != 2 || ips[0] != "ipconfig-0 Static 10.241.0.60 ilb true" || !strings.HasPrefix(ips[1], "ipconfig-1 Dynamic 10.241.0.") {
				t.Errorf("NAT IP configurations %v", ips)
			}
		}},
		{"subnet, dynamic", func(s *v1.Service) {
			s.Annotations[prefix+"azure-pls-ip-configuration-subnet"] = "nodes"
			delete(s.Annotations, prefix+"azure-pls-ip-configuration-ip-address")
		}, func(t *testing.T, p *armnetwork.PrivateLinkService) {
			ips := natIPs(p)
			if len(ips) != 2 || !strings.HasPrefix(ips[0], "ipconfig-0 Dynamic 10.240.0.") || !strings.HasSuffix(ips[0], " nodes true") {
				t.Errorf("NAT IP configurations %v", ips)
			}
		}},
		{"fqdns", set("azure-pls-fqdns", "api.partner.example api2.partner.example"), func(t *testing.T, p *armnetwork.PrivateLinkService) {
			if s := subs(p.Properties.Fqdns); s != "api.partner.example api2.partner.example" {
				t.Errorf("fqdns %q", s)
			}
		}},
		{"proxy protocol", set("azure-pls-proxy-protocol", "true"), func(t *testing.T, p *armnetwork.PrivateLinkService) {
			if !*p.Properties.EnableProxyProtocol {
				t.Error("proxy protocol off")
			}
		}},
		{"visibility", set("azure-pls-visibility", subA+" "+subB), func(t *testing.T, p *armnetwork.PrivateLinkService) {
			if s := subs(p.Properties.Visibility.Subscriptions); s != subA+" "+subB {
				t.Errorf("visibility %q", s)
			}
		}},
		{"auto-approval", set("azure-pls-auto-approval", subB), func(t *testing.T, p *armnetwork.PrivateLinkService) {
			if s := subs(p.Properties.AutoApproval.Subscriptions); s != subB {
				t.Errorf("auto-approval %q", s)
			}
		}},
		{"visible to all", set("azure-pls-visibility", "*"), func(t *testing.T, p *armnetwork.PrivateLinkService) {
			if s := subs(p.Properties.Visibility.Subscriptions); s != "*" {
				t.Errorf("visibility %q", s)
			}
		}},
	}
	for _, st := range steps {
		st.change(svc)
		e.srv.ResetCalls()
		e.ensure(svc)
		if n := e.srv.Calls()["PrivateLinkServices.CreateOrUpdate"]; n != 1 {
			t.Errorf("%s: %d private link service writes, want 1", st.name, n)
		}
		got := e.pls(rg, name)
		if got == nil {
			t.Fatalf("%s: the private link service is gone", st.name)
		}
		st.check(t, got)
		e.srv.ResetCalls()
		e.ensure(svc)
		if w, _, calls := e.counts(); w != 0 {
			t.Errorf("%s: the no-op reconcile wrote: %v", st.name, calls)
		}
	}

	// The name is fixed once created.
	svc.Annotations[prefix+"azure-pls-name"] = "renamed"
	if _, err := e.cloud.EnsureLoadBalancer(testCtx(t), cluster, svc, e.nodes); !providers.IsUserError(err) || !strings.Contains(err.Error(), "azure-pls-name") {
		t.Errorf("renaming: err = %v, want a UserError about azure-pls-name", err)
	}
	if e.pls(rg, "renamed") != nil || e.pls(rg, name) == nil {
		t.Error("the refused rename changed the private link services")
	}
	delete(svc.Annotations, prefix+"azure-pls-name")

	// azure-pls-create removed: the Private Link Service goes, the frontend stays.
	svc.Annotations[prefix+"azure-pls-create"] = "false"
	e.ensure(svc)
	if n := e.plsCount(); n != 0 {
		t.Errorf("%d private link services after azure-pls-create went", n)
	}
	if fs := frontendNames(e.lb(cluster + "-internal")); !slices.Contains(fs, p) {
		t.Errorf("frontends %v", fs)
	}

	// Back, then the Service goes: nothing of it is left.
	svc.Annotations[prefix+"azure-pls-create"] = "true"
	e.ensure(svc)
	if e.pls(rg, name) == nil {
		t.Fatal("the private link service was not created again")
	}
	e.remove(svc)
	if n := len(e.srv.Resources()); n != 3 {
		t.Errorf("after deleting the Service the fake holds %v, want the vnet, the NSG and the user's public IP", e.srv.Resources())
	}
}

// TestPrivateLinkServiceFrontendMoves: a new internal subnet renames the frontend; the old
// Private Link Service is deleted before the old frontend (ARM refuses otherwise) and a
// new one is attached to the new frontend. A restarted provider (no memory of the Service)
// still deletes the Private Link Service with the Service.
func TestPrivateLinkServiceFrontendMoves(t *testing.T) {
	t.Parallel()
	e := newEnv(t, `"privateLinkServiceResourceGroup": "pls-rg"`)
	svc := service("partner", uid(2), map[string]string{
		prefix + "azure-load-balancer-internal": "true",
		prefix + "azure-pls-create":             "true",
	})
	p := svcPrefix(svc)
	e.ensure(svc)
	if e.pls("pls-rg", "pls-"+p) == nil {
		t.Fatalf("no private link service in the cloud config's resource group: %v", e.srv.Resources())
	}
	svc.Annotations[prefix+"azure-load-balancer-internal-subnet"] = "ilb"
	e.ensure(svc)
	if e.pls("pls-rg", "pls-"+p) != nil {
		t.Error("the old private link service is still there")
	}
	moved := e.pls("pls-rg", "pls-"+p+"-ilb")
	if moved == nil {
		t.Fatalf("no private link service for the new frontend: %v", e.srv.Resources())
	}
	if ips := natIPs(moved); len(ips) != 1 || !strings.HasSuffix(ips[0], " ilb true") {
		t.Errorf("NAT IPs %v: the internal subnet is the default", ips)
	}

	// A Service moving from the internal to the public load balancer (floating IP
	// disabled): Azure cannot re-attach a Private Link Service, so it is replaced on the
	// new frontend under the same name, and the old frontend then goes.
	mover := service("mover", uid(4), map[string]string{
		prefix + "azure-load-balancer-internal":            "true",
		prefix + "azure-disable-load-balancer-floating-ip": "true",
		prefix + "azure-pls-create":                        "true",
		prefix + "azure-pls-name":                          "mover-pls",
	})
	mp := svcPrefix(mover)
	e.ensure(mover)
	delete(mover.Annotations, prefix+"azure-load-balancer-internal")
	e.ensure(mover)
	got := e.pls("pls-rg", "mover-pls")
	if got == nil || !strings.HasSuffix(*got.Properties.LoadBalancerFrontendIPConfigurations[0].ID, "/loadBalancers/"+cluster+"/frontendIPConfigurations/"+mp) {
		t.Errorf("after the move the private link service is %+v", got)
	}
	if slices.Contains(frontendNames(e.lb(cluster+"-internal")), mp) {
		t.Error("the internal frontend is still there")
	}
	e.remove(mover)

	e.cloud = e.newCloud()
	e.remove(svc)
	if n := len(e.srv.Resources()); n != 3 {
		t.Errorf("after deleting the Service the fake holds %v", e.srv.Resources())
	}
}

// TestPrivateLinkServiceNotOurs: a Private Link Service of the user is never modified or
// deleted, whether it holds the wanted name or blocks the removal of the frontend.
func TestPrivateLinkServiceNotOurs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	svc := service("partner", uid(3), map[string]string{prefix + "azure-load-balancer-internal": "true"})
	p := svcPrefix(svc)
	e.ensure(svc)
	frontend := e.id("loadBalancers", cluster+"-internal") + "/frontendIPConfigurations/" + p
	poller, err := e.f.NewPrivateLinkServicesClient().BeginCreateOrUpdate(testCtx(t), rg, "user-pls", armnetwork.PrivateLinkService{
		Location: to.Ptr("westeurope"),
		Tags:     map[string]*string{"owner": to.Ptr("me")},
		Properties: &armnetwork.PrivateLinkServiceProperties{
			LoadBalancerFrontendIPConfigurations: []*armnetwork.FrontendIPConfiguration{{ID: to.Ptr(frontend)}},
			IPConfigurations: []*armnetwork.PrivateLinkServiceIPConfiguration{{Name: to.Ptr("nat"), Properties: &armnetwork.PrivateLinkServiceIPConfigurationProperties{
				Primary: to.Ptr(true), Subnet: &armnetwork.Subnet{ID: to.Ptr(e.id("virtualNetworks", "vnet") + "/subnets/ilb")}}}},
		},
	}, nil)
	if err == nil {
		_, err = poller.PollUntilDone(testCtx(t), poll)
	}
	if err != nil {
		t.Fatalf("creating the user's private link service: %v", err)
	}
	before := *e.pls(rg, "user-pls").Etag

	svc.Annotations[prefix+"azure-pls-create"] = "true"
	svc.Annotations[prefix+"azure-pls-name"] = "user-pls"
	_, err = e.cloud.EnsureLoadBalancer(testCtx(t), cluster, svc, e.nodes)
	var ue *providers.UserError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "not ours") {
		t.Errorf("taking the user's name: err = %v, want a UserError", err)
	}
	delete(svc.Annotations, prefix+"azure-pls-name")
	_, err = e.cloud.EnsureLoadBalancer(testCtx(t), cluster, svc, e.nodes)
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "user-pls") {
		t.Errorf("a user's private link service on the frontend: err = %v, want a UserError naming it", err)
	}
	delete(svc.Annotations, prefix+"azure-pls-create")
	if err := e.cloud.EnsureLoadBalancerDeleted(testCtx(t), cluster, svc); !errors.As(err, &ue) {
		t.Errorf("deleting a Service whose frontend carries the user's private link service: err = %v, want a UserError", err)
	}
	if got := e.pls(rg, "user-pls"); got == nil || *got.Etag != before || e.plsCount() != 1 {
		t.Errorf("the user's private link service was changed: %+v", got)
	}
	if fs := frontendNames(e.lb(cluster + "-internal")); !slices.Contains(fs, p) {
		t.Errorf("the frontend went under the user's private link service: %v", fs)
	}
}

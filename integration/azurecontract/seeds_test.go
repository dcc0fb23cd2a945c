package azurecontract_test

import (
	"fmt"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/integration/contract"
	"github.com/cloudlb/cloudlb/providers/azure"
)

// seedDir holds the Azure manifests: the Kubernetes docs' Azure examples (docs-*.yaml) and
// the project's own.
const seedDir = "../../examples/azure"

// seedPlaceholderIP is the address the docs' loadBalancerIP example names; the suite's
// static public IP gets another one from the fake.
const seedPlaceholderIP = "20.51.100.7"

// seeds are the examples/azure manifests, the docs' loadBalancerIP placeholder replaced by
// the user's public IP's address.
func seeds(t *testing.T) contract.Seeds {
	p := readPIP(rg, seedPIP)
	if p == nil {
		t.Fatalf("no public IP %s", seedPIP)
	}
	return contract.Seeds{Dir: seedDir, Replace: []string{seedPlaceholderIP, *p.Properties.IPAddress}, Cases: seedCases}
}

// seedCases check each example's Service: its address, then what fakeazure holds.
var seedCases = map[string]contract.Check{
	"docs-internal.yaml": func(t *testing.T, svc *v1.Service) error {
		p := azure.ServicePrefix(svc)
		if err := ingressIs(func(ip string) bool { return strings.HasPrefix(ip, "10.240.") }, "the example's address")(t, svc); err != nil {
			return err
		}
		ip := svc.Status.LoadBalancer.Ingress[0].IP
		lb := readLB(internalLB)
		f := findFrontend(lb, p)
		if f == nil {
			return fmt.Errorf("no frontend %s on %s", p, internalLB)
		}
		r, err := rule(lb, p+"-TCP-80")
		if err != nil {
			return err
		}
		return contract.FirstErr(
			contract.Want("frontend address", deref(f.PrivateIPAddress), ip),
			contract.Want("allocation", string(deref(f.PrivateIPAllocationMethod)), "Dynamic"),
			contract.Want("subnet", strings.HasSuffix(deref(f.Subnet.ID), "/subnets/nodes"), true),
			contract.Want("rule ports", fmt.Sprintf("%s %d->%d floating=%v", deref(r.Protocol), deref(r.FrontendPort), deref(r.BackendPort), deref(r.EnableFloatingIP)), "Tcp 80->80 floating=true"),
			contract.Want("probe", probeOfRule(lb, r), fmt.Sprintf("Tcp:%d every 5s x2", svc.Spec.Ports[0].NodePort)),
			ownedIs(svc, map[string]int{"frontend@" + internalLB: 1, "rule@" + internalLB: 1, "probe@" + internalLB: 1}), // no NSG rule: the VNet allows it
		)
	},
	"docs-static-public-ip.yaml": func(t *testing.T, svc *v1.Service) error {
		p := azure.ServicePrefix(svc)
		user := readPIP(rg, seedPIP)
		ip := *user.Properties.IPAddress
		if err := ingressIs(func(got string) bool { return got == ip }, "the example's address")(t, svc); err != nil {
			return err
		}
		f := findFrontend(readLB(publicLB), p)
		if f == nil || f.PublicIPAddress == nil {
			return fmt.Errorf("no public frontend %s", p)
		}
		return contract.FirstErr(
			contract.Want("public IP", strings.ToLower(*f.PublicIPAddress.ID), strings.ToLower(*user.ID)),
			contract.Want("NSG rules", serviceNSGRules(svc), "-TCP-Internet Allow Tcp Internet -> "+ip+":80"),
			ownedIs(svc, map[string]int{"frontend@" + publicLB: 1, "rule@" + publicLB: 1, "probe@" + publicLB: 1, "nsg rule": 1}),
		)
	},
	"internal.yaml": func(t *testing.T, svc *v1.Service) error {
		p := azure.ServicePrefix(svc)
		if err := ingressIs(func(ip string) bool { return ip == "10.241.0.25" }, "the example's address")(t, svc); err != nil {
			return err
		}
		lb := readLB(internalLB)
		f := findFrontend(lb, p+"-"+appsSubnet)
		if f == nil {
			return fmt.Errorf("no frontend %s-%s", p, appsSubnet)
		}
		r, err := rule(lb, p+"-"+appsSubnet+"-TCP-5432")
		if err != nil {
			return err
		}
		return contract.FirstErr(
			contract.Want("frontend", fmt.Sprintf("%s %s", deref(f.PrivateIPAllocationMethod), deref(f.PrivateIPAddress)), "Static 10.241.0.25"),
			contract.Want("subnet", strings.HasSuffix(deref(f.Subnet.ID), "/subnets/"+appsSubnet), true),
			contract.Want("HA ports rule", fmt.Sprintf("%s %d->%d idle %d", deref(r.Protocol), deref(r.FrontendPort), deref(r.BackendPort), deref(r.IdleTimeoutInMinutes)), "All 0->0 idle 30"),
			ownedIs(svc, map[string]int{"frontend@" + internalLB: 1, "rule@" + internalLB: 1, "probe@" + internalLB: 1}), // no NSG rule: the VNet allows it
		)
	},
	"private-link.yaml": func(t *testing.T, svc *v1.Service) error {
		p := azure.ServicePrefix(svc)
		if err := ingressIs(func(ip string) bool { return strings.HasPrefix(ip, "10.240.") }, "the example's address")(t, svc); err != nil {
			return err
		}
		const partner = "11111111-2222-3333-4444-555555555555"
		pls := readPLS(rg, "partner-api-pls")
		if pls == nil {
			return fmt.Errorf("no private link service partner-api-pls")
		}
		return contract.FirstErr(
			contract.Want("private link service", plsState(pls), "frontend="+p+" nat=[Static 10.242.0.10 "+plsSubnet+" true; Static 10.242.0.11 "+plsSubnet+" false] "+
				"fqdns=[] proxy=false visibility=["+partner+"] autoApproval=["+partner+"]"),
			contract.Want("tags", deref(pls.Tags["k8s-azure-cluster-name"])+" "+deref(pls.Tags["k8s-azure-owner-service"]), clusterName+" "+svc.Namespace+"/"+svc.Name),
			ownedIs(svc, map[string]int{"frontend@" + internalLB: 1, "rule@" + internalLB: 1, "probe@" + internalLB: 1, "private link service": 1}),
		)
	},
	"probes.yaml": func(t *testing.T, svc *v1.Service) error {
		p := azure.ServicePrefix(svc)
		if err := ingressIs(anyIP, "the example's address")(t, svc); err != nil {
			return err
		}
		ip := svc.Status.LoadBalancer.Ingress[0].IP
		np := map[int32]int32{}
		for _, sp := range svc.Spec.Ports {
			np[sp.Port] = sp.NodePort
		}
		lb := readLB(publicLB)
		web, err := rule(lb, p+"-TCP-80")
		if err != nil {
			return err
		}
		metrics, err := rule(lb, p+"-TCP-9090")
		if err != nil {
			return err
		}
		return contract.FirstErr(
			contract.Want("port 80 probe", probeOfRule(lb, web), fmt.Sprintf("Http:%d/healthz every 15s x3", np[80])),
			contract.Want("port 9090 probe", probeOfRule(lb, metrics), "none"),
			contract.Want("port 9091 rule", ruleOf(lb, p+"-TCP-9091") == nil, true),
			contract.Want("NSG rules", serviceNSGRules(svc), "-TCP-Internet Allow Tcp Internet -> "+ip+":80,9090"),
			ownedIs(svc, map[string]int{"frontend@" + publicLB: 1, "rule@" + publicLB: 2, "probe@" + publicLB: 1, "nsg rule": 1, "managed public IP": 1}),
		)
	},
	"public-ip-dns.yaml": func(t *testing.T, svc *v1.Service) error {
		if err := ingressIs(anyIP, "the example's address")(t, svc); err != nil {
			return err
		}
		ip := svc.Status.LoadBalancer.Ingress[0].IP
		pip := readPIP(rg, managedPIP(svc))
		if pip == nil {
			return fmt.Errorf("no managed public IP %s", managedPIP(svc))
		}
		dns := ""
		if pip.Properties.DNSSettings != nil {
			dns = deref(pip.Properties.DNSSettings.DomainNameLabel)
		}
		return contract.FirstErr(
			contract.Want("address", deref(pip.Properties.IPAddress), ip),
			contract.Want("DNS label", dns, "shop-storefront"),
			contract.Want("tags", fmt.Sprintf("%s %s %s", deref(pip.Tags["cost-center"]), deref(pip.Tags["env"]), deref(pip.Tags["k8s-azure-service"])),
				"retail prod "+svc.Namespace+"/"+svc.Name),
			contract.Want("NSG rules", serviceNSGRules(svc), strings.Join([]string{
				"-DenyAll Deny * * -> " + ip + ":*",
				"-TCP-AzureFrontDoor.Backend Allow Tcp AzureFrontDoor.Backend -> " + ip + ":443",
				"-TCP-SourceRanges Allow Tcp 198.51.100.0/24,203.0.113.0/24 -> " + ip + ":443",
			}, "; ")),
		)
	},
}

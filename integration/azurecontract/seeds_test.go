package azurecontract_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/cloudlb/cloudlb/integration/contract"
	"github.com/cloudlb/cloudlb/providers/azure"
)

// seedDir holds the Azure manifests: the Kubernetes docs' Azure examples (docs-*.yaml) and
// the project's own.
const seedDir = "../../examples/azure"

// seedPlaceholderIP is the address the docs' loadBalancerIP example names; the suite's
// static public IP gets another one from the fake.
const seedPlaceholderIP = "20.51.100.7"

// loadSeed reads one example Service and replaces its placeholder address by the user's
// public IP's.
func loadSeed(t *testing.T, file string) *v1.Service {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(seedDir, file))
	if err != nil {
		t.Fatal(err)
	}
	p := readPIP(rg, seedPIP)
	if p == nil {
		t.Fatalf("no public IP %s", seedPIP)
	}
	text := strings.ReplaceAll(string(data), seedPlaceholderIP, *p.Properties.IPAddress)
	var svc v1.Service
	if err := yaml.UnmarshalStrict([]byte(text), &svc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return &svc
}

// seedCase checks one applied example.
type seedCase struct {
	check func(t *testing.T, tn *contract.Tenant, svc *v1.Service)
}

// TestSeedExamples applies every examples/azure manifest through the controller and checks
// the Service's status and what fakeazure holds. Every file must have a case, so a new
// example cannot go untested.
func TestSeedExamples(t *testing.T) {
	t.Parallel()
	cases := map[string]seedCase{
		"docs-internal.yaml": {check: func(t *testing.T, tn *contract.Tenant, svc *v1.Service) {
			p := azure.ServicePrefix(svc)
			ip := waitIngress(tn, svc.Name, func(ip string) bool { return strings.HasPrefix(ip, "10.240.") }).Status.LoadBalancer.Ingress[0].IP
			waitCloud(t, "the internal frontend and its rule", func() error {
				lb := readLB(internalLB)
				f := findFrontend(lb, p)
				if f == nil {
					return fmt.Errorf("no frontend %s on %s", p, internalLB)
				}
				r, err := rule(lb, p+"-TCP-80")
				if err != nil {
					return err
				}
				return firstErr(
					want("frontend address", deref(f.PrivateIPAddress), ip),
					want("allocation", string(deref(f.PrivateIPAllocationMethod)), "Dynamic"),
					want("subnet", strings.HasSuffix(deref(f.Subnet.ID), "/subnets/nodes"), true),
					want("rule ports", fmt.Sprintf("%s %d->%d floating=%v", deref(r.Protocol), deref(r.FrontendPort), deref(r.BackendPort), deref(r.EnableFloatingIP)), "Tcp 80->80 floating=true"),
					want("probe", probeOfRule(lb, r), fmt.Sprintf("Tcp:%d every 5s x2", svc.Spec.Ports[0].NodePort)),
					ownedIs(svc, map[string]int{"frontend@" + internalLB: 1, "rule@" + internalLB: 1, "probe@" + internalLB: 1}), // no NSG rule: the VNet allows it
				)
			})
		}},
		"docs-static-public-ip.yaml": {check: func(t *testing.T, tn *contract.Tenant, svc *v1.Service) {
			p := azure.ServicePrefix(svc)
			user := readPIP(rg, seedPIP)
			ip := *user.Properties.IPAddress
			waitIngress(tn, svc.Name, func(got string) bool { return got == ip })
			waitCloud(t, "the frontend on the user's public IP", func() error {
				f := findFrontend(readLB(publicLB), p)
				if f == nil || f.PublicIPAddress == nil {
					return fmt.Errorf("no public frontend %s", p)
				}
				return firstErr(
					want("public IP", strings.ToLower(*f.PublicIPAddress.ID), strings.ToLower(*user.ID)),
					want("NSG rules", serviceNSGRules(svc), "-TCP-Internet Allow Tcp Internet -> "+ip+":80"),
					ownedIs(svc, map[string]int{"frontend@" + publicLB: 1, "rule@" + publicLB: 1, "probe@" + publicLB: 1, "nsg rule": 1}),
				)
			})
		}},
		"internal.yaml": {check: func(t *testing.T, tn *contract.Tenant, svc *v1.Service) {
			p := azure.ServicePrefix(svc)
			waitIngress(tn, svc.Name, func(ip string) bool { return ip == "10.241.0.25" })
			waitCloud(t, "the static frontend in apps-subnet and its HA-ports rule", func() error {
				lb := readLB(internalLB)
				f := findFrontend(lb, p+"-"+appsSubnet)
				if f == nil {
					return fmt.Errorf("no frontend %s-%s", p, appsSubnet)
				}
				r, err := rule(lb, p+"-"+appsSubnet+"-TCP-5432")
				if err != nil {
					return err
				}
				return firstErr(
					want("frontend", fmt.Sprintf("%s %s", deref(f.PrivateIPAllocationMethod), deref(f.PrivateIPAddress)), "Static 10.241.0.25"),
					want("subnet", strings.HasSuffix(deref(f.Subnet.ID), "/subnets/"+appsSubnet), true),
					want("HA ports rule", fmt.Sprintf("%s %d->%d idle %d", deref(r.Protocol), deref(r.FrontendPort), deref(r.BackendPort), deref(r.IdleTimeoutInMinutes)), "All 0->0 idle 30"),
					ownedIs(svc, map[string]int{"frontend@" + internalLB: 1, "rule@" + internalLB: 1, "probe@" + internalLB: 1}), // no NSG rule: the VNet allows it
				)
			})
		}},
		"private-link.yaml": {check: func(t *testing.T, tn *contract.Tenant, svc *v1.Service) {
			p := azure.ServicePrefix(svc)
			waitIngress(tn, svc.Name, func(ip string) bool { return strings.HasPrefix(ip, "10.240.") })
			const partner = "11111111-2222-3333-4444-555555555555"
			waitCloud(t, "the Private Link Service on the internal frontend", func() error {
				pls := readPLS(rg, "partner-api-pls")
				if pls == nil {
					return fmt.Errorf("no private link service partner-api-pls")
				}
				return firstErr(
					want("private link service", plsState(pls), "frontend="+p+" nat=[Static 10.242.0.10 "+plsSubnet+" true; Static 10.242.0.11 "+plsSubnet+" false] "+
						"fqdns=[] proxy=false visibility=["+partner+"] autoApproval=["+partner+"]"),
					want("tags", deref(pls.Tags["k8s-azure-cluster-name"])+" "+deref(pls.Tags["k8s-azure-owner-service"]), clusterName+" "+svc.Namespace+"/"+svc.Name),
					ownedIs(svc, map[string]int{"frontend@" + internalLB: 1, "rule@" + internalLB: 1, "probe@" + internalLB: 1, "private link service": 1}),
				)
			})
		}},
		"probes.yaml": {check: func(t *testing.T, tn *contract.Tenant, svc *v1.Service) {
			p := azure.ServicePrefix(svc)
			ip := waitIngress(tn, svc.Name, anyIP).Status.LoadBalancer.Ingress[0].IP
			np := map[int32]int32{}
			for _, sp := range svc.Spec.Ports {
				np[sp.Port] = sp.NodePort
			}
			waitCloud(t, "per-port rules and probes", func() error {
				lb := readLB(publicLB)
				web, err := rule(lb, p+"-TCP-80")
				if err != nil {
					return err
				}
				metrics, err := rule(lb, p+"-TCP-9090")
				if err != nil {
					return err
				}
				return firstErr(
					want("port 80 probe", probeOfRule(lb, web), fmt.Sprintf("Http:%d/healthz every 15s x3", np[80])),
					want("port 9090 probe", probeOfRule(lb, metrics), "none"),
					want("port 9091 rule", ruleOf(lb, p+"-TCP-9091") == nil, true),
					want("NSG rules", serviceNSGRules(svc), "-TCP-Internet Allow Tcp Internet -> "+ip+":80,9090"),
					ownedIs(svc, map[string]int{"frontend@" + publicLB: 1, "rule@" + publicLB: 2, "probe@" + publicLB: 1, "nsg rule": 1, "managed public IP": 1}),
				)
			})
		}},
		"public-ip-dns.yaml": {check: func(t *testing.T, tn *contract.Tenant, svc *v1.Service) {
			ip := waitIngress(tn, svc.Name, anyIP).Status.LoadBalancer.Ingress[0].IP
			waitCloud(t, "the managed public IP and the NSG rules", func() error {
				pip := readPIP(rg, managedPIP(svc))
				if pip == nil {
					return fmt.Errorf("no managed public IP %s", managedPIP(svc))
				}
				dns := ""
				if pip.Properties.DNSSettings != nil {
					dns = deref(pip.Properties.DNSSettings.DomainNameLabel)
				}
				return firstErr(
					want("address", deref(pip.Properties.IPAddress), ip),
					want("DNS label", dns, "shop-storefront"),
					want("tags", fmt.Sprintf("%s %s %s", deref(pip.Tags["cost-center"]), deref(pip.Tags["env"]), deref(pip.Tags["k8s-azure-service"])),
						"retail prod "+svc.Namespace+"/"+svc.Name),
					want("NSG rules", serviceNSGRules(svc), strings.Join([]string{
						"-DenyAll Deny * * -> " + ip + ":*",
						"-TCP-AzureFrontDoor.Backend Allow Tcp AzureFrontDoor.Backend -> " + ip + ":443",
						"-TCP-SourceRanges Allow Tcp 198.51.100.0/24,203.0.113.0/24 -> " + ip + ":443",
					}, "; ")),
				)
			})
		}},
	}
	files, err := filepath.Glob(filepath.Join(seedDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no seed examples in %s: %v", seedDir, err)
	}
	tn := newTenant(t)
	for _, f := range files {
		name := filepath.Base(f)
		c, ok := cases[name]
		if !ok {
			t.Errorf("%s has no expectations in TestSeedExamples", f)
			continue
		}
		seed := loadSeed(t, name)
		// Two examples share a name: the file name keeps them apart.
		seed.Name = strings.TrimSuffix(name, ".yaml")
		svc := tn.Create(seed)
		t.Run(name, func(t *testing.T) {
			sub := *tn // fails the subtest, not its parent
			sub.T = t
			c.check(t, &sub, svc)
		})
	}
}

// waitEvent waits for an Event of type typ on the Service whose message contains text.
func waitEvent(tn *contract.Tenant, name, typ, text string) {
	tn.T.Helper()
	waitFor(tn.T, fmt.Sprintf("a %s Event on %s mentioning %q", typ, name, text), func() (bool, string) {
		evs, err := tn.CS.CoreV1().Events(tn.NS).List(context.Background(), metav1.ListOptions{FieldSelector: "involvedObject.name=" + name})
		if err != nil {
			return false, err.Error()
		}
		var seen []string
		for _, e := range evs.Items {
			if e.Type == typ && strings.Contains(e.Message, text) {
				return true, ""
			}
			seen = append(seen, e.Reason+": "+e.Message)
		}
		return false, strings.Join(seen, " | ")
	})
}

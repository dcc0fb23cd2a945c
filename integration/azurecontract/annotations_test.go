package azurecontract_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/integration/contract"
	"github.com/cloudlb/cloudlb/providers/azure"
)

// cloudCheck looks at the cloud (and the Service as the API server has it now); it is
// polled until it returns nil.
type cloudCheck func(svc *v1.Service) error

// annotationCase creates a Service with before, waits for was, replaces its annotations with
// after (a key left out is removed), and waits for now.
type annotationCase struct {
	name string
	// keys are the registry keys (without service.beta.kubernetes.io/) whose change the
	// case shows.
	keys          []string
	before, after map[string]string
	was, now      cloudCheck
}

// pipPrefixID is a public IP prefix the pip-prefix-id case names (fakeazure does not check
// that it exists).
var pipPrefixID = fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/publicIPPrefixes/edge", sub, rg)

// with builds an annotation map from key/value pairs, keys without the common prefix.
func with(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[prefix+kv[i]] = kv[i+1]
	}
	return m
}

// has checks owned(svc) exactly.
func has(kinds map[string]int) cloudCheck {
	return func(svc *v1.Service) error { return ownedIs(svc, kinds) }
}

// public is what a public Service of newService (ports 80 and 443) owns.
func public(nsgRules int) map[string]int {
	return map[string]int{"frontend@" + publicLB: 1, "rule@" + publicLB: 2, "probe@" + publicLB: 2, "nsg rule": nsgRules, "managed public IP": 1}
}

var internalParts = map[string]int{"frontend@" + internalLB: 1, "rule@" + internalLB: 2, "probe@" + internalLB: 2}

// onRule checks the Service's rule for port 80 (TCP) on load balancer lbName.
func onRule(lbName, subnet string, ok func(lb *armLB, r *armRule) error) cloudCheck {
	return func(svc *v1.Service) error {
		lb := readLB(lbName)
		name := azure.ServicePrefix(svc)
		if subnet != "" {
			name += "-" + subnet
		}
		r, err := rule(lb, name+"-TCP-80")
		if err != nil {
			return err
		}
		return ok(lb, r)
	}
}

// probeIs checks the probe of the port 80 rule ("Proto:<nodePort of port>[path] every Ns xN").
func probeIs(proto string, port int32, path string, interval, threshold int) cloudCheck {
	return func(svc *v1.Service) error {
		return onRule(publicLB, "", func(lb *armLB, r *armRule) error {
			return want("probe", probeOfRule(lb, r), fmt.Sprintf("%s:%d%s every %ds x%d", proto, nodePort(svc, port), path, interval, threshold))
		})(svc)
	}
}

func nodePort(svc *v1.Service, port int32) int32 {
	for _, p := range svc.Spec.Ports {
		if p.Port == port {
			return p.NodePort
		}
	}
	return -1
}

// frontendPIP checks the public IP (resource group, name) the Service's frontend uses.
func frontendPIP(group, name string) cloudCheck {
	return func(svc *v1.Service) error {
		f := findFrontend(readLB(publicLB), azure.ServicePrefix(svc))
		if f == nil || f.PublicIPAddress == nil {
			return fmt.Errorf("no public frontend")
		}
		p := readPIP(group, name)
		if p == nil {
			return fmt.Errorf("no public IP %s/%s", group, name)
		}
		return firstErr(want("frontend public IP", strings.ToLower(*f.PublicIPAddress.ID), strings.ToLower(*p.ID)),
			want("ingress", ingress(svc), *p.Properties.IPAddress))
	}
}

// ingress renders the Service's status IPs.
func ingress(svc *v1.Service) string {
	var ips []string
	for _, i := range svc.Status.LoadBalancer.Ingress {
		ips = append(ips, i.IP)
	}
	return strings.Join(ips, ",")
}

// nsgIs checks the Service's NSG rules; "$IP" stands for the first ingress IP.
func nsgIs(rules ...string) cloudCheck {
	return func(svc *v1.Service) error {
		if len(svc.Status.LoadBalancer.Ingress) == 0 {
			return fmt.Errorf("no ingress yet")
		}
		ip := svc.Status.LoadBalancer.Ingress[0].IP
		return want("NSG rules", serviceNSGRules(svc), strings.ReplaceAll(strings.Join(rules, "; "), "$IP", ip))
	}
}

// pipIs checks the managed public IP in the cluster resource group.
func pipIs(ok func(p *armPIP) error) cloudCheck {
	return func(svc *v1.Service) error {
		p := readPIP(rg, managedPIP(svc))
		if p == nil {
			return fmt.Errorf("no managed public IP %s", managedPIP(svc))
		}
		return ok(p)
	}
}

func all(checks ...cloudCheck) cloudCheck {
	return func(svc *v1.Service) error {
		for _, c := range checks {
			if err := c(svc); err != nil {
				return err
			}
		}
		return nil
	}
}

func annotationCases() []annotationCase {
	in := func(kv ...string) map[string]string {
		return with(append([]string{"azure-load-balancer-internal", "true"}, kv...)...)
	}
	return []annotationCase{
		{
			name: "internal", keys: []string{"azure-load-balancer-internal"},
			before: with(), after: in(),
			was: has(public(1)), now: has(internalParts),
		},
		{
			name: "internal-subnet", keys: []string{"azure-load-balancer-internal-subnet"},
			before: in(), after: in("azure-load-balancer-internal-subnet", appsSubnet),
			was: has(internalParts),
			now: all(has(internalParts), func(svc *v1.Service) error {
				f := findFrontend(readLB(internalLB), azure.ServicePrefix(svc)+"-"+appsSubnet)
				if f == nil {
					return fmt.Errorf("no frontend in %s", appsSubnet)
				}
				return firstErr(want("subnet", strings.HasSuffix(deref(f.Subnet.ID), "/subnets/"+appsSubnet), true),
					want("ingress in the subnet", strings.HasPrefix(ingress(svc), "10.241.0."), true))
			}),
		},
		{
			name: "ipv4", keys: []string{"azure-load-balancer-ipv4"},
			before: in("azure-load-balancer-ipv4", "10.240.200.50"), after: in("azure-load-balancer-ipv4", "10.240.200.51"),
			was: func(svc *v1.Service) error { return want("ingress", ingress(svc), "10.240.200.50") },
			now: func(svc *v1.Service) error {
				f := findFrontend(readLB(internalLB), azure.ServicePrefix(svc))
				if f == nil {
					return fmt.Errorf("no frontend")
				}
				return firstErr(want("ingress", ingress(svc), "10.240.200.51"),
					want("frontend", fmt.Sprintf("%s %s", deref(f.PrivateIPAllocationMethod), deref(f.PrivateIPAddress)), "Static 10.240.200.51"))
			},
		},
		{
			name: "pls-create", keys: []string{"azure-pls-create", "azure-pls-ip-configuration-subnet"},
			before: in(), after: in("azure-pls-create", "true", "azure-pls-ip-configuration-subnet", plsSubnet),
			was: has(internalParts),
			now: all(has(withPLS(internalParts)), plsIs("", "pls-", "nat=[Dynamic dyn "+plsSubnet+" true] fqdns=[] proxy=false visibility=[] autoApproval=[]")),
		},
		{
			name: "pls-settings",
			keys: []string{"azure-pls-ip-configuration-ip-address-count", "azure-pls-ip-configuration-ip-address", "azure-pls-fqdns",
				"azure-pls-proxy-protocol", "azure-pls-visibility", "azure-pls-auto-approval"},
			before: in("azure-pls-create", "true", "azure-pls-ip-configuration-subnet", plsSubnet),
			after: in("azure-pls-create", "true", "azure-pls-ip-configuration-subnet", plsSubnet,
				"azure-pls-ip-configuration-ip-address-count", "2", "azure-pls-ip-configuration-ip-address", "10.242.0.40",
				"azure-pls-fqdns", "api.partner.example", "azure-pls-proxy-protocol", "true",
				"azure-pls-visibility", plsPartner+" "+plsOther, "azure-pls-auto-approval", plsPartner),
			was: plsIs("", "pls-", "nat=[Dynamic dyn "+plsSubnet+" true] fqdns=[] proxy=false visibility=[] autoApproval=[]"),
			now: all(has(withPLS(internalParts)), plsIs("", "pls-", "nat=[Static 10.242.0.40 "+plsSubnet+" true; Dynamic dyn "+plsSubnet+" false] "+
				"fqdns=[api.partner.example] proxy=true visibility=["+plsPartner+" "+plsOther+"] autoApproval=["+plsPartner+"]")),
		},
		{
			// The name and resource group are fixed once created (a change is refused, see
			// providers/azure TestPrivateLinkServiceLifecycle); removing azure-pls-create
			// deletes the Private Link Service they named, and the frontend stays.
			name: "pls-name-removed", keys: []string{"azure-pls-name", "azure-pls-resource-group"},
			before: in("azure-pls-create", "true", "azure-pls-name", "partner-pls", "azure-pls-resource-group", "pls-rg",
				"azure-pls-ip-configuration-subnet", plsSubnet),
			after: in(),
			was:   all(has(withPLS(internalParts)), plsIs("pls-rg", "partner-pls", "nat=[Dynamic dyn "+plsSubnet+" true] fqdns=[] proxy=false visibility=[] autoApproval=[]")),
			now:   has(internalParts),
		},
		{
			name: "additional-public-ips", keys: []string{"azure-additional-public-ips"},
			before: with("azure-additional-public-ips", "20.9.9.9"), after: with("azure-additional-public-ips", "20.9.9.9,20.9.9.10"),
			was: all(func(svc *v1.Service) error { return want("ingress count", len(svc.Status.LoadBalancer.Ingress), 2) },
				internetTo("20.9.9.9")),
			now: all(func(svc *v1.Service) error {
				return want("ingress after the frontend", strings.SplitN(ingress(svc), ",", 2)[1], "20.9.9.9,20.9.9.10")
			}, internetTo("20.9.9.9", "20.9.9.10")),
		},
		{
			name: "pip-resource-group", keys: []string{"azure-load-balancer-resource-group"},
			before: with(), after: with("azure-load-balancer-resource-group", "pip-rg"),
			was: has(public(1)),
			now: all(has(public(1)), func(svc *v1.Service) error { return frontendPIP("pip-rg", managedPIP(svc))(svc) }),
		},
		{
			name: "pip-name", keys: []string{"azure-pip-name"},
			before: with(), after: with("azure-pip-name", casePIP),
			was: has(public(1)),
			now: all(frontendPIP(rg, casePIP), has(map[string]int{"frontend@" + publicLB: 1, "rule@" + publicLB: 2, "probe@" + publicLB: 2, "nsg rule": 1})),
		},
		{
			name: "pip-prefix-id", keys: []string{"azure-pip-prefix-id"},
			before: with(), after: with("azure-pip-prefix-id", pipPrefixID),
			was: has(public(1)),
			now: all(has(public(1)), func(svc *v1.Service) error {
				name := managedPIP(svc) + "-edge"
				if err := frontendPIP(rg, name)(svc); err != nil {
					return err
				}
				p := readPIP(rg, name)
				if p.Properties.PublicIPPrefix == nil {
					return fmt.Errorf("public IP %s has no prefix", name)
				}
				return want("prefix", *p.Properties.PublicIPPrefix.ID, pipPrefixID)
			}),
		},
		{
			name: "pip-tags", keys: []string{"azure-pip-tags"},
			before: with("azure-pip-tags", "team=a"), after: with("azure-pip-tags", "team=b,env=prod"),
			was: pipIs(func(p *armPIP) error { return want("team", deref(p.Tags["team"]), "a") }),
			now: pipIs(func(p *armPIP) error {
				return want("team,env", deref(p.Tags["team"])+","+deref(p.Tags["env"]), "b,prod")
			}),
		},
		{
			name: "dns-label", keys: []string{"azure-dns-label-name"},
			before: with("azure-dns-label-name", "cloudlb-contract-a"), after: with("azure-dns-label-name", "cloudlb-contract-b"),
			was: pipIs(func(p *armPIP) error { return dnsLabel(p, "cloudlb-contract-a") }),
			now: pipIs(func(p *armPIP) error { return dnsLabel(p, "cloudlb-contract-b") }),
		},
		{
			name: "idle-timeout-tcp-reset", keys: []string{"azure-load-balancer-tcp-idle-timeout", "azure-load-balancer-disable-tcp-reset"},
			before: with("azure-load-balancer-tcp-idle-timeout", "4"), after: with("azure-load-balancer-tcp-idle-timeout", "30", "azure-load-balancer-disable-tcp-reset", "true"),
			was: onRule(publicLB, "", func(_ *armLB, r *armRule) error {
				return want("idle, reset", fmt.Sprint(deref(r.IdleTimeoutInMinutes), deref(r.EnableTCPReset)), "4 true")
			}),
			now: onRule(publicLB, "", func(_ *armLB, r *armRule) error {
				return want("idle, reset", fmt.Sprint(deref(r.IdleTimeoutInMinutes), deref(r.EnableTCPReset)), "30 false")
			}),
		},
		{
			name: "ha-ports", keys: []string{"azure-load-balancer-enable-high-availability-ports"},
			before: in(), after: in("azure-load-balancer-enable-high-availability-ports", "true"),
			was: has(internalParts),
			now: all(has(map[string]int{"frontend@" + internalLB: 1, "rule@" + internalLB: 1, "probe@" + internalLB: 1}),
				onRule(internalLB, "", func(_ *armLB, r *armRule) error {
					return want("rule", fmt.Sprintf("%s %d->%d", deref(r.Protocol), deref(r.FrontendPort), deref(r.BackendPort)), "All 0->0")
				})),
		},
		{
			name: "floating-ip", keys: []string{"azure-disable-load-balancer-floating-ip"},
			before: with(), after: with("azure-disable-load-balancer-floating-ip", "true"),
			was: onRule(publicLB, "", func(_ *armLB, r *armRule) error {
				return want("rule", fmt.Sprint(deref(r.BackendPort), deref(r.EnableFloatingIP)), "80 true")
			}),
			now: all(func(svc *v1.Service) error {
				return onRule(publicLB, "", func(_ *armLB, r *armRule) error {
					return want("rule", fmt.Sprint(deref(r.BackendPort), deref(r.EnableFloatingIP)), fmt.Sprint(nodePort(svc, 80), false))
				})(svc)
			}, func(svc *v1.Service) error {
				return want("NSG rules", serviceNSGRules(svc), fmt.Sprintf("-TCP-Internet Allow Tcp Internet -> 10.240.0.4,10.240.0.5,10.240.0.6:%s",
					joinedPorts(nodePort(svc, 80), nodePort(svc, 443))))
			}),
		},
		{
			name: "service-tags", keys: []string{"azure-allowed-service-tags"},
			before: with(), after: with("azure-allowed-service-tags", "AzureFrontDoor.Backend"),
			was: nsgIs("-TCP-Internet Allow Tcp Internet -> $IP:443,80"),
			now: nsgIs("-TCP-AzureFrontDoor.Backend Allow Tcp AzureFrontDoor.Backend -> $IP:443,80"),
		},
		{
			name: "ip-ranges-deny-all", keys: []string{"azure-allowed-ip-ranges", "azure-deny-all-except-load-balancer-source-ranges"},
			before: with("azure-allowed-ip-ranges", "203.0.113.0/24"),
			after:  with("azure-allowed-ip-ranges", "198.51.100.0/24,192.0.2.0/24", "azure-deny-all-except-load-balancer-source-ranges", "true"),
			was:    nsgIs("-TCP-SourceRanges Allow Tcp 203.0.113.0/24 -> $IP:443,80"),
			now:    nsgIs("-DenyAll Deny * * -> $IP:*", "-TCP-SourceRanges Allow Tcp 192.0.2.0/24,198.51.100.0/24 -> $IP:443,80"),
		},
		{
			name: "nsg-rule-disabled", keys: []string{"azure-disable-load-balancer-nsg-rule"},
			before: with(), after: with("azure-disable-load-balancer-nsg-rule", "true"),
			was: has(public(1)), now: has(public(0)),
		},
		{
			name: "probe-defaults",
			keys: []string{"azure-load-balancer-health-probe-protocol", "azure-load-balancer-health-probe-request-path",
				"azure-load-balancer-health-probe-interval", "azure-load-balancer-health-probe-num-of-probe"},
			before: with(),
			after: with("azure-load-balancer-health-probe-protocol", "Http", "azure-load-balancer-health-probe-request-path", "/ready",
				"azure-load-balancer-health-probe-interval", "10", "azure-load-balancer-health-probe-num-of-probe", "3"),
			was: probeIs("Tcp", 80, "", 5, 2),
			now: probeIs("Http", 80, "/ready", 10, 3),
		},
		{
			name: "port-probe",
			keys: []string{"port_{port}_health-probe_protocol", "port_{port}_health-probe_request-path", "port_{port}_health-probe_interval",
				"port_{port}_health-probe_num-of-probe", "port_{port}_health-probe_port"},
			before: with("port_80_health-probe_protocol", "Http", "port_80_health-probe_request-path", "/a"),
			after: with("port_80_health-probe_protocol", "Https", "port_80_health-probe_request-path", "/b",
				"port_80_health-probe_interval", "7", "port_80_health-probe_num-of-probe", "4", "port_80_health-probe_port", "https"),
			was: probeIs("Http", 80, "/a", 5, 2),
			now: probeIs("Https", 443, "/b", 7, 4),
		},
		{
			name: "port-rules", keys: []string{"port_{port}_no_probe_rule", "port_{port}_no_lb_rule"},
			before: with("port_443_no_probe_rule", "true"), after: with("port_443_no_lb_rule", "true"),
			was: func(svc *v1.Service) error {
				lb := readLB(publicLB)
				r, err := rule(lb, azure.ServicePrefix(svc)+"-TCP-443")
				if err != nil {
					return err
				}
				return want("443 probe", probeOfRule(lb, r), "none")
			},
			now: all(has(map[string]int{"frontend@" + publicLB: 1, "rule@" + publicLB: 1, "probe@" + publicLB: 1, "nsg rule": 1, "managed public IP": 1}),
				nsgIs("-TCP-Internet Allow Tcp Internet -> $IP:80")),
		},
	}
}

// internetTo checks the Internet allow rule's destinations: the frontend IP and extra.
func internetTo(extra ...string) cloudCheck {
	return func(svc *v1.Service) error {
		if len(svc.Status.LoadBalancer.Ingress) == 0 {
			return fmt.Errorf("no ingress yet")
		}
		dest := append([]string{svc.Status.LoadBalancer.Ingress[0].IP}, extra...)
		slices.Sort(dest)
		return want("NSG rules", serviceNSGRules(svc), "-TCP-Internet Allow Tcp Internet -> "+strings.Join(dest, ",")+":443,80")
	}
}

func dnsLabel(p *armPIP, label string) error {
	if p.Properties.DNSSettings == nil {
		return fmt.Errorf("no DNS settings")
	}
	return want("DNS label", deref(p.Properties.DNSSettings.DomainNameLabel), label)
}

// Subscriptions of the Private Link Service cases.
const (
	plsPartner = "11111111-2222-3333-4444-555555555555"
	plsOther   = "66666666-7777-8888-9999-000000000000"
)

// withPLS is parts plus the Service's Private Link Service.
func withPLS(parts map[string]int) map[string]int {
	out := maps.Clone(parts)
	out["private link service"] = 1
	return out
}

// plsIs checks the Service's Private Link Service: named name (a name ending in "-" gets
// the frontend name appended), in group (rg when ""), on the Service's frontend, with the
// rest of plsState equal to state.
func plsIs(group, name, state string) cloudCheck {
	return func(svc *v1.Service) error {
		p := azure.ServicePrefix(svc)
		if strings.HasSuffix(name, "-") {
			name += p
		}
		if group == "" {
			group = rg
		}
		return want("private link service "+name, plsState(readPLS(group, name)), "frontend="+p+" "+state)
	}
}

// joinedPorts renders ports as the NSG rule's sorted port strings.
func joinedPorts(ports ...int32) string {
	var s []string
	for _, p := range ports {
		s = append(s, fmt.Sprint(p))
	}
	slices.Sort(s)
	return strings.Join(s, ",")
}

// TestEveryAnnotationChanged creates a Service per case, changes its annotations through the
// API server and waits for the controller to bring the cloud along;
// TestAnnotationCasesCoverTheRegistry keeps the cases complete.
func TestEveryAnnotationChanged(t *testing.T) {
	t.Parallel()
	for _, c := range annotationCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			tn := newTenant(t)
			svc := tn.Create(newService(c.name, maps.Clone(c.before)))
			waitCheck(tn, svc.Name, "before the change", c.was)
			tn.Update(svc.Name, func(s *v1.Service) { s.Annotations = maps.Clone(c.after) })
			waitCheck(tn, svc.Name, "after the change", c.now)
		})
	}
}

// waitCheck polls check with the Service as the API server has it.
func waitCheck(tn *contract.Tenant, name, what string, check cloudCheck) {
	tn.T.Helper()
	waitCloud(tn.T, what, func() error {
		svc, err := tn.CS.CoreV1().Services(tn.NS).Get(tn.T.Context(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		return check(svc)
	})
}

// coveredElsewhere names the Azure keys without a case above, and why.
var coveredElsewhere = map[string]string{
	"azure-load-balancer-mode": "Basic-SKU VM set selection: cloudlb creates Standard load balancers only, where the key has no effect (upstream ignores it on Standard too)",
	"azure-load-balancer-configurations": "not supported: multiple Standard load balancer configurations (multipleStandardLoadBalancerConfigurations) are not implemented; " +
		"every Service goes on <cluster> or <cluster>-internal",
	"azure-load-balancer-ipv6": "dual-stack only (the contract suite's control plane is single-stack): providers/azure TestDualStackInternal (static IPv6 frontend); IPv6-only Services are refused",
	"azure-pip-name-ipv6":      "dual-stack only (the contract suite's control plane is single-stack): providers/azure TestDualStackPublic",
	"azure-pip-prefix-id-ipv6": "dual-stack only (the contract suite's control plane is single-stack): providers/azure TestDualStackPublic",
	"azure-pip-ip-tags":        "fixed at creation (Azure cannot change the ipTags of a public IP): providers/azure TestPublicIPChoices",
}

// TestAnnotationCasesCoverTheRegistry fails when an Azure key of the registry has neither a
// case in TestEveryAnnotationChanged, nor an entry in coveredElsewhere, nor an Unsupported
// reason in the registry; and when coveredElsewhere names a key the registry lacks.
func TestAnnotationCasesCoverTheRegistry(t *testing.T) {
	t.Parallel()
	covered := map[string]bool{}
	for _, c := range annotationCases() {
		for _, k := range c.keys {
			covered[k] = true
		}
	}
	known := map[string]bool{}
	for _, d := range annotations.ForCloud(annotations.Azure) {
		k := strings.TrimPrefix(d.Key, prefix)
		known[k] = true
		if d.Unsupported != "" || covered[k] || coveredElsewhere[k] != "" {
			continue
		}
		t.Errorf("%s: no case in TestEveryAnnotationChanged and no entry in coveredElsewhere", d.Key)
	}
	for k := range covered {
		if !known[k] {
			t.Errorf("a case names %s, which is not an Azure key of the registry", k)
		}
	}
	for k := range coveredElsewhere {
		if !known[k] {
			t.Errorf("coveredElsewhere names %s, which is not an Azure key of the registry", k)
		}
	}
}

package azurecontract_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/integration/contract"
	"github.com/cloudlb/cloudlb/providers/azure"
)

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
func has(kinds map[string]int) contract.Check {
	return func(t *testing.T, svc *v1.Service) error { return ownedIs(svc, kinds) }
}

// public is what a public Service of newService (ports 80 and 443) owns.
func public(nsgRules int) map[string]int {
	return map[string]int{"frontend@" + publicLB: 1, "rule@" + publicLB: 2, "probe@" + publicLB: 2, "nsg rule": nsgRules, "managed public IP": 1}
}

var internalParts = map[string]int{"frontend@" + internalLB: 1, "rule@" + internalLB: 2, "probe@" + internalLB: 2}

// onRule checks the Service's rule for port 80 (TCP) on load balancer lbName.
func onRule(lbName, subnet string, ok func(lb *armLB, r *armRule) error) contract.Check {
	return func(t *testing.T, svc *v1.Service) error {
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
func probeIs(proto string, port int32, path string, interval, threshold int) contract.Check {
	return func(t *testing.T, svc *v1.Service) error {
		return onRule(publicLB, "", func(lb *armLB, r *armRule) error {
			return contract.Want("probe", probeOfRule(lb, r), fmt.Sprintf("%s:%d%s every %ds x%d", proto, nodePort(svc, port), path, interval, threshold))
		})(t, svc)
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
func frontendPIP(group, name string) contract.Check {
	return func(t *testing.T, svc *v1.Service) error {
		f := findFrontend(readLB(publicLB), azure.ServicePrefix(svc))
		if f == nil || f.PublicIPAddress == nil {
			return fmt.Errorf("no public frontend")
		}
		p := readPIP(group, name)
		if p == nil {
			return fmt.Errorf("no public IP %s/%s", group, name)
		}
		return contract.FirstErr(contract.Want("frontend public IP", strings.ToLower(*f.PublicIPAddress.ID), strings.ToLower(*p.ID)),
			contract.Want("ingress", contract.Ingress(svc), *p.Properties.IPAddress))
	}
}

// nsgIs checks the Service's NSG rules; "$IP" stands for the first ingress IP.
func nsgIs(rules ...string) contract.Check {
	return func(t *testing.T, svc *v1.Service) error {
		if len(svc.Status.LoadBalancer.Ingress) == 0 {
			return fmt.Errorf("no ingress yet")
		}
		ip := svc.Status.LoadBalancer.Ingress[0].IP
		return contract.Want("NSG rules", serviceNSGRules(svc), strings.ReplaceAll(strings.Join(rules, "; "), "$IP", ip))
	}
}

// pipIs checks the managed public IP in the cluster resource group.
func pipIs(ok func(p *armPIP) error) contract.Check {
	return func(t *testing.T, svc *v1.Service) error {
		p := readPIP(rg, managedPIP(svc))
		if p == nil {
			return fmt.Errorf("no managed public IP %s", managedPIP(svc))
		}
		return ok(p)
	}
}

// azureAnnotations are the Azure annotation cases.
func azureAnnotations(*testing.T) contract.Annotations {
	return contract.Annotations{Cloud: annotations.Azure, Prefix: prefix, NewService: newService, Cases: annotationCases(), Elsewhere: coveredElsewhere}
}

func annotationCases() []contract.AnnotationCase {
	in := func(kv ...string) map[string]string {
		return with(append([]string{"azure-load-balancer-internal", "true"}, kv...)...)
	}
	return []contract.AnnotationCase{
		{
			Name: "internal", Keys: []string{"azure-load-balancer-internal"},
			Before: with(), After: in(),
			Was: has(public(1)), Now: has(internalParts),
		},
		{
			Name: "internal-subnet", Keys: []string{"azure-load-balancer-internal-subnet"},
			Before: in(), After: in("azure-load-balancer-internal-subnet", appsSubnet),
			Was: has(internalParts),
			Now: all(has(internalParts), func(t *testing.T, svc *v1.Service) error {
				f := findFrontend(readLB(internalLB), azure.ServicePrefix(svc)+"-"+appsSubnet)
				if f == nil {
					return fmt.Errorf("no frontend in %s", appsSubnet)
				}
				return contract.FirstErr(contract.Want("subnet", strings.HasSuffix(deref(f.Subnet.ID), "/subnets/"+appsSubnet), true),
					contract.Want("ingress in the subnet", strings.HasPrefix(contract.Ingress(svc), "10.241.0."), true))
			}),
		},
		{
			Name: "ipv4", Keys: []string{"azure-load-balancer-ipv4"},
			Before: in("azure-load-balancer-ipv4", "10.240.200.50"), After: in("azure-load-balancer-ipv4", "10.240.200.51"),
			Was: func(t *testing.T, svc *v1.Service) error {
				return contract.Want("ingress", contract.Ingress(svc), "10.240.200.50")
			},
			Now: func(t *testing.T, svc *v1.Service) error {
				f := findFrontend(readLB(internalLB), azure.ServicePrefix(svc))
				if f == nil {
					return fmt.Errorf("no frontend")
				}
				return contract.FirstErr(contract.Want("ingress", contract.Ingress(svc), "10.240.200.51"),
					contract.Want("frontend", fmt.Sprintf("%s %s", deref(f.PrivateIPAllocationMethod), deref(f.PrivateIPAddress)), "Static 10.240.200.51"))
			},
		},
		{
			Name: "pls-create", Keys: []string{"azure-pls-create", "azure-pls-ip-configuration-subnet"},
			Before: in(), After: in("azure-pls-create", "true", "azure-pls-ip-configuration-subnet", plsSubnet),
			Was: has(internalParts),
			Now: all(has(withPLS(internalParts)), plsIs("", "pls-", "nat=[Dynamic dyn "+plsSubnet+" true] fqdns=[] proxy=false visibility=[] autoApproval=[]")),
		},
		{
			Name: "pls-settings",
			Keys: []string{"azure-pls-ip-configuration-ip-address-count", "azure-pls-ip-configuration-ip-address", "azure-pls-fqdns",
				"azure-pls-proxy-protocol", "azure-pls-visibility", "azure-pls-auto-approval"},
			Before: in("azure-pls-create", "true", "azure-pls-ip-configuration-subnet", plsSubnet),
			After: in("azure-pls-create", "true", "azure-pls-ip-configuration-subnet", plsSubnet,
				"azure-pls-ip-configuration-ip-address-count", "2", "azure-pls-ip-configuration-ip-address", "10.242.0.40",
				"azure-pls-fqdns", "api.partner.example", "azure-pls-proxy-protocol", "true",
				"azure-pls-visibility", plsPartner+" "+plsOther, "azure-pls-auto-approval", plsPartner),
			Was: plsIs("", "pls-", "nat=[Dynamic dyn "+plsSubnet+" true] fqdns=[] proxy=false visibility=[] autoApproval=[]"),
			Now: all(has(withPLS(internalParts)), plsIs("", "pls-", "nat=[Static 10.242.0.40 "+plsSubnet+" true; Dynamic dyn "+plsSubnet+" false] "+
				"fqdns=[api.partner.example] proxy=true visibility=["+plsPartner+" "+plsOther+"] autoApproval=["+plsPartner+"]")),
		},
		{
			// The name and resource group are fixed once created (a change is refused, see
			// providers/azure TestPrivateLinkServiceLifecycle); removing azure-pls-create
			// deletes the Private Link Service they named, and the frontend stays.
			Name: "pls-name-removed", Keys: []string{"azure-pls-name", "azure-pls-resource-group"},
			Before: in("azure-pls-create", "true", "azure-pls-name", "partner-pls", "azure-pls-resource-group", "pls-rg",
				"azure-pls-ip-configuration-subnet", plsSubnet),
			After: in(),
			Was:   all(has(withPLS(internalParts)), plsIs("pls-rg", "partner-pls", "nat=[Dynamic dyn "+plsSubnet+" true] fqdns=[] proxy=false visibility=[] autoApproval=[]")),
			Now:   has(internalParts),
		},
		{
			Name: "additional-public-ips", Keys: []string{"azure-additional-public-ips"},
			Before: with("azure-additional-public-ips", "20.9.9.9"), After: with("azure-additional-public-ips", "20.9.9.9,20.9.9.10"),
			Was: all(func(t *testing.T, svc *v1.Service) error {
				return contract.Want("ingress count", len(svc.Status.LoadBalancer.Ingress), 2)
			},
				internetTo("20.9.9.9")),
			Now: all(func(t *testing.T, svc *v1.Service) error {
				return contract.Want("ingress after the frontend", strings.SplitN(contract.Ingress(svc), ",", 2)[1], "20.9.9.9,20.9.9.10")
			}, internetTo("20.9.9.9", "20.9.9.10")),
		},
		{
			Name: "pip-resource-group", Keys: []string{"azure-load-balancer-resource-group"},
			Before: with(), After: with("azure-load-balancer-resource-group", "pip-rg"),
			Was: has(public(1)),
			Now: all(has(public(1)), func(t *testing.T, svc *v1.Service) error { return frontendPIP("pip-rg", managedPIP(svc))(t, svc) }),
		},
		{
			Name: "pip-name", Keys: []string{"azure-pip-name"},
			Before: with(), After: with("azure-pip-name", casePIP),
			Was: has(public(1)),
			Now: all(frontendPIP(rg, casePIP), has(map[string]int{"frontend@" + publicLB: 1, "rule@" + publicLB: 2, "probe@" + publicLB: 2, "nsg rule": 1})),
		},
		{
			Name: "pip-prefix-id", Keys: []string{"azure-pip-prefix-id"},
			Before: with(), After: with("azure-pip-prefix-id", pipPrefixID),
			Was: has(public(1)),
			Now: all(has(public(1)), func(t *testing.T, svc *v1.Service) error {
				name := managedPIP(svc) + "-edge"
				if err := frontendPIP(rg, name)(t, svc); err != nil {
					return err
				}
				p := readPIP(rg, name)
				if p.Properties.PublicIPPrefix == nil {
					return fmt.Errorf("public IP %s has no prefix", name)
				}
				return contract.Want("prefix", *p.Properties.PublicIPPrefix.ID, pipPrefixID)
			}),
		},
		{
			Name: "pip-tags", Keys: []string{"azure-pip-tags"},
			Before: with("azure-pip-tags", "team=a"), After: with("azure-pip-tags", "team=b,env=prod"),
			Was: pipIs(func(p *armPIP) error { return contract.Want("team", deref(p.Tags["team"]), "a") }),
			Now: pipIs(func(p *armPIP) error {
				return contract.Want("team,env", deref(p.Tags["team"])+","+deref(p.Tags["env"]), "b,prod")
			}),
		},
		{
			Name: "dns-label", Keys: []string{"azure-dns-label-name"},
			Before: with("azure-dns-label-name", "cloudlb-contract-a"), After: with("azure-dns-label-name", "cloudlb-contract-b"),
			Was: pipIs(func(p *armPIP) error { return dnsLabel(p, "cloudlb-contract-a") }),
			Now: pipIs(func(p *armPIP) error { return dnsLabel(p, "cloudlb-contract-b") }),
		},
		{
			Name: "idle-timeout-tcp-reset", Keys: []string{"azure-load-balancer-tcp-idle-timeout", "azure-load-balancer-disable-tcp-reset"},
			Before: with("azure-load-balancer-tcp-idle-timeout", "4"), After: with("azure-load-balancer-tcp-idle-timeout", "30", "azure-load-balancer-disable-tcp-reset", "true"),
			Was: onRule(publicLB, "", func(_ *armLB, r *armRule) error {
				return contract.Want("idle, reset", fmt.Sprint(deref(r.IdleTimeoutInMinutes), deref(r.EnableTCPReset)), "4 true")
			}),
			Now: onRule(publicLB, "", func(_ *armLB, r *armRule) error {
				return contract.Want("idle, reset", fmt.Sprint(deref(r.IdleTimeoutInMinutes), deref(r.EnableTCPReset)), "30 false")
			}),
		},
		{
			Name: "ha-ports", Keys: []string{"azure-load-balancer-enable-high-availability-ports"},
			Before: in(), After: in("azure-load-balancer-enable-high-availability-ports", "true"),
			Was: has(internalParts),
			Now: all(has(map[string]int{"frontend@" + internalLB: 1, "rule@" + internalLB: 1, "probe@" + internalLB: 1}),
				onRule(internalLB, "", func(_ *armLB, r *armRule) error {
					return contract.Want("rule", fmt.Sprintf("%s %d->%d", deref(r.Protocol), deref(r.FrontendPort), deref(r.BackendPort)), "All 0->0")
				})),
		},
		{
			Name: "floating-ip", Keys: []string{"azure-disable-load-balancer-floating-ip"},
			Before: with(), After: with("azure-disable-load-balancer-floating-ip", "true"),
			Was: onRule(publicLB, "", func(_ *armLB, r *armRule) error {
				return contract.Want("rule", fmt.Sprint(deref(r.BackendPort), deref(r.EnableFloatingIP)), "80 true")
			}),
			Now: all(func(t *testing.T, svc *v1.Service) error {
				return onRule(publicLB, "", func(_ *armLB, r *armRule) error {
					return contract.Want("rule", fmt.Sprint(deref(r.BackendPort), deref(r.EnableFloatingIP)), fmt.Sprint(nodePort(svc, 80), false))
				})(t, svc)
			}, func(t *testing.T, svc *v1.Service) error {
				return contract.Want("NSG rules", serviceNSGRules(svc), fmt.Sprintf("-TCP-Internet Allow Tcp Internet -> 10.240.0.4,10.240.0.5,10.240.0.6:%s",
					joinedPorts(nodePort(svc, 80), nodePort(svc, 443))))
			}),
		},
		{
			Name: "service-tags", Keys: []string{"azure-allowed-service-tags"},
			Before: with(), After: with("azure-allowed-service-tags", "AzureFrontDoor.Backend"),
			Was: nsgIs("-TCP-Internet Allow Tcp Internet -> $IP:443,80"),
			Now: nsgIs("-TCP-AzureFrontDoor.Backend Allow Tcp AzureFrontDoor.Backend -> $IP:443,80"),
		},
		{
			Name: "ip-ranges-deny-all", Keys: []string{"azure-allowed-ip-ranges", "azure-deny-all-except-load-balancer-source-ranges"},
			Before: with("azure-allowed-ip-ranges", "203.0.113.0/24"),
			After:  with("azure-allowed-ip-ranges", "198.51.100.0/24,192.0.2.0/24", "azure-deny-all-except-load-balancer-source-ranges", "true"),
			Was:    nsgIs("-TCP-SourceRanges Allow Tcp 203.0.113.0/24 -> $IP:443,80"),
			Now:    nsgIs("-DenyAll Deny * * -> $IP:*", "-TCP-SourceRanges Allow Tcp 192.0.2.0/24,198.51.100.0/24 -> $IP:443,80"),
		},
		{
			Name: "nsg-rule-disabled", Keys: []string{"azure-disable-load-balancer-nsg-rule"},
			Before: with(), After: with("azure-disable-load-balancer-nsg-rule", "true"),
			Was: has(public(1)), Now: has(public(0)),
		},
		{
			Name: "probe-defaults",
			Keys: []string{"azure-load-balancer-health-probe-protocol", "azure-load-balancer-health-probe-request-path",
				"azure-load-balancer-health-probe-interval", "azure-load-balancer-health-probe-num-of-probe"},
			Before: with(),
			After: with("azure-load-balancer-health-probe-protocol", "Http", "azure-load-balancer-health-probe-request-path", "/ready",
				"azure-load-balancer-health-probe-interval", "10", "azure-load-balancer-health-probe-num-of-probe", "3"),
			Was: probeIs("Tcp", 80, "", 5, 2),
			Now: probeIs("Http", 80, "/ready", 10, 3),
		},
		{
			Name: "port-probe",
			Keys: []string{"port_{port}_health-probe_protocol", "port_{port}_health-probe_request-path", "port_{port}_health-probe_interval",
				"port_{port}_health-probe_num-of-probe", "port_{port}_health-probe_port"},
			Before: with("port_80_health-probe_protocol", "Http", "port_80_health-probe_request-path", "/a"),
			After: with("port_80_health-probe_protocol", "Https", "port_80_health-probe_request-path", "/b",
				"port_80_health-probe_interval", "7", "port_80_health-probe_num-of-probe", "4", "port_80_health-probe_port", "https"),
			Was: probeIs("Http", 80, "/a", 5, 2),
			Now: probeIs("Https", 443, "/b", 7, 4),
		},
		{
			Name: "port-rules", Keys: []string{"port_{port}_no_probe_rule", "port_{port}_no_lb_rule"},
			Before: with("port_443_no_probe_rule", "true"), After: with("port_443_no_lb_rule", "true"),
			Was: func(t *testing.T, svc *v1.Service) error {
				lb := readLB(publicLB)
				r, err := rule(lb, azure.ServicePrefix(svc)+"-TCP-443")
				if err != nil {
					return err
				}
				return contract.Want("443 probe", probeOfRule(lb, r), "none")
			},
			Now: all(has(map[string]int{"frontend@" + publicLB: 1, "rule@" + publicLB: 1, "probe@" + publicLB: 1, "nsg rule": 1, "managed public IP": 1}),
				nsgIs("-TCP-Internet Allow Tcp Internet -> $IP:80")),
		},
	}
}

// internetTo checks the Internet allow rule's destinations: the frontend IP and extra.
func internetTo(extra ...string) contract.Check {
	return func(t *testing.T, svc *v1.Service) error {
		if len(svc.Status.LoadBalancer.Ingress) == 0 {
			return fmt.Errorf("no ingress yet")
		}
		dest := append([]string{svc.Status.LoadBalancer.Ingress[0].IP}, extra...)
		slices.Sort(dest)
		return contract.Want("NSG rules", serviceNSGRules(svc), "-TCP-Internet Allow Tcp Internet -> "+strings.Join(dest, ",")+":443,80")
	}
}

func dnsLabel(p *armPIP, label string) error {
	if p.Properties.DNSSettings == nil {
		return fmt.Errorf("no DNS settings")
	}
	return contract.Want("DNS label", deref(p.Properties.DNSSettings.DomainNameLabel), label)
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
func plsIs(group, name, state string) contract.Check {
	return func(t *testing.T, svc *v1.Service) error {
		p := azure.ServicePrefix(svc)
		if strings.HasSuffix(name, "-") {
			name += p
		}
		if group == "" {
			group = rg
		}
		return contract.Want("private link service "+name, plsState(readPLS(group, name)), "frontend="+p+" "+state)
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

package gcecontract_test

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/integration/contract"
	cloudgce "github.com/cloudlb/cloudlb/providers/gce"
)

// seedDir holds the GCE examples, among them the manifests of the Kubernetes docs' GCE
// sections (docs-*.yaml).
const seedDir = "../../examples/gce"

// seedStaticIP is the placeholder loadBalancerIP of docs-static-ip.yaml, replaced by the IP
// of an address the test reserves.
const seedStaticIP = "203.0.113.10"

// seedCloud is what the suite reads of one Service's load balancer.
type seedCloud struct {
	lb      string
	rules   map[string]*computepb.ForwardingRule // by protocol
	address *computepb.Address
	pool    *computepb.TargetPool
	backend *computepb.BackendService
	traffic *computepb.Firewall
	// localHC is the firewall of a per-Service health check (externalTrafficPolicy Local).
	localHC *computepb.Firewall
}

func readSeedCloud(t *testing.T, lb string) (*seedCloud, error) {
	ctx := t.Context()
	c := &seedCloud{lb: lb, rules: map[string]*computepb.ForwardingRule{}}
	for _, name := range []string{lb, lb + "-udp"} {
		if r := rule(t, name); r != nil {
			c.rules[r.GetIPProtocol()] = r
		}
	}
	if len(c.rules) == 0 {
		return nil, fmt.Errorf("no forwarding rule %s", lb)
	}
	addrs, err := compute.NewAddressesRESTClient(ctx, clientOpts()...)
	if err != nil {
		return nil, err
	}
	defer addrs.Close()
	c.address, _ = addrs.Get(ctx, &computepb.GetAddressRequest{Project: project, Region: region, Address: lb})
	pools, err := compute.NewTargetPoolsRESTClient(ctx, clientOpts()...)
	if err != nil {
		return nil, err
	}
	defer pools.Close()
	c.pool, _ = pools.Get(ctx, &computepb.GetTargetPoolRequest{Project: project, Region: region, TargetPool: lb})
	for _, r := range c.rules {
		if bs := r.GetBackendService(); bs != "" {
			c.backend = backendService(t, lastSegment(bs))
		}
	}
	c.traffic = firewall(t, "k8s-fw-"+lb)
	c.localHC = firewall(t, "k8s-"+lb+"-http-hc")
	if c.traffic == nil {
		return nil, fmt.Errorf("no firewall k8s-fw-%s", lb)
	}
	return c, nil
}

// poolInstances are the target pool's instance names, sorted.
func (c *seedCloud) poolInstances() string {
	var out []string
	for _, i := range c.pool.GetInstances() {
		out = append(out, lastSegment(i))
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

// allowed renders the traffic firewall as "tcp:80 udp:53".
func (c *seedCloud) allowed() string {
	var out []string
	for _, a := range c.traffic.GetAllowed() {
		out = append(out, a.GetIPProtocol()+":"+strings.Join(a.GetPorts(), ","))
	}
	return strings.Join(out, " ")
}

// readyNodes are the suite's Nodes a load balancer targets.
const readyNodes = "node-a1,node-a2,node-b1"

// externalPool checks what every target-pool Service has: one rule per protocol on ip,
// the pool with the ready nodes, and the traffic firewall.
func externalPool(c *seedCloud, ip, tier string) error {
	errs := []error{contract.Want("pool", c.pool != nil, true), contract.Want("pool instances", c.poolInstances(), readyNodes),
		contract.Want("address", c.address != nil, true), contract.Want("address IP", c.address.GetAddress(), ip)}
	for p, r := range c.rules {
		errs = append(errs, contract.Want(p+" rule IP", r.GetIPAddress(), ip), contract.Want(p+" scheme", r.GetLoadBalancingScheme(), "EXTERNAL"),
			contract.Want(p+" tier", r.GetNetworkTier(), tier), contract.Want(p+" target", lastSegment(r.GetTarget()), c.lb))
	}
	return contract.FirstErr(errs...)
}

// seedCases are the expectations for each file of seedDir; ip is the Service's ingress IP.
func seedCases(staticIP string) map[string]func(c *seedCloud, svc *v1.Service, ip string) error {
	internal := func(c *seedCloud, ip, subnetSuffix string) error {
		errs := []error{contract.Want("pool", c.pool == nil, true), contract.Want("backend service", c.backend != nil, true),
			contract.Want("backend scheme", c.backend.GetLoadBalancingScheme(), "INTERNAL"), contract.Want("backends", len(c.backend.GetBackends()), 2)}
		for p, r := range c.rules {
			errs = append(errs, contract.Want(p+" rule IP", r.GetIPAddress(), ip), contract.Want(p+" scheme", r.GetLoadBalancingScheme(), "INTERNAL"),
				contract.Want(p+" subnetwork", strings.HasSuffix(r.GetSubnetwork(), subnetSuffix), true))
		}
		return contract.FirstErr(errs...)
	}
	return map[string]func(*seedCloud, *v1.Service, string) error{
		"docs-basic.yaml": func(c *seedCloud, _ *v1.Service, ip string) error {
			return contract.FirstErr(externalPool(c, ip, "PREMIUM"), contract.Want("rules", len(c.rules), 1),
				contract.Want("port range", c.rules["TCP"].GetPortRange(), "80-80"), contract.Want("firewall", c.allowed(), "tcp:80"),
				contract.Want("source ranges", strings.Join(c.traffic.GetSourceRanges(), ","), "0.0.0.0/0"),
				contract.Want("destination", strings.Join(c.traffic.GetDestinationRanges(), ","), ip+"/32"),
				contract.Want("affinity", c.pool.GetSessionAffinity(), "NONE"),
				contract.Want("health check", lastSegment(strings.Join(c.pool.GetHealthChecks(), ",")), "k8s-"+clusterID+"-node"))
		},
		"docs-internal.yaml": func(c *seedCloud, _ *v1.Service, ip string) error {
			return contract.FirstErr(internal(c, ip, "/subnetworks/default"), contract.Want("ports", strings.Join(c.rules["TCP"].GetPorts(), ","), "80"),
				contract.Want("address type", c.address.GetAddressType(), "INTERNAL"), contract.Want("firewall", c.allowed(), "tcp:80"))
		},
		"docs-static-ip.yaml": func(c *seedCloud, _ *v1.Service, ip string) error {
			// The user's reservation serves the rule; cloudlb reserves nothing of its own.
			return contract.FirstErr(contract.Want("ingress", ip, staticIP), contract.Want("rule IP", c.rules["TCP"].GetIPAddress(), staticIP),
				contract.Want("own address", c.address == nil, true), contract.Want("pool instances", c.poolInstances(), readyNodes))
		},
		"external-standard-tier.yaml": func(c *seedCloud, _ *v1.Service, ip string) error {
			return contract.FirstErr(externalPool(c, ip, "STANDARD"), contract.Want("address tier", c.address.GetNetworkTier(), "STANDARD"),
				contract.Want("port range", c.rules["UDP"].GetPortRange(), "7777-7777"), contract.Want("affinity", c.pool.GetSessionAffinity(), "CLIENT_IP"),
				contract.Want("firewall", c.allowed(), "udp:7777"))
		},
		"internal.yaml": func(c *seedCloud, _ *v1.Service, ip string) error {
			addr, err := netip.ParseAddr(ip)
			return contract.FirstErr(err, internal(c, ip, "/subnetworks/"+ilbSubnet), contract.Want("in the subnet", netip.MustParsePrefix(ilbSubnetCIDR).Contains(addr), true),
				contract.Want("global access", c.rules["TCP"].GetAllowGlobalAccess(), true), contract.Want("ports", strings.Join(c.rules["TCP"].GetPorts(), ","), "8443"))
		},
		"internal-shared-backend.yaml": func(c *seedCloud, _ *v1.Service, ip string) error {
			return contract.FirstErr(internal(c, ip, "/subnetworks/default"),
				contract.Want("shared backend service", strings.HasPrefix(c.backend.GetName(), "k8s-"+clusterID+"-internal-tcp-"), true),
				contract.Want("shared description", strings.Contains(c.backend.GetDescription(), "service-name"), false))
		},
		"internal-mixed-protocol.yaml": func(c *seedCloud, _ *v1.Service, ip string) error {
			return contract.FirstErr(contract.Want("rules", len(c.rules), 2), internal(c, ip, "/subnetworks/default"),
				contract.Want("address purpose", c.address.GetPurpose(), "SHARED_LOADBALANCER_VIP"),
				contract.Want("backend protocol", c.backend.GetProtocol(), "UNSPECIFIED"),
				contract.Want("UDP ports", strings.Join(c.rules["UDP"].GetPorts(), ","), "53"), contract.Want("firewall", c.allowed(), "tcp:53 udp:53"))
		},
		"mixed-protocol.yaml": func(c *seedCloud, svc *v1.Service, ip string) error {
			hc := c.localHC
			return contract.FirstErr(contract.Want("rules", len(c.rules), 2), externalPool(c, ip, "PREMIUM"),
				contract.Want("TCP ports", c.rules["TCP"].GetPortRange(), "53-53"), contract.Want("UDP ports", c.rules["UDP"].GetPortRange(), "53-53"),
				contract.Want("firewall", c.allowed(), "tcp:53 udp:53"), contract.Want("health check", lastSegment(strings.Join(c.pool.GetHealthChecks(), ",")), c.lb),
				contract.Want("health check firewall", hc != nil && slices.Equal(hc.GetAllowed()[0].GetPorts(), []string{fmt.Sprint(svc.Spec.HealthCheckNodePort)}), true))
		},
	}
}

// seeds are the examples/gce manifests; the static IP of docs-static-ip.yaml is an address
// reserved before the tenant, so that it outlives the Service. The docs' internal example
// also runs with the deprecated key it shows: the same load balancer.
func seeds(t *testing.T) contract.Seeds {
	staticIP := reserveAddress(t, "contract-docs-static-ip")
	replace := []string{"services-subnet", ilbSubnet, seedStaticIP, staticIP}
	deprecated := contract.LoadSeed(t, seedDir, "docs-internal.yaml", append(replace, "networking.gke.io/load-balancer-type", "cloud.google.com/load-balancer-type")...)
	deprecated.Name = "docs-internal-deprecated-key"
	cases := map[string]contract.Check{}
	for file, check := range seedCases(staticIP) {
		cases[file] = func(t *testing.T, svc *v1.Service) error {
			lb, ip := cloudgce.LoadBalancerName(svc), svc.Status.LoadBalancer.Ingress[0].IP
			c, err := readSeedCloud(t, lb)
			if err != nil {
				return err
			}
			return check(c, svc, ip)
		}
	}
	return contract.Seeds{Dir: seedDir, Replace: replace, Cases: cases,
		Variants: map[string][]*v1.Service{"docs-internal.yaml": {deprecated}}}
}

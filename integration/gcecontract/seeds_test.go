package gcecontract_test

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	v1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	cloudgce "github.com/cloudlb/cloudlb/providers/gce"
)

// seedDir holds the GCE examples, among them the manifests of the Kubernetes docs' GCE
// sections (docs-*.yaml).
const seedDir = "../../examples/gce"

// seedStaticIP is the placeholder loadBalancerIP of docs-static-ip.yaml, replaced by the IP
// of an address the test reserves.
const seedStaticIP = "203.0.113.10"

// loadSeed reads one example Service, replacing its placeholders by the fake's names.
func loadSeed(t *testing.T, file string, replace ...string) *v1.Service {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(seedDir, file))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer(append([]string{"services-subnet", ilbSubnet}, replace...)...).Replace(string(data))
	var svc v1.Service
	if err := yaml.UnmarshalStrict([]byte(text), &svc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return &svc
}

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
	errs := []error{want("pool", c.pool != nil, true), want("pool instances", c.poolInstances(), readyNodes),
		want("address", c.address != nil, true), want("address IP", c.address.GetAddress(), ip)}
	for p, r := range c.rules {
		errs = append(errs, want(p+" rule IP", r.GetIPAddress(), ip), want(p+" scheme", r.GetLoadBalancingScheme(), "EXTERNAL"),
			want(p+" tier", r.GetNetworkTier(), tier), want(p+" target", lastSegment(r.GetTarget()), c.lb))
	}
	return firstErr(errs...)
}

// seedCases are the expectations for each file of seedDir; ip is the Service's ingress IP.
func seedCases(staticIP string) map[string]func(c *seedCloud, svc *v1.Service, ip string) error {
	internal := func(c *seedCloud, ip, subnetSuffix string) error {
		errs := []error{want("pool", c.pool == nil, true), want("backend service", c.backend != nil, true),
			want("backend scheme", c.backend.GetLoadBalancingScheme(), "INTERNAL"), want("backends", len(c.backend.GetBackends()), 2)}
		for p, r := range c.rules {
			errs = append(errs, want(p+" rule IP", r.GetIPAddress(), ip), want(p+" scheme", r.GetLoadBalancingScheme(), "INTERNAL"),
				want(p+" subnetwork", strings.HasSuffix(r.GetSubnetwork(), subnetSuffix), true))
		}
		return firstErr(errs...)
	}
	return map[string]func(*seedCloud, *v1.Service, string) error{
		"docs-basic.yaml": func(c *seedCloud, _ *v1.Service, ip string) error {
			return firstErr(externalPool(c, ip, "PREMIUM"), want("rules", len(c.rules), 1),
				want("port range", c.rules["TCP"].GetPortRange(), "80-80"), want("firewall", c.allowed(), "tcp:80"),
				want("source ranges", strings.Join(c.traffic.GetSourceRanges(), ","), "0.0.0.0/0"),
				want("destination", strings.Join(c.traffic.GetDestinationRanges(), ","), ip+"/32"),
				want("affinity", c.pool.GetSessionAffinity(), "NONE"),
				want("health check", lastSegment(strings.Join(c.pool.GetHealthChecks(), ",")), "k8s-"+clusterID+"-node"))
		},
		"docs-internal.yaml": func(c *seedCloud, _ *v1.Service, ip string) error {
			return firstErr(internal(c, ip, "/subnetworks/default"), want("ports", strings.Join(c.rules["TCP"].GetPorts(), ","), "80"),
				want("address type", c.address.GetAddressType(), "INTERNAL"), want("firewall", c.allowed(), "tcp:80"))
		},
		"docs-static-ip.yaml": func(c *seedCloud, _ *v1.Service, ip string) error {
			// The user's reservation serves the rule; cloudlb reserves nothing of its own.
			return firstErr(want("ingress", ip, staticIP), want("rule IP", c.rules["TCP"].GetIPAddress(), staticIP),
				want("own address", c.address == nil, true), want("pool instances", c.poolInstances(), readyNodes))
		},
		"external-standard-tier.yaml": func(c *seedCloud, _ *v1.Service, ip string) error {
			return firstErr(externalPool(c, ip, "STANDARD"), want("address tier", c.address.GetNetworkTier(), "STANDARD"),
				want("port range", c.rules["UDP"].GetPortRange(), "7777-7777"), want("affinity", c.pool.GetSessionAffinity(), "CLIENT_IP"),
				want("firewall", c.allowed(), "udp:7777"))
		},
		"internal.yaml": func(c *seedCloud, _ *v1.Service, ip string) error {
			addr, err := netip.ParseAddr(ip)
			return firstErr(err, internal(c, ip, "/subnetworks/"+ilbSubnet), want("in the subnet", netip.MustParsePrefix(ilbSubnetCIDR).Contains(addr), true),
				want("global access", c.rules["TCP"].GetAllowGlobalAccess(), true), want("ports", strings.Join(c.rules["TCP"].GetPorts(), ","), "8443"))
		},
		"internal-shared-backend.yaml": func(c *seedCloud, _ *v1.Service, ip string) error {
			return firstErr(internal(c, ip, "/subnetworks/default"),
				want("shared backend service", strings.HasPrefix(c.backend.GetName(), "k8s-"+clusterID+"-internal-tcp-"), true),
				want("shared description", strings.Contains(c.backend.GetDescription(), "service-name"), false))
		},
		"internal-mixed-protocol.yaml": func(c *seedCloud, _ *v1.Service, ip string) error {
			return firstErr(want("rules", len(c.rules), 2), internal(c, ip, "/subnetworks/default"),
				want("address purpose", c.address.GetPurpose(), "SHARED_LOADBALANCER_VIP"),
				want("backend protocol", c.backend.GetProtocol(), "UNSPECIFIED"),
				want("UDP ports", strings.Join(c.rules["UDP"].GetPorts(), ","), "53"), want("firewall", c.allowed(), "tcp:53 udp:53"))
		},
		"mixed-protocol.yaml": func(c *seedCloud, svc *v1.Service, ip string) error {
			hc := c.localHC
			return firstErr(want("rules", len(c.rules), 2), externalPool(c, ip, "PREMIUM"),
				want("TCP ports", c.rules["TCP"].GetPortRange(), "53-53"), want("UDP ports", c.rules["UDP"].GetPortRange(), "53-53"),
				want("firewall", c.allowed(), "tcp:53 udp:53"), want("health check", lastSegment(strings.Join(c.pool.GetHealthChecks(), ",")), c.lb),
				want("health check firewall", hc != nil && slices.Equal(hc.GetAllowed()[0].GetPorts(), []string{fmt.Sprint(svc.Spec.HealthCheckNodePort)}), true))
		},
	}
}

// TestSeedExamples applies every examples/gce manifest through the controller and checks the
// Service's status and the load balancer the cloud holds. Every file must have a case.
func TestSeedExamples(t *testing.T) {
	t.Parallel()
	staticIP := reserveAddress(t, "contract-docs-static-ip")
	cases := seedCases(staticIP)
	files, err := filepath.Glob(filepath.Join(seedDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no seed examples in %s: %v", seedDir, err)
	}
	tn := newTenant(t)
	type seeded struct {
		file  string
		svc   *v1.Service
		check func(*seedCloud, *v1.Service, string) error
	}
	var all []seeded
	for _, f := range files {
		file := filepath.Base(f)
		check, ok := cases[file]
		if !ok {
			t.Errorf("%s has no expectations in seedCases", f)
			continue
		}
		svc := loadSeed(t, file, seedStaticIP, staticIP)
		svc.Name = strings.TrimSuffix(file, ".yaml") // the docs' examples all say my-service
		all = append(all, seeded{file, tn.create(svc), check})
	}
	// The docs' internal example with the deprecated key it shows: the same load balancer.
	deprecated := loadSeed(t, "docs-internal.yaml", "networking.gke.io/load-balancer-type", "cloud.google.com/load-balancer-type")
	deprecated.Name = "docs-internal-deprecated-key"
	all = append(all, seeded{"docs-internal.yaml (deprecated key)", tn.create(deprecated), cases["docs-internal.yaml"]})
	for _, s := range all {
		t.Run(s.file, func(t *testing.T) {
			got := tn.waitIngress(s.svc.Name)
			ip, lb := got.Status.LoadBalancer.Ingress[0].IP, cloudgce.LoadBalancerName(got)
			waitFor(t, "the load balancer of "+s.file, func() (bool, string) {
				c, err := readSeedCloud(t, lb)
				if err == nil {
					err = s.check(c, got, ip)
				}
				if err != nil {
					return false, err.Error()
				}
				return true, ""
			})
		})
	}
}

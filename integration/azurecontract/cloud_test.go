package azurecontract_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	cloudprovider "k8s.io/cloud-provider"

	"github.com/cloudlb/cloudlb/fakecloud/fakeazure"
	"github.com/cloudlb/cloudlb/fakecloud/fakecore"
	"github.com/cloudlb/cloudlb/integration/contract"
	"github.com/cloudlb/cloudlb/providers/azure"
)

// cloud is the Azure side of the shared tests.
type cloud struct{}

var _ contract.Cloud = cloud{}

func (cloud) Tenants() contract.Config { return shared.tenants }

// newProvider is the azure provider against the suite's fakeazure, behind the write gate
// and the wire. Its limits are above the default 10 QPS: the rate limiter is not what the
// suite measures, and it would pace every test of the shared fake.
func newProvider(t *testing.T) cloudprovider.LoadBalancer {
	conf := contract.Must(azure.ParseCloudConfig(strings.NewReader(fmt.Sprintf(`{"subscriptionId": %q, "resourceGroup": %q, "location": %q,
		"vnetName": "vnet", "subnetName": "nodes", "securityGroupName": %q, "resourceManagerEndpoint": %q}`, sub, rg, location, nsgName, shared.url))))(t)
	return contract.Must(azure.NewWithCredential(conf, fakeazure.Credential(), fakeazure.ClientOptions(shared.url),
		azure.Limits{QPS: 200, Burst: 200, RetryDelay: 20 * time.Millisecond, Poll: 5 * time.Millisecond}))(t)
}

// GatedTenant is a tenant: every provider reaches the fake through the suite's one gate.
func (cloud) GatedTenant(t *testing.T) (*contract.Tenant, *contract.WriteGate) {
	return contract.NewTenant(t, shared.tenants), shared.gate
}

func (cloud) Fake() contract.Fake { return shared.fake }

func (cloud) Owned(_ *testing.T, svc *v1.Service) ([]contract.Resource, error) {
	return owned(svc), nil
}

// newService is a LoadBalancer Service with TCP ports 80 and 443 (nil annotations become an
// empty map, which the suite's cases write into).
func newService(name string, ann map[string]string, opts ...func(*v1.Service)) *v1.Service {
	if ann == nil {
		ann = map[string]string{}
	}
	return contract.NewService(name, ann, append([]func(*v1.Service){func(s *v1.Service) {
		s.Spec.Ports = append(s.Spec.Ports, v1.ServicePort{Name: "https", Protocol: v1.ProtocolTCP, Port: 443, TargetPort: intstr.FromInt32(8443)})
	}}, opts...)...)
}

func managedPIP(svc *v1.Service) string { return clusterName + "-" + azure.ServicePrefix(svc) }

// ingressIs checks the Service's first ingress IP.
func ingressIs(ok func(ip string) bool, what string) contract.Check {
	return func(_ *testing.T, svc *v1.Service) error {
		if ip := contract.Ingress(svc); ip == "" || !ok(strings.Split(ip, ",")[0]) {
			return fmt.Errorf("ingress %q, want %s", ip, what)
		}
		return nil
	}
}

func private(ip string) bool { return strings.HasPrefix(ip, "10.240.") }

func anyIP(string) bool { return true }

// sourceRanges is a Service with an NSG rule from a source range.
func sourceRanges(s *v1.Service) { s.Spec.LoadBalancerSourceRanges = []string{"203.0.113.0/24"} }

var azureContract = contract.Contract{
	NoOpResync: func(*testing.T) contract.NoOpResync {
		// Each pass reads at most the load balancer, the public IP and the NSG per Service;
		// the first after a start also looks once at the other load balancer and the public
		// IPs. A restart's pass lists instead (providers.Lister): both load balancers, a page
		// of public IPs and the NSG, then at most one read per ten Services (none here).
		const listingReads = 4
		return contract.NoOpResync{
			Services: []contract.Expect{{Service: newService("web", nil)}, {Service: newService("api", with("azure-load-balancer-internal", "true"))}},
			Start: func(calls fakecore.Tally, services int) error {
				return contract.AtMost("reads", calls.Reads, listingReads+services/10)
			},
			Drift: func(calls fakecore.Tally, services, passes int) error {
				return contract.AtMost("reads", calls.Reads, 5*services+3*services*passes)
			},
		}
	},
	NodeChurn: func(*testing.T) contract.NodeChurn {
		// Three Services of one load balancer: the shared pool follows, written once per change.
		return contract.NodeChurn{
			Services: []*v1.Service{newService("a", nil), newService("b", nil), newService("c", nil)},
			Node:     node("node-4", "10.240.0.20"),
			Holds:    poolHoldsNodes,
			Added: func(calls fakecore.Tally) error {
				return contract.FirstErr(contract.Want("load balancer writes", calls.Calls["LoadBalancers.CreateOrUpdate"], 1), contract.Want("writes", calls.Writes, 1))
			},
		}
	},
	Throttling: func(*testing.T) contract.Throttling {
		// ARM answers 30% of calls with 429 and Retry-After.
		return contract.Throttling{Faults: fakecore.Faults{ThrottleRate: 0.3, RetryAfter: 50 * time.Millisecond},
			Services: []contract.Expect{{Service: newService("web", nil), Holds: all(has(public(1)), internetTo())}}}
	},
	Crash: func(*testing.T) contract.Crash { return crash() },
	Deletion: func(*testing.T) []contract.Expect {
		return []contract.Expect{{Service: newService("web", with("azure-pip-tags", "team=a"), sourceRanges), Holds: has(public(1))},
			{Service: newService("api", with("azure-load-balancer-internal", "true")), Holds: has(internalParts)}}
	},
	Lifecycle:   lifecycles,
	Annotations: azureAnnotations,
	Seeds:       seeds,
}

// TestContract and TestContractParallel run the tests every cloud's suite shares
// (integration/contract) against the azure provider and fakeazure.
func TestContract(t *testing.T) { contract.RunSerial(t, cloud{}, azureContract) }

func TestContractParallel(t *testing.T) { contract.RunParallel(t, cloud{}, azureContract) }

// node is a Node with the address the backend pool holds.
func node(name, ip string) *v1.Node {
	return &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: v1.NodeStatus{Addresses: []v1.NodeAddress{{Type: v1.NodeInternalIP, Address: ip}, {Type: v1.NodeHostName, Address: name}}}}
}

// poolHoldsNodes checks that the public load balancer's pool holds exactly the Nodes' IPs.
func poolHoldsNodes(_ *testing.T, _ []*v1.Service, nodes []v1.Node) error {
	var want, got []string
	for _, n := range nodes {
		for _, a := range n.Status.Addresses {
			if a.Type == v1.NodeInternalIP {
				want = append(want, a.Address)
			}
		}
	}
	var lb armnetwork.LoadBalancer
	if read("loadBalancers", clusterName, &lb) {
		for _, p := range lb.Properties.BackendAddressPools {
			for _, a := range p.Properties.LoadBalancerBackendAddresses {
				got = append(got, *a.Properties.IPAddress)
			}
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	return contract.Want("pool", fmt.Sprint(got), fmt.Sprint(want))
}

// crash: the controller is killed after every prefix of the ARM writes that create a public
// Service, move one to the internal load balancer and delete one; each time the cloud
// converges to the same state, with nothing duplicated or left behind.
func crash() contract.Crash {
	// spec is the Service every case uses: a managed public IP with a tag, an NSG rule
	// from a source range.
	spec := func(name string) *v1.Service { return newService(name, with("azure-pip-tags", "team=a"), sourceRanges) }
	return contract.Crash{Cases: []contract.CrashCase{
		contract.CreateCase("public", spec, all(has(public(1)),
			pipIs(func(p *armPIP) error { return contract.Want("team", deref(p.Tags["team"]), "a") }),
			nsgIs("-TCP-SourceRanges Allow Tcp 203.0.113.0/24 -> $IP:443,80")), nil),
		{
			Name: "move-to-internal",
			Prepare: func(tn *contract.Tenant, name string) *v1.Service {
				svc := tn.Create(spec(name))
				tn.WaitHolds(svc.Name, has(public(1)))
				return svc
			},
			Act: func(tn *contract.Tenant, svc *v1.Service) *v1.Service {
				return tn.Update(svc.Name, func(s *v1.Service) { s.Annotations[prefix+"azure-load-balancer-internal"] = "true" })
			},
			// Source ranges on an internal Service keep an NSG rule.
			Check: func(tn *contract.Tenant, svc *v1.Service) {
				tn.WaitCheck(svc.Name, "the Service on the internal load balancer only", all(
					has(map[string]int{"frontend@" + internalLB: 1, "rule@" + internalLB: 2, "probe@" + internalLB: 2, "nsg rule": 1}),
					ingressIs(private, "a private address")))
			},
		},
		contract.DeleteCase(cloud{}, "public", spec, has(public(1))),
	}}
}

// lifecycles: a public Service changed and moved to the internal load balancer while other
// tenants use the same load balancers, and a Service on the user's public IP, which is
// reported and never changed or deleted (the suite's leftovers check looks at it).
func lifecycles(*testing.T) []contract.Scenario {
	var user armnetwork.PublicIPAddress
	return []contract.Scenario{{
		Name: "public-to-internal", Service: newService("web", nil, sourceRanges),
		Steps: []contract.Step{
			{What: "the managed public IP and the NSG rule", Holds: func(t *testing.T, svc *v1.Service) error {
				var pip armnetwork.PublicIPAddress
				if !read("publicIPAddresses", managedPIP(svc), &pip) {
					return fmt.Errorf("no managed public IP")
				}
				ip := *pip.Properties.IPAddress
				return contract.FirstErr(contract.Want("ingress", contract.Ingress(svc), ip),
					nsgIs("-TCP-SourceRanges Allow Tcp 203.0.113.0/24 -> $IP:443,80")(t, svc))
			}},
			{What: "idle timeout 15", Change: func(s *v1.Service) { s.Annotations[prefix+"azure-load-balancer-tcp-idle-timeout"] = "15" },
				Holds: onRule(publicLB, "", func(_ *armLB, r *armRule) error {
					return contract.Want("idle timeout", deref(r.IdleTimeoutInMinutes), int32(15))
				})},
			{What: "internal, the public frontend and the managed public IP gone", Change: func(s *v1.Service) { s.Annotations[prefix+"azure-load-balancer-internal"] = "true" },
				Holds: all(ingressIs(private, "a private address"), func(_ *testing.T, svc *v1.Service) error {
					var p armnetwork.PublicIPAddress
					return contract.FirstErr(contract.Want("public frontend", findFrontend(readLB(publicLB), azure.ServicePrefix(svc)) != nil, false),
						contract.Want("managed public IP", read("publicIPAddresses", managedPIP(svc), &p), false),
						contract.Want("internal frontend", findFrontend(readLB(internalLB), azure.ServicePrefix(svc)) != nil, true))
				})},
		},
	}, {
		Name: "user-public-ip", Service: newService("byo", with("azure-pip-name", userPIP)),
		AtIngress: func(_ *testing.T, svc *v1.Service) error {
			var again armnetwork.PublicIPAddress
			return contract.Want("a managed public IP for a Service using the user's", read("publicIPAddresses", managedPIP(svc), &again), false)
		},
		Steps: []contract.Step{{What: "the user's public IP reported", Holds: func(_ *testing.T, svc *v1.Service) error {
			if !read("publicIPAddresses", userPIP, &user) {
				return fmt.Errorf("no user public IP")
			}
			return contract.Want("ingress", contract.Ingress(svc), *user.Properties.IPAddress)
		}}},
	}}
}

var all = contract.All

package awscontract_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	cloudprovider "k8s.io/cloud-provider"

	"github.com/cloudlb/cloudlb/fakecloud/fakeaws"
	"github.com/cloudlb/cloudlb/fakecloud/fakecore"
	"github.com/cloudlb/cloudlb/integration/contract"
	cloudaws "github.com/cloudlb/cloudlb/providers/aws"
)

// cloud is the AWS side of the shared tests.
type cloud struct{}

var _ contract.Cloud = cloud{}

func (cloud) Tenants() contract.Config { return shared.tenants }

// newProvider builds the aws provider as in production (cloudaws.NewFromConfig: the SDK's
// default chain, AWS_ENDPOINT_URL, the provider's retries and its adaptive (AIMD) rate limits).
func newProvider(t *testing.T) cloudprovider.LoadBalancer {
	conf := contract.Must(cloudaws.ParseCloudConfig(strings.NewReader(fmt.Sprintf("[Global]\nZone = %sa\nVPC = %s\n", region, shared.net.vpc))))(t)
	return contract.Must(cloudaws.NewFromConfig(t.Context(), conf))(t)
}

// GatedTenant is a tenant: every provider reaches the in-process fake through the suite's
// one gate (AWS_ENDPOINT_URL is the process's).
func (cloud) GatedTenant(t *testing.T) (*contract.Tenant, *contract.WriteGate) {
	return contract.NewTenant(t, shared.tenants), shared.gate
}

func (cloud) Fake() contract.Fake {
	if shared.fake == nil {
		return nil
	}
	return shared.fake
}

// Owned are the resources tagged for the Service, found through the APIs.
func (cloud) Owned(t *testing.T, svc *v1.Service) ([]contract.Resource, error) {
	all, err := ownedResources(t.Context())
	var out []contract.Resource
	for _, r := range all {
		if r.service == contract.Key(svc) {
			out = append(out, contract.Resource{Kind: r.kind, Name: r.id})
		}
	}
	return out, err
}

// isWrite: every Query action but Describe*, Get* and List*. The fake reads the already
// parsed form.
func isWrite(r *http.Request) bool {
	return r.ParseForm() == nil && !fakeaws.NewCall("", r.Form.Get("Action")).IsRead()
}

var newService = contract.NewService

func nlb() map[string]string { return map[string]string{prefix + "type": "nlb"} }

func withRanges(cidrs ...string) func(*v1.Service) {
	return func(s *v1.Service) { s.Spec.LoadBalancerSourceRanges = cidrs }
}

var awsContract = contract.Contract{
	NoOpResync: func(*testing.T) contract.NoOpResync {
		// A restart lists the region's load balancers (a DescribeLoadBalancers per 400 and a
		// DescribeTags per 20, of each API) and the first pass then reads at most a tenth of
		// a read per Service beyond that; each drift-repair pass may read at most twice per
		// Service. The network (subnets, route tables) and the VPC's instances (the node
		// groups the node-rules hash covers) are read once per provider start, not per
		// Service.
		return contract.NoOpResync{
			Services: []contract.Expect{
				{Service: newService("clb", map[string]string{prefix + "healthcheck-interval": "15"}), Holds: classicIs(func(*classicLB) error { return nil })},
				{Service: newService("nlb", nlb()), Holds: nlbIs(func(lb *networkLB) error { return contract.Want("targets", len(lb.groups[0].targets), 3) })},
			},
			Start: func(calls fakecore.Tally, services int) error {
				elb, ec2 := reads(calls)
				return contract.FirstErr(contract.AtMost("ELB reads (the listing, a tenth per Service)", elb, listingCalls()+services/10),
					contract.AtMost("EC2 reads (one network discovery, one instance listing)", ec2, 3))
			},
			Drift: func(calls fakecore.Tally, services, passes int) error {
				elb, _ := reads(calls)
				return contract.AtMost("ELB reads", elb, 2*services*(passes+1))
			},
		}
	},
	NodeChurn: func(*testing.T) contract.NodeChurn {
		// A Classic ELB follows every node, an NLB with aws-load-balancer-target-node-labels
		// only the labelled ones.
		spare := shared.net.instances[3]
		return contract.NodeChurn{
			Labels: map[string]map[string]string{"node-a": {poolLabel: "blue"}},
			Services: []*v1.Service{newService("all", nil),
				newService("blue", map[string]string{prefix + "type": "nlb", prefix + "target-node-labels": poolLabel + "=blue"})},
			Node: &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: spare.name, Labels: map[string]string{poolLabel: "blue"}},
				Spec: v1.NodeSpec{ProviderID: spare.providerID()}},
			Relabel: map[string]map[string]string{"node-a": {poolLabel: "green"}},
			Holds: func(t *testing.T, svcs []*v1.Service, nodes []v1.Node) error {
				var all, blue []string
				for _, n := range nodes {
					all = append(all, n.Name)
					if n.Labels[poolLabel] == "blue" {
						blue = append(blue, n.Name)
					}
				}
				return contract.FirstErr(
					classicIs(func(lb *classicLB) error {
						return contract.Want("Classic instances", fmt.Sprint(lb.registered()), fmt.Sprint(instanceIDs(all...)))
					})(t, svcs[0]),
					nlbIs(func(lb *networkLB) error {
						return contract.Want("NLB targets", fmt.Sprint(lb.groups[0].targets), fmt.Sprint(instanceIDs(blue...)))
					})(t, svcs[1]))
			},
		}
	},
	Throttling: func(*testing.T) contract.Throttling {
		// 30% of all calls get the services' throttling errors, from creation to deletion.
		return contract.Throttling{Faults: fakecore.Faults{ThrottleRate: 0.3}, Services: []contract.Expect{
			{Service: newService("clb", map[string]string{prefix + "connection-idle-timeout": "90"}, withRanges("10.1.0.0/16")),
				Holds: func(t *testing.T, svc *v1.Service) error {
					return classicIs(func(lb *classicLB) error {
						return contract.FirstErr(
							contract.Want("idle", aws.ToInt32(lb.attrs.ConnectionSettings.IdleTimeout), int32(90)),
							contract.Want("instances", len(lb.registered()), 3),
							sourceRanges(t, lb, "10.1.0.0/16"))
					})(t, svc)
				}},
			{Service: newService("nlb", nlb()), Holds: nlbIs(func(lb *networkLB) error { return contract.Want("targets", len(lb.groups[0].targets), 3) })},
		}}
	},
	Crash: func(*testing.T) contract.Crash { return crash },
	Deletion: func(*testing.T) []contract.Expect {
		// A Classic ELB with a managed security group and an NLB: nothing tagged for them is left.
		return []contract.Expect{{Service: newService("clb", nil, withRanges("10.2.0.0/16"))}, {Service: newService("nlb", nlb())}}
	},
	Lifecycle:   lifecycles,
	Annotations: awsAnnotations,
	Seeds:       seeds,
}

// TestContract and TestContractParallel run the tests every cloud's suite shares
// (integration/contract) against the aws provider and the suite's endpoint.
func TestContract(t *testing.T) { contract.RunSerial(t, cloud{}, awsContract) }

func TestContractParallel(t *testing.T) { contract.RunParallel(t, cloud{}, awsContract) }

// poolLabel selects the nodes of the NLB of the node churn.
const poolLabel = "cloudlb.test/pool"

// reads are the ELB and ELBv2 reads, and the EC2 reads, among calls.
func reads(calls fakecore.Tally) (elb, ec2 int) {
	for k, n := range calls.Calls {
		switch c := fakeaws.Call(k); {
		case !c.IsRead():
		case c.Service() == fakeaws.ServiceEC2:
			ec2 += n
		default:
			elb += n
		}
	}
	return elb, ec2
}

// listingCalls are the calls a listing of the fake's load balancers makes: a
// DescribeLoadBalancers per 400 and a DescribeTags per 20, of each ELB API.
func listingCalls() int {
	inv := shared.fake.Inventory()
	n := 0
	for _, lbs := range []int{len(inv.ClassicLoadBalancers), len(inv.LoadBalancers)} {
		n += max(1, (lbs+399)/400) + (lbs+19)/20
	}
	return n
}

// crash: the controller is killed after every prefix of the writes that create a Classic
// ELB (with a managed security group) and an NLB; each time the cloud converges to the same
// state with no duplicate resource.
var crash = contract.Crash{Cases: []contract.CrashCase{
	contract.CreateCase("clb", func(name string) *v1.Service {
		return newService(name, map[string]string{prefix + "connection-idle-timeout": "75", prefix + "additional-resource-tags": "k=v"}, withRanges("10.3.0.0/16"))
	}, func(t *testing.T, svc *v1.Service) error {
		return classicIs(func(lb *classicLB) error {
			return contract.FirstErr(
				contract.Want("idle", aws.ToInt32(lb.attrs.ConnectionSettings.IdleTimeout), int32(75)),
				contract.Want("tag", lb.tags["k"], "v"),
				contract.Want("instances", len(lb.registered()), 3),
				contract.Want("listeners", len(lb.desc.ListenerDescriptions), 1),
				sourceRanges(t, lb, "10.3.0.0/16"))
		})(t, svc)
	}, contract.OwnedCounts(cloud{}, map[string]int{"Classic ELB": 1, "security group": 1}, false)),
	contract.CreateCase("nlb", func(name string) *v1.Service {
		return newService(name, map[string]string{prefix + "type": "nlb", prefix + "healthcheck-interval": "20"})
	}, nlbIs(func(lb *networkLB) error {
		if len(lb.groups) != 1 {
			return fmt.Errorf("%d target groups, want 1", len(lb.groups))
		}
		return contract.FirstErr(
			contract.Want("targets", len(lb.groups[0].targets), 3),
			contract.Want("interval", aws.ToInt32(lb.groups[0].tg.HealthCheckIntervalSeconds), int32(20)),
			contract.Want("listeners", len(lb.listeners), 1))
	}), contract.OwnedCounts(cloud{}, map[string]int{"NLB": 1, "listener": 1, "target group": 1}, false)),
}}

// lifecycles change annotations of existing load balancers, and switch
// externalTrafficPolicy both ways: Local probes HTTP:<healthCheckNodePort>/healthz, Cluster
// the traffic node port over TCP.
func lifecycles(*testing.T) []contract.Scenario {
	classic := func(interval, idle int32, tags string, crossZone bool, ranges ...string) contract.Check {
		return func(t *testing.T, svc *v1.Service) error {
			return classicIs(func(lb *classicLB) error {
				got := lb.tags["team"] + "," + lb.tags["stage"]
				if lb.tags["owner"] != "" {
					got = lb.tags["team"] + "," + lb.tags["owner"]
				}
				return contract.FirstErr(
					contract.Want("interval", aws.ToInt32(lb.desc.HealthCheck.Interval), interval),
					contract.Want("idle", aws.ToInt32(lb.attrs.ConnectionSettings.IdleTimeout), idle),
					contract.Want("cross-zone", lb.attrs.CrossZoneLoadBalancing.Enabled, crossZone),
					contract.Want("tags", got, tags),
					sourceRanges(t, lb, ranges...))
			})(t, svc)
		}
	}
	network := func(interval int32, team string) contract.Check {
		return nlbIs(func(lb *networkLB) error {
			return contract.FirstErr(
				contract.Want("interval", aws.ToInt32(lb.groups[0].tg.HealthCheckIntervalSeconds), interval),
				contract.Want("tag team", lb.tags["team"], team))
		})
	}
	classicTarget := func(want func(svc *v1.Service) string) contract.Check {
		return func(t *testing.T, svc *v1.Service) error {
			return classicIs(func(lb *classicLB) error {
				return contract.Want("target", aws.ToString(lb.desc.HealthCheck.Target), want(svc))
			})(t, svc)
		}
	}
	nlbTarget := func(want func(svc *v1.Service) string) contract.Check {
		return func(t *testing.T, svc *v1.Service) error {
			return nlbIs(func(lb *networkLB) error { return contract.Want("health check", nlbCheck(lb), want(svc)) })(t, svc)
		}
	}
	trafficPort := func(svc *v1.Service) string { return fmt.Sprintf("TCP:%d", svc.Spec.Ports[0].NodePort) }
	healthz := func(svc *v1.Service) string { return fmt.Sprintf("HTTP:%d/healthz", svc.Spec.HealthCheckNodePort) }
	local := func(s *v1.Service) { s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal }
	cluster := func(s *v1.Service) { s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyCluster }
	return []contract.Scenario{{
		Name: "clb-annotations",
		Service: newService("web", map[string]string{
			prefix + "healthcheck-interval":              "10",
			prefix + "connection-idle-timeout":           "60",
			prefix + "additional-resource-tags":          "team=a,stage=dev",
			prefix + "cross-zone-load-balancing-enabled": "false",
		}, withRanges("10.0.0.0/8")),
		Steps: []contract.Step{
			{What: "created", Holds: classic(10, 60, "a,dev", false, "10.0.0.0/8")},
			{What: "changed", Change: func(s *v1.Service) {
				s.Annotations[prefix+"healthcheck-interval"] = "30"
				s.Annotations[prefix+"connection-idle-timeout"] = "300"
				s.Annotations[prefix+"additional-resource-tags"] = "team=b,owner=ops"
				s.Annotations[prefix+"cross-zone-load-balancing-enabled"] = "true"
				s.Spec.LoadBalancerSourceRanges = []string{"192.168.0.0/16", "172.16.0.0/12"}
			}, Holds: classic(30, 300, "b,ops", true, "172.16.0.0/12", "192.168.0.0/16")},
		},
	}, {
		Name: "nlb-annotations",
		Service: newService("udp", map[string]string{
			prefix + "type":                     "nlb",
			prefix + "healthcheck-interval":     "10",
			prefix + "additional-resource-tags": "team=a",
		}),
		Steps: []contract.Step{
			{What: "created", Holds: network(10, "a")},
			{What: "changed", Change: func(s *v1.Service) {
				s.Annotations[prefix+"healthcheck-interval"] = "30"
				s.Annotations[prefix+"additional-resource-tags"] = "team=b"
			}, Holds: network(30, "b")},
		},
	}, {
		Name: "clb-traffic-policy", Service: newService("clb", nil),
		Steps: []contract.Step{
			{What: "Cluster", Holds: classicTarget(trafficPort)},
			{What: "Local", Change: local, Holds: contract.All(func(_ *testing.T, svc *v1.Service) error {
				return atLeast("healthCheckNodePort the apiserver allocated", int(svc.Spec.HealthCheckNodePort), 1)
			}, classicTarget(healthz))},
		},
	}, {
		Name: "nlb-traffic-policy", Service: newService("nlb", nlb(), local),
		Steps: []contract.Step{
			{What: "Local", Holds: nlbTarget(healthz)},
			{What: "Cluster", Change: cluster, Holds: nlbTarget(trafficPort)},
		},
	}}
}

func atLeast(what string, got, floor int) error {
	if got < floor {
		return fmt.Errorf("%s = %d, want >= %d", what, got, floor)
	}
	return nil
}

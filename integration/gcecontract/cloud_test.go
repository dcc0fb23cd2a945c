package gcecontract_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	cloudprovider "k8s.io/cloud-provider"

	"github.com/cloudlb/cloudlb/fakecloud/fakecore"
	"github.com/cloudlb/cloudlb/integration/contract"
	cloudgce "github.com/cloudlb/cloudlb/providers/gce"
)

// cloud is the GCE side of the shared tests.
type cloud struct{}

var _ contract.Cloud = cloud{}

func (cloud) Tenants() contract.Config { return shared.tenants }

// GatedTenant is a tenant whose providers reach the fake through a gate of their own.
func (cloud) GatedTenant(t *testing.T) (*contract.Tenant, *contract.WriteGate) {
	t.Helper()
	g := &contract.WriteGate{IsWrite: isWrite, Refuse: func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `{"error":{"code":503,"message":"writeGate: the controller is considered dead","errors":[{"reason":"backendError","domain":"global","message":"writeGate"}]}}`)
	}}
	srv := httptest.NewServer(g.Wrap(shared.fake))
	t.Cleanup(srv.Close) // after the tenant's cleanup, which deletes through the gate
	return newTenantAt(t, srv.URL), g
}

// isWrite: every Compute call but GET, and operation waits and polls.
func isWrite(r *http.Request) bool {
	return r.Method != http.MethodGet && !strings.Contains(r.URL.Path, "/operations/")
}

func (cloud) Fake() contract.Fake { return shared.fake }

// Owned are the fake's resources whose description names the Service.
func (cloud) Owned(_ *testing.T, svc *v1.Service) ([]contract.Resource, error) {
	var out []contract.Resource
	for k := range resources(contract.Key(svc)) {
		kind, name, _ := strings.Cut(k, " ")
		out = append(out, contract.Resource{Kind: kind, Name: name})
	}
	return out, nil
}

// newTenantAt is a tenant whose providers talk to endpoint.
func newTenantAt(t *testing.T, endpoint string) *contract.Tenant {
	t.Helper()
	cfg := shared.tenants
	cfg.NewCloud = func(t *testing.T) cloudprovider.LoadBalancer { return newCloud(t, gceConf(endpoint)) }
	return contract.NewTenant(t, cfg)
}

// gceConf is the gce.conf the provider is built from: the fake's endpoint on loopback http,
// so no credentials are used.
func gceConf(endpoint string) string {
	return fmt.Sprintf("[global]\nproject-id = %s\nlocal-zone = %s-a\nnode-tags = %s\ncluster-id = %s\nsubnetwork-name = default\napi-endpoint = %s\n",
		project, region, nodeTag, clusterID, endpoint)
}

// newCloud is a fresh gce provider, as after a process start.
func newCloud(t *testing.T, conf string) *cloudgce.Cloud {
	p := contract.Must(cloudgce.NewFromConfig(context.Background(), contract.Must(cloudgce.ParseCloudConfig(strings.NewReader(conf)))(t)))(t)
	// The fake answers at once: a real project's 10 QPS would make the suite wait on the
	// token bucket. Throttling is what TestContract/Throttling injects.
	p.SetLimits(cloudgce.Limits{QPS: 2000, Burst: 2000, BaseBackoff: 20 * time.Millisecond, MaxBackoff: 500 * time.Millisecond})
	return p
}

var (
	newService = contract.NewService
	waitFor    = contract.WaitFor
)

var ilbAnnotations = map[string]string{internal: "Internal"}

// extAndILB are an external and an internal Service.
func extAndILB() []*v1.Service {
	return []*v1.Service{newService("ext", nil), newService("ilb", ilbAnnotations)}
}

func expects(svcs []*v1.Service) []contract.Expect {
	var out []contract.Expect
	for _, s := range svcs {
		out = append(out, contract.Expect{Service: s})
	}
	return out
}

var gceContract = contract.Contract{
	NoOpResync: func(*testing.T) contract.NoOpResync {
		return contract.NoOpResync{Services: expects(extAndILB()),
			// A restarted provider lists the cluster's rules and the target pools (one call
			// each per 500), and the Services' first syncs read nothing of their own but the
			// shared instance groups, once per zone for all internal Services (a Get and a
			// ListInstances for each of the two zones): at most a tenth of a read per Service
			// beyond those.
			Start: func(calls fakecore.Tally, services int) error {
				const listing, groups = 2, 2 * 2
				return contract.FirstErr(
					contract.AtMost("ForwardingRules.List", calls.Calls["ForwardingRules.List"], 1),
					contract.AtMost("forwarding rule reads", calls.Calls["ForwardingRules.Get"], services/10),
					contract.AtMost("reads", calls.Reads, services/10+listing+groups))
			}}
	},
	NodeChurn: func(*testing.T) contract.NodeChurn {
		return contract.NodeChurn{Services: extAndILB(), Node: node("spare", region+"-b"), Holds: nodesTargeted,
			// One AddInstance for the pool, one AddInstances for the group.
			Added: func(calls fakecore.Tally) error {
				return contract.FirstErr(contract.Want("TargetPools.AddInstance", calls.Calls["TargetPools.AddInstance"], 1),
					contract.Want("InstanceGroups.AddInstances", calls.Calls["InstanceGroups.AddInstances"], 1), contract.Want("writes", calls.Writes, 2))
			}}
	},
	Throttling: func(*testing.T) contract.Throttling {
		return contract.Throttling{Faults: fakecore.Faults{ThrottleRate: 0.1, ServerErrorRate: 0.05, OperationErrorRate: 0.05},
			Services: expects([]*v1.Service{newService("flaky", ilbAnnotations), newService("flaky-ext", nil)})}
	},
	Crash:       func(*testing.T) contract.Crash { return crash },
	Deletion:    func(*testing.T) []contract.Expect { return expects(extAndILB()) },
	Lifecycle:   lifecycles,
	Annotations: gceAnnotations,
	Seeds:       seeds,
}

// TestContract and TestContractParallel run the tests every cloud's suite shares
// (integration/contract) against the gce provider and fakegce.
func TestContract(t *testing.T) { contract.RunSerial(t, cloud{}, gceContract) }

func TestContractParallel(t *testing.T) { contract.RunParallel(t, cloud{}, gceContract) }

// node is a Node of the instance name in zone.
func node(name, zone string) *v1.Node {
	return &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{v1.LabelTopologyZone: zone}},
		Spec: v1.NodeSpec{ProviderID: providerID(name, zone)}}
}

// nodesTargeted checks that the external Service's target pool holds exactly the Nodes, and
// the cluster's instance group of each of their zones exactly that zone's.
func nodesTargeted(t *testing.T, svcs []*v1.Service, nodes []v1.Node) error {
	var all []string
	zones := map[string][]string{}
	for _, n := range nodes {
		all = append(all, n.Name)
		zones[n.Labels[v1.LabelTopologyZone]] = append(zones[n.Labels[v1.LabelTopologyZone]], n.Name)
	}
	slices.Sort(all)
	errs := []error{contract.Want("target pool", fmt.Sprint(targetPoolInstances(t, cloudgce.LoadBalancerName(svcs[0]))), fmt.Sprint(all))}
	for zone, names := range zones {
		slices.Sort(names)
		errs = append(errs, contract.Want("instance group in "+zone, fmt.Sprint(shared.fake.Members(zone, "k8s-ig--"+clusterID)), fmt.Sprint(names)))
	}
	return contract.FirstErr(errs...)
}

func localPolicy(s *v1.Service) { s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal }

// crash are Services whose creation or deletion the controller is cut off in: each time the
// cloud converges to the Service's exact set of objects. Shared objects left half-made are
// checked by TestMain, which requires an empty cloud at the end. Shared objects made by the
// first run make later ones shorter, never all of them: at least three runs are cut off.
var crash = func() contract.Crash {
	c := contract.Crash{PrivateGates: true, MinCuts: 3}
	for _, s := range []struct {
		name  string
		svc   func(name string) *v1.Service
		owned []string
	}{
		{"external-local", func(name string) *v1.Service {
			return newService(name, nil, localPolicy, func(s *v1.Service) { s.Spec.LoadBalancerSourceRanges = []string{"10.3.0.0/16"} })
		}, externalLocalOwned},
		{"internal-mixed", func(name string) *v1.Service {
			return newService(name, ilbAnnotations, func(s *v1.Service) {
				s.Spec.Ports = append(s.Spec.Ports, v1.ServicePort{Name: "dns", Protocol: v1.ProtocolUDP, Port: 53})
			})
		}, []string{"address <lb>", "forwardingRule <lb>", "forwardingRule <lb>-udp", "backendService <lb>", "firewall k8s-fw-<lb>"}},
		{"rbs", func(name string) *v1.Service {
			return newService(name, map[string]string{"cloud.google.com/l4-rbs": "enabled"})
		}, []string{"address <lb>", "forwardingRule <lb>", "backendService <lb>", "firewall k8s-fw-<lb>"}},
	} {
		c.Cases = append(c.Cases, contract.CreateCase(s.name, s.svc, ownedExactly(s.owned), nil),
			contract.DeleteCase(cloud{}, s.name, s.svc, ownedExactly(s.owned)))
	}
	return c
}()

// externalLocalOwned is what an external Service with externalTrafficPolicy Local owns.
var externalLocalOwned = []string{"address <lb>", "forwardingRule <lb>", "targetPool <lb>", "httpHealthCheck <lb>", "firewall k8s-fw-<lb>", "firewall k8s-<lb>-http-hc"}

// lifecycles are an external Service whose source ranges and traffic policy change, and an
// internal one.
func lifecycles(*testing.T) []contract.Scenario {
	var ip string
	lb := cloudgce.LoadBalancerName
	return []contract.Scenario{{
		Name: "external", Service: newService("web", nil),
		AtIngress: all(ownsAtLeast("forwardingRule <lb>", "address <lb>", "targetPool <lb>", "firewall k8s-fw-<lb>"),
			func(*testing.T, *v1.Service) error {
				return contract.Want("shared node health check", hasResource("httpHealthCheck", "k8s-"+clusterID+"-node"), true)
			}),
		Steps: []contract.Step{
			{What: "created", Holds: func(_ *testing.T, svc *v1.Service) error { ip = contract.Ingress(svc); return nil }},
			{What: "the firewall to allow only 10.0.0.0/8", Change: func(s *v1.Service) { s.Spec.LoadBalancerSourceRanges = []string{"10.0.0.0/8"} },
				Holds: func(t *testing.T, svc *v1.Service) error {
					fw := firewall(t, "k8s-fw-"+lb(svc))
					return contract.Want("firewall source ranges", fmt.Sprint(fw.GetSourceRanges()), "[10.0.0.0/8]")
				}},
			{What: "the per-Service health check firewall, the IP kept", Change: localPolicy,
				Holds: func(t *testing.T, svc *v1.Service) error {
					return contract.FirstErr(contract.Want("firewall k8s-"+lb(svc)+"-http-hc", firewall(t, "k8s-"+lb(svc)+"-http-hc") != nil, true),
						contract.Want("IP", contract.Ingress(svc), ip))
				}},
		},
	}, {
		Name: "internal", Service: newService("ilb", ilbAnnotations),
		AtIngress: all(ownsAtLeast("forwardingRule <lb>", "address <lb>", "backendService <lb>", "firewall k8s-fw-<lb>"),
			func(*testing.T, *v1.Service) error {
				ig := "k8s-ig--" + clusterID
				a, b := shared.fake.Members(region+"-a", ig), shared.fake.Members(region+"-b", ig)
				return contract.Want("zone a and b members", slices.Contains(a, "node-a1") && slices.Contains(a, "node-a2") && slices.Contains(b, "node-b1"), true)
			}),
		Steps: []contract.Step{{What: "created", Holds: func(*testing.T, *v1.Service) error { return nil }}},
	}}
}

var all = contract.All

package gcecontract_test

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	cloudprovider "k8s.io/cloud-provider"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/integration/contract"
	cloudgce "github.com/cloudlb/cloudlb/providers/gce"
)

// tenant is a contract.Tenant (one test's namespace, LoadBalancerClass and in-process
// controller; see integration/contract) whose controllers run the gce provider, with the
// helpers the suite's tests use.
type tenant struct {
	*contract.Tenant
	t  *testing.T
	cs kubernetes.Interface
	ns string
}

// newTenant is a tenant whose providers talk to the shared fake.
func newTenant(t *testing.T) *tenant { t.Helper(); return newTenantAt(t, shared.endpoint) }

// newTenantAt is a tenant whose providers talk to endpoint (a writeGate in front of the fake
// for TestKilledBetweenWrites).
func newTenantAt(t *testing.T, endpoint string) *tenant {
	t.Helper()
	ct := contract.NewTenant(t, contract.Config{
		REST: cp(shared.cp), NamespacePrefix: "gce", ClusterName: clusterName, AnnotationCloud: annotations.GCE,
		NewCloud: func(t *testing.T) cloudprovider.LoadBalancer { return newCloud(t, endpoint) },
	})
	return &tenant{Tenant: ct, t: t, cs: ct.CS, ns: ct.NS}
}

// gceConf is the gce.conf the provider is built from: the fake's endpoint on loopback http,
// so no credentials are used.
func gceConf(endpoint string) string {
	return fmt.Sprintf("[global]\nproject-id = %s\nlocal-zone = %s-a\nnode-tags = %s\ncluster-id = %s\nsubnetwork-name = default\napi-endpoint = %s\n",
		project, region, nodeTag, clusterID, endpoint)
}

// newCloud is a fresh gce provider, as after a process start.
func newCloud(t *testing.T, endpoint string) *cloudgce.Cloud {
	cc, err := cloudgce.ParseCloudConfig(strings.NewReader(gceConf(endpoint)))
	if err != nil {
		t.Fatal(err)
	}
	cloud, err := cloudgce.NewFromConfig(context.Background(), cc)
	if err != nil {
		t.Fatal(err)
	}
	// The fake answers at once: a real project's 10 QPS would make the suite wait on the
	// token bucket. Throttling is what TestThrottled injects.
	cloud.SetLimits(cloudgce.Limits{QPS: 2000, Burst: 2000, BaseBackoff: 20 * time.Millisecond, MaxBackoff: 500 * time.Millisecond})
	return cloud
}

var (
	newService = contract.NewService
	waitFor    = contract.WaitFor
)

func (tn *tenant) create(svc *v1.Service) *v1.Service {
	tn.t.Helper()
	return tn.Create(svc)
}

func (tn *tenant) update(name string, mutate func(*v1.Service)) *v1.Service {
	tn.t.Helper()
	return tn.Update(name, mutate)
}

// waitIngress waits until the Service reports an ingress IP and returns the Service.
func (tn *tenant) waitIngress(name string) *v1.Service {
	tn.t.Helper()
	return tn.WaitIngress(name, func(i v1.LoadBalancerIngress) bool { return i.IP != "" })
}

func (tn *tenant) restart() { tn.Restart() }

func (tn *tenant) deleteAll() { tn.DeleteAll() }

func (tn *tenant) waitGone(name string) { tn.WaitGone(name) }

// quiet is how long the fake must see no call for the controllers to count as settled.
const quiet = time.Second

// waitSettled waits until the fake has seen at least minCalls calls since its last reset
// and then none for quiet, and returns the calls.
func waitSettled(t *testing.T, minCalls int) map[string]int {
	t.Helper()
	last, changed := shared.fake.Calls(), time.Now()
	total := func(m map[string]int) (n int) {
		for _, v := range m {
			n += v
		}
		return n
	}
	waitFor(t, fmt.Sprintf("at least %d calls and then none for %s", minCalls, quiet), func() (bool, string) {
		cur := shared.fake.Calls()
		if !maps.Equal(cur, last) {
			last, changed = cur, time.Now()
		}
		return total(cur) >= minCalls && time.Since(changed) >= quiet, fmt.Sprint(cur)
	})
	return last
}

// writes counts the writes among calls (everything but reads and operation polls).
func writes(calls map[string]int) int {
	n := 0
	for k, v := range calls {
		api, method, _ := strings.Cut(k, ".")
		if strings.HasSuffix(api, "Operations") {
			continue
		}
		switch method {
		case "Get", "List", "AggregatedList", "ListInstances":
		default:
			n += v
		}
	}
	return n
}

// resources are the fake's resources of one Service (by the description naming it), plus,
// when shared, the cluster's shared ones, as "kind name".
func resources(service string) map[string]string {
	out := map[string]string{}
	for _, r := range shared.fake.Resources() {
		if strings.Contains(r.Description, `"kubernetes.io/service-name":"`+service+`"`) {
			out[strings.TrimPrefix(r.Kind, "compute#")+" "+r.Name] = r.Description
		}
	}
	return out
}

func hasResource(kind, name string) bool {
	for _, r := range shared.fake.Resources() {
		if r.Kind == "compute#"+kind && r.Name == name {
			return true
		}
	}
	return false
}

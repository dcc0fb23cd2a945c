package gce

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cloudlb/cloudlb/fakecloud/fakegce"
)

// env is one fake Compute endpoint and a provider built from a gce.conf pointing at it,
// with the real apiv1 REST clients.
type env struct {
	t     testing.TB
	fake  *fakegce.Server
	cloud *Cloud
	nodes []*v1.Node
	conf  *CloudConfig
}

func newEnv(t testing.TB) *env {
	t.Helper()
	fake := fakegce.New(fakegce.Options{Project: testProject, Region: testRegion})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	conf := fmt.Sprintf("[global]\nproject-id = %s\nlocal-zone = %s-a\nnode-tags = gke-demo-node\ncluster-id = demo\napi-endpoint = %s\nsubnetwork-name = default\n",
		testProject, testRegion, srv.URL)
	cfg, err := ParseCloudConfig(strings.NewReader(conf))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, fake: fake, conf: cfg}
	e.cloud = e.newCloud()
	for _, n := range []struct{ name, zone string }{{"n1", "us-central1-a"}, {"n2", "us-central1-a"}, {"n3", "us-central1-b"}} {
		e.addNode(n.name, n.zone)
	}
	return e
}

// newCloud is a provider over the env's fake as after a process start (empty caches).
func (e *env) newCloud() *Cloud {
	c, err := NewFromConfig(e.t.Context(), e.conf)
	if err != nil {
		e.t.Fatal(err)
	}
	// Fast, bounded retries: the fault tests inject throttling.
	c.SetLimits(Limits{QPS: 10000, Burst: 10000, BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
	return c
}

func (e *env) addNode(name, zone string) {
	e.fake.AddInstance(fakegce.Instance{Name: name, Zone: zone, Tags: []string{"gke-demo-node"}})
	e.nodes = append(e.nodes, testNode(name, zone, nil))
}

// build parses svc's annotations and builds its model, as EnsureLoadBalancer does.
func (e *env) build(svc *v1.Service) (*Model, error) {
	cfg, _, err := config(svc)
	if err != nil {
		return nil, err
	}
	return e.cloud.build(e.ctx(), "", svc, cfg, e.nodes)
}

func (e *env) ctx() context.Context {
	ctx, cancel := context.WithTimeout(e.t.Context(), 30*time.Second)
	e.t.Cleanup(cancel)
	return ctx
}

func (e *env) ensure(svc *v1.Service) *v1.LoadBalancerStatus {
	e.t.Helper()
	st, err := e.cloud.EnsureLoadBalancer(e.ctx(), "ignored", svc, e.nodes)
	if err != nil {
		e.t.Fatalf("EnsureLoadBalancer(%s): %v", svc.Name, err)
	}
	if len(st.Ingress) != 1 || st.Ingress[0].IP == "" {
		e.t.Fatalf("EnsureLoadBalancer(%s): status %+v", svc.Name, st)
	}
	return st
}

func (e *env) delete(svc *v1.Service) {
	e.t.Helper()
	if err := e.cloud.EnsureLoadBalancerDeleted(e.ctx(), "ignored", svc); err != nil {
		e.t.Fatalf("EnsureLoadBalancerDeleted(%s): %v", svc.Name, err)
	}
}

// names are the fake's resources as "kind name", sorted.
func (e *env) names() []string {
	var out []string
	for _, r := range e.fake.Resources() {
		out = append(out, strings.TrimPrefix(r.Kind, "compute#")+" "+r.Name)
	}
	sort.Strings(out)
	return out
}

func (e *env) has(kind, name string) bool {
	for _, n := range e.names() {
		if n == kind+" "+name {
			return true
		}
	}
	return false
}

// reads counts the calls that are not writes and not operation polls.
func (e *env) reads() int {
	n := 0
	for k, v := range e.fake.Calls() {
		api, method, _ := strings.Cut(k, ".")
		if strings.HasSuffix(api, "Operations") {
			continue
		}
		switch method {
		case "Get", "List", "AggregatedList", "ListInstances":
			n += v
		}
	}
	return n
}

// svc is a Service with its own UID.
func svc(name string, ann map[string]string, mutate ...func(*v1.Service)) *v1.Service {
	s := testService(ann, mutate...)
	s.Name = name
	s.UID = types.UID(fmt.Sprintf("%08x-0000-4000-8000-%012x", len(name), hash(name)))
	return s
}

func hash(s string) uint64 {
	var h uint64 = 1469598103934665603
	for _, c := range s {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return h & 0xffffffffffff
}

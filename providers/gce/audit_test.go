package gce

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cloudlb/cloudlb/providers"
)

func TestComputeWrite(t *testing.T) {
	t.Parallel()
	const base = "http://x/compute/v1/projects/p/regions/r/"
	tests := []struct {
		method, url, body string
		want              providers.Write
	}{
		{"POST", base + "forwardingRules", `{"name":"a1"}`,
			providers.Write{Cloud: "gce", Operation: "insert forwardingRules", Object: "projects/p/regions/r/forwardingRules/a1", Change: providers.ChangeCreated}},
		{"DELETE", base + "targetPools/a1", "",
			providers.Write{Cloud: "gce", Operation: "delete targetPools", Object: "projects/p/regions/r/targetPools/a1", Change: providers.ChangeDeleted}},
		{"POST", base + "targetPools/a1/addInstance", `{"instances":[]}`,
			providers.Write{Cloud: "gce", Operation: "targetPools.addInstance", Object: "projects/p/regions/r/targetPools/a1"}},
		{"PATCH", "http://x/compute/v1/projects/p/global/firewalls/k8s-fw-a1", `{}`,
			providers.Write{Cloud: "gce", Operation: "patch firewalls", Object: "projects/p/global/firewalls/k8s-fw-a1"}},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(tt.method, tt.url, bytes.NewReader([]byte(tt.body)))
		if err != nil {
			t.Fatal(err)
		}
		if got := computeWrite(req); got != tt.want {
			t.Errorf("%s %s: %+v, want %+v", tt.method, tt.url, got, tt.want)
		}
	}
}

// TestAuditWrites creates and deletes a Service's load balancer through the real compute
// clients: every write reaches the auditor once, and the forwarding rule and target pool are
// reported created and deleted.
func TestAuditWrites(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var mu sync.Mutex
	var writes []providers.Write
	ctx := providers.WithAuditor(e.ctx(), func(_ context.Context, w providers.Write, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			t.Errorf("write %+v failed: %v", w, err)
		}
		writes = append(writes, w)
	})
	s := svc("web", nil)
	if _, err := e.cloud.EnsureLoadBalancer(ctx, "ignored", s, e.nodes); err != nil {
		t.Fatal(err)
	}
	if err := e.cloud.EnsureLoadBalancerDeleted(ctx, "ignored", s); err != nil {
		t.Fatal(err)
	}
	var changes []string
	for _, w := range writes {
		if w.Change != providers.ChangeNone {
			changes = append(changes, string(w.Change)+" "+w.Operation)
		}
		if w.Reason == "" || w.Change == providers.ChangeDeleted && w.Reason != providers.ReasonDeleting {
			t.Errorf("write %+v: want a reason (the deletion's for a delete)", w)
		}
	}
	for _, want := range []string{"Created insert forwardingRules", "Created insert targetPools", "Deleted delete forwardingRules", "Deleted delete targetPools"} {
		if !slices.Contains(changes, want) {
			t.Errorf("no %q among %s", want, strings.Join(changes, "; "))
		}
	}
	served := 0
	for k, v := range e.fake.Calls() {
		if isFakeWrite(k) {
			served += v
		}
	}
	if len(writes) != served {
		t.Errorf("%d writes audited, the fake served %d", len(writes), served)
	}
}

// isFakeWrite reports whether a fakegce call key ("ForwardingRules.Insert") is a write: not a
// read and not an operation poll.
func isFakeWrite(key string) bool {
	api, method, _ := strings.Cut(key, ".")
	if strings.HasSuffix(api, "Operations") {
		return false
	}
	switch method {
	case "Get", "List", "AggregatedList", "ListInstances":
		return false
	}
	return true
}

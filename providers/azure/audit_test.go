package azure_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cloudlb/cloudlb/providers"
)

// TestAuditWrites creates and deletes a Service's load balancer through the real ARM clients:
// every write reaches the auditor once per call (long-running operations' polls are not
// writes), and the public IP and load balancer are reported created and deleted.
func TestAuditWrites(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	var mu sync.Mutex
	var writes []providers.Write
	ctx := providers.WithAuditor(testCtx(t), func(_ context.Context, w providers.Write, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			t.Errorf("write %+v failed: %v", w, err)
		}
		writes = append(writes, w)
	})
	before := e.srv.Writes()
	svc := service("web", "5f3e1c2a-8b7d-4e6f-9a1b-2c3d4e5f6a7b", nil)
	if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); err != nil {
		t.Fatal(err)
	}
	if err := e.cloud.EnsureLoadBalancerDeleted(ctx, cluster, svc); err != nil {
		t.Fatal(err)
	}
	var changes []string
	for _, w := range writes {
		if !strings.HasPrefix(w.Object, "/subscriptions/") {
			t.Errorf("write without a resource ID: %+v", w)
		}
		if w.Change != providers.ChangeNone {
			changes = append(changes, string(w.Change)+" "+w.Operation)
		}
		if w.Reason == "" || w.Change == providers.ChangeDeleted && w.Reason != providers.ReasonDeleting {
			t.Errorf("write %+v: want a reason (the deletion's for a delete)", w)
		}
	}
	for _, want := range []string{"Created PUT publicIPAddresses", "Deleted DELETE publicIPAddresses", "Created PUT loadBalancers", "Deleted DELETE loadBalancers"} {
		if !slices.Contains(changes, want) {
			t.Errorf("no %q among %s", want, strings.Join(changes, "; "))
		}
	}
	if served := e.srv.Writes() - before; len(writes) != served {
		t.Errorf("%d writes audited, the fake served %d", len(writes), served)
	}
}

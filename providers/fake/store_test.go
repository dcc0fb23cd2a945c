package fake

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	v1 "k8s.io/api/core/v1"
)

func TestStateSharedThroughTheFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state", "fake.json")
	a := newCloud(t, Config{StatePath: path, Identity: "a"})
	b := newCloud(t, Config{StatePath: path, Identity: "b"})
	svc := newService("web")

	ip := mustEnsure(t, a, testCluster, svc, nodes("n1"))
	if w := mustGet(t, b, LoadBalancerName(svc)).LastWriter; w != "a" {
		t.Errorf("LastWriter = %q after a created it, want a", w)
	}
	st, exists, err := b.GetLoadBalancer(ctx, testCluster, svc)
	if err != nil || !exists || st.Ingress[0].IP != ip {
		t.Fatalf("other instance: GetLoadBalancer = %+v, %v, %v; want %s", st, exists, err, ip)
	}
	b.ResetCalls()
	if got := mustEnsure(t, b, testCluster, svc, nodes("n1")); got != ip {
		t.Errorf("other instance: Ensure gave %s, want %s", got, ip)
	}
	wantCalls(t, b, 1, 0, nil)

	// A restarted process (a new instance) sees the same state, and writes of one instance
	// are seen by the other.
	restarted := newCloud(t, Config{StatePath: path, Identity: "restarted"})
	if err := restarted.UpdateLoadBalancer(ctx, testCluster, svc, nodes("n1", "n2")); err != nil {
		t.Fatal(err)
	}
	if lb := mustGet(t, a, LoadBalancerName(svc)); len(lb.Nodes) != 2 || lb.IP != ip || lb.LastWriter != "restarted" {
		t.Errorf("first instance sees %+v, want 2 nodes, IP %s and LastWriter restarted", lb, ip)
	}
	if err := b.EnsureLoadBalancerDeleted(ctx, testCluster, svc); err != nil {
		t.Fatal(err)
	}
	if _, exists, err := a.GetLoadBalancer(ctx, testCluster, svc); err != nil || exists {
		t.Errorf("first instance after delete: exists %v, err %v", exists, err)
	}
	if tmp, _ := filepath.Glob(path + ".tmp-*"); len(tmp) > 0 {
		t.Errorf("temporary files left behind: %q", tmp)
	}
}

func TestConcurrentEnsure(t *testing.T) {
	t.Parallel()
	const services = 50
	tests := []struct {
		name      string
		instances func(t *testing.T) [2]*Cloud
	}{
		{"two instances sharing a state file", func(t *testing.T) [2]*Cloud {
			path := filepath.Join(t.TempDir(), "fake.json")
			return [2]*Cloud{newCloud(t, Config{StatePath: path}), newCloud(t, Config{StatePath: path})}
		}},
		{"one in-memory instance", func(t *testing.T) [2]*Cloud {
			c := newCloud(t, Config{})
			return [2]*Cloud{c, c}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clouds := tt.instances(t)
			ips := make([][2]string, services)
			var wg sync.WaitGroup
			errs := make(chan error, 2*services)
			for i := range services {
				svc := newService(fmt.Sprintf("svc-%d", i))
				for j, c := range clouds {
					wg.Go(func() {
						ip, err := ensureRetryingConflicts(c, svc)
						ips[i][j] = ip
						if err != nil {
							errs <- err
						}
					})
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			lbs, err := clouds[0].LoadBalancers()
			if err != nil {
				t.Fatal(err)
			}
			if len(lbs) != services {
				t.Errorf("%d load balancers, want %d", len(lbs), services)
			}
			seen := map[string]string{}
			for _, lb := range lbs {
				if other, dup := seen[lb.IP]; dup {
					t.Errorf("address %s given to both %s and %s", lb.IP, other, lb.Name)
				}
				seen[lb.IP] = lb.Name
			}
			for i, pair := range ips {
				if pair[0] != pair[1] {
					t.Errorf("svc-%d: the instances report %s and %s", i, pair[0], pair[1])
				}
			}
		})
	}
}

// ensureRetryingConflicts ensures svc, retrying the conflict a concurrent create causes, as
// the controller's work queue would.
func ensureRetryingConflicts(c *Cloud, svc *v1.Service) (string, error) {
	for range 10 {
		st, err := c.EnsureLoadBalancer(context.Background(), testCluster, svc, nil)
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return "", err
		}
		return st.Ingress[0].IP, nil
	}
	return "", fmt.Errorf("%s: still conflicting after 10 attempts", svc.GetName())
}

func TestStateFileErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.json")
	if err := os.WriteFile(corrupt, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	notADir := filepath.Join(dir, "file")
	if err := os.WriteFile(notADir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
	}{
		{"corrupt state", corrupt, "decoding"},
		{"parent is a file", filepath.Join(notADir, "state.json"), "statePath"},
	}
	for _, tt := range tests {
		if _, err := New(Config{StatePath: tt.path}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: New error %v, want one mentioning %q", tt.name, err, tt.want)
		}
	}
}

// The in-memory store keeps one copy of a node list however many load balancers use it, and
// lets it go with the last of them.
func TestMemStoreSharesNodeLists(t *testing.T) {
	c := newCloud(t, Config{})
	ms := c.store.(*memStore)
	ns := nodes("a", "b", "c")
	for i := range 50 {
		mustEnsure(t, c, "c1", newService(fmt.Sprintf("web-%d", i)), ns)
	}
	steps := []struct {
		name            string
		do              func()
		wantLists, refs int
	}{
		{"50 load balancers, one list", func() {}, 1, 50},
		{"one moves to other nodes", func() {
			if err := c.UpdateLoadBalancer(context.Background(), "c1", newService("web-0"), nodes("a")); err != nil {
				t.Fatal(err)
			}
		}, 2, 49},
		{"one is deleted", func() {
			if err := c.EnsureLoadBalancerDeleted(context.Background(), "c1", newService("web-1")); err != nil {
				t.Fatal(err)
			}
		}, 2, 48},
	}
	for _, s := range steps {
		s.do()
		if ms.nodes.Len() != s.wantLists || ms.nodes.Holders([]string{"a", "b", "c"}) != s.refs {
			t.Errorf("%s: %d lists, %d holders of the shared one; want %d, %d", s.name, ms.nodes.Len(), ms.nodes.Holders([]string{"a", "b", "c"}), s.wantLists, s.refs)
		}
	}
}

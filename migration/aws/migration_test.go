package aws

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/providers"
)

// TestTakeoverAndBack: for each case the upstream provider creates the load balancer on
// node-1..3; cloudlb takes it over (EnsureLoadBalancer, same nodes; a second one writes
// nothing), applies a node change
// (UpdateLoadBalancer: node-4 joins, node-1 leaves), and the upstream provider takes it back
// (EnsureLoadBalancer, then UpdateLoadBalancer back to node-1..3). After every phase: the same
// DNS name, scheme, subnets and security groups, the status unchanged, no load balancer
// deleted or created, every listener's backends exactly the phase's nodes and never empty
// in between (the fake records it); cloudlb keeps upstream's target groups.
func TestTakeoverAndBack(t *testing.T) {
	t.Parallel()
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := newEnv(t, tc.globals)
			up, ours := e.upstream(t), e.cloudlb(t)
			svc := tc.service(e, i)
			first, second := e.nodes(1, 2, 3), e.nodes(2, 3, 4)

			status, err := up.EnsureLoadBalancer(ctx, cluster, svc, first)
			if err != nil {
				t.Fatalf("cloud-provider-aws creates the load balancer: %v", err)
			}
			svc.Status.LoadBalancer = *status
			created, err := e.state(ctx, svc, tc.nlb)
			if err != nil {
				t.Fatalf("read the load balancer upstream created: %v", err)
			}
			t.Logf("upstream created %s: %+v", lbName(svc), created)

			p := e.begin("cloudlb takes over (EnsureLoadBalancer, node-1..3)")
			status, err = ours.EnsureLoadBalancer(ctx, cluster, svc, first)
			status = tc.acceptRefusal(p, status, err)
			after := p.end(ctx, t, svc, tc.nlb, created, status, instances(first), true)

			p = e.begin("cloudlb syncs again (EnsureLoadBalancer, node-1..3): nothing to write")
			status, err = ours.EnsureLoadBalancer(ctx, cluster, svc, first)
			status = tc.acceptRefusal(p, status, err)
			if w := e.writesSince(p.mark); len(w) > 0 {
				p.problem("wrote on a sync with nothing to change: the takeover did not converge")
			}
			after = p.end(ctx, t, svc, tc.nlb, after, status, instances(first), true)

			p = e.begin("cloudlb applies a node change (UpdateLoadBalancer, node-2..4)")
			err = ours.UpdateLoadBalancer(ctx, cluster, svc, second)
			// A node change may report the refusal again but need not: the controller drops it
			// there (the nodes were applied) and leaves the Warning to the Service's own sync.
			onNodes := tc
			onNodes.mayRefuse = onNodes.mayRefuse || onNodes.refused != ""
			onNodes.refused = ""
			onNodes.acceptRefusal(p, &svc.Status.LoadBalancer, err)
			after = p.end(ctx, t, svc, tc.nlb, after, &svc.Status.LoadBalancer, instances(second), true)

			p = e.begin("cloud-provider-aws takes back (EnsureLoadBalancer, node-2..4)")
			status, err = up.EnsureLoadBalancer(ctx, cluster, svc, second)
			p.noError(err)
			after = p.end(ctx, t, svc, tc.nlb, after, status, instances(second), false)

			p = e.begin("cloud-provider-aws applies a node change (UpdateLoadBalancer, node-1..3)")
			p.noError(up.UpdateLoadBalancer(ctx, cluster, svc, first))
			p.end(ctx, t, svc, tc.nlb, after, &svc.Status.LoadBalancer, instances(first), false)
		})
	}
}

// TestDeleteAdopted: cloudlb deletes a load balancer upstream created, after taking it over
// and without (a Service deleted in the middle of a migration); nothing is left: no load
// balancer, listener, target group or security group but the nodes' own, and no rule in the
// nodes' group.
func TestDeleteAdopted(t *testing.T) {
	t.Parallel()
	for i, tc := range cases {
		for _, adopt := range []bool{true, false} {
			name := tc.name + ", taken over first"
			if !adopt {
				name = tc.name + ", not taken over"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				e := newEnv(t, tc.globals)
				up, ours := e.upstream(t), e.cloudlb(t)
				svc := tc.service(e, i)
				status, err := up.EnsureLoadBalancer(ctx, cluster, svc, e.nodes(1, 2, 3))
				if err != nil {
					t.Fatalf("cloud-provider-aws creates the load balancer: %v", err)
				}
				svc.Status.LoadBalancer = *status
				if adopt {
					_, err := ours.EnsureLoadBalancer(ctx, cluster, svc, e.nodes(1, 2, 3))
					if err != nil && providers.AsReplacementRefused(err) == nil {
						t.Errorf("cloudlb takes over: %v", err)
					}
				}
				mark := e.mark()
				if err := ours.EnsureLoadBalancerDeleted(ctx, cluster, svc); err != nil {
					t.Fatalf("cloudlb deletes: %v\n  writes: %s", err, strings.Join(e.writesSince(mark), ", "))
				}
				if _, exists, err := ours.GetLoadBalancer(ctx, cluster, svc); err != nil || exists {
					t.Errorf("GetLoadBalancer after deletion = exists %v, %v; want false, nil", exists, err)
				}
				if left := leftovers(e); len(left) > 0 {
					t.Errorf("cloudlb's deletion left:\n  %s\n  writes: %s", strings.Join(left, "\n  "), strings.Join(e.writesSince(mark), ", "))
				}
			})
		}
	}
}

// leftovers lists what the fake holds beyond the topology: load balancers, listeners, target
// groups, security groups but "nodes", and any ingress rule of "nodes".
func leftovers(e *env) []string {
	inv := e.srv.Inventory()
	var out []string
	for _, n := range inv.ClassicLoadBalancers {
		out = append(out, "classic load balancer "+n)
	}
	for _, n := range inv.LoadBalancers {
		out = append(out, "load balancer "+n)
	}
	for _, n := range inv.Listeners {
		out = append(out, "listener "+n)
	}
	for _, n := range inv.TargetGroups {
		out = append(out, "target group "+n)
	}
	for _, g := range inv.SecurityGroups {
		if g.Name != "nodes" {
			out = append(out, fmt.Sprintf("security group %s (%s) %q", g.Name, g.ID, g.Ingress))
			continue
		}
		for _, r := range g.Ingress {
			out = append(out, "rule of the nodes' group: "+r)
		}
	}
	return out
}

// phase is one provider's calls in a test and the problems found after them.
type phase struct {
	name     string
	e        *env
	mark     int
	emptied  int
	problems []string
}

func (e *env) begin(name string) *phase {
	return &phase{name: name, e: e, mark: e.mark(), emptied: len(e.srv.EmptiedBackends())}
}

func (p *phase) problem(format string, args ...any) {
	p.problems = append(p.problems, fmt.Sprintf(format, args...))
}

func (p *phase) noError(err error) {
	if err != nil {
		p.problem("error: %v", err)
	}
}

// acceptRefusal checks cloudlb's answer against the case's refusal rules and returns the
// status it gives: a ReplacementRefused is a success that keeps the load balancer.
func (c migrationCase) acceptRefusal(p *phase, status *v1.LoadBalancerStatus, err error) *v1.LoadBalancerStatus {
	rr := providers.AsReplacementRefused(err)
	switch {
	case rr != nil:
		if c.refused == "" && !c.mayRefuse {
			p.problem("unexpected ReplacementRefused: %v", err)
		}
		if c.refused != "" && !slices.ContainsFunc(rr.Changes, func(f providers.FieldChange) bool { return strings.Contains(f.Field, c.refused) }) {
			p.problem("ReplacementRefused does not name %q: %v", c.refused, err)
		}
		if rr.Status != nil {
			return rr.Status
		}
		return status
	case err != nil:
		p.problem("error: %v", err)
	case c.refused != "" && status != nil:
		p.problem("no ReplacementRefused naming %q: the Service asks for what only a new load balancer gives", c.refused)
	}
	return status
}

// end checks what must hold after every phase against the state before it, reports the
// problems with the phase's writes, and returns the state now.
func (p *phase) end(ctx context.Context, t *testing.T, svc *v1.Service, nlb bool, before lbState, status *v1.LoadBalancerStatus, want []string, keepGroups bool) lbState {
	t.Helper()
	writes := p.e.writesSince(p.mark)
	if status == nil {
		p.problem("no status")
	} else if !reflect.DeepEqual(status.Ingress, svc.Status.LoadBalancer.Ingress) {
		p.problem("status ingress %+v, was %+v", status.Ingress, svc.Status.LoadBalancer.Ingress)
	}
	for _, w := range writes {
		if strings.HasSuffix(w, ":DeleteLoadBalancer") || strings.HasSuffix(w, ":CreateLoadBalancer") {
			p.problem("%s: a migration must keep the load balancer", w)
		}
	}
	if emptied := p.e.srv.EmptiedBackends()[p.emptied:]; len(emptied) > 0 {
		p.problem("backends emptied: %s", strings.Join(emptied, "; "))
	}
	now, err := p.e.state(ctx, svc, nlb)
	if err != nil {
		p.problem("read the load balancer: %v", err)
		now = before
	}
	for _, f := range []struct {
		name       string
		have, want any
		check      bool
	}{
		{"DNS name", now.DNSName, before.DNSName, true},
		{"scheme", now.Scheme, before.Scheme, true},
		{"subnets", now.Subnets, before.Subnets, true},
		{"security groups", p.e.withoutBackend(now.SecurityGroups), p.e.withoutBackend(before.SecurityGroups), true},
		{"target groups", now.TargetGroups, before.TargetGroups, keepGroups},
		{"listeners", slices.Sorted(maps.Keys(now.Backends)), slices.Sorted(maps.Keys(before.Backends)), true},
	} {
		if f.check && !reflect.DeepEqual(f.have, f.want) {
			p.problem("%s %v, was %v", f.name, f.have, f.want)
		}
	}
	for l, ids := range now.Backends {
		if !slices.Equal(ids, want) {
			p.problem("listener %s: backends %v, want %v", l, ids, want)
		}
	}
	if len(p.problems) > 0 {
		t.Errorf("%s:\n  %s\n  writes: %s", p.name, strings.Join(p.problems, "\n  "), strings.Join(writes, ", "))
	} else {
		t.Logf("%s: writes: %s", p.name, strings.Join(writes, ", "))
	}
	return now
}

// withoutBackend leaves out of groups cloudlb's shared NLB backend group
// (k8s-cloudlb-backend-<cluster>): cloudlb attaches it to every NLB with security groups on
// takeover, so that the nodes' group lets in that one group rather than one per NLB, and
// cloud-provider-aws detaches it (and deletes it, its rules first) on taking the NLB back.
// The NLB's other groups must stay as they were. IDs seen once are remembered: after the
// take-back the group is gone.
func (e *env) withoutBackend(groups []string) []string {
	if e.backendGroups == nil {
		e.backendGroups = map[string]bool{}
	}
	for _, g := range e.srv.Inventory().SecurityGroups {
		if strings.HasPrefix(g.Name, "k8s-cloudlb-backend-") {
			e.backendGroups[g.ID] = true
		}
	}
	return slices.DeleteFunc(slices.Clone(groups), func(id string) bool { return e.backendGroups[id] })
}

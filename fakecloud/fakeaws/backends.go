package fakeaws

import (
	"fmt"
	"slices"

	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// The record of emptied backends. A load balancer whose backends all go away, even for the
// time between two calls, drops every connection it receives meanwhile: a Classic ELB with no
// registered instance, or an ELBv2 listener whose forward target groups hold no registered
// target. A provider that takes over or hands back a load balancer must never cause that, and
// no Describe call can show a moment that has passed, so the fake writes each one down.
//
// The operations that can empty a backend set that had members call, as their first line,
//
//	defer s.noteEmptied("Operation", s.backendCounts())
//
// which counts the members before the operation and compares after it: Classic
// DeregisterInstancesFromLoadBalancer, ELBv2 DeregisterTargets and ModifyListener (a listener
// pointed at an empty group, or an empty group weighted above the full one). Deleting a whole load balancer or listener is not counted: its
// traffic goes with it, and the call counters show those deletions.

// backendSet is one load balancer's (Classic) or listener's (ELBv2) set of backends.
type backendSet struct {
	// desc names it in the record: "classic load balancer a1b2" or
	// "listener TCP:80 of load balancer a1b2".
	desc    string
	members int
}

// backendCounts maps every Classic ELB (by name) and every ELBv2 listener (by ARN) to its
// backends now. It runs under s.mu.
func (s *Server) backendCounts() map[string]backendSet {
	out := map[string]backendSet{}
	for _, lb := range s.elb.lbs.list() {
		name := deref(lb.desc.LoadBalancerName)
		out["elb:"+name] = backendSet{desc: "classic load balancer " + name, members: len(lb.desc.Instances)}
	}
	for _, l := range s.elbv2.listeners.list() {
		lbName := deref(l.LoadBalancerArn)
		if lb, ok := s.elbv2.lbs.get(lbName); ok {
			lbName = deref(lb.lb.LoadBalancerName)
		}
		n := 0
		for _, arn := range servingGroups(l.DefaultActions) {
			if tg, ok := s.elbv2.tgs.get(arn); ok {
				n += len(tg.targets)
			}
		}
		out[deref(l.ListenerArn)] = backendSet{desc: fmt.Sprintf("listener %s:%d of load balancer %s", l.Protocol, deref(l.Port), lbName), members: n}
	}
	return out
}

// servingGroups lists the target groups the actions send traffic to: those of forward actions
// but the ones weighted 0, which stay attached (health-checked) without traffic.
func servingGroups(actions []elbv2types.Action) []string {
	var out []string
	for _, a := range actions {
		if a.ForwardConfig == nil || len(a.ForwardConfig.TargetGroups) == 0 {
			if a.TargetGroupArn != nil {
				out = append(out, *a.TargetGroupArn)
			}
			continue
		}
		for _, t := range a.ForwardConfig.TargetGroups {
			if t.TargetGroupArn != nil && (t.Weight == nil || *t.Weight > 0) && !slices.Contains(out, *t.TargetGroupArn) {
				out = append(out, *t.TargetGroupArn)
			}
		}
	}
	return out
}

// noteEmptied records every backend set that had members in before and has none after op.
// A set that is gone (its load balancer or listener deleted) is not recorded. It runs under
// s.mu.
func (s *Server) noteEmptied(op string, before map[string]backendSet) {
	after := s.backendCounts()
	keys := make([]string, 0, len(before))
	for k := range before {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		now, ok := after[k]
		if before[k].members > 0 && ok && now.members == 0 {
			s.elb.emptied = append(s.elb.emptied, fmt.Sprintf("%s: no backend after %s (had %d)", now.desc, op, before[k].members))
		}
	}
}

// EmptiedBackends lists, oldest first, every moment a load balancer's backends became empty
// after it had some: "classic load balancer NAME: no backend after
// DeregisterInstancesFromLoadBalancer (had 2)", "listener TCP:80 of load balancer NAME: no
// backend after ModifyListener (had 3)". Unlike the call counters it is never reset.
func (s *Server) EmptiedBackends() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.elb.emptied)
}

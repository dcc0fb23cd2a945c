package fakeaws

// Inventory is what the fake holds, for tests that assert a deletion left nothing behind
// without going through the API (and its call counters).
type Inventory struct {
	// ClassicLoadBalancers are Classic ELB names.
	ClassicLoadBalancers []string
	// LoadBalancers are ELBv2 load balancer names.
	LoadBalancers []string
	// TargetGroups are ELBv2 target group names.
	TargetGroups []string
	// Listeners are ELBv2 listener ARNs.
	Listeners []string
	// SecurityGroups are all groups but the VPCs' "default" ones.
	SecurityGroups []InventoryGroup
	// Instances are the IDs of instances not terminated.
	Instances []string
}

// InventoryGroup is one security group and its ingress rules, one per source.
type InventoryGroup struct {
	ID, Name, VpcID string
	// Ingress has one "proto from-to source description" line per rule.
	Ingress []string
}

// Inventory returns a snapshot of the fake's resources in creation order.
func (s *Server) Inventory() Inventory {
	s.mu.Lock()
	defer s.mu.Unlock()
	var inv Inventory
	for _, lb := range s.elb.lbs.list() {
		inv.ClassicLoadBalancers = append(inv.ClassicLoadBalancers, *lb.desc.LoadBalancerName)
	}
	for _, lb := range s.elbv2.lbs.list() {
		inv.LoadBalancers = append(inv.LoadBalancers, *lb.lb.LoadBalancerName)
	}
	for _, tg := range s.elbv2.tgs.list() {
		inv.TargetGroups = append(inv.TargetGroups, *tg.tg.TargetGroupName)
	}
	for _, l := range s.elbv2.listeners.list() {
		inv.Listeners = append(inv.Listeners, *l.ListenerArn)
	}
	for _, g := range s.ec2.groups.list() {
		if g.name == "default" {
			continue
		}
		ig := InventoryGroup{ID: g.id, Name: g.name, VpcID: g.vpcID}
		for _, r := range g.ingress {
			src := r.cidr + r.cidr6 + r.group + r.prefixList
			ig.Ingress = append(ig.Ingress, fmtRule(r.proto, r.from, r.to, src, r.description))
		}
		inv.SecurityGroups = append(inv.SecurityGroups, ig)
	}
	for _, i := range s.ec2.instances.list() {
		if i.State.Name != "terminated" {
			inv.Instances = append(inv.Instances, *i.InstanceId)
		}
	}
	return inv
}

// ClassicLB is one Classic ELB with what a demo shows of it.
type ClassicLB struct {
	Name, DNSName, Scheme string
	// Instances are the registered instance IDs.
	Instances []string
}

// ClassicLoadBalancers returns the Classic ELBs in creation order.
func (s *Server) ClassicLoadBalancers() []ClassicLB {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ClassicLB
	for _, lb := range s.elb.lbs.list() {
		c := ClassicLB{Name: deref(lb.desc.LoadBalancerName), DNSName: deref(lb.desc.DNSName), Scheme: deref(lb.desc.Scheme)}
		for _, i := range lb.desc.Instances {
			c.Instances = append(c.Instances, deref(i.InstanceId))
		}
		out = append(out, c)
	}
	return out
}

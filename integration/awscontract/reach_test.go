package awscontract_test

import (
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
)

// The tests in this file make the provider call the verbs of its AWS interfaces that no other
// case of the suite reaches, so that every verb it can call is served to it once and the IAM
// policy check (permissions_test.go) proves each action it grants.

// TestClassicSubnetDropped removes a subnet from aws-load-balancer-subnets: the Classic ELB
// leaves it (DetachLoadBalancerFromSubnets), the reverse of the clb-subnets annotation case.
func TestClassicSubnetDropped(t *testing.T) {
	t.Parallel()
	net := shared.net
	tn := newTenant(t)
	svc := tn.Create(newService("clb-detach", map[string]string{prefix + "subnets": net.public[0] + "," + net.public[1]}))
	waitClassic(t, key(svc), func(lb *classicLB) error {
		return want("subnets", fmt.Sprint(sorted(lb.desc.Subnets)), fmt.Sprint(sorted(net.public[:2])))
	})
	tn.Update(svc.Name, func(s *v1.Service) { s.Annotations[prefix+"subnets"] = net.public[0] })
	waitClassic(t, key(svc), func(lb *classicLB) error {
		return want("subnets", fmt.Sprint(lb.desc.Subnets), fmt.Sprint(net.public[:1]))
	})
}

// TestNLBOwnSecurityGroupsChanged swaps the Service's own security group of an NLB created
// with one (aws-load-balancer-security-groups): it changes in place (SetSecurityGroups).
func TestNLBOwnSecurityGroupsChanged(t *testing.T) {
	t.Parallel()
	net := shared.net
	tn := newTenant(t)
	ann := nlb()
	ann[prefix+"security-groups"] = net.extraGroups[0]
	svc := tn.Create(newService("nlb-own-groups", ann))
	first := waitNLB(t, key(svc), func(lb *networkLB) error {
		return want("security groups", fmt.Sprint(lb.lb.SecurityGroups), fmt.Sprint(net.extraGroups[:1]))
	})
	tn.Update(svc.Name, func(s *v1.Service) { s.Annotations[prefix+"security-groups"] = net.extraGroups[1] })
	waitNLB(t, key(svc), func(lb *networkLB) error {
		return firstErr(want("security groups", fmt.Sprint(lb.lb.SecurityGroups), fmt.Sprint(net.extraGroups[1:2])),
			want("same NLB", *lb.lb.LoadBalancerArn, *first.lb.LoadBalancerArn))
	})
}

package awscontract_test

import (
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/integration/contract"
)

// The tests in this file make the provider call the verbs of its AWS interfaces that no other
// case of the suite reaches, so that every verb it can call is served to it once and the IAM
// policy check (permissions_test.go) proves each action it grants.

// TestClassicSubnetDropped removes a subnet from aws-load-balancer-subnets: the Classic ELB
// leaves it (DetachLoadBalancerFromSubnets), the reverse of the clb-subnets annotation case.
func TestClassicSubnetDropped(t *testing.T) {
	t.Parallel()
	net := shared.net
	tn := contract.NewTenant(t, shared.tenants)
	svc := tn.Create(newService("clb-detach", map[string]string{prefix + "subnets": net.public[0] + "," + net.public[1]}))
	tn.WaitCheck(svc.Name, "the Classic ELB", classicIs(func(lb *classicLB) error {
		return contract.Want("subnets", fmt.Sprint(sorted(lb.desc.Subnets)), fmt.Sprint(sorted(net.public[:2])))
	}))
	tn.Update(svc.Name, func(s *v1.Service) { s.Annotations[prefix+"subnets"] = net.public[0] })
	tn.WaitCheck(svc.Name, "the Classic ELB", classicIs(func(lb *classicLB) error {
		return contract.Want("subnets", fmt.Sprint(lb.desc.Subnets), fmt.Sprint(net.public[:1]))
	}))
}

// TestNLBOwnSecurityGroupsChanged swaps the Service's own security group of an NLB created
// with one (aws-load-balancer-security-groups): it changes in place (SetSecurityGroups).
func TestNLBOwnSecurityGroupsChanged(t *testing.T) {
	t.Parallel()
	net := shared.net
	tn := contract.NewTenant(t, shared.tenants)
	ann := nlb()
	ann[prefix+"security-groups"] = net.extraGroups[0]
	svc := tn.Create(newService("nlb-own-groups", ann))
	first := waitNLB(tn, svc, func(lb *networkLB) error {
		return contract.Want("security groups", fmt.Sprint(lb.lb.SecurityGroups), fmt.Sprint(net.extraGroups[:1]))
	})
	tn.Update(svc.Name, func(s *v1.Service) { s.Annotations[prefix+"security-groups"] = net.extraGroups[1] })
	waitNLB(tn, svc, func(lb *networkLB) error {
		return contract.FirstErr(contract.Want("security groups", fmt.Sprint(lb.lb.SecurityGroups), fmt.Sprint(net.extraGroups[1:2])),
			contract.Want("same NLB", *lb.lb.LoadBalancerArn, *first.lb.LoadBalancerArn))
	})
}

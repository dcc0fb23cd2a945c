package awscontract_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cloudlb/cloudlb/fakecloud/fakeaws"
	"github.com/cloudlb/cloudlb/fakecloud/fakecore"
	"github.com/cloudlb/cloudlb/integration/contract"
	cloudaws "github.com/cloudlb/cloudlb/providers/aws"
)

// TestFaultsLeaveNothing drives Classic ELBs and NLBs (internal, Local, TLS, several ports)
// through creation, changes that replace target groups and load balancers, and deletion,
// while the fake throttles writes above a request rate, fails calls, and performs writes
// whose answers it then loses, some
// operations fail several times in a row, and the controller is restarted in the middle of
// each phase. Once every Service is gone the cloud holds nothing of them: no load
// balancer, listener, target group, security group, or rule in the node group.
func TestFaultsLeaveNothing(t *testing.T) {
	fake := requireFake(t, "injects faults")
	start := time.Now()
	tn := contract.NewTenant(t, shared.tenants)
	// Throttling slows the controller down by design (the provider's shared limiter halves its
	// rate after a mostly throttled window; retries back off with jitter).
	tn.Timeout = 2 * time.Minute
	// Writes above 4 a second per API are throttled, as AWS's request-rate buckets do (a
	// creation burst of 8 Services is far above it); 3% of calls fail with a 5xx and 5% of
	// writes are performed but answered with one.
	fake.SetFaults(fakecore.Faults{WriteRateLimit: 4, WriteBurst: 8, ServerErrorRate: 0.03, LoseResponseRate: 0.05})
	t.Cleanup(func() { fake.SetFaults(fakecore.Faults{}) })
	twoPorts := func(s *v1.Service) {
		s.Spec.Ports = append(s.Spec.Ports, v1.ServicePort{Name: "https", Protocol: v1.ProtocolTCP, Port: 443})
	}
	local := func(s *v1.Service) { s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal }
	ranges := func(s *v1.Service) { s.Spec.LoadBalancerSourceRanges = []string{"10.7.0.0/16"} }
	nlbWith := func(kv ...string) map[string]string {
		a := nlb()
		for i := 0; i+1 < len(kv); i += 2 {
			a[prefix+kv[i]] = kv[i+1]
		}
		return a
	}
	specs := []*v1.Service{
		newService("clb", nil, twoPorts, ranges),
		newService("clb-internal", map[string]string{prefix + "internal": "true"}),
		newService("clb-local", nil, local),
		newService("clb-to-nlb", nil, twoPorts),
		newService("nlb", nlbWith(), twoPorts, ranges),
		newService("nlb-internal", nlbWith("internal", "true")),
		newService("nlb-local", nlbWith(), local),
		newService("nlb-hc", nlbWith(), twoPorts),
		newService("nlb-tls", nlbWith("ssl-cert", cert1, "ssl-ports", "443"), twoPorts),
		newService("clb-tls", map[string]string{prefix + "ssl-cert": cert1, prefix + "ssl-ports": "443"}, twoPorts),
	}
	var created []*v1.Service
	var keys []string
	for _, s := range specs {
		created = append(created, tn.Create(s))
		keys = append(keys, contract.Key(created[len(created)-1]))
	}
	fake.FailNext(fakeaws.NewCall(fakeaws.ServiceELBv2, "CreateListener"), 2, &fakecore.APIError{Code: "ServiceUnavailable", Status: 503})
	tn.Restart()
	var names []string
	for _, s := range specs {
		names = append(names, cloudaws.LoadBalancerName(tn.WaitIngress(s.Name, nil)))
	}
	t.Logf("%s: every Service has an address", time.Since(start))

	// Changes that replace target groups (health-check protocol, ports), the scheme of an
	// NLB, and the kind of load balancer; the old groups' deletion fails for a while.
	fake.FailNext(fakeaws.NewCall(fakeaws.ServiceELBv2, "DeleteTargetGroup"), 3, &fakecore.APIError{Code: "ResourceInUse", Status: 400})
	tn.Update("nlb-hc", func(s *v1.Service) { s.Annotations[prefix+"healthcheck-protocol"] = "http" })
	tn.Update("nlb", func(s *v1.Service) { s.Spec.Ports = s.Spec.Ports[:1] })
	tn.Update("nlb-internal", func(s *v1.Service) { delete(s.Annotations, prefix+"internal") })
	tn.Update("clb-to-nlb", func(s *v1.Service) { s.Annotations[prefix+"type"] = "nlb" })
	tn.Update("clb", func(s *v1.Service) { s.Spec.LoadBalancerSourceRanges = []string{"10.8.0.0/16"} })
	tn.Restart()
	waitNLB(tn, created[7], func(lb *networkLB) error {
		if len(lb.groups) != 2 {
			return fmt.Errorf("%d target groups, want 2", len(lb.groups))
		}
		return contract.Want("health check", string(lb.groups[0].tg.HealthCheckProtocol), "HTTP")
	})
	waitNLB(tn, created[4], func(lb *networkLB) error { return contract.Want("listeners", len(lb.listeners), 1) })
	waitNLB(tn, created[5], func(lb *networkLB) error { return contract.Want("scheme", string(lb.lb.Scheme), "internet-facing") })
	waitNLB(tn, created[3], func(lb *networkLB) error { return contract.Want("listeners", len(lb.listeners), 2) })

	t.Logf("%s: every change applied", time.Since(start))

	// Deletion, with a restart half-way and DeleteTargetGroup in use for a while again.
	fake.FailNext(fakeaws.NewCall(fakeaws.ServiceELBv2, "DeleteTargetGroup"), 3, &fakecore.APIError{Code: "ResourceInUse", Status: 400})
	for _, s := range specs[:4] {
		if err := tn.CS.CoreV1().Services(tn.NS).Delete(t.Context(), s.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	tn.Restart()
	tn.DeleteAll()
	t.Logf("%s: every Service deleted", time.Since(start))
	c := fake.Tally()
	t.Logf("created, changed and deleted %d Services under faults: %d writes, %d reads, %d throttled, %d failed, %d answers lost\n%s", len(specs), c.Writes, c.Reads, c.Throttled, c.Failed, c.Lost, c)
	fake.SetFaults(fakecore.Faults{})
	assertNothingLeft(t, keys...)
	assertNoNodeRules(t, names...)
}

// assertNoNodeRules fails t when the node group still has a rule whose description names one
// of the load balancers.
func assertNoNodeRules(t *testing.T, names ...string) {
	t.Helper()
	out, err := shared.ec2.DescribeSecurityGroups(t.Context(), &ec2.DescribeSecurityGroupsInput{GroupIds: []string{shared.net.nodeGroup}})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range out.SecurityGroups {
		for _, p := range g.IpPermissions {
			var descs []string
			for _, r := range p.IpRanges {
				descs = append(descs, aws.ToString(r.Description))
			}
			for _, r := range p.Ipv6Ranges {
				descs = append(descs, aws.ToString(r.Description))
			}
			for _, r := range p.UserIdGroupPairs {
				descs = append(descs, aws.ToString(r.Description)+" from "+aws.ToString(r.GroupId))
			}
			for _, d := range descs {
				for _, n := range names {
					if strings.Contains(d, n) {
						t.Errorf("node group rule left: %s %d-%d %q", aws.ToString(p.IpProtocol), aws.ToInt32(p.FromPort), aws.ToInt32(p.ToPort), d)
					}
				}
			}
		}
	}
}

// TestDeletedByHand removes a Classic ELB and an NLB through the API behind the controller's
// back, then deletes their Services: each is released once nothing of it is left (its
// target group, managed security group and node rules are found by their tags and names).
func TestDeletedByHand(t *testing.T) {
	t.Parallel()
	tn := contract.NewTenant(t, shared.tenants)
	clb := tn.Create(newService("clb", nil, func(s *v1.Service) { s.Spec.LoadBalancerSourceRanges = []string{"10.9.0.0/16"} }))
	nl := tn.Create(newService("nlb", nlb()))
	clbName := cloudaws.LoadBalancerName(tn.WaitIngress(clb.Name, nil))
	nlbName := cloudaws.LoadBalancerName(tn.WaitIngress(nl.Name, nil))
	lb := waitNLB(tn, nl, func(*networkLB) error { return nil })
	if _, err := shared.elb.DeleteLoadBalancer(t.Context(), &elb.DeleteLoadBalancerInput{LoadBalancerName: aws.String(clbName)}); err != nil {
		t.Fatal(err)
	}
	if _, err := shared.elb2.DeleteLoadBalancer(t.Context(), &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: lb.lb.LoadBalancerArn}); err != nil {
		t.Fatal(err)
	}
	tn.DeleteAll()
	assertNothingLeft(t, contract.Key(clb), contract.Key(nl))
	assertNoNodeRules(t, clbName, nlbName)
}

package awscontract_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cloudlb/cloudlb/fakecloud/fakeaws"
	"github.com/cloudlb/cloudlb/fakecloud/fakecore"
	"github.com/cloudlb/cloudlb/servicecontroller"
)

func nlb() map[string]string { return map[string]string{prefix + "type": "nlb"} }

// quiet is how long the fake must see no call for the controllers to count as settled.
const quiet = time.Second

// waitSettled waits until the fake has seen at least minReads reads (ELB and ELBv2) since its
// last reset and then no call for quiet, and returns the counts.
func waitSettled(t *testing.T, fake *fakeaws.Server, minReads int) counts {
	t.Helper()
	last, changed := fake.Calls(), time.Now()
	waitFor(t, fmt.Sprintf("at least %d reads and then none for %s", minReads, quiet), func() (bool, string) {
		cur := fake.Calls()
		if !maps.Equal(cur, last) {
			last, changed = cur, time.Now()
		}
		return countCalls(cur).reads >= minReads && time.Since(changed) >= quiet, countCalls(cur).summary
	})
	return countCalls(last)
}

// TestNoOpResync converges a Classic ELB and an NLB, then restarts the controller (its
// initial resync) and runs it with a short drift-repair period: neither may write, and each
// pass may read at most twice per Service.
func TestNoOpResync(t *testing.T) {
	fake := requireFake(t, "counts calls")
	tn := newTenant(t)
	clb := tn.Create(newService("clb", map[string]string{prefix + "healthcheck-interval": "15"}))
	nl := tn.Create(newService("nlb", nlb()))
	tn.WaitIngress(clb.Name, nil)
	tn.WaitIngress(nl.Name, nil)
	waitClassic(t, key(clb), func(*classicLB) error { return nil })
	waitNLB(t, key(nl), func(lb *networkLB) error { return want("targets", len(lb.groups[0].targets), 3) })
	const services = 2
	waitSettled(t, fake, 0)

	fake.ResetCalls()
	tn.Restart()
	c := waitSettled(t, fake, services)
	t.Logf("restart resync of %d Services: %d writes, %d ELB reads, %d EC2 reads\n%s", services, c.writes, c.reads, c.ec2Reads, c.summary)
	if c.writes != 0 || c.reads > 2*services {
		t.Errorf("restart resync: %d writes (want 0) and %d ELB reads (want <= %d)\n%s", c.writes, c.reads, 2*services, c.summary)
	}
	// The network (subnets, route tables) and the VPC's instances (the node groups the
	// node-rules hash covers) are read once per provider start, not per Service.
	if c.ec2Reads > 3 {
		t.Errorf("restart resync: %d EC2 reads, want <= 3 (one network discovery, one instance listing)\n%s", c.ec2Reads, c.summary)
	}

	const period, passes = 400 * time.Millisecond, 3
	fake.ResetCalls()
	began := time.Now()
	tn.Restart(func(o *servicecontroller.Options) { o.DriftRepairPeriod = period })
	waitFor(t, fmt.Sprintf("%d drift-repair passes", passes), func() (bool, string) {
		return time.Since(began) >= passes*period, ""
	})
	tn.Stop()
	elapsed := time.Since(began)
	c = countCalls(fake.Calls())
	// The initial resync plus one pass per period started.
	maxPasses := 1 + int(elapsed/period) + 1
	t.Logf("drift repair every %s for %s: %d writes, %d ELB reads (<= %d passes), %d EC2 reads\n%s", period, elapsed.Round(time.Millisecond), c.writes, c.reads, maxPasses, c.ec2Reads, c.summary)
	if c.writes != 0 {
		t.Errorf("drift repair wrote %d times, want 0\n%s", c.writes, c.summary)
	}
	if c.reads > 2*services*maxPasses {
		t.Errorf("drift repair: %d ELB reads over at most %d passes, want <= %d\n%s", c.reads, maxPasses, 2*services*maxPasses, c.summary)
	}
	tn.Restart() // for the cleanup's deletions
}

// TestAnnotationChanges changes annotations of existing load balancers; the cloud follows.
func TestAnnotationChanges(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	svc := tn.Create(newService("web", map[string]string{
		prefix + "healthcheck-interval":              "10",
		prefix + "connection-idle-timeout":           "60",
		prefix + "additional-resource-tags":          "team=a,stage=dev",
		prefix + "cross-zone-load-balancing-enabled": "false",
	}, func(s *v1.Service) { s.Spec.LoadBalancerSourceRanges = []string{"10.0.0.0/8"} }))
	nl := tn.Create(newService("udp", map[string]string{
		prefix + "type":                     "nlb",
		prefix + "healthcheck-interval":     "10",
		prefix + "additional-resource-tags": "team=a",
	}))
	tn.WaitIngress(svc.Name, nil)
	tn.WaitIngress(nl.Name, nil)
	waitClassic(t, key(svc), func(lb *classicLB) error {
		return firstErr(
			want("interval", aws.ToInt32(lb.desc.HealthCheck.Interval), int32(10)),
			want("idle", aws.ToInt32(lb.attrs.ConnectionSettings.IdleTimeout), int32(60)),
			want("tags", lb.tags["team"]+","+lb.tags["stage"], "a,dev"),
			sourceRanges(t, lb, "10.0.0.0/8"),
		)
	})
	waitNLB(t, key(nl), func(lb *networkLB) error {
		return firstErr(
			want("interval", aws.ToInt32(lb.groups[0].tg.HealthCheckIntervalSeconds), int32(10)),
			want("tag team", lb.tags["team"], "a"))
	})

	tn.Update(svc.Name, func(s *v1.Service) {
		s.Annotations[prefix+"healthcheck-interval"] = "30"
		s.Annotations[prefix+"connection-idle-timeout"] = "300"
		s.Annotations[prefix+"additional-resource-tags"] = "team=b,owner=ops"
		s.Annotations[prefix+"cross-zone-load-balancing-enabled"] = "true"
		s.Spec.LoadBalancerSourceRanges = []string{"192.168.0.0/16", "172.16.0.0/12"}
	})
	tn.Update(nl.Name, func(s *v1.Service) {
		s.Annotations[prefix+"healthcheck-interval"] = "30"
		s.Annotations[prefix+"additional-resource-tags"] = "team=b"
	})
	waitClassic(t, key(svc), func(lb *classicLB) error {
		return firstErr(
			want("interval", aws.ToInt32(lb.desc.HealthCheck.Interval), int32(30)),
			want("idle", aws.ToInt32(lb.attrs.ConnectionSettings.IdleTimeout), int32(300)),
			want("cross-zone", lb.attrs.CrossZoneLoadBalancing.Enabled, true),
			want("tags", lb.tags["team"]+","+lb.tags["owner"], "b,ops"),
			sourceRanges(t, lb, "172.16.0.0/12", "192.168.0.0/16"),
		)
	})
	waitNLB(t, key(nl), func(lb *networkLB) error {
		return firstErr(
			want("interval", aws.ToInt32(lb.groups[0].tg.HealthCheckIntervalSeconds), int32(30)),
			want("tag team", lb.tags["team"], "b"))
	})
}

// sourceRanges checks the CIDRs let into the Classic ELB's managed security group.
func sourceRanges(t *testing.T, lb *classicLB, cidrs ...string) error {
	out, err := shared.ec2.DescribeSecurityGroups(t.Context(), &ec2.DescribeSecurityGroupsInput{GroupIds: lb.desc.SecurityGroups})
	if err != nil {
		return err
	}
	var got []string
	for _, g := range out.SecurityGroups {
		if !strings.HasPrefix(aws.ToString(g.GroupName), "k8s-elb-") {
			continue
		}
		for _, p := range g.IpPermissions {
			for _, r := range p.IpRanges {
				if c := aws.ToString(r.CidrIp); !slices.Contains(got, c) {
					got = append(got, c)
				}
			}
		}
	}
	slices.Sort(got)
	return want("source ranges", fmt.Sprint(got), fmt.Sprint(cidrs))
}

// TestTrafficPolicy switches externalTrafficPolicy both ways: Local probes
// HTTP:<healthCheckNodePort>/healthz, Cluster the traffic node port over TCP.
func TestTrafficPolicy(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	clb := tn.Create(newService("clb", nil))
	nl := tn.Create(newService("nlb", nlb(), func(s *v1.Service) { s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal }))
	clb = tn.WaitIngress(clb.Name, nil)
	nl = tn.WaitIngress(nl.Name, nil)
	np := clb.Spec.Ports[0].NodePort
	waitClassic(t, key(clb), func(lb *classicLB) error {
		return want("target", aws.ToString(lb.desc.HealthCheck.Target), fmt.Sprintf("TCP:%d", np))
	})
	waitNLB(t, key(nl), func(lb *networkLB) error {
		return want("health check", nlbCheck(lb), fmt.Sprintf("HTTP:%d/healthz", nl.Spec.HealthCheckNodePort))
	})

	clb = tn.Update(clb.Name, func(s *v1.Service) { s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal })
	nl = tn.Update(nl.Name, func(s *v1.Service) { s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyCluster })
	if clb.Spec.HealthCheckNodePort == 0 {
		t.Fatal("the apiserver allocated no healthCheckNodePort")
	}
	waitClassic(t, key(clb), func(lb *classicLB) error {
		return want("target", aws.ToString(lb.desc.HealthCheck.Target), fmt.Sprintf("HTTP:%d/healthz", clb.Spec.HealthCheckNodePort))
	})
	waitNLB(t, key(nl), func(lb *networkLB) error {
		return want("health check", nlbCheck(lb), fmt.Sprintf("TCP:%d", nl.Spec.Ports[0].NodePort))
	})
}

// nlbCheck renders the first target group's health check as PROTO:port[path], the port
// "traffic-port" replaced by the group's port.
func nlbCheck(lb *networkLB) string {
	if len(lb.groups) == 0 {
		return "no target group"
	}
	tg := lb.groups[0].tg
	port := aws.ToString(tg.HealthCheckPort)
	if port == "traffic-port" {
		port = fmt.Sprint(aws.ToInt32(tg.Port))
	}
	path := ""
	if tg.HealthCheckProtocol == "HTTP" || tg.HealthCheckProtocol == "HTTPS" {
		path = aws.ToString(tg.HealthCheckPath)
	}
	return fmt.Sprintf("%s:%s%s", tg.HealthCheckProtocol, port, path)
}

// TestNodeChurn adds and removes a Node and changes a Node's label: a Classic ELB follows
// every node, an NLB with aws-load-balancer-target-node-labels only the labelled ones.
func TestNodeChurn(t *testing.T) {
	const pool = "cloudlb.test/pool"
	tn := newTenant(t)
	label := func(name, value string) {
		t.Helper()
		// Not t.Context(): this also runs in the cleanup, after it is canceled.
		ctx := context.Background()
		n, err := tn.CS.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if value == "" {
			delete(n.Labels, pool)
		} else {
			n.Labels[pool] = value
		}
		if _, err := tn.CS.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// Registered first, so it runs after the Services' cleanup: the nodes are shared.
	t.Cleanup(func() {
		_ = tn.CS.CoreV1().Nodes().Delete(context.Background(), "spare", metav1.DeleteOptions{})
		label("node-a", "")
	})
	label("node-a", "blue")
	clb := tn.Create(newService("all", nil))
	nl := tn.Create(newService("blue", map[string]string{prefix + "type": "nlb", prefix + "target-node-labels": pool + "=blue"}))
	tn.WaitIngress(clb.Name, nil)
	tn.WaitIngress(nl.Name, nil)
	expect := func(step string, all, blue []string) {
		t.Helper()
		waitClassic(t, key(clb), func(lb *classicLB) error {
			return want(step+": Classic instances", fmt.Sprint(lb.registered()), fmt.Sprint(instanceIDs(all...)))
		})
		waitNLB(t, key(nl), func(lb *networkLB) error {
			return want(step+": NLB targets", fmt.Sprint(lb.groups[0].targets), fmt.Sprint(instanceIDs(blue...)))
		})
	}
	expect("created", []string{"node-a", "node-b", "node-c"}, []string{"node-a"})

	spare := shared.net.instances[3]
	if err := createReadyNode(t.Context(), tn.CS, &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: spare.name, Labels: map[string]string{pool: "blue"}},
		Spec: v1.NodeSpec{ProviderID: spare.providerID()}}); err != nil {
		t.Fatal(err)
	}
	expect("node added", []string{"node-a", "node-b", "node-c", "spare"}, []string{"node-a", "spare"})

	label("node-a", "green")
	expect("label changed", []string{"node-a", "node-b", "node-c", "spare"}, []string{"spare"})

	label("node-a", "blue")
	if err := tn.CS.CoreV1().Nodes().Delete(t.Context(), spare.name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	expect("node removed", []string{"node-a", "node-b", "node-c"}, []string{"node-a"})
}

// TestThrottling answers 30% of all calls with the services' throttling errors, from
// creation to deletion: everything still converges and nothing is left behind.
func TestThrottling(t *testing.T) {
	fake := requireFake(t, "injects faults")
	tn := newTenant(t)
	fake.SetFaults(fakecore.Faults{ThrottleRate: 0.3})
	t.Cleanup(func() { fake.SetFaults(fakecore.Faults{}) })
	fake.ResetCalls()
	clb := tn.Create(newService("clb", map[string]string{prefix + "connection-idle-timeout": "90"}, func(s *v1.Service) {
		s.Spec.LoadBalancerSourceRanges = []string{"10.1.0.0/16"}
	}))
	nl := tn.Create(newService("nlb", nlb()))
	tn.WaitIngress(clb.Name, nil)
	tn.WaitIngress(nl.Name, nil)
	waitClassic(t, key(clb), func(lb *classicLB) error {
		return firstErr(
			want("idle", aws.ToInt32(lb.attrs.ConnectionSettings.IdleTimeout), int32(90)),
			want("instances", len(lb.registered()), 3),
			sourceRanges(t, lb, "10.1.0.0/16"))
	})
	waitNLB(t, key(nl), func(lb *networkLB) error { return want("targets", len(lb.groups[0].targets), 3) })
	tn.DeleteAll()
	c := countCalls(fake.Calls())
	t.Logf("converged and deleted under 30%% throttling: %d writes, %d ELB reads, %d EC2 reads (throttled calls included)\n%s", c.writes, c.reads, c.ec2Reads, c.summary)
	fake.SetFaults(fakecore.Faults{})
	assertNothingLeft(t, key(clb), key(nl))
}

// TestDeletion deletes a Classic ELB with a managed security group and an NLB: nothing
// tagged for them is left.
func TestDeletion(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	clb := tn.Create(newService("clb", nil, func(s *v1.Service) { s.Spec.LoadBalancerSourceRanges = []string{"10.2.0.0/16"} }))
	nl := tn.Create(newService("nlb", nlb()))
	tn.WaitIngress(clb.Name, nil)
	tn.WaitIngress(nl.Name, nil)
	tn.DeleteAll()
	assertNothingLeft(t, key(clb), key(nl))
}

// assertNothingLeft fails t when a load balancer, target group or security group tagged for
// one of the services remains.
func assertNothingLeft(t *testing.T, services ...string) {
	t.Helper()
	left, err := ownedResources(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range left {
		if slices.Contains(services, r.service) {
			t.Errorf("left behind: %s", r)
		}
	}
}

// ownedResource is a resource tagged kubernetes.io/cluster/<clusterName>, other than the
// network's own.
type ownedResource struct{ kind, id, service string }

func (r ownedResource) String() string { return fmt.Sprintf("%s %s of %s", r.kind, r.id, r.service) }

// ownedResources lists, through the APIs, every load balancer, target group, listener (of
// such load balancers) and security group tagged for the suite's cluster.
func ownedResources(ctx context.Context) ([]ownedResource, error) {
	clusterTag := "kubernetes.io/cluster/" + clusterName
	var out []ownedResource
	lbs, err := shared.elb.DescribeLoadBalancers(ctx, nil)
	if err != nil {
		return nil, err
	}
	for _, d := range lbs.LoadBalancerDescriptions {
		name := aws.ToString(d.LoadBalancerName)
		tg, err := shared.elb.DescribeTags(ctx, &elb.DescribeTagsInput{LoadBalancerNames: []string{name}})
		if isNotFound(err) {
			continue // deleted since the listing (tests run in parallel)
		}
		if err != nil {
			return nil, err
		}
		for _, td := range tg.TagDescriptions {
			tags := map[string]string{}
			for _, t := range td.Tags {
				tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
			if _, ok := tags[clusterTag]; ok {
				out = append(out, ownedResource{"Classic ELB", name, tags[serviceNameTag]})
			}
		}
	}
	v2, err := shared.elb2.DescribeLoadBalancers(ctx, nil)
	if err != nil {
		return nil, err
	}
	for _, lb := range v2.LoadBalancers {
		arn := aws.ToString(lb.LoadBalancerArn)
		tags, err := v2Tags(ctx, arn)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if _, ok := tags[arn][clusterTag]; !ok {
			continue
		}
		out = append(out, ownedResource{"NLB", aws.ToString(lb.LoadBalancerName), tags[arn][serviceNameTag]})
		ls, err := shared.elb2.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: &arn})
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, l := range ls.Listeners {
			out = append(out, ownedResource{"listener", aws.ToString(l.ListenerArn), tags[arn][serviceNameTag]})
		}
	}
	tgs, err := shared.elb2.DescribeTargetGroups(ctx, nil)
	if err != nil {
		return nil, err
	}
	for _, tg := range tgs.TargetGroups {
		arn := aws.ToString(tg.TargetGroupArn)
		tags, err := v2Tags(ctx, arn)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if _, ok := tags[arn][clusterTag]; ok {
			out = append(out, ownedResource{"target group", aws.ToString(tg.TargetGroupName), tags[arn][serviceNameTag]})
		}
	}
	sgs, err := shared.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{{Name: aws.String("tag-key"), Values: []string{clusterTag}}}})
	if err != nil {
		return nil, err
	}
	for _, g := range sgs.SecurityGroups {
		if id := aws.ToString(g.GroupId); id != shared.net.nodeGroup {
			svc := ""
			for _, t := range g.Tags {
				if aws.ToString(t.Key) == serviceNameTag {
					svc = aws.ToString(t.Value)
				}
			}
			out = append(out, ownedResource{"security group", id + " " + aws.ToString(g.GroupName), svc})
		}
	}
	return out, nil
}

package aws_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	awsprovider "github.com/cloudlb/cloudlb/fakecloud/fakeaws"
	cloudaws "github.com/cloudlb/cloudlb/providers/aws"
)

// plain is a one-port Classic Service with default annotations, its UID derived from i.
func plain(i int) *v1.Service {
	return &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: fmt.Sprintf("svc%d", i), UID: types.UID(fmt.Sprintf("%08d-0000-0000-0000-000000000000", i))},
		Spec: v1.ServiceSpec{Type: v1.ServiceTypeLoadBalancer, Ports: []v1.ServicePort{
			{Name: "http", Protocol: v1.ProtocolTCP, Port: 80, NodePort: 30080},
		}},
	}
}

// launch starts an instance in subnet with the given groups, as a node joining the cluster
// would be started, and returns its Node.
func (e *env) launch(t *testing.T, subnet, zone string, groups ...string) *v1.Node {
	t.Helper()
	out, err := e.ec2.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String("ami-12345678"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		SubnetId: aws.String(e.built.Subnets[subnet]), SecurityGroupIds: groups,
	})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.Instances[0].InstanceId)
	return &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: id}, Spec: v1.NodeSpec{ProviderID: "aws:///" + zone + "/" + id}}
}

func (e *env) instancesOf(t *testing.T, name string) []string {
	t.Helper()
	d, _, _ := e.describe(t, name)
	var ids []string
	for _, i := range d.Instances {
		ids = append(ids, aws.ToString(i.InstanceId))
	}
	slices.Sort(ids)
	return ids
}

func ids(nodes []*v1.Node) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.Spec.ProviderID[strings.LastIndex(n.Spec.ProviderID, "/")+1:])
	}
	slices.Sort(out)
	return out
}

// TestNodeChurnSharesLookups checks the node-churn cost: a node whose instance started after
// the Services were synced costs one DescribeInstances for all of them, and one Register per
// Service; nothing else, since its group is the other nodes' group.
func TestNodeChurnSharesLookups(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const n = 5
	for i := range n {
		if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, plain(i), e.nodes); err != nil {
			t.Fatal(err)
		}
	}
	nodes := append(slices.Clone(e.nodes), e.launch(t, "public-b", "us-east-1b", e.built.SecurityGroups["nodes"]))
	e.srv.ResetCalls()
	for i := range n {
		if err := e.cloud.UpdateLoadBalancer(ctx, cluster, plain(i), nodes); err != nil {
			t.Fatal(err)
		}
	}
	w, r, sum := e.counts()
	if got := e.srv.CallCount(awsprovider.NewCall(awsprovider.ServiceELB, "RegisterInstancesWithLoadBalancer")); w != n || got != n {
		t.Errorf("writes = %d, registers = %d, want %d each (%s)", w, got, n, sum)
	}
	if got := e.srv.CallCount(awsprovider.NewCall(awsprovider.ServiceEC2, "DescribeInstances")); r != 1 || got != 1 {
		t.Errorf("reads = %d, DescribeInstances = %d, want 1 each (%s)", r, got, sum)
	}
	for i := range n {
		if got, want := e.instancesOf(t, cloudaws.LoadBalancerName(plain(i))), ids(nodes); !slices.Equal(got, want) {
			t.Errorf("svc%d instances = %v, want %v", i, got, want)
		}
	}
}

// TestNodeInNewGroupGetsTheRule checks that a node in a security group no other node uses
// lets the load balancer's managed group in, and that the group loses that rule when the
// node goes.
func TestNodeInNewGroupGetsTheRule(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc := plain(1)
	if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); err != nil {
		t.Fatal(err)
	}
	g, err := e.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String("nodes-2"), Description: aws.String("second node group"), VpcId: aws.String(e.built.VPC),
	})
	if err != nil {
		t.Fatal(err)
	}
	group := aws.ToString(g.GroupId)
	// Tagged for the cluster: only such groups have rules revoked.
	if _, err := e.ec2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{group}, Tags: []ec2types.Tag{
		{Key: aws.String("kubernetes.io/cluster/" + cluster), Value: aws.String("owned")},
	}}); err != nil {
		t.Fatal(err)
	}
	nodes := append(slices.Clone(e.nodes), e.launch(t, "public-b", "us-east-1b", group))
	if err := e.cloud.UpdateLoadBalancer(ctx, cluster, svc, nodes); err != nil {
		t.Fatal(err)
	}
	_, _, tags := e.describe(t, cloudaws.LoadBalancerName(svc))
	source := tags["cloudlb.io/security-group"]
	if source == "" {
		t.Fatalf("no managed group tag in %v", tags)
	}
	if !e.letsIn(t, group, source) {
		t.Errorf("group %s does not let %s in after the node joined", group, source)
	}
	if err := e.cloud.UpdateLoadBalancer(ctx, cluster, svc, e.nodes); err != nil {
		t.Fatal(err)
	}
	if e.letsIn(t, group, source) {
		t.Errorf("group %s still lets %s in after its only node left", group, source)
	}
}

// letsIn reports whether group has an ingress rule from source.
func (e *env) letsIn(t *testing.T, group, source string) bool {
	t.Helper()
	out, err := e.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{group}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range out.SecurityGroups[0].IpPermissions {
		for _, pair := range p.UserIdGroupPairs {
			if aws.ToString(pair.GroupId) == source {
				return true
			}
		}
	}
	return false
}

// TestUpdateCorrectsStaleCache checks that an instance deregistered behind the provider's
// back is registered again on the next node change: Register reports every instance, and a
// second call adds what the cache wrongly believed registered.
func TestUpdateCorrectsStaleCache(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc := plain(2)
	name := cloudaws.LoadBalancerName(svc)
	if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); err != nil {
		t.Fatal(err)
	}
	gone := ids(e.nodes)[0]
	if _, err := e.elb.DeregisterInstancesFromLoadBalancer(ctx, &elb.DeregisterInstancesFromLoadBalancerInput{
		LoadBalancerName: aws.String(name), Instances: []elbtypes.Instance{{InstanceId: aws.String(gone)}},
	}); err != nil {
		t.Fatal(err)
	}
	nodes := append(slices.Clone(e.nodes), e.node("node-b", "us-east-1b"))
	e.srv.ResetCalls()
	if err := e.cloud.UpdateLoadBalancer(ctx, cluster, svc, nodes); err != nil {
		t.Fatal(err)
	}
	if got, want := e.instancesOf(t, name), ids(nodes); !slices.Equal(got, want) {
		t.Errorf("instances = %v, want %v", got, want)
	}
	if got := e.srv.CallCount(awsprovider.NewCall(awsprovider.ServiceELB, "RegisterInstancesWithLoadBalancer")); got != 2 {
		t.Errorf("RegisterInstancesWithLoadBalancer calls = %d, want 2 (the node, then the stale one)", got)
	}
}

// TestUpdateAfterExternalDelete checks that a load balancer deleted behind the provider's
// back is reported, not recreated by UpdateLoadBalancer, and that the cache does not hide it.
func TestUpdateAfterExternalDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc := plain(3)
	name := cloudaws.LoadBalancerName(svc)
	if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); err != nil {
		t.Fatal(err)
	}
	if _, err := e.elb.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	nodes := append(slices.Clone(e.nodes), e.node("node-b", "us-east-1b"))
	for i, want := range []string{"LoadBalancerNotFound", "not found"} {
		err := e.cloud.UpdateLoadBalancer(ctx, cluster, svc, nodes)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("update %d: err = %v, want it to say %q", i, err, want)
		}
	}
	if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, nodes); err != nil {
		t.Fatalf("ensure after external delete: %v", err)
	}
	if got, want := e.instancesOf(t, name), ids(nodes); !slices.Equal(got, want) {
		t.Errorf("instances after recreate = %v, want %v", got, want)
	}
}

// TestNLBNodeChurnFastPath checks an NLB's node change: one Register (or Deregister) per
// target group and the spec-hash tag, no reads; the next Ensure is a no-op; the targets are
// right; and a provider with an empty cache (a restart) takes the full path to the same end.
func TestNLBNodeChurnFastPath(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc := plain(4)
	svc.Annotations = map[string]string{prefix + "type": "nlb"}
	svc.Spec.Ports = append(svc.Spec.Ports, v1.ServicePort{Name: "alt", Protocol: v1.ProtocolTCP, Port: 8080, NodePort: 30081})
	if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); err != nil {
		t.Fatal(err)
	}
	more := append(slices.Clone(e.nodes), e.node("node-b", "us-east-1b"))
	steps := []struct {
		name      string
		cloud     *cloudaws.Cloud
		nodes     []*v1.Node
		op        string
		maxReads  int
		maxWrites int
	}{
		{"node added", e.cloud, more, "RegisterTargets", 0, 3},
		{"node removed", e.cloud, e.nodes, "DeregisterTargets", 0, 3},
		{"node added after a restart", e.restarted(t), more, "RegisterTargets", 20, 10},
	}
	for _, s := range steps {
		e.srv.ResetCalls()
		if err := s.cloud.UpdateLoadBalancer(ctx, cluster, svc, s.nodes); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		w, r, sum := e.counts()
		if got := e.srv.CallCount(awsprovider.NewCall(awsprovider.ServiceELBv2, s.op)); got != 2 || w > s.maxWrites || r > s.maxReads {
			t.Errorf("%s: %s = %d (want 2), %d writes, %d reads (%s)", s.name, s.op, got, w, r, sum)
		}
		e.srv.ResetCalls()
		if _, err := s.cloud.EnsureLoadBalancer(ctx, cluster, svc, s.nodes); err != nil {
			t.Fatal(err)
		}
		if w, r, sum := e.counts(); w != 0 || r > 2 {
			t.Errorf("%s: the next Ensure made %d writes, %d reads (%s)", s.name, w, r, sum)
		}
		if got, want := e.targets(t, cloudaws.LoadBalancerName(svc)), ids(s.nodes); !slices.Equal(got, want) {
			t.Errorf("%s: targets = %v, want %v in every group", s.name, got, want)
		}
	}
}

// restarted is a provider on the same clients with empty caches.
func (e *env) restarted(t testing.TB) *cloudaws.Cloud {
	t.Helper()
	cc, err := cloudaws.ParseCloudConfig(strings.NewReader(fmt.Sprintf("[Global]\nZone = us-east-1a\nVPC = %s\n", e.built.VPC)))
	if err != nil {
		t.Fatal(err)
	}
	return cloudaws.New(cloudaws.Options{Config: cc, ELB: e.elb, EC2: e.ec2, ELBv2: e.elbv2})
}

// targets returns the instances registered in the NLB's target groups, failing unless every
// group holds the same ones.
func (e *env) targets(t *testing.T, name string) []string {
	t.Helper()
	lbs, err := e.elbv2.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{name}})
	if err != nil {
		t.Fatal(err)
	}
	tgs, err := e.elbv2.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{LoadBalancerArn: lbs.LoadBalancers[0].LoadBalancerArn})
	if err != nil {
		t.Fatal(err)
	}
	var first []string
	for i, tg := range tgs.TargetGroups {
		h, err := e.elbv2.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: tg.TargetGroupArn})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, d := range h.TargetHealthDescriptions {
			if d.TargetHealth == nil || d.TargetHealth.State != "draining" {
				got = append(got, aws.ToString(d.Target.Id))
			}
		}
		slices.Sort(got)
		if i == 0 {
			first = got
		} else if !slices.Equal(got, first) {
			t.Errorf("target group %s holds %v, another %v", aws.ToString(tg.TargetGroupName), got, first)
		}
	}
	return first
}

// TestClassicManageBackendRules checks aws-load-balancer-manage-backend-security-group-rules
// on a Classic Load Balancer: false adds no node rule, true (the default) adds it, and false
// again removes it.
func TestClassicManageBackendRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc := plain(5)
	group := e.built.SecurityGroups["nodes"]
	source := func() string {
		_, _, tags := e.describe(t, cloudaws.LoadBalancerName(svc))
		return tags["cloudlb.io/security-group"]
	}
	for i, step := range []struct {
		manage string // "" leaves the annotation out
		want   bool
	}{{"false", false}, {"", true}, {"false", false}} {
		svc.Annotations = map[string]string{}
		if step.manage != "" {
			svc.Annotations[prefix+"manage-backend-security-group-rules"] = step.manage
		}
		if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got := e.letsIn(t, group, source()); got != step.want {
			t.Errorf("step %d (manage %q): node group lets the load balancer in = %v, want %v", i, step.manage, got, step.want)
		}
	}
}

package aws_test

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	v1 "k8s.io/api/core/v1"
)

const backendName = "k8s-cloudlb-backend-" + cluster

// managedNLB is plainNLB(i) on NodePort 30100+i.
func managedNLB(i int) *v1.Service {
	svc := plainNLB(i)
	svc.Spec.Ports[0].NodePort = int32(30100 + i)
	return svc
}

// backendRules are the node group's rules whose source is the group called name.
func (e *env) rulesFrom(t *testing.T, name string) []string {
	t.Helper()
	g := e.group(t, name)
	if g == nil {
		return nil
	}
	return e.nodeRulesWith(t, g.ID)
}

// TestNLBBackendGroupScales makes 80 NLB Services in the Managed mode on the same nodes:
// before the shared backend group each added its own rule to the nodes' group and the 61st
// hit AWS's 60 rules per group; now the nodes' group holds the backend group's rule only.
// Deleting them all removes the backend group and its rule last, and leaves another
// cluster's backend group and rule alone.
func TestNLBBackendGroupScales(t *testing.T) {
	t.Parallel()
	// 80 NLBs make long listings (the deletion's DescribeLoadBalancers and target groups);
	// on a loaded machine the SDK's read of one may fail and is retried, as in production.
	e := newEnv(t, func(c *aws.Config) { c.RetryMaxAttempts = 3 })
	e.withCloudConfig(t, "NLBSecurityGroupMode = Managed")
	other := e.otherClusterBackend(t)
	const n = 80
	var svcs []*v1.Service
	for i := range n {
		svc := managedNLB(i)
		if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); err != nil {
			t.Fatalf("service %d: %v", i, err)
		}
		svcs = append(svcs, svc)
	}
	e.srv.ResetCalls()
	for _, svc := range svcs { // all converged: a second pass writes nothing
		if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); err != nil {
			t.Fatal(err)
		}
	}
	if w, _, sum := e.counts(); w != 0 {
		t.Errorf("second pass wrote: %s", sum)
	}
	b := e.group(t, backendName)
	if b == nil {
		t.Fatal("no backend group")
	}
	nodes := e.group(t, "nodes").Ingress
	t.Logf("nodes' group after %d NLB Services: %d rules: %v", n, len(nodes), nodes)
	want := []string{"tcp 30000-32767 " + b.ID + " cloudlb: NLB backend group: NodePorts"}
	if got := e.rulesFrom(t, backendName); !slices.Equal(got, want) {
		t.Errorf("rules from the backend group = %v, want %v", got, want)
	}
	if len(nodes) != 2 { // the backend group's, and the other cluster's
		t.Errorf("nodes' group holds %d rules, want 2: %v", len(nodes), nodes)
	}
	out, err := e.elbv2.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{})
	if err != nil || len(out.LoadBalancers) != n {
		t.Fatalf("DescribeLoadBalancers = %d, %v", len(out.LoadBalancers), err)
	}
	for _, lb := range out.LoadBalancers {
		if len(lb.SecurityGroups) != 2 || !slices.Contains(lb.SecurityGroups, b.ID) {
			t.Errorf("NLB %s groups %v, want its own and %s", aws.ToString(lb.LoadBalancerName), lb.SecurityGroups, b.ID)
		}
	}

	for i, svc := range svcs {
		if err := e.cloud.EnsureLoadBalancerDeleted(ctx, cluster, svc); err != nil {
			t.Fatalf("delete %d: %v", i, err)
		}
		if i < n-1 && e.group(t, backendName) == nil {
			t.Fatalf("backend group deleted with %d NLBs left", n-1-i)
		}
	}
	if g := e.group(t, backendName); g != nil {
		t.Errorf("backend group left: %+v", g)
	}
	if got := e.group(t, "nodes").Ingress; !slices.Equal(got, e.rulesFrom(t, other)) || len(got) != 1 {
		t.Errorf("nodes' group after deleting all: %v, want the other cluster's rule only", got)
	}
	if e.group(t, other) == nil {
		t.Error("the other cluster's backend group was deleted")
	}
}

// otherClusterBackend makes another cluster's backend group, let into the nodes' group.
func (e *env) otherClusterBackend(t *testing.T) string {
	t.Helper()
	name := "k8s-cloudlb-backend-other"
	g, err := e.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name), Description: aws.String("x"), VpcId: aws.String(e.built.VPC),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSecurityGroup, Tags: []ec2types.Tag{
			{Key: aws.String("kubernetes.io/cluster/other"), Value: aws.String("owned")}, {Key: aws.String("cloudlb.io/role"), Value: aws.String("nlb-backend")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(e.group(t, "nodes").ID),
		IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(30000), ToPort: aws.Int32(32767),
			UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: g.GroupId}}}}}); err != nil {
		t.Fatal(err)
	}
	return name
}

// actionLog records the Action of every request, and runs check before each one.
type actionLog struct {
	mu      sync.Mutex
	actions []string
	check   func(action string, form url.Values)
}

func (l *actionLog) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		b, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(b))
		if form, err := url.ParseQuery(string(b)); err == nil && form.Get("Action") != "" {
			l.mu.Lock()
			l.actions = append(l.actions, form.Get("Action")+" "+form.Get("GroupId"))
			check := l.check
			l.mu.Unlock()
			if check != nil {
				check(form.Get("Action"), form)
			}
		}
	}
	return http.DefaultClient.Do(req)
}

// TestNLBBackendGroupMigration starts from two NLBs as the release before the backend group
// left them (the managed group attached alone, its per-Service rules in the nodes' group,
// seeded through EC2) and checks that one reconcile each attaches the backend group and
// authorizes its rule before it revokes the per-Service rules, so that the nodes never
// refuse the NLB's traffic; the NLBs are kept (same ARN).
func TestNLBBackendGroupMigration(t *testing.T) {
	t.Parallel()
	log := &actionLog{}
	e := newEnv(t, func(c *aws.Config) { c.HTTPClient = log })
	e.withCloudConfig(t, "NLBSecurityGroupMode = Managed")
	svcs := []*v1.Service{managedNLB(1), managedNLB(2)}
	arns := map[string]string{}
	for _, svc := range svcs {
		e.ensure(t, svc)
	}
	nodes := e.group(t, "nodes").ID
	out, err := e.elbv2.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{})
	if err != nil {
		t.Fatal(err)
	}
	// Back to the old shape: the managed group alone, per-Service rules from it, no backend.
	for _, lb := range out.LoadBalancers {
		name := aws.ToString(lb.LoadBalancerName)
		arns[name] = aws.ToString(lb.LoadBalancerArn)
		own := e.group(t, "k8s-elb-"+name).ID
		if _, err := e.elbv2.SetSecurityGroups(ctx, &elbv2.SetSecurityGroupsInput{LoadBalancerArn: lb.LoadBalancerArn, SecurityGroups: []string{own}}); err != nil {
			t.Fatal(err)
		}
		port := int32(30101)
		if strings.HasPrefix(name, "a00000002") {
			port = 30102
		}
		// The old model's hash differs from the new one's: the next reconcile reads all.
		if _, err := e.elbv2.RemoveTags(ctx, &elbv2.RemoveTagsInput{ResourceArns: []string{arns[name]}, TagKeys: []string{"cloudlb.io/spec-hash"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(nodes),
			IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port),
				UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(own), Description: aws.String("kubernetes.io/rule/nlb/client=" + name)}}}}}); err != nil {
			t.Fatal(err)
		}
	}
	b := e.group(t, backendName).ID
	if _, err := e.ec2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(nodes),
		IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(30000), ToPort: aws.Int32(32767),
			UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(b)}}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(b)}); err != nil {
		t.Fatal(err)
	}
	if got := e.nodeRulesWith(t, "nlb/client="); len(got) != 2 {
		t.Fatalf("seeded per-Service rules = %v", got)
	}
	e.withCloudConfig(t, "NLBSecurityGroupMode = Managed") // a new release: nothing cached

	// Before any revoke in the nodes' group, the backend group's rule must be there.
	var bad []string
	log.mu.Lock()
	log.actions = nil
	log.check = func(action string, form url.Values) {
		if action != "RevokeSecurityGroupIngress" || form.Get("GroupId") != nodes {
			return
		}
		if len(e.rulesFrom(t, backendName)) == 0 {
			bad = append(bad, "per-Service rules revoked before the backend group's rule was authorized")
		}
	}
	log.mu.Unlock()
	for _, svc := range svcs {
		if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); err != nil {
			t.Fatal(err)
		}
	}
	log.mu.Lock()
	log.check = nil
	actions := slices.Clone(log.actions)
	log.mu.Unlock()
	if len(bad) > 0 {
		t.Error(bad[0])
	}
	// Per NLB: the backend rule (the first one only), the attachment, then the revoke.
	var order []string
	for _, a := range actions {
		switch op, _, _ := strings.Cut(a, " "); op {
		case "CreateSecurityGroup", "SetSecurityGroups", "AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress":
			order = append(order, op)
		}
	}
	want := []string{"CreateSecurityGroup", "AuthorizeSecurityGroupIngress", "SetSecurityGroups", "RevokeSecurityGroupIngress",
		"SetSecurityGroups", "RevokeSecurityGroupIngress"}
	if !slices.Equal(order, want) {
		t.Errorf("security group writes:\n%s\nwant\n%s", strings.Join(order, "\n"), strings.Join(want, "\n"))
	}
	b = e.group(t, backendName).ID
	if got := e.group(t, "nodes").Ingress; len(got) != 1 || !strings.Contains(got[0], b) {
		t.Errorf("nodes' group after the migration: %v", got)
	}
	out, err = e.elbv2.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, lb := range out.LoadBalancers {
		if arns[aws.ToString(lb.LoadBalancerName)] != aws.ToString(lb.LoadBalancerArn) || !slices.Contains(lb.SecurityGroups, b) {
			t.Errorf("NLB %s: replaced or without the backend group: %v", aws.ToString(lb.LoadBalancerName), lb.SecurityGroups)
		}
	}
	if err := e.cloud.EnsureLoadBalancerDeleted(ctx, cluster, svcs[0]); err != nil {
		t.Fatal(err)
	}
	if e.group(t, backendName) == nil || len(e.rulesFrom(t, backendName)) != 1 {
		t.Fatal("the backend group or its rule went with the first of two NLBs")
	}
	e.deleteAndCheckClean(t, svcs[1])
}

// TestNLBBackendGroupConcurrentFirst makes the first NLBs of a cluster at once: each may
// try to create the backend group; one does, the others adopt it (by its tags), and every
// NLB ends with that one group.
func TestNLBBackendGroupConcurrentFirst(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.withCloudConfig(t, "NLBSecurityGroupMode = Managed")
	const n = 6
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.cloud.EnsureLoadBalancer(ctx, cluster, managedNLB(i), e.nodes)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	var backends []string
	for _, g := range e.srv.Inventory().SecurityGroups {
		if g.Name == backendName {
			backends = append(backends, g.ID)
		}
	}
	if len(backends) != 1 {
		t.Fatalf("backend groups %v, want one", backends)
	}
	out, err := e.elbv2.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, lb := range out.LoadBalancers {
		if !slices.Contains(lb.SecurityGroups, backends[0]) {
			t.Errorf("NLB %s groups %v, want %s among them", aws.ToString(lb.LoadBalancerName), lb.SecurityGroups, backends[0])
		}
	}
	if got := e.rulesFrom(t, backendName); len(got) != 1 {
		t.Errorf("rules from the backend group: %v", got)
	}
}

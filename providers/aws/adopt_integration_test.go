package aws_test

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	v1 "k8s.io/api/core/v1"
	cloudproviderapi "k8s.io/cloud-provider/api"

	awsprovider "github.com/cloudlb/cloudlb/fakecloud/fakeaws"
	"github.com/cloudlb/cloudlb/providers"
	cloudaws "github.com/cloudlb/cloudlb/providers/aws"
)

// Load balancers as cloud-provider-aws (pkg/providers/v1) leaves them, built through the
// SDK with its names and tags: the NLB a<uid>, target groups
// k8s-<ns8>-<name8>-<sha1(cluster, ns, name, port, nodePort, protocol, target type, health
// check protocol, interval)[:10]>, the managed NLB group k8s-<ns8>-<name8>-<sha256(cluster,
// name, ns, uid)[:10]> tagged only kubernetes.io/cluster/<id>=owned, and the ownership tags
// kubernetes.io/service-name and kubernetes.io/cluster/<id>=owned on the load balancer,
// target groups and listeners.

// isRetry reports whether err asks to be retried soon (a cloudprovider RetryError).
func isRetry(err error) bool {
	var re *cloudproviderapi.RetryError
	return errors.As(err, &re)
}

func upstreamTags() map[string]string {
	return map[string]string{"kubernetes.io/service-name": "shop/web", "kubernetes.io/cluster/" + cluster: "owned"}
}

func v2Tags(m map[string]string) []v2types.Tag {
	var out []v2types.Tag
	for k, v := range m {
		out = append(out, v2types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return out
}

// upstreamTGName is cloud-provider-aws's target group name (buildTargetGroupName).
func upstreamTGName(svc *v1.Service, p v1.ServicePort, hcProto string, interval int32) string {
	h := sha1.New()
	for _, s := range []string{cluster, svc.Namespace, svc.Name, strconv.Itoa(int(p.Port)), strconv.Itoa(int(p.NodePort)), "TCP", "instance", hcProto, strconv.Itoa(int(interval))} {
		h.Write([]byte(s))
	}
	return fmt.Sprintf("k8s-%.8s-%.8s-%.10s", svc.Namespace, svc.Name, hex.EncodeToString(h.Sum(nil)))
}

// upstreamNLB is what createUpstreamNLB made: the NLB's ARN and DNS name, and the target
// group each listener port forwards to.
type upstreamNLB struct {
	arn, dns string
	tgs      map[int32]string
}

// createUpstreamNLB makes svc's NLB as cloud-provider-aws does for the Cluster policy: TCP
// target groups with a TCP health check on the traffic port every 30 s, thresholds 3/3,
// the nodes registered; with managedGroup, its managed security group too.
func (e *env) createUpstreamNLB(t *testing.T, svc *v1.Service, managedGroup bool) upstreamNLB {
	t.Helper()
	in := &elbv2.CreateLoadBalancerInput{Name: aws.String(cloudaws.LoadBalancerName(svc)), Type: v2types.LoadBalancerTypeEnumNetwork,
		Subnets: []string{e.built.Subnets["public-a"], e.built.Subnets["public-b"]}, Tags: v2Tags(upstreamTags())}
	if managedGroup {
		sum := sha256.Sum256([]byte(cluster + svc.Name + svc.Namespace + string(svc.UID)))
		name := fmt.Sprintf("k8s-%.8s-%.8s-%.10s", svc.Namespace, svc.Name, hex.EncodeToString(sum[:]))
		g, err := e.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name), VpcId: aws.String(e.built.VPC),
			Description: aws.String("[k8s] Managed SecurityGroup for LoadBalancer"),
			TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSecurityGroup,
				Tags: []ec2types.Tag{{Key: aws.String("kubernetes.io/cluster/" + cluster), Value: aws.String("owned")}}}}})
		if err != nil {
			t.Fatal(err)
		}
		in.SecurityGroups = []string{aws.ToString(g.GroupId)}
	}
	lb, err := e.elbv2.CreateLoadBalancer(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	u := upstreamNLB{arn: aws.ToString(lb.LoadBalancers[0].LoadBalancerArn), dns: aws.ToString(lb.LoadBalancers[0].DNSName), tgs: map[int32]string{}}
	for _, p := range svc.Spec.Ports {
		tg, err := e.elbv2.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String(upstreamTGName(svc, p, "TCP", 30)),
			Protocol: v2types.ProtocolEnumTcp, Port: aws.Int32(p.NodePort), VpcId: aws.String(e.built.VPC), TargetType: v2types.TargetTypeEnumInstance,
			HealthCheckProtocol: v2types.ProtocolEnumTcp, HealthCheckPort: aws.String("traffic-port"), HealthCheckIntervalSeconds: aws.Int32(30),
			HealthyThresholdCount: aws.Int32(3), UnhealthyThresholdCount: aws.Int32(3), Tags: v2Tags(upstreamTags())})
		if err != nil {
			t.Fatal(err)
		}
		arn := tg.TargetGroups[0].TargetGroupArn
		var targets []v2types.TargetDescription
		for _, n := range []string{"node-a-1", "node-a-2"} {
			targets = append(targets, v2types.TargetDescription{Id: aws.String(e.built.Instances[n]), Port: aws.Int32(p.NodePort)})
		}
		if _, err := e.elbv2.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: arn, Targets: targets}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.elbv2.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: aws.String(u.arn), Port: aws.Int32(p.Port),
			Protocol: v2types.ProtocolEnumTcp, DefaultActions: []v2types.Action{{Type: v2types.ActionTypeEnumForward, TargetGroupArn: arn}},
			Tags: v2Tags(upstreamTags())}); err != nil {
			t.Fatal(err)
		}
		u.tgs[p.Port] = aws.ToString(arn)
	}
	return u
}

// nlbNow is the NLB's scheme, groups, tags and the target groups its listeners forward to.
func (e *env) nlbNow(t *testing.T, arn string) (v2types.LoadBalancer, map[string]string, map[int32][]string) {
	t.Helper()
	lbs, err := e.elbv2.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{LoadBalancerArns: []string{arn}})
	if err != nil || len(lbs.LoadBalancers) != 1 {
		t.Fatalf("the NLB %s is gone: %v", arn, err)
	}
	tags, err := e.elbv2.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{arn}})
	if err != nil {
		t.Fatal(err)
	}
	tm := map[string]string{}
	for _, tg := range tags.TagDescriptions[0].Tags {
		tm[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	ls, err := e.elbv2.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	fwd := map[int32][]string{}
	for _, l := range ls.Listeners {
		for _, a := range l.DefaultActions {
			for _, g := range a.ForwardConfig.TargetGroups {
				fwd[aws.ToInt32(l.Port)] = append(fwd[aws.ToInt32(l.Port)], aws.ToString(g.TargetGroupArn))
			}
		}
		slices.Sort(fwd[aws.ToInt32(l.Port)])
	}
	return lbs.LoadBalancers[0], tm, fwd
}

// TestAdoptUpstreamNLB takes over NLBs cloud-provider-aws made: kept with their DNS name,
// target groups and traffic (no DeleteLoadBalancer, no target group created, no listener
// without targets at any moment), only what differs written, and the replacement key
// recorded; a replacement the Service asks for implicitly is refused with the fields named.
func TestAdoptUpstreamNLB(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		cloudConfig  string
		annotations  map[string]string
		managedGroup bool
		// refused are the fields of the ReplacementRefused, nil for success.
		refused []string
	}{
		{name: "adopted in place"},
		{name: "scheme annotation upstream ignored", annotations: map[string]string{prefix + "scheme": "internal"},
			refused: []string{prefix + "scheme"}},
		{name: "internal annotation added after creation", annotations: map[string]string{prefix + "internal": "true"},
			refused: []string{prefix + "scheme"}},
		{name: "managed mode meets an NLB without groups", cloudConfig: "NLBSecurityGroupMode = Managed",
			refused: []string{"NLB security groups (cloud config NLBSecurityGroupMode, aws-load-balancer-security-groups, aws-load-balancer-disable-nlb-sg)"}},
		{name: "managed mode adopts upstream's managed group", cloudConfig: "NLBSecurityGroupMode = Managed", managedGroup: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if tt.cloudConfig != "" {
				e.withCloudConfig(t, tt.cloudConfig)
			}
			svc := nlbService(tt.annotations)
			u := e.createUpstreamNLB(t, svc, tt.managedGroup)
			before, _, _ := e.nlbNow(t, u.arn)
			e.srv.ResetCalls()
			st, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes)
			rr := providers.AsReplacementRefused(err)
			switch {
			case tt.refused == nil && err != nil:
				t.Fatalf("adoption: %v", err)
			case tt.refused != nil && rr == nil:
				t.Fatalf("adoption: err = %v, want a ReplacementRefused", err)
			case rr != nil:
				var fields []string
				for _, c := range rr.Changes {
					fields = append(fields, c.Field)
				}
				if !slices.Equal(fields, tt.refused) || rr.Status == nil || rr.Status.Ingress[0].Hostname != u.dns {
					t.Errorf("refused %v with status %+v, want %v and the kept NLB's DNS name %s", fields, rr.Status, tt.refused, u.dns)
				}
			}
			// In the Managed mode the NLB also gets the cluster's backend group (created
			// first): one SetSecurityGroups and one CreateSecurityGroup, the NLB kept.
			backend := 0
			if tt.managedGroup {
				backend = 1
			}
			for _, op := range []string{"DeleteLoadBalancer", "CreateLoadBalancer", "CreateTargetGroup", "DeleteTargetGroup", "DeleteListener", "SetSecurityGroups"} {
				if n := e.srv.CallCount(awsprovider.NewCall(awsprovider.ServiceELBv2, op)); n != 0 && (op != "SetSecurityGroups" || n != backend) {
					t.Errorf("%s called %d times on adoption", op, n)
				}
			}
			if n := e.srv.CallCount("ec2:CreateSecurityGroup"); n != backend {
				t.Errorf("CreateSecurityGroup called %d times: upstream's group is not adopted", n)
			}
			if st == nil || st.Ingress[0].Hostname != u.dns {
				t.Errorf("status %+v, want the NLB's DNS name %s", st, u.dns)
			}
			after, tags, fwd := e.nlbNow(t, u.arn)
			kept := slices.Clone(after.SecurityGroups)
			if b := e.group(t, "k8s-cloudlb-backend-"+cluster); tt.managedGroup && b != nil {
				kept = slices.DeleteFunc(kept, func(id string) bool { return id == b.ID })
			}
			if after.Scheme != before.Scheme || !slices.Equal(kept, before.SecurityGroups) {
				t.Errorf("scheme %s groups %v, want %s %v kept", after.Scheme, after.SecurityGroups, before.Scheme, before.SecurityGroups)
			}
			for port, arn := range u.tgs {
				if !slices.Equal(fwd[port], []string{arn}) {
					t.Errorf("listener %d forwards to %v, want upstream's %s", port, fwd[port], arn)
				}
			}
			if tags[providers.ReplaceKeyTag] == "" {
				t.Errorf("tags %v: no %s", tags, providers.ReplaceKeyTag)
			}
			if got := e.srv.EmptiedBackends(); len(got) != 0 {
				t.Errorf("backends emptied: %q", got)
			}
			// Converged: the next reconcile writes nothing (a refusal is reported again).
			e.srv.ResetCalls()
			if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); (err != nil) != (tt.refused != nil) {
				t.Errorf("second reconcile: %v", err)
			}
			if w, _, sum := e.counts(); w != 0 {
				t.Errorf("second reconcile wrote: %s", sum)
			}
			if tt.refused == nil {
				// Deletion finds upstream's groups too (they have no service-name tag).
				e.deleteAndCheckClean(t, svc)
				return
			}
			// Asking for the replacement makes it, with a new NLB under the same name.
			svc.Annotations["cloudlb.io/replace-load-balancer"] = "1"
			if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); err != nil {
				t.Fatalf("asked-for replacement: %v", err)
			}
			if n := e.srv.CallCount("elasticloadbalancingv2:DeleteLoadBalancer"); n != 1 {
				t.Errorf("asked-for replacement: DeleteLoadBalancer called %d times, want 1", n)
			}
		})
	}
}

// TestAdoptUpstreamNLBMovesIncompatibleGroups adopts an NLB whose target groups cannot serve
// the Service as cloudlb builds it (the Local policy's HTTP health check on a TCP group,
// which AWS cannot change): each listener keeps upstream's group while the new one warms
// (weight 0), then moves; at no moment has a listener no target.
func TestAdoptUpstreamNLBMovesIncompatibleGroups(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc := nlbService(nil)
	u := e.createUpstreamNLB(t, svc, false)
	svc.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
	svc.Spec.HealthCheckNodePort = 32000
	_, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes)
	if !isRetry(err) {
		t.Fatalf("first reconcile: err = %v, want a RetryError while the new groups warm", err)
	}
	_, _, fwd := e.nlbNow(t, u.arn)
	for port, arn := range u.tgs {
		if len(fwd[port]) != 2 || !slices.Contains(fwd[port], arn) {
			t.Errorf("listener %d forwards to %v, want upstream's %s and the new group", port, fwd[port], arn)
		}
	}
	if n := e.srv.CallCount("elasticloadbalancingv2:DeleteTargetGroup"); n != 0 {
		t.Errorf("DeleteTargetGroup called %d times while the new groups warm", n)
	}
	e.ensure(t, svc)
	_, _, fwd = e.nlbNow(t, u.arn)
	for port, arn := range u.tgs {
		if len(fwd[port]) != 1 || fwd[port][0] == arn {
			t.Errorf("listener %d forwards to %v, want the new group alone", port, fwd[port])
		}
	}
	if n := len(e.srv.Inventory().TargetGroups); n != 2 {
		t.Errorf("%d target groups, want upstream's deleted", n)
	}
	if got := e.srv.EmptiedBackends(); len(got) != 0 {
		t.Errorf("backends emptied: %q", got)
	}
	if n := e.srv.CallCount("elasticloadbalancingv2:DeleteLoadBalancer"); n != 0 {
		t.Errorf("DeleteLoadBalancer called %d times", n)
	}
	e.deleteAndCheckClean(t, svc)
}

// TestAdoptUpstreamClassic takes over a Classic Load Balancer cloud-provider-aws made, with
// its managed group k8s-elb-<name> (tagged only with the cluster): the group is kept, the
// internal annotation added after creation (which upstream ignored) is refused rather than
// replacing the load balancer, and the rest converges.
func TestAdoptUpstreamClassic(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc := service()
	svc.Annotations = map[string]string{prefix + "internal": "true"}
	name := cloudaws.LoadBalancerName(svc)
	g, err := e.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("k8s-elb-" + name), VpcId: aws.String(e.built.VPC),
		Description: aws.String(fmt.Sprintf("Security group for Kubernetes ELB %s (shop/web)", name)),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSecurityGroup,
			Tags: []ec2types.Tag{{Key: aws.String("kubernetes.io/cluster/" + cluster), Value: aws.String("owned")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	var tags []elbtypes.Tag
	for k, v := range upstreamTags() {
		tags = append(tags, elbtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	lb, err := e.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{LoadBalancerName: aws.String(name),
		Listeners: []elbtypes.Listener{{Protocol: aws.String("TCP"), LoadBalancerPort: 80, InstanceProtocol: aws.String("TCP"), InstancePort: aws.Int32(30080)},
			{Protocol: aws.String("TCP"), LoadBalancerPort: 443, InstanceProtocol: aws.String("TCP"), InstancePort: aws.Int32(30443)}},
		Subnets: []string{e.built.Subnets["public-a"], e.built.Subnets["public-b"]}, SecurityGroups: []string{aws.ToString(g.GroupId)}, Tags: tags})
	if err != nil {
		t.Fatal(err)
	}
	e.srv.ResetCalls()
	_, err = e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes)
	rr := providers.AsReplacementRefused(err)
	if rr == nil || len(rr.Changes) != 1 || rr.Changes[0].Field != prefix+"scheme" || rr.Status.Ingress[0].Hostname != aws.ToString(lb.DNSName) {
		t.Fatalf("err = %v, want a ReplacementRefused for the scheme with the kept DNS name", err)
	}
	for _, op := range []string{"DeleteLoadBalancer", "CreateLoadBalancer", "ApplySecurityGroupsToLoadBalancer"} {
		if n := e.srv.CallCount(awsprovider.NewCall(awsprovider.ServiceELB, op)); n != 0 {
			t.Errorf("%s called %d times on adoption", op, n)
		}
	}
	if n := e.srv.CallCount(awsprovider.NewCall(awsprovider.ServiceEC2, "CreateSecurityGroup")); n != 0 {
		t.Errorf("CreateSecurityGroup called %d times: upstream's k8s-elb group is not adopted", n)
	}
	d, _, lbTags := e.describe(t, name)
	if aws.ToString(d.Scheme) != "internet-facing" || !slices.Equal(d.SecurityGroups, []string{aws.ToString(g.GroupId)}) || len(d.Instances) != 2 {
		t.Errorf("scheme %s, groups %v, %d instances: want internet-facing, upstream's group, the two nodes", aws.ToString(d.Scheme), d.SecurityGroups, len(d.Instances))
	}
	if lbTags[providers.ReplaceKeyTag] == "" {
		t.Errorf("tags %v: no %s", lbTags, providers.ReplaceKeyTag)
	}
	if got := e.srv.EmptiedBackends(); len(got) != 0 {
		t.Errorf("backends emptied: %q", got)
	}
	e.srv.ResetCalls()
	if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); providers.AsReplacementRefused(err) == nil {
		t.Errorf("second reconcile: err = %v, want the refusal again", err)
	}
	if w, _, sum := e.counts(); w != 0 {
		t.Errorf("second reconcile wrote: %s", sum)
	}
	// A restart's first pass with a listing reads the kept load balancer again and refuses
	// again: a refusal is never taken for a no-op.
	c := e.restarted(t)
	l, err := c.ListLoadBalancers(ctx, cluster)
	if err != nil {
		t.Fatal(err)
	}
	e.srv.ResetCalls()
	if _, err := c.EnsureLoadBalancer(providers.WithListing(ctx, l), cluster, svc, e.nodes); providers.AsReplacementRefused(err) == nil {
		t.Errorf("reconcile with a listing: err = %v, want the refusal again", err)
	}
	if w, r, sum := e.counts(); w != 0 || r == 0 {
		t.Errorf("reconcile with a listing: %d writes, %d reads (%s), want reads and no write", w, r, sum)
	}
	e.deleteAndCheckClean(t, svc)
}

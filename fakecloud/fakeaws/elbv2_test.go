package fakeaws

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

var (
	lbARN       = regexp.MustCompile(`^arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/(a1)/([0-9a-f]{16})$`)
	tgARN       = regexp.MustCompile(`^arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/k8s-default-web-0123456789/[0-9a-f]{16}$`)
	listenerARN = regexp.MustCompile(`^arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/net/a1/([0-9a-f]{16})/[0-9a-f]{16}$`)
)

func TestNLBLifecycle(t *testing.T) {
	t.Parallel()
	c := newFake(t)
	tp := buildTopo(t, c)
	sg := must[*ec2.CreateSecurityGroupOutput](t)(c.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("k8s-nlb"), Description: aws.String("nlb"), VpcId: aws.String(tp.vpc)})).GroupId

	lb := must[*elbv2.CreateLoadBalancerOutput](t)(c.elbv2.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{
		Name: aws.String("a1"), Type: elbv2types.LoadBalancerTypeEnumNetwork, Scheme: elbv2types.LoadBalancerSchemeEnumInternetFacing,
		SubnetMappings: []elbv2types.SubnetMapping{{SubnetId: aws.String(tp.public), AllocationId: aws.String("eipalloc-0123")}},
		SecurityGroups: []string{*sg},
		Tags:           []elbv2types.Tag{{Key: aws.String("kubernetes.io/cluster/demo"), Value: aws.String("owned")}},
	})).LoadBalancers[0]
	m := lbARN.FindStringSubmatch(*lb.LoadBalancerArn)
	if m == nil || lb.State.Code != elbv2types.LoadBalancerStateEnumActive || lb.Type != elbv2types.LoadBalancerTypeEnumNetwork ||
		*lb.DNSName != "a1-"+m[2]+".elb.us-east-1.amazonaws.com" || *lb.VpcId != tp.vpc {
		t.Fatalf("load balancer = %+v (%s)", lb, aws.ToString(lb.LoadBalancerArn))
	}
	if az := lb.AvailabilityZones[0]; *az.SubnetId != tp.public || *az.ZoneName != "us-east-1a" || *az.LoadBalancerAddresses[0].AllocationId != "eipalloc-0123" {
		t.Fatalf("zones = %+v", lb.AvailabilityZones)
	}
	// Same name, same settings: idempotent; different settings: DuplicateLoadBalancerName.
	again := must[*elbv2.CreateLoadBalancerOutput](t)(c.elbv2.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("a1"), Type: elbv2types.LoadBalancerTypeEnumNetwork, Subnets: []string{tp.public}}))
	if *again.LoadBalancers[0].LoadBalancerArn != *lb.LoadBalancerArn {
		t.Fatalf("idempotent create returned another LB")
	}
	_, err := c.elbv2.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("a1"), Type: elbv2types.LoadBalancerTypeEnumNetwork, Scheme: elbv2types.LoadBalancerSchemeEnumInternal, Subnets: []string{tp.private}})
	wantCode(t, err, "DuplicateLoadBalancerName")
	var dup *elbv2types.DuplicateLoadBalancerNameException
	if !asErr(err, &dup) {
		t.Fatalf("decoded as %T", err)
	}

	// Target group, targets, listener.
	tg := must[*elbv2.CreateTargetGroupOutput](t)(c.elbv2.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{
		Name: aws.String("k8s-default-web-0123456789"), Protocol: elbv2types.ProtocolEnumTcp, Port: aws.Int32(30080), VpcId: aws.String(tp.vpc),
		TargetType: elbv2types.TargetTypeEnumInstance, HealthCheckProtocol: elbv2types.ProtocolEnumTcp, HealthCheckIntervalSeconds: aws.Int32(10),
		HealthyThresholdCount: aws.Int32(2), UnhealthyThresholdCount: aws.Int32(2),
	})).TargetGroups[0]
	if !tgARN.MatchString(*tg.TargetGroupArn) || *tg.HealthCheckPort != "traffic-port" || *tg.HealthCheckIntervalSeconds != 10 || tg.HealthCheckPath != nil {
		t.Fatalf("target group = %+v", tg)
	}
	_, err = c.elbv2.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: tg.TargetGroupName, Protocol: elbv2types.ProtocolEnumUdp, Port: aws.Int32(30080), VpcId: aws.String(tp.vpc)})
	wantCode(t, err, "DuplicateTargetGroupName")
	must[*elbv2.RegisterTargetsOutput](t)(c.elbv2.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: tg.TargetGroupArn,
		Targets: []elbv2types.TargetDescription{{Id: aws.String(tp.instances[0]), Port: aws.Int32(30080)}, {Id: aws.String(tp.instances[1])}}}))
	_, err = c.elbv2.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: tg.TargetGroupArn, Targets: []elbv2types.TargetDescription{{Id: aws.String("i-0000000000000dead")}}})
	wantCode(t, err, "InvalidTarget")

	health := must[*elbv2.DescribeTargetHealthOutput](t)(c.elbv2.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: tg.TargetGroupArn}))
	if len(health.TargetHealthDescriptions) != 2 || health.TargetHealthDescriptions[0].TargetHealth.State != elbv2types.TargetHealthStateEnumUnused ||
		health.TargetHealthDescriptions[0].TargetHealth.Reason != elbv2types.TargetHealthReasonEnumNotInUse {
		t.Fatalf("health before listener = %+v", health.TargetHealthDescriptions)
	}

	_, err = c.elbv2.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Protocol: elbv2types.ProtocolEnumTcp, Port: aws.Int32(80),
		DefaultActions: []elbv2types.Action{{Type: elbv2types.ActionTypeEnumForward, TargetGroupArn: aws.String(*tg.TargetGroupArn + "0")}}})
	wantCode(t, err, "TargetGroupNotFound")
	l := must[*elbv2.CreateListenerOutput](t)(c.elbv2.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Protocol: elbv2types.ProtocolEnumTcp, Port: aws.Int32(80),
		DefaultActions: []elbv2types.Action{{Type: elbv2types.ActionTypeEnumForward, TargetGroupArn: tg.TargetGroupArn}},
		Tags:           []elbv2types.Tag{{Key: aws.String("kubernetes.io/service-name"), Value: aws.String("default/web")}}})).Listeners[0]
	if lm := listenerARN.FindStringSubmatch(*l.ListenerArn); lm == nil || lm[1] != m[2] {
		t.Fatalf("listener ARN = %s", *l.ListenerArn)
	}
	if *l.DefaultActions[0].ForwardConfig.TargetGroups[0].TargetGroupArn != *tg.TargetGroupArn {
		t.Fatalf("actions = %+v", l.DefaultActions)
	}
	_, err = c.elbv2.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Protocol: elbv2types.ProtocolEnumUdp, Port: aws.Int32(80),
		DefaultActions: []elbv2types.Action{{Type: elbv2types.ActionTypeEnumForward, TargetGroupArn: tg.TargetGroupArn}}})
	wantCode(t, err, "DuplicateListener")

	health = must[*elbv2.DescribeTargetHealthOutput](t)(c.elbv2.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: tg.TargetGroupArn}))
	if h := health.TargetHealthDescriptions[1]; h.TargetHealth.State != elbv2types.TargetHealthStateEnumHealthy || *h.Target.Port != 30080 || *h.HealthCheckPort != "30080" {
		t.Fatalf("health = %+v", h)
	}

	// TLS: a certificate is required, and AWS fills in a default policy.
	tls := must[*elbv2.ModifyListenerOutput](t)(c.elbv2.ModifyListener(ctx, &elbv2.ModifyListenerInput{ListenerArn: l.ListenerArn, Protocol: elbv2types.ProtocolEnumTls,
		Certificates: []elbv2types.Certificate{{CertificateArn: aws.String(importCert(t, c))}}})).Listeners[0]
	if aws.ToString(tls.SslPolicy) != defaultSSLPolicy || tls.Protocol != elbv2types.ProtocolEnumTls {
		t.Fatalf("tls listener = %+v", tls)
	}

	// Target group changes.
	_, err = c.elbv2.ModifyTargetGroup(ctx, &elbv2.ModifyTargetGroupInput{TargetGroupArn: tg.TargetGroupArn, HealthCheckProtocol: elbv2types.ProtocolEnumHttp, HealthCheckPath: aws.String("/healthz")})
	wantCode(t, err, "InvalidConfigurationRequest")
	mod := must[*elbv2.ModifyTargetGroupOutput](t)(c.elbv2.ModifyTargetGroup(ctx, &elbv2.ModifyTargetGroupInput{TargetGroupArn: tg.TargetGroupArn, HealthCheckPort: aws.String("31000"), HealthyThresholdCount: aws.Int32(3)})).TargetGroups[0]
	if *mod.HealthCheckPort != "31000" || *mod.HealthyThresholdCount != 3 || *mod.UnhealthyThresholdCount != 2 {
		t.Fatalf("modified = %+v", mod)
	}
	must[*elbv2.ModifyTargetGroupAttributesOutput](t)(c.elbv2.ModifyTargetGroupAttributes(ctx, &elbv2.ModifyTargetGroupAttributesInput{TargetGroupArn: tg.TargetGroupArn,
		Attributes: []elbv2types.TargetGroupAttribute{{Key: aws.String("proxy_protocol_v2.enabled"), Value: aws.String("true")}}}))
	_, err = c.elbv2.ModifyTargetGroupAttributes(ctx, &elbv2.ModifyTargetGroupAttributesInput{TargetGroupArn: tg.TargetGroupArn,
		Attributes: []elbv2types.TargetGroupAttribute{{Key: aws.String("no.such.key"), Value: aws.String("1")}}})
	wantCode(t, err, "ValidationError")
	tga := must[*elbv2.DescribeTargetGroupAttributesOutput](t)(c.elbv2.DescribeTargetGroupAttributes(ctx, &elbv2.DescribeTargetGroupAttributesInput{TargetGroupArn: tg.TargetGroupArn}))
	got := map[string]string{}
	for _, a := range tga.Attributes {
		got[*a.Key] = *a.Value
	}
	if got["proxy_protocol_v2.enabled"] != "true" || got["preserve_client_ip.enabled"] != "true" || got["deregistration_delay.timeout_seconds"] != "300" {
		t.Fatalf("tg attributes = %v", got)
	}

	// Load balancer attributes, subnets, groups.
	must[*elbv2.ModifyLoadBalancerAttributesOutput](t)(c.elbv2.ModifyLoadBalancerAttributes(ctx, &elbv2.ModifyLoadBalancerAttributesInput{LoadBalancerArn: lb.LoadBalancerArn,
		Attributes: []elbv2types.LoadBalancerAttribute{{Key: aws.String("load_balancing.cross_zone.enabled"), Value: aws.String("true")}}}))
	la := must[*elbv2.DescribeLoadBalancerAttributesOutput](t)(c.elbv2.DescribeLoadBalancerAttributes(ctx, &elbv2.DescribeLoadBalancerAttributesInput{LoadBalancerArn: lb.LoadBalancerArn}))
	got = map[string]string{}
	for _, a := range la.Attributes {
		got[*a.Key] = *a.Value
	}
	if got["load_balancing.cross_zone.enabled"] != "true" || got["access_logs.s3.enabled"] != "false" {
		t.Fatalf("lb attributes = %v", got)
	}
	must[*elbv2.SetSubnetsOutput](t)(c.elbv2.SetSubnets(ctx, &elbv2.SetSubnetsInput{LoadBalancerArn: lb.LoadBalancerArn, Subnets: []string{tp.public, tp.private}}))
	_, err = c.elbv2.SetSubnets(ctx, &elbv2.SetSubnetsInput{LoadBalancerArn: lb.LoadBalancerArn, Subnets: []string{tp.private}})
	wantCode(t, err, "InvalidConfigurationRequest")
	must[*elbv2.SetSecurityGroupsOutput](t)(c.elbv2.SetSecurityGroups(ctx, &elbv2.SetSecurityGroupsInput{LoadBalancerArn: lb.LoadBalancerArn, SecurityGroups: []string{*sg}}))

	// Tags on all three kinds of resources.
	must[*elbv2.AddTagsOutput](t)(c.elbv2.AddTags(ctx, &elbv2.AddTagsInput{ResourceArns: []string{*lb.LoadBalancerArn, *tg.TargetGroupArn}, Tags: []elbv2types.Tag{{Key: aws.String("team"), Value: aws.String("x")}}}))
	must[*elbv2.RemoveTagsOutput](t)(c.elbv2.RemoveTags(ctx, &elbv2.RemoveTagsInput{ResourceArns: []string{*lb.LoadBalancerArn}, TagKeys: []string{"kubernetes.io/cluster/demo"}}))
	tags := must[*elbv2.DescribeTagsOutput](t)(c.elbv2.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{*lb.LoadBalancerArn, *tg.TargetGroupArn, *l.ListenerArn}}))
	var tagText []string
	for _, d := range tags.TagDescriptions {
		var kv []string
		for _, tag := range d.Tags {
			kv = append(kv, *tag.Key+"="+*tag.Value)
		}
		tagText = append(tagText, fmt.Sprint(kv))
	}
	if fmt.Sprint(tagText) != "[[team=x] [team=x] [kubernetes.io/service-name=default/web]]" {
		t.Fatalf("tags = %v", tagText)
	}

	// Describe by name, by ARN, target groups by LB.
	byName := must[*elbv2.DescribeLoadBalancersOutput](t)(c.elbv2.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{"a1"}})).LoadBalancers[0]
	if len(byName.AvailabilityZones) != 2 || len(byName.SecurityGroups) != 1 {
		t.Fatalf("described = %+v", byName)
	}
	tgs := must[*elbv2.DescribeTargetGroupsOutput](t)(c.elbv2.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{LoadBalancerArn: lb.LoadBalancerArn}))
	if len(tgs.TargetGroups) != 1 || fmt.Sprint(tgs.TargetGroups[0].LoadBalancerArns) != fmt.Sprint([]string{*lb.LoadBalancerArn}) {
		t.Fatalf("tgs = %+v", tgs.TargetGroups)
	}
	ls := must[*elbv2.DescribeListenersOutput](t)(c.elbv2.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: lb.LoadBalancerArn}))
	if len(ls.Listeners) != 1 || *ls.Listeners[0].Port != 80 {
		t.Fatalf("listeners = %+v", ls.Listeners)
	}

	// Deletion order: the target group is in use until its listener goes.
	_, err = c.elbv2.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: tg.TargetGroupArn})
	wantCode(t, err, "ResourceInUse")
	must[*elbv2.DeregisterTargetsOutput](t)(c.elbv2.DeregisterTargets(ctx, &elbv2.DeregisterTargetsInput{TargetGroupArn: tg.TargetGroupArn, Targets: []elbv2types.TargetDescription{{Id: aws.String(tp.instances[0])}}}))
	_, err = c.elbv2.DeregisterTargets(ctx, &elbv2.DeregisterTargetsInput{TargetGroupArn: tg.TargetGroupArn, Targets: []elbv2types.TargetDescription{{Id: aws.String(tp.instances[0])}}})
	wantCode(t, err, "InvalidTarget")
	must[*elbv2.DeleteListenerOutput](t)(c.elbv2.DeleteListener(ctx, &elbv2.DeleteListenerInput{ListenerArn: l.ListenerArn}))
	_, err = c.elbv2.DeleteListener(ctx, &elbv2.DeleteListenerInput{ListenerArn: l.ListenerArn})
	wantCode(t, err, "ListenerNotFound")
	must[*elbv2.DeleteTargetGroupOutput](t)(c.elbv2.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: tg.TargetGroupArn}))
	_, err = c.elbv2.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{TargetGroupArns: []string{*tg.TargetGroupArn}})
	wantCode(t, err, "TargetGroupNotFound")
	_, err = c.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: sg})
	wantCode(t, err, "DependencyViolation")
	must[*elbv2.DeleteLoadBalancerOutput](t)(c.elbv2.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: lb.LoadBalancerArn}))
	must[*elbv2.DeleteLoadBalancerOutput](t)(c.elbv2.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: lb.LoadBalancerArn}))
	_, err = c.elbv2.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{"a1"}})
	wantCode(t, err, "LoadBalancerNotFound")
	must[*ec2.DeleteSecurityGroupOutput](t)(c.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: sg}))
}

func TestNLBWithoutSecurityGroupsAndPaging(t *testing.T) {
	t.Parallel()
	c := newFake(t)
	tp := buildTopo(t, c)
	var arns []string
	for i := 0; i < 5; i++ {
		lb := must[*elbv2.CreateLoadBalancerOutput](t)(c.elbv2.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{
			Name: aws.String(fmt.Sprintf("n%d", i)), Type: elbv2types.LoadBalancerTypeEnumNetwork, Scheme: elbv2types.LoadBalancerSchemeEnumInternal, Subnets: []string{tp.private}}))
		arns = append(arns, *lb.LoadBalancers[0].LoadBalancerArn)
		if got := *lb.LoadBalancers[0].DNSName; got[:11] != "internal-n"+fmt.Sprint(i) {
			t.Fatalf("internal DNS name = %s", got)
		}
	}
	sg := must[*ec2.CreateSecurityGroupOutput](t)(c.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("late"), Description: aws.String("late"), VpcId: aws.String(tp.vpc)})).GroupId
	_, err := c.elbv2.SetSecurityGroups(ctx, &elbv2.SetSecurityGroupsInput{LoadBalancerArn: aws.String(arns[0]), SecurityGroups: []string{*sg}})
	wantCode(t, err, "InvalidConfigurationRequest")

	p := elbv2.NewDescribeLoadBalancersPaginator(c.elbv2, &elbv2.DescribeLoadBalancersInput{PageSize: aws.Int32(2)})
	var got []string
	pages := 0
	for p.HasMorePages() {
		out := must[*elbv2.DescribeLoadBalancersOutput](t)(p.NextPage(ctx))
		pages++
		for _, lb := range out.LoadBalancers {
			got = append(got, *lb.LoadBalancerArn)
		}
	}
	if pages != 3 || fmt.Sprint(got) != fmt.Sprint(arns) {
		t.Fatalf("pages = %d, got %v", pages, got)
	}
	_, err = c.elbv2.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{LoadBalancerArns: []string{arns[0] + "0"}})
	wantCode(t, err, "LoadBalancerNotFound")
}

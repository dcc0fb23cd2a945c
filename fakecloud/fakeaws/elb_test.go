package fakeaws

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
)

func describeCLB(t *testing.T, c *clients, name string) elbtypes.LoadBalancerDescription {
	t.Helper()
	out := must[*elb.DescribeLoadBalancersOutput](t)(c.elb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerNames: []string{name}}))
	if len(out.LoadBalancerDescriptions) != 1 {
		t.Fatalf("DescribeLoadBalancers(%s) = %d descriptions", name, len(out.LoadBalancerDescriptions))
	}
	return out.LoadBalancerDescriptions[0]
}

func TestClassicLifecycle(t *testing.T) {
	t.Parallel()
	c := newFake(t)
	tp := buildTopo(t, c)
	sg := must[*ec2.CreateSecurityGroupOutput](t)(c.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("k8s-elb-a1"), Description: aws.String("lb"), VpcId: aws.String(tp.vpc)})).GroupId

	created := must[*elb.CreateLoadBalancerOutput](t)(c.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{
		LoadBalancerName: aws.String("a1"),
		Listeners:        []elbtypes.Listener{{Protocol: aws.String("tcp"), LoadBalancerPort: 80, InstancePort: aws.Int32(30080)}},
		Subnets:          []string{tp.public},
		SecurityGroups:   []string{*sg},
		Tags:             []elbtypes.Tag{{Key: aws.String("kubernetes.io/service-name"), Value: aws.String("default/web")}},
	}))
	if !strings.HasPrefix(*created.DNSName, "a1-") || !strings.HasSuffix(*created.DNSName, ".us-east-1.elb.amazonaws.com") {
		t.Fatalf("DNSName = %s", *created.DNSName)
	}
	internal := must[*elb.CreateLoadBalancerOutput](t)(c.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{
		LoadBalancerName: aws.String("a2"), Scheme: aws.String("internal"),
		Listeners: []elbtypes.Listener{{Protocol: aws.String("TCP"), LoadBalancerPort: 53, InstancePort: aws.Int32(30053)}},
		Subnets:   []string{tp.private},
	}))
	if !strings.HasPrefix(*internal.DNSName, "internal-a2-") {
		t.Fatalf("internal DNSName = %s", *internal.DNSName)
	}
	_, err := c.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{LoadBalancerName: aws.String("a1"),
		Listeners: []elbtypes.Listener{{Protocol: aws.String("TCP"), LoadBalancerPort: 80, InstancePort: aws.Int32(1)}}, Subnets: []string{tp.public}})
	wantCode(t, err, "DuplicateLoadBalancerName")
	var dup *elbtypes.DuplicateAccessPointNameException
	if !asErr(err, &dup) {
		t.Fatalf("DuplicateLoadBalancerName decoded as %T, want the modeled exception", err)
	}

	// Listeners, health check, instances, subnets, groups.
	must[*elb.CreateLoadBalancerListenersOutput](t)(c.elb.CreateLoadBalancerListeners(ctx, &elb.CreateLoadBalancerListenersInput{LoadBalancerName: aws.String("a1"),
		Listeners: []elbtypes.Listener{{Protocol: aws.String("HTTPS"), LoadBalancerPort: 443, InstancePort: aws.Int32(30443), InstanceProtocol: aws.String("HTTP"), SSLCertificateId: aws.String(importCert(t, c))}}}))
	_, err = c.elb.CreateLoadBalancerListeners(ctx, &elb.CreateLoadBalancerListenersInput{LoadBalancerName: aws.String("a1"),
		Listeners: []elbtypes.Listener{{Protocol: aws.String("TCP"), LoadBalancerPort: 80, InstancePort: aws.Int32(9999)}}})
	wantCode(t, err, "DuplicateListener")
	must[*elb.DeleteLoadBalancerListenersOutput](t)(c.elb.DeleteLoadBalancerListeners(ctx, &elb.DeleteLoadBalancerListenersInput{LoadBalancerName: aws.String("a1"), LoadBalancerPorts: []int32{80}}))
	hc := must[*elb.ConfigureHealthCheckOutput](t)(c.elb.ConfigureHealthCheck(ctx, &elb.ConfigureHealthCheckInput{LoadBalancerName: aws.String("a1"), HealthCheck: &elbtypes.HealthCheck{
		Target: aws.String("HTTP:31000/healthz"), Interval: aws.Int32(10), Timeout: aws.Int32(5), HealthyThreshold: aws.Int32(2), UnhealthyThreshold: aws.Int32(6)}}))
	if *hc.HealthCheck.Target != "HTTP:31000/healthz" {
		t.Fatalf("health check = %+v", hc.HealthCheck)
	}
	_, err = c.elb.ConfigureHealthCheck(ctx, &elb.ConfigureHealthCheckInput{LoadBalancerName: aws.String("a1"), HealthCheck: &elbtypes.HealthCheck{
		Target: aws.String("TCP:1"), Interval: aws.Int32(3), Timeout: aws.Int32(2), HealthyThreshold: aws.Int32(2), UnhealthyThreshold: aws.Int32(2)}})
	wantCode(t, err, "ValidationError")
	reg := must[*elb.RegisterInstancesWithLoadBalancerOutput](t)(c.elb.RegisterInstancesWithLoadBalancer(ctx, &elb.RegisterInstancesWithLoadBalancerInput{LoadBalancerName: aws.String("a1"),
		Instances: []elbtypes.Instance{{InstanceId: aws.String(tp.instances[0])}, {InstanceId: aws.String(tp.instances[1])}}}))
	if len(reg.Instances) != 2 {
		t.Fatalf("registered = %+v", reg.Instances)
	}
	must[*elb.DeregisterInstancesFromLoadBalancerOutput](t)(c.elb.DeregisterInstancesFromLoadBalancer(ctx, &elb.DeregisterInstancesFromLoadBalancerInput{LoadBalancerName: aws.String("a1"),
		Instances: []elbtypes.Instance{{InstanceId: aws.String(tp.instances[0])}}}))
	_, err = c.elb.RegisterInstancesWithLoadBalancer(ctx, &elb.RegisterInstancesWithLoadBalancerInput{LoadBalancerName: aws.String("a1"), Instances: []elbtypes.Instance{{InstanceId: aws.String("i-0000000000000dead")}}})
	wantCode(t, err, "InvalidInstance")
	must[*elb.AttachLoadBalancerToSubnetsOutput](t)(c.elb.AttachLoadBalancerToSubnets(ctx, &elb.AttachLoadBalancerToSubnetsInput{LoadBalancerName: aws.String("a1"), Subnets: []string{tp.private}}))
	must[*elb.DetachLoadBalancerFromSubnetsOutput](t)(c.elb.DetachLoadBalancerFromSubnets(ctx, &elb.DetachLoadBalancerFromSubnetsInput{LoadBalancerName: aws.String("a1"), Subnets: []string{tp.public}}))
	sg2 := must[*ec2.CreateSecurityGroupOutput](t)(c.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("extra"), Description: aws.String("x"), VpcId: aws.String(tp.vpc)})).GroupId
	must[*elb.ApplySecurityGroupsToLoadBalancerOutput](t)(c.elb.ApplySecurityGroupsToLoadBalancer(ctx, &elb.ApplySecurityGroupsToLoadBalancerInput{LoadBalancerName: aws.String("a1"), SecurityGroups: []string{*sg, *sg2}}))

	// Policies: proxy protocol on the backend, SSL negotiation on the listener.
	_, err = c.elb.DescribeLoadBalancerPolicies(ctx, &elb.DescribeLoadBalancerPoliciesInput{LoadBalancerName: aws.String("a1"), PolicyNames: []string{"k8s-SSLNegotiationPolicy-ELBSecurityPolicy-2016-08"}})
	wantCode(t, err, "PolicyNotFound")
	must[*elb.CreateLoadBalancerPolicyOutput](t)(c.elb.CreateLoadBalancerPolicy(ctx, &elb.CreateLoadBalancerPolicyInput{LoadBalancerName: aws.String("a1"),
		PolicyName: aws.String("k8s-SSLNegotiationPolicy-ELBSecurityPolicy-2016-08"), PolicyTypeName: aws.String("SSLNegotiationPolicyType"),
		PolicyAttributes: []elbtypes.PolicyAttribute{{AttributeName: aws.String("Reference-Security-Policy"), AttributeValue: aws.String("ELBSecurityPolicy-2016-08")}}}))
	must[*elb.CreateLoadBalancerPolicyOutput](t)(c.elb.CreateLoadBalancerPolicy(ctx, &elb.CreateLoadBalancerPolicyInput{LoadBalancerName: aws.String("a1"),
		PolicyName: aws.String("k8s-proxyprotocol-enabled"), PolicyTypeName: aws.String("ProxyProtocolPolicyType"),
		PolicyAttributes: []elbtypes.PolicyAttribute{{AttributeName: aws.String("ProxyProtocol"), AttributeValue: aws.String("true")}}}))
	_, err = c.elb.CreateLoadBalancerPolicy(ctx, &elb.CreateLoadBalancerPolicyInput{LoadBalancerName: aws.String("a1"), PolicyName: aws.String("k8s-proxyprotocol-enabled"), PolicyTypeName: aws.String("ProxyProtocolPolicyType")})
	wantCode(t, err, "DuplicatePolicyName")
	must[*elb.SetLoadBalancerPoliciesOfListenerOutput](t)(c.elb.SetLoadBalancerPoliciesOfListener(ctx, &elb.SetLoadBalancerPoliciesOfListenerInput{LoadBalancerName: aws.String("a1"), LoadBalancerPort: 443, PolicyNames: []string{"k8s-SSLNegotiationPolicy-ELBSecurityPolicy-2016-08"}}))
	_, err = c.elb.SetLoadBalancerPoliciesOfListener(ctx, &elb.SetLoadBalancerPoliciesOfListenerInput{LoadBalancerName: aws.String("a1"), LoadBalancerPort: 8443, PolicyNames: []string{}})
	wantCode(t, err, "ListenerNotFound")
	must[*elb.SetLoadBalancerPoliciesForBackendServerOutput](t)(c.elb.SetLoadBalancerPoliciesForBackendServer(ctx, &elb.SetLoadBalancerPoliciesForBackendServerInput{LoadBalancerName: aws.String("a1"), InstancePort: aws.Int32(30443), PolicyNames: []string{"k8s-proxyprotocol-enabled"}}))
	pols := must[*elb.DescribeLoadBalancerPoliciesOutput](t)(c.elb.DescribeLoadBalancerPolicies(ctx, &elb.DescribeLoadBalancerPoliciesInput{LoadBalancerName: aws.String("a1"), PolicyNames: []string{"k8s-proxyprotocol-enabled"}}))
	if len(pols.PolicyDescriptions) != 1 || *pols.PolicyDescriptions[0].PolicyAttributeDescriptions[0].AttributeValue != "true" {
		t.Fatalf("policies = %+v", pols.PolicyDescriptions)
	}

	d := describeCLB(t, c, "a1")
	if *d.Scheme != "internet-facing" || *d.VPCId != tp.vpc || fmt.Sprint(d.Subnets) != fmt.Sprint([]string{tp.private}) || fmt.Sprint(d.AvailabilityZones) != "[us-east-1b]" ||
		fmt.Sprint(d.SecurityGroups) != fmt.Sprint([]string{*sg, *sg2}) || len(d.Instances) != 1 || *d.Instances[0].InstanceId != tp.instances[1] ||
		*d.HealthCheck.Target != "HTTP:31000/healthz" || *d.HealthCheck.UnhealthyThreshold != 6 {
		t.Fatalf("description = %+v", d)
	}
	if len(d.ListenerDescriptions) != 1 {
		t.Fatalf("listeners = %+v", d.ListenerDescriptions)
	}
	l := d.ListenerDescriptions[0]
	if l.Listener.LoadBalancerPort != 443 || *l.Listener.Protocol != "HTTPS" || *l.Listener.InstanceProtocol != "HTTP" || *l.Listener.InstancePort != 30443 ||
		*l.Listener.SSLCertificateId == "" || fmt.Sprint(l.PolicyNames) != "[k8s-SSLNegotiationPolicy-ELBSecurityPolicy-2016-08]" {
		t.Fatalf("listener = %+v %+v", l.Listener, l.PolicyNames)
	}
	if len(d.BackendServerDescriptions) != 1 || *d.BackendServerDescriptions[0].InstancePort != 30443 || len(d.Policies.OtherPolicies) != 2 {
		t.Fatalf("backends = %+v policies = %+v", d.BackendServerDescriptions, d.Policies)
	}

	// Attributes.
	attrs := must[*elb.DescribeLoadBalancerAttributesOutput](t)(c.elb.DescribeLoadBalancerAttributes(ctx, &elb.DescribeLoadBalancerAttributesInput{LoadBalancerName: aws.String("a1")})).LoadBalancerAttributes
	if attrs.CrossZoneLoadBalancing.Enabled || *attrs.ConnectionSettings.IdleTimeout != 60 || attrs.AccessLog.Enabled || *attrs.ConnectionDraining.Timeout != 300 {
		t.Fatalf("default attributes = %+v", attrs)
	}
	must[*elb.ModifyLoadBalancerAttributesOutput](t)(c.elb.ModifyLoadBalancerAttributes(ctx, &elb.ModifyLoadBalancerAttributesInput{LoadBalancerName: aws.String("a1"), LoadBalancerAttributes: &elbtypes.LoadBalancerAttributes{
		CrossZoneLoadBalancing: &elbtypes.CrossZoneLoadBalancing{Enabled: true},
		ConnectionDraining:     &elbtypes.ConnectionDraining{Enabled: true, Timeout: aws.Int32(30)},
		AccessLog:              &elbtypes.AccessLog{Enabled: true, S3BucketName: aws.String("logs"), EmitInterval: aws.Int32(5)},
	}}))
	attrs = must[*elb.DescribeLoadBalancerAttributesOutput](t)(c.elb.DescribeLoadBalancerAttributes(ctx, &elb.DescribeLoadBalancerAttributesInput{LoadBalancerName: aws.String("a1")})).LoadBalancerAttributes
	if !attrs.CrossZoneLoadBalancing.Enabled || *attrs.ConnectionDraining.Timeout != 30 || !attrs.AccessLog.Enabled || *attrs.AccessLog.S3BucketName != "logs" || *attrs.ConnectionSettings.IdleTimeout != 60 {
		t.Fatalf("modified attributes = %+v", attrs)
	}

	// Tags.
	must[*elb.AddTagsOutput](t)(c.elb.AddTags(ctx, &elb.AddTagsInput{LoadBalancerNames: []string{"a1"}, Tags: []elbtypes.Tag{{Key: aws.String("team"), Value: aws.String("x")}, {Key: aws.String("kubernetes.io/cluster/demo"), Value: aws.String("owned")}}}))
	must[*elb.RemoveTagsOutput](t)(c.elb.RemoveTags(ctx, &elb.RemoveTagsInput{LoadBalancerNames: []string{"a1"}, Tags: []elbtypes.TagKeyOnly{{Key: aws.String("team")}}}))
	tags := must[*elb.DescribeTagsOutput](t)(c.elb.DescribeTags(ctx, &elb.DescribeTagsInput{LoadBalancerNames: []string{"a1", "a2"}}))
	if len(tags.TagDescriptions) != 2 || len(tags.TagDescriptions[0].Tags) != 2 || *tags.TagDescriptions[0].Tags[1].Key != "kubernetes.io/cluster/demo" || len(tags.TagDescriptions[1].Tags) != 0 {
		t.Fatalf("tags = %+v", tags.TagDescriptions)
	}

	// A security group in use by a load balancer cannot be deleted; after the LB goes it can.
	_, err = c.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: sg2})
	wantCode(t, err, "DependencyViolation")
	must[*elb.DeleteLoadBalancerOutput](t)(c.elb.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerName: aws.String("a1")}))
	must[*elb.DeleteLoadBalancerOutput](t)(c.elb.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerName: aws.String("a1")}))
	_, err = c.elb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerNames: []string{"a1"}})
	wantCode(t, err, "LoadBalancerNotFound")
	var nf *elbtypes.AccessPointNotFoundException
	if !asErr(err, &nf) {
		t.Fatalf("LoadBalancerNotFound decoded as %T", err)
	}
	must[*ec2.DeleteSecurityGroupOutput](t)(c.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: sg2}))
}

func TestClassicPagination(t *testing.T) {
	t.Parallel()
	c := newFake(t)
	tp := buildTopo(t, c)
	for i := 0; i < 7; i++ {
		must[*elb.CreateLoadBalancerOutput](t)(c.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{LoadBalancerName: aws.String(fmt.Sprintf("lb%d", i)),
			Listeners: []elbtypes.Listener{{Protocol: aws.String("TCP"), LoadBalancerPort: 80, InstancePort: aws.Int32(30080)}}, Subnets: []string{tp.public}}))
	}
	p := elb.NewDescribeLoadBalancersPaginator(c.elb, &elb.DescribeLoadBalancersInput{PageSize: aws.Int32(3)})
	var names []string
	pages := 0
	for p.HasMorePages() {
		out := must[*elb.DescribeLoadBalancersOutput](t)(p.NextPage(ctx))
		pages++
		for _, d := range out.LoadBalancerDescriptions {
			names = append(names, *d.LoadBalancerName)
		}
	}
	if pages != 3 || fmt.Sprint(names) != "[lb0 lb1 lb2 lb3 lb4 lb5 lb6]" {
		t.Fatalf("pages = %d names = %v", pages, names)
	}
	_, err := c.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{LoadBalancerName: aws.String("this-name-is-far-too-long-for-an-elb-name"),
		Listeners: []elbtypes.Listener{{Protocol: aws.String("TCP"), LoadBalancerPort: 80, InstancePort: aws.Int32(30080)}}, Subnets: []string{tp.public}})
	wantCode(t, err, "ValidationError")
}

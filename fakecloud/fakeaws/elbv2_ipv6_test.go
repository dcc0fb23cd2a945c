package fakeaws

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

func TestNLBIPAddressType(t *testing.T) {
	t.Parallel()
	c := newFake(t)
	tp := buildTopo(t, c)
	create := func(name string, ipType elbv2types.IpAddressType, nat elbv2types.EnablePrefixForIpv6SourceNatEnum, m elbv2types.SubnetMapping) (*elbv2.CreateLoadBalancerOutput, error) {
		m.SubnetId = aws.String(tp.public)
		return c.elbv2.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String(name), Type: elbv2types.LoadBalancerTypeEnumNetwork,
			IpAddressType: ipType, EnablePrefixForIpv6SourceNat: nat, SubnetMappings: []elbv2types.SubnetMapping{m}})
	}
	tests := []struct {
		name   string
		ipType elbv2types.IpAddressType
		nat    elbv2types.EnablePrefixForIpv6SourceNatEnum
		m      elbv2types.SubnetMapping
		code   string
	}{
		{"ipv6 address on ipv4", elbv2types.IpAddressTypeIpv4, "", elbv2types.SubnetMapping{IPv6Address: aws.String("2600:1f18::10")}, "InvalidConfigurationRequest"},
		{"not an ipv6 address", elbv2types.IpAddressTypeDualstack, "", elbv2types.SubnetMapping{IPv6Address: aws.String("10.0.1.10")}, "ValidationError"},
		{"nat prefix without enable", elbv2types.IpAddressTypeDualstack, "", elbv2types.SubnetMapping{SourceNatIpv6Prefix: aws.String("auto_assigned")}, "InvalidConfigurationRequest"},
		{"enable on ipv4", elbv2types.IpAddressTypeIpv4, elbv2types.EnablePrefixForIpv6SourceNatEnumOn, elbv2types.SubnetMapping{}, "ValidationError"},
		{"nat prefix not /80", elbv2types.IpAddressTypeDualstack, elbv2types.EnablePrefixForIpv6SourceNatEnumOn, elbv2types.SubnetMapping{SourceNatIpv6Prefix: aws.String("2600:1f18::/64")}, "ValidationError"},
		{"nlb without public ipv4", elbv2types.IpAddressTypeDualstackWithoutPublicIpv4, "", elbv2types.SubnetMapping{}, "ValidationError"},
		{"unknown type", "ipv5", "", elbv2types.SubnetMapping{}, "ValidationError"},
	}
	for _, tt := range tests {
		_, err := create("bad", tt.ipType, tt.nat, tt.m)
		if code(err) != tt.code {
			t.Errorf("%s: error code %q, want %q (%v)", tt.name, code(err), tt.code, err)
		}
	}

	lb := must[*elbv2.CreateLoadBalancerOutput](t)(create("ds", elbv2types.IpAddressTypeDualstack, elbv2types.EnablePrefixForIpv6SourceNatEnumOn,
		elbv2types.SubnetMapping{IPv6Address: aws.String("2600:1f18::10"), SourceNatIpv6Prefix: aws.String("auto_assigned")})).LoadBalancers[0]
	got := must[*elbv2.DescribeLoadBalancersOutput](t)(c.elbv2.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{"ds"}})).LoadBalancers[0]
	az := got.AvailabilityZones[0]
	if got.IpAddressType != elbv2types.IpAddressTypeDualstack || got.EnablePrefixForIpv6SourceNat != elbv2types.EnablePrefixForIpv6SourceNatEnumOn ||
		len(az.LoadBalancerAddresses) != 1 || aws.ToString(az.LoadBalancerAddresses[0].IPv6Address) != "2600:1f18::10" ||
		len(az.SourceNatIpv6Prefixes) != 1 || az.SourceNatIpv6Prefixes[0] == "auto_assigned" {
		t.Fatalf("dualstack NLB described as %+v, zone %+v", got, az)
	}
	// Adding a subnet keeps the pins of the subnets already there.
	must[*elbv2.SetSubnetsOutput](t)(c.elbv2.SetSubnets(ctx, &elbv2.SetSubnetsInput{LoadBalancerArn: lb.LoadBalancerArn, Subnets: []string{tp.public, tp.private}}))
	got = must[*elbv2.DescribeLoadBalancersOutput](t)(c.elbv2.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{"ds"}})).LoadBalancers[0]
	if len(got.AvailabilityZones) != 2 || aws.ToString(got.AvailabilityZones[0].LoadBalancerAddresses[0].IPv6Address) != "2600:1f18::10" ||
		len(got.AvailabilityZones[0].SourceNatIpv6Prefixes) != 1 || len(got.AvailabilityZones[1].LoadBalancerAddresses) != 0 {
		t.Fatalf("after SetSubnets: %+v", got.AvailabilityZones)
	}
	_, err := c.elbv2.SetSubnets(ctx, &elbv2.SetSubnetsInput{LoadBalancerArn: lb.LoadBalancerArn,
		SubnetMappings: []elbv2types.SubnetMapping{{SubnetId: aws.String(tp.public)}, {SubnetId: aws.String(tp.private), SourceNatIpv6Prefix: aws.String("bad")}}})
	wantCode(t, err, "ValidationError")
	// With source NAT prefixes the type cannot go back to ipv4.
	_, err = c.elbv2.SetIpAddressType(ctx, &elbv2.SetIpAddressTypeInput{LoadBalancerArn: lb.LoadBalancerArn, IpAddressType: elbv2types.IpAddressTypeIpv4})
	wantCode(t, err, "InvalidConfigurationRequest")

	plain := must[*elbv2.CreateLoadBalancerOutput](t)(create("v4", "", "", elbv2types.SubnetMapping{})).LoadBalancers[0]
	if plain.IpAddressType != elbv2types.IpAddressTypeIpv4 || plain.EnablePrefixForIpv6SourceNat != elbv2types.EnablePrefixForIpv6SourceNatEnumOff {
		t.Fatalf("default NLB = %+v", plain)
	}
	for _, want := range []elbv2types.IpAddressType{elbv2types.IpAddressTypeDualstack, elbv2types.IpAddressTypeIpv4} {
		out := must[*elbv2.SetIpAddressTypeOutput](t)(c.elbv2.SetIpAddressType(ctx, &elbv2.SetIpAddressTypeInput{LoadBalancerArn: plain.LoadBalancerArn, IpAddressType: want}))
		now := must[*elbv2.DescribeLoadBalancersOutput](t)(c.elbv2.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{"v4"}})).LoadBalancers[0]
		if out.IpAddressType != want || now.IpAddressType != want {
			t.Fatalf("SetIpAddressType %s: returned %s, described %s", want, out.IpAddressType, now.IpAddressType)
		}
	}
	_, err = c.elbv2.SetIpAddressType(ctx, &elbv2.SetIpAddressTypeInput{LoadBalancerArn: plain.LoadBalancerArn, IpAddressType: "ipv5"})
	wantCode(t, err, "ValidationError")
	_, err = c.elbv2.SetIpAddressType(ctx, &elbv2.SetIpAddressTypeInput{LoadBalancerArn: aws.String("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/gone/0"), IpAddressType: elbv2types.IpAddressTypeIpv4})
	wantCode(t, err, "LoadBalancerNotFound")
}

func TestNLBSecurityGroupsPrivateLink(t *testing.T) {
	t.Parallel()
	c := newFake(t)
	tp := buildTopo(t, c)
	sg := must[*ec2.CreateSecurityGroupOutput](t)(c.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("k8s-elb-a"), Description: aws.String("nlb"), VpcId: aws.String(tp.vpc)})).GroupId
	with := must[*elbv2.CreateLoadBalancerOutput](t)(c.elbv2.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("with"), Type: elbv2types.LoadBalancerTypeEnumNetwork,
		Subnets: []string{tp.public}, SecurityGroups: []string{*sg}})).LoadBalancers[0]
	without := must[*elbv2.CreateLoadBalancerOutput](t)(c.elbv2.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("without"), Type: elbv2types.LoadBalancerTypeEnumNetwork,
		Subnets: []string{tp.public}})).LoadBalancers[0]
	enforce := func(name string) string {
		lb := must[*elbv2.DescribeLoadBalancersOutput](t)(c.elbv2.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{name}})).LoadBalancers[0]
		return aws.ToString(lb.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic)
	}
	if enforce("with") != "on" || enforce("without") != "" {
		t.Fatalf("enforce at creation: with=%q without=%q, want on and unset", enforce("with"), enforce("without"))
	}
	out := must[*elbv2.SetSecurityGroupsOutput](t)(c.elbv2.SetSecurityGroups(ctx, &elbv2.SetSecurityGroupsInput{LoadBalancerArn: with.LoadBalancerArn,
		SecurityGroups: []string{*sg}, EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic: elbv2types.EnforceSecurityGroupInboundRulesOnPrivateLinkTrafficEnumOff}))
	if out.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic != "off" || enforce("with") != "off" {
		t.Fatalf("after SetSecurityGroups off: returned %q, described %q", out.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic, enforce("with"))
	}
	// Leaving the parameter out keeps the current value.
	must[*elbv2.SetSecurityGroupsOutput](t)(c.elbv2.SetSecurityGroups(ctx, &elbv2.SetSecurityGroupsInput{LoadBalancerArn: with.LoadBalancerArn, SecurityGroups: []string{*sg}}))
	if enforce("with") != "off" {
		t.Fatalf("SetSecurityGroups without the parameter changed it to %q", enforce("with"))
	}
	_, err := c.elbv2.SetSecurityGroups(ctx, &elbv2.SetSecurityGroupsInput{LoadBalancerArn: without.LoadBalancerArn, SecurityGroups: []string{*sg}})
	wantCode(t, err, "InvalidConfigurationRequest")
	_, err = c.elbv2.SetSecurityGroups(ctx, &elbv2.SetSecurityGroupsInput{LoadBalancerArn: with.LoadBalancerArn, SecurityGroups: []string{*sg}, EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic: "maybe"})
	wantCode(t, err, "ValidationError")
	// The group is in use by the NLB: it cannot be deleted.
	_, err = c.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: sg})
	wantCode(t, err, "DependencyViolation")

	// Prefix-list sources keep their descriptions through DescribeSecurityGroups.
	must[*ec2.AuthorizeSecurityGroupIngressOutput](t)(c.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg, IpPermissions: []ec2types.IpPermission{{
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443),
		PrefixListIds: []ec2types.PrefixListId{{PrefixListId: aws.String("pl-0abc"), Description: aws.String("office")}},
	}}}))
	g := must[*ec2.DescribeSecurityGroupsOutput](t)(c.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{*sg}})).SecurityGroups[0]
	if len(g.IpPermissions) != 1 || len(g.IpPermissions[0].PrefixListIds) != 1 || aws.ToString(g.IpPermissions[0].PrefixListIds[0].PrefixListId) != "pl-0abc" ||
		aws.ToString(g.IpPermissions[0].PrefixListIds[0].Description) != "office" {
		t.Fatalf("prefix-list rule described as %+v", g.IpPermissions)
	}
	_, err = c.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg, IpPermissions: []ec2types.IpPermission{{
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443), PrefixListIds: []ec2types.PrefixListId{{PrefixListId: aws.String("pl-0abc")}},
	}}})
	wantCode(t, err, "InvalidPermission.Duplicate")
}

func TestListenerALPN(t *testing.T) {
	t.Parallel()
	c := newFake(t)
	tp := buildTopo(t, c)
	lb := must[*elbv2.CreateLoadBalancerOutput](t)(c.elbv2.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("alpn"), Type: elbv2types.LoadBalancerTypeEnumNetwork, Subnets: []string{tp.public}})).LoadBalancers[0]
	tg := must[*elbv2.CreateTargetGroupOutput](t)(c.elbv2.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String("tg"), Protocol: elbv2types.ProtocolEnumTcp,
		Port: aws.Int32(30443), VpcId: aws.String(tp.vpc), TargetType: elbv2types.TargetTypeEnumInstance})).TargetGroups[0]
	fwd := []elbv2types.Action{{Type: elbv2types.ActionTypeEnumForward, TargetGroupArn: tg.TargetGroupArn}}
	certs := []elbv2types.Certificate{{CertificateArn: aws.String(importCert(t, c))}}

	_, err := c.elbv2.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Port: aws.Int32(80), Protocol: elbv2types.ProtocolEnumTcp, DefaultActions: fwd, AlpnPolicy: []string{"HTTP2Preferred"}})
	wantCode(t, err, "ALPNPolicyNotFound")
	_, err = c.elbv2.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Port: aws.Int32(443), Protocol: elbv2types.ProtocolEnumTls, Certificates: certs, DefaultActions: fwd, AlpnPolicy: []string{"HTTP3"}})
	wantCode(t, err, "ValidationError")

	l := must[*elbv2.CreateListenerOutput](t)(c.elbv2.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Port: aws.Int32(443),
		Protocol: elbv2types.ProtocolEnumTls, Certificates: certs, DefaultActions: fwd, AlpnPolicy: []string{"HTTP2Preferred"}})).Listeners[0]
	alpn := func() []string {
		ls := must[*elbv2.DescribeListenersOutput](t)(c.elbv2.DescribeListeners(ctx, &elbv2.DescribeListenersInput{ListenerArns: []string{*l.ListenerArn}}))
		return ls.Listeners[0].AlpnPolicy
	}
	if got := alpn(); len(got) != 1 || got[0] != "HTTP2Preferred" {
		t.Fatalf("ALPN after create = %v", got)
	}
	must[*elbv2.ModifyListenerOutput](t)(c.elbv2.ModifyListener(ctx, &elbv2.ModifyListenerInput{ListenerArn: l.ListenerArn, AlpnPolicy: []string{"None"}}))
	if got := alpn(); len(got) != 1 || got[0] != "None" {
		t.Fatalf("ALPN after modify = %v", got)
	}
	must[*elbv2.ModifyListenerOutput](t)(c.elbv2.ModifyListener(ctx, &elbv2.ModifyListenerInput{ListenerArn: l.ListenerArn, AlpnPolicy: []string{"HTTP1Only"}}))
	// Turning the listener into TCP drops its ALPN policy, as it drops the certificates.
	must[*elbv2.ModifyListenerOutput](t)(c.elbv2.ModifyListener(ctx, &elbv2.ModifyListenerInput{ListenerArn: l.ListenerArn, Protocol: elbv2types.ProtocolEnumTcp}))
	if got := alpn(); len(got) != 0 {
		t.Fatalf("ALPN on a TCP listener = %v", got)
	}
	_, err = c.elbv2.ModifyListener(ctx, &elbv2.ModifyListenerInput{ListenerArn: l.ListenerArn, AlpnPolicy: []string{"HTTP2Only"}})
	wantCode(t, err, "ALPNPolicyNotFound")
}

func TestNLBDefaultAttributes(t *testing.T) {
	t.Parallel()
	c := newFake(t)
	tp := buildTopo(t, c)
	for _, tt := range []struct {
		scheme elbv2types.LoadBalancerSchemeEnum
		subnet string
		deny   string
	}{{elbv2types.LoadBalancerSchemeEnumInternetFacing, tp.public, "false"}, {elbv2types.LoadBalancerSchemeEnumInternal, tp.private, "true"}} {
		lb := must[*elbv2.CreateLoadBalancerOutput](t)(c.elbv2.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("a-" + string(tt.scheme)),
			Type: elbv2types.LoadBalancerTypeEnumNetwork, Scheme: tt.scheme, Subnets: []string{tt.subnet}})).LoadBalancers[0]
		out := must[*elbv2.DescribeLoadBalancerAttributesOutput](t)(c.elbv2.DescribeLoadBalancerAttributes(ctx, &elbv2.DescribeLoadBalancerAttributesInput{LoadBalancerArn: lb.LoadBalancerArn}))
		got := map[string]string{}
		for _, a := range out.Attributes {
			got[aws.ToString(a.Key)] = aws.ToString(a.Value)
		}
		if got["ipv6.deny_all_igw_traffic"] != tt.deny || got["zonal_shift.config.enabled"] != "false" || got["secondary_ips.auto_assigned.per_subnet"] != "0" {
			t.Errorf("%s NLB attributes = %v", tt.scheme, got)
		}
		must[*elbv2.ModifyLoadBalancerAttributesOutput](t)(c.elbv2.ModifyLoadBalancerAttributes(ctx, &elbv2.ModifyLoadBalancerAttributesInput{LoadBalancerArn: lb.LoadBalancerArn,
			Attributes: []elbv2types.LoadBalancerAttribute{{Key: aws.String("zonal_shift.config.enabled"), Value: aws.String("true")}}}))
	}
}

package aws_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/providers"
)

// listenerALPN is the ALPN policy of the NLB's listener on port ("" when none).
func (e *env) listenerALPN(t *testing.T, port int32) string {
	t.Helper()
	ls, err := e.elbv2.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: e.nlb(t).LoadBalancerArn})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls.Listeners {
		if aws.ToInt32(l.Port) == port {
			return strings.Join(l.AlpnPolicy, ",")
		}
	}
	t.Fatalf("no listener on %d", port)
	return ""
}

func TestNLBALPNAndIPAddressType(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc := nlbService(map[string]string{prefix + "ssl-cert": cert, prefix + "ssl-ports": "443", prefix + "alpn-policy": "HTTP2Preferred"})
	svc.Spec.LoadBalancerSourceRanges = nil // the default, 0.0.0.0/0
	e.ensure(t, svc)
	if got := e.listenerALPN(t, 443); got != "HTTP2Preferred" {
		t.Errorf("ALPN on create = %q", got)
	}
	if got := e.listenerALPN(t, 80); got != "" {
		t.Errorf("ALPN on the TCP listener = %q", got)
	}
	arn := aws.ToString(e.nlb(t).LoadBalancerArn)

	steps := []struct {
		name   string
		set    map[string]string
		unset  []string
		alpn   string
		ipType v2types.IpAddressType
		writes map[string]int // exact write calls of the change
	}{
		{"alpn changed", map[string]string{prefix + "alpn-policy": "HTTP1Only"}, nil, "HTTP1Only", "ipv4",
			map[string]int{"ModifyListener": 1, "AddTags": 1}},
		{"alpn removed", nil, []string{prefix + "alpn-policy"}, "None", "ipv4",
			map[string]int{"ModifyListener": 1, "AddTags": 1}},
		{"dualstack", map[string]string{prefix + "ip-address-type": "dualstack"}, nil, "None", "dualstack",
			map[string]int{"SetIpAddressType": 1, "AuthorizeSecurityGroupIngress": 1, "AddTags": 1}},
		{"back to ipv4", nil, []string{prefix + "ip-address-type"}, "None", "ipv4",
			map[string]int{"SetIpAddressType": 1, "RevokeSecurityGroupIngress": 1, "AddTags": 1}},
	}
	for _, s := range steps {
		for k, v := range s.set {
			svc.Annotations[k] = v
		}
		for _, k := range s.unset {
			delete(svc.Annotations, k)
		}
		e.srv.ResetCalls()
		if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		writes := map[string]int{}
		for c, n := range e.srv.Calls() {
			if !c.IsRead() {
				writes[c.Operation()] += n
			}
		}
		if !mapsEqual(writes, s.writes) {
			t.Errorf("%s: writes %v, want %v", s.name, writes, s.writes)
		}
		e.ensure(t, svc)
		lb := e.nlb(t)
		if got := e.listenerALPN(t, 443); got != s.alpn || lb.IpAddressType != s.ipType || aws.ToString(lb.LoadBalancerArn) != arn {
			t.Errorf("%s: ALPN %q, type %s, replaced %v", s.name, got, lb.IpAddressType, aws.ToString(lb.LoadBalancerArn) != arn)
		}
		// Under dualstack the default source range gains ::/0 (client rules on both ports).
		v6 := e.nodeRulesWith(t, "::/0")
		if (s.ipType == "dualstack") != (len(v6) == 2) {
			t.Errorf("%s: IPv6 node rules %v", s.name, v6)
		}
	}
	e.deleteAndCheckClean(t, svc)
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestNLBIPv6Pins checks the creation-only IPv6 settings: pinned IPv6 addresses and source
// NAT prefixes are sent at creation, an assigned prefix matches auto_assigned (no-op), and a
// changed address replaces the NLB.
func TestNLBIPv6Pins(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc := nlbService(map[string]string{
		prefix + "ip-address-type":                   "dualstack",
		prefix + "ipv6-addresses":                    "2600:1f18::10,2600:1f18::20",
		prefix + "enable-prefix-for-ipv6-source-nat": "on",
		prefix + "source-nat-ipv6-prefixes":          "auto_assigned,2600:1f18:0:1::/80",
	})
	e.ensure(t, svc)
	lb := e.nlb(t)
	var addrs, prefixes []string
	for _, az := range lb.AvailabilityZones {
		for _, a := range az.LoadBalancerAddresses {
			addrs = append(addrs, aws.ToString(a.IPv6Address))
		}
		prefixes = append(prefixes, az.SourceNatIpv6Prefixes...)
	}
	slices.Sort(addrs)
	if !slices.Equal(addrs, []string{"2600:1f18::10", "2600:1f18::20"}) || len(prefixes) != 2 || !slices.Contains(prefixes, "2600:1f18:0:1::/80") ||
		slices.Contains(prefixes, "auto_assigned") || lb.EnablePrefixForIpv6SourceNat != v2types.EnablePrefixForIpv6SourceNatEnumOn {
		t.Fatalf("NLB = addresses %v, prefixes %v, source NAT %s", addrs, prefixes, lb.EnablePrefixForIpv6SourceNat)
	}
	arn := aws.ToString(lb.LoadBalancerArn)
	svc.Annotations[prefix+"ipv6-addresses"] = "2600:1f18::10,2600:1f18::30"
	e.ensure(t, svc)
	if aws.ToString(e.nlb(t).LoadBalancerArn) == arn {
		t.Errorf("a changed IPv6 address did not replace the NLB")
	}
	arn = aws.ToString(e.nlb(t).LoadBalancerArn)
	// Turning source NAT prefixes off is a replacement too; then the type can go back.
	for _, k := range []string{"ipv6-addresses", "enable-prefix-for-ipv6-source-nat", "source-nat-ipv6-prefixes", "ip-address-type"} {
		delete(svc.Annotations, prefix+k)
	}
	e.ensure(t, svc)
	if lb := e.nlb(t); aws.ToString(lb.LoadBalancerArn) == arn || lb.IpAddressType != v2types.IpAddressTypeIpv4 || lb.EnablePrefixForIpv6SourceNat == v2types.EnablePrefixForIpv6SourceNatEnumOn {
		t.Errorf("after removing the IPv6 settings: %+v", lb)
	}
	e.deleteAndCheckClean(t, svc)
}

// TestNLBRemovals checks that a target-group attribute dropped from the annotations goes
// back to AWS's default, and that an additional tag dropped is removed from the NLB while
// a tag someone else added stays.
func TestNLBRemovals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc := nlbService(map[string]string{
		prefix + "target-group-attributes":  "deregistration_delay.timeout_seconds=30,stickiness.enabled=true,stickiness.type=source_ip",
		prefix + "proxy-protocol":           "*",
		prefix + "additional-resource-tags": "team=shop,cost-center=42",
	})
	e.ensure(t, svc)
	attrs := func() map[string]string {
		t.Helper()
		lb := e.nlb(t)
		tgs, err := e.elbv2.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{LoadBalancerArn: lb.LoadBalancerArn})
		if err != nil || len(tgs.TargetGroups) != 2 {
			t.Fatalf("target groups: %v", err)
		}
		var out map[string]string
		for _, tg := range tgs.TargetGroups {
			a, err := e.elbv2.DescribeTargetGroupAttributes(ctx, &elbv2.DescribeTargetGroupAttributesInput{TargetGroupArn: tg.TargetGroupArn})
			if err != nil {
				t.Fatal(err)
			}
			m := map[string]string{}
			for _, kv := range a.Attributes {
				m[aws.ToString(kv.Key)] = aws.ToString(kv.Value)
			}
			if out != nil && !strMapsEqual(out, m) {
				t.Fatalf("target groups differ: %v and %v", out, m)
			}
			out = m
		}
		return out
	}
	tags := func() map[string]string {
		t.Helper()
		out, err := e.elbv2.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{aws.ToString(e.nlb(t).LoadBalancerArn)}})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, tag := range out.TagDescriptions[0].Tags {
			m[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
		}
		return m
	}
	if a := attrs(); a["deregistration_delay.timeout_seconds"] != "30" || a["stickiness.enabled"] != "true" || a["proxy_protocol_v2.enabled"] != "true" {
		t.Fatalf("attributes on create: %v", a)
	}
	if _, err := e.elbv2.AddTags(ctx, &elbv2.AddTagsInput{ResourceArns: []string{aws.ToString(e.nlb(t).LoadBalancerArn)},
		Tags: []v2types.Tag{{Key: aws.String("owner"), Value: aws.String("someone-else")}}}); err != nil {
		t.Fatal(err)
	}

	svc.Annotations[prefix+"target-group-attributes"] = "deregistration_delay.timeout_seconds=30"
	svc.Annotations[prefix+"additional-resource-tags"] = "team=shop"
	e.ensure(t, svc)
	if a := attrs(); a["deregistration_delay.timeout_seconds"] != "30" || a["stickiness.enabled"] != "false" || a["proxy_protocol_v2.enabled"] != "true" {
		t.Errorf("after dropping stickiness: %v", a)
	}
	if tg := tags(); tg["team"] != "shop" || tg["owner"] != "someone-else" || tg["cost-center"] != "" {
		t.Errorf("after dropping cost-center: %v", tg)
	} else if _, present := tg["cost-center"]; present {
		t.Errorf("cost-center still tagged: %v", tg)
	}

	delete(svc.Annotations, prefix+"target-group-attributes")
	delete(svc.Annotations, prefix+"proxy-protocol")
	delete(svc.Annotations, prefix+"additional-resource-tags")
	e.ensure(t, svc)
	if a := attrs(); a["deregistration_delay.timeout_seconds"] != "300" || a["proxy_protocol_v2.enabled"] != "false" || a["stickiness.enabled"] != "false" {
		t.Errorf("after dropping every attribute: %v", a)
	}
	if tg := tags(); tg["owner"] != "someone-else" || tg["team"] != "" {
		t.Errorf("after dropping every tag: %v", tg)
	}
	e.deleteAndCheckClean(t, svc)
}

func strMapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// lbAttrs are the NLB's attributes.
func (e *env) lbAttrs(t *testing.T) map[string]string {
	t.Helper()
	out, err := e.elbv2.DescribeLoadBalancerAttributes(ctx, &elbv2.DescribeLoadBalancerAttributesInput{LoadBalancerArn: e.nlb(t).LoadBalancerArn})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, a := range out.Attributes {
		m[aws.ToString(a.Key)] = aws.ToString(a.Value)
	}
	return m
}

// TestNLBAttributesAndDeletionProtection checks aws-load-balancer-attributes (set, then back
// to AWS's defaults when dropped) and that deletion protection holds a deletion until the
// annotation drops it.
func TestNLBAttributesAndDeletionProtection(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc := nlbService(map[string]string{prefix + "attributes": "deletion_protection.enabled=true,dns_record.client_routing_policy=availability_zone_affinity,zonal_shift.config.enabled=true"})
	e.ensure(t, svc)
	if a := e.lbAttrs(t); a["deletion_protection.enabled"] != "true" || a["dns_record.client_routing_policy"] != "availability_zone_affinity" || a["zonal_shift.config.enabled"] != "true" {
		t.Fatalf("attributes = %v", a)
	}
	err := e.cloud.EnsureLoadBalancerDeleted(ctx, cluster, svc)
	var ue *providers.UserError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "deletion_protection.enabled") {
		t.Fatalf("delete of a protected NLB: %v, want a user error", err)
	}
	if len(e.srv.Inventory().LoadBalancers) != 1 {
		t.Fatal("the protected NLB was deleted")
	}
	svc.Annotations[prefix+"attributes"] = "dns_record.client_routing_policy=availability_zone_affinity"
	e.ensure(t, svc)
	if a := e.lbAttrs(t); a["deletion_protection.enabled"] != "false" || a["zonal_shift.config.enabled"] != "false" || a["dns_record.client_routing_policy"] != "availability_zone_affinity" {
		t.Errorf("after dropping two attributes: %v", a)
	}
	delete(svc.Annotations, prefix+"attributes")
	e.ensure(t, svc)
	if a := e.lbAttrs(t); a["dns_record.client_routing_policy"] != "any_availability_zone" {
		t.Errorf("after dropping every attribute: %v", a)
	}
	// Protected again, then deleted once the (deleting) Service's annotation says false.
	svc.Annotations[prefix+"attributes"] = "deletion_protection.enabled=true"
	e.ensure(t, svc)
	svc.Annotations[prefix+"attributes"] = "deletion_protection.enabled=false"
	e.deleteAndCheckClean(t, svc)
}

// TestNLBHealthCheckSuccessCodes checks the HTTP matcher of the target groups.
func TestNLBHealthCheckSuccessCodes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc := nlbService(map[string]string{prefix + "healthcheck-protocol": "HTTP", prefix + "healthcheck-path": "/ready", prefix + "healthcheck-success-codes": "200,204"})
	codes := func() []string {
		t.Helper()
		out, err := e.elbv2.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{LoadBalancerArn: e.nlb(t).LoadBalancerArn})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, tg := range out.TargetGroups {
			got = append(got, aws.ToString(tg.Matcher.HttpCode))
		}
		return got
	}
	e.ensure(t, svc)
	if got := codes(); !slices.Equal(got, []string{"200,204", "200,204"}) {
		t.Errorf("matchers = %v", got)
	}
	delete(svc.Annotations, prefix+"healthcheck-success-codes")
	e.ensure(t, svc)
	if got := codes(); !slices.Equal(got, []string{"200-399", "200-399"}) {
		t.Errorf("matchers after removal = %v", got)
	}
	e.deleteAndCheckClean(t, svc)
}

// TestNLBTCPUDPListener checks enable-tcp-udp-listener: a port served over TCP and UDP gets
// one TCP_UDP listener and target group, and the node groups let both protocols in.
func TestNLBTCPUDPListener(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc := nlbService(map[string]string{prefix + "enable-tcp-udp-listener": "true"})
	svc.Spec.Ports = []v1.ServicePort{{Name: "dns", Protocol: v1.ProtocolTCP, Port: 53, NodePort: 30053}, {Name: "dns-udp", Protocol: v1.ProtocolUDP, Port: 53, NodePort: 30053}}
	e.ensure(t, svc)
	ls, err := e.elbv2.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: e.nlb(t).LoadBalancerArn})
	if err != nil {
		t.Fatal(err)
	}
	if len(ls.Listeners) != 1 || ls.Listeners[0].Protocol != v2types.ProtocolEnumTcpUdp {
		t.Fatalf("listeners = %+v", ls.Listeners)
	}
	tgs, err := e.elbv2.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{LoadBalancerArn: e.nlb(t).LoadBalancerArn})
	if err != nil || len(tgs.TargetGroups) != 1 || tgs.TargetGroups[0].Protocol != v2types.ProtocolEnumTcpUdp {
		t.Fatalf("target groups = %+v (%v)", tgs, err)
	}
	got := e.nodeRulesWith(t, "nlb/client=")
	want := []string{
		"tcp 30053-30053 10.0.0.0/8 kubernetes.io/rule/nlb/client=" + lbName, "tcp 30053-30053 192.168.0.0/16 kubernetes.io/rule/nlb/client=" + lbName,
		"udp 30053-30053 10.0.0.0/8 kubernetes.io/rule/nlb/client=" + lbName, "udp 30053-30053 192.168.0.0/16 kubernetes.io/rule/nlb/client=" + lbName,
	}
	if !slices.Equal(got, want) {
		t.Errorf("client rules =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Different nodePorts cannot share a listener: a user error, nothing changed.
	svc.Spec.Ports[1].NodePort = 30054
	_, err = e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes)
	var ue *providers.UserError
	if !errors.As(err, &ue) {
		t.Errorf("different nodePorts: err = %v, want a user error", err)
	}
	e.deleteAndCheckClean(t, svc)
}

package awscontract_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/integration/contract"
)

// awsAnnotations are the AWS annotation cases; they need the shared network for values.
func awsAnnotations(t *testing.T) contract.Annotations {
	if shared.net == nil {
		t.Skip("no network")
	}
	return contract.Annotations{Cloud: annotations.AWS, Prefix: prefix, NewService: newService, Cases: annotationCases(), Elsewhere: coveredElsewhere}
}

func annotationCases() []contract.AnnotationCase {
	net := shared.net
	withTLS := func(s *v1.Service) {
		s.Spec.Ports = append(s.Spec.Ports, v1.ServicePort{Name: "https", Protocol: v1.ProtocolTCP, Port: 443, TargetPort: intstr.FromInt32(8443)})
	}
	nlbWith := func(kv ...string) map[string]string {
		m := nlb()
		for i := 0; i+1 < len(kv); i += 2 {
			m[prefix+kv[i]] = kv[i+1]
		}
		return m
	}
	clbWith := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[prefix+kv[i]] = kv[i+1]
		}
		return m
	}
	return []contract.AnnotationCase{
		{
			Name: "clb-access-log",
			Keys: []string{"access-log-enabled", "access-log-emit-interval", "access-log-s3-bucket-name", "access-log-s3-bucket-prefix"},
			Before: clbWith("access-log-enabled", "true", "access-log-emit-interval", "5",
				"access-log-s3-bucket-name", "logs", "access-log-s3-bucket-prefix", "a"),
			After: clbWith("access-log-enabled", "true", "access-log-emit-interval", "60",
				"access-log-s3-bucket-name", "logs2", "access-log-s3-bucket-prefix", "b"),
			Was: classicIs(func(lb *classicLB) error { return accessLog(lb, true, 5, "logs", "a") }),
			Now: classicIs(func(lb *classicLB) error { return accessLog(lb, true, 60, "logs2", "b") }),
		},
		{
			Name: "clb-tags", Keys: []string{"additional-resource-tags"},
			Before: clbWith("additional-resource-tags", "team=a,stage=dev"),
			After:  clbWith("additional-resource-tags", "team=b"),
			Was: classicIs(func(lb *classicLB) error {
				return contract.Want("team,stage", lb.tags["team"]+","+lb.tags["stage"], "a,dev")
			}),
			Now: classicIs(func(lb *classicLB) error {
				_, stage := lb.tags["stage"]
				return contract.FirstErr(contract.Want("team", lb.tags["team"], "b"), contract.Want("stage tag kept", stage, false))
			}),
		},
		{
			Name: "clb-backend-protocol", Keys: []string{"backend-protocol"},
			Before: clbWith("backend-protocol", "tcp"), After: clbWith("backend-protocol", "http"),
			Was: classicIs(func(lb *classicLB) error { return contract.Want("listener", protocols(lb), "TCP->TCP") }),
			Now: classicIs(func(lb *classicLB) error { return contract.Want("listener", protocols(lb), "HTTP->HTTP") }),
		},
		{
			Name: "clb-connection-draining", Keys: []string{"connection-draining-enabled", "connection-draining-timeout"},
			Before: clbWith("connection-draining-enabled", "true", "connection-draining-timeout", "30"),
			After:  clbWith("connection-draining-enabled", "true", "connection-draining-timeout", "90"),
			Was:    classicIs(func(lb *classicLB) error { return draining(lb, true, 30) }),
			Now:    classicIs(func(lb *classicLB) error { return draining(lb, true, 90) }),
		},
		{
			Name: "clb-idle-timeout-cross-zone", Keys: []string{"connection-idle-timeout", "cross-zone-load-balancing-enabled"},
			Before: clbWith("connection-idle-timeout", "60", "cross-zone-load-balancing-enabled", "false"),
			After:  clbWith("connection-idle-timeout", "300", "cross-zone-load-balancing-enabled", "true"),
			Was: classicIs(func(lb *classicLB) error {
				return contract.FirstErr(contract.Want("idle", aws.ToInt32(lb.attrs.ConnectionSettings.IdleTimeout), int32(60)),
					contract.Want("cross-zone", lb.attrs.CrossZoneLoadBalancing.Enabled, false))
			}),
			Now: classicIs(func(lb *classicLB) error {
				return contract.FirstErr(contract.Want("idle", aws.ToInt32(lb.attrs.ConnectionSettings.IdleTimeout), int32(300)),
					contract.Want("cross-zone", lb.attrs.CrossZoneLoadBalancing.Enabled, true))
			}),
		},
		{
			Name: "clb-extra-security-groups", Keys: []string{"extra-security-groups"},
			Before: clbWith(), After: clbWith("extra-security-groups", net.extraGroups[0]),
			Was: classicIs(func(lb *classicLB) error { return contract.Want("groups", len(lb.desc.SecurityGroups), 1) }),
			Now: classicIs(func(lb *classicLB) error {
				return contract.FirstErr(contract.Want("groups", len(lb.desc.SecurityGroups), 2),
					contract.Want("extra group attached", slices.Contains(lb.desc.SecurityGroups, net.extraGroups[0]), true))
			}),
		},
		{
			Name: "clb-security-groups", Keys: []string{"security-groups"},
			Before: clbWith(), After: clbWith("security-groups", net.extraGroups[1]),
			Was: classicIs(func(lb *classicLB) error {
				return contract.Want("managed group only", len(lb.desc.SecurityGroups) == 1 && lb.desc.SecurityGroups[0] != net.extraGroups[1], true)
			}),
			Now: classicIs(func(lb *classicLB) error {
				return contract.Want("groups", fmt.Sprint(lb.desc.SecurityGroups), fmt.Sprint([]string{net.extraGroups[1]}))
			}),
		},
		{
			Name: "clb-health-check-thresholds",
			Keys: []string{"healthcheck-healthy-threshold", "healthcheck-unhealthy-threshold", "healthcheck-interval", "healthcheck-timeout"},
			Before: clbWith("healthcheck-healthy-threshold", "2", "healthcheck-unhealthy-threshold", "6",
				"healthcheck-interval", "10", "healthcheck-timeout", "5"),
			After: clbWith("healthcheck-healthy-threshold", "3", "healthcheck-unhealthy-threshold", "4",
				"healthcheck-interval", "30", "healthcheck-timeout", "10"),
			Was: classicIs(func(lb *classicLB) error { return thresholds(lb, 2, 6, 10, 5) }),
			Now: classicIs(func(lb *classicLB) error { return thresholds(lb, 3, 4, 30, 10) }),
		},
		{
			Name: "clb-health-check-target", Keys: []string{"healthcheck-protocol", "healthcheck-path", "healthcheck-port"},
			Before: clbWith("healthcheck-protocol", "http", "healthcheck-path", "/ready"),
			After:  clbWith("healthcheck-protocol", "http", "healthcheck-path", "/live", "healthcheck-port", "32000"),
			Was: classicIs(func(lb *classicLB) error {
				return contract.Want("target /ready on the traffic port", healthTarget(lb, "HTTP:", "/ready") && !strings.Contains(healthTargetOf(lb), ":32000"), true)
			}),
			Now: classicIs(func(lb *classicLB) error { return contract.Want("target", healthTargetOf(lb), "HTTP:32000/live") }),
		},
		{
			Name: "clb-internal", Keys: []string{"internal"},
			Before: clbWith(), After: clbWith("internal", "true"),
			Was: classicIs(func(lb *classicLB) error {
				return contract.Want("scheme", aws.ToString(lb.desc.Scheme), "internet-facing")
			}),
			Now: classicIs(func(lb *classicLB) error { return contract.Want("scheme", aws.ToString(lb.desc.Scheme), "internal") }),
		},
		{
			Name: "clb-scheme", Keys: []string{"scheme"},
			Before: clbWith("scheme", "internal"), After: clbWith("scheme", "internet-facing"),
			Was: classicIs(func(lb *classicLB) error { return contract.Want("scheme", aws.ToString(lb.desc.Scheme), "internal") }),
			Now: classicIs(func(lb *classicLB) error {
				return contract.Want("scheme", aws.ToString(lb.desc.Scheme), "internet-facing")
			}),
		},
		{
			Name: "clb-proxy-protocol", Keys: []string{"proxy-protocol"},
			Before: clbWith("proxy-protocol", "*"), After: clbWith(),
			Was: classicIs(func(lb *classicLB) error {
				return contract.Want("backend policies", backendPolicies(lb.desc), "k8s-proxyprotocol-enabled")
			}),
			Now: classicIs(func(lb *classicLB) error { return contract.Want("backend policies", backendPolicies(lb.desc), "") }),
		},
		{
			Name: "clb-tls", Keys: []string{"ssl-cert", "ssl-ports", "ssl-negotiation-policy"},
			Spec:   withTLS,
			Before: clbWith("ssl-cert", cert1, "ssl-ports", "443"),
			After:  clbWith("ssl-cert", cert2, "ssl-ports", "443", "ssl-negotiation-policy", "ELBSecurityPolicy-TLS-1-2-2017-01"),
			Was: classicIs(func(lb *classicLB) error {
				return contract.FirstErr(contract.Want("443 cert", certOf(lb, 443), cert1), contract.Want("80 cert", certOf(lb, 80), ""))
			}),
			Now: classicIs(func(lb *classicLB) error {
				return contract.FirstErr(contract.Want("443 cert", certOf(lb, 443), cert2),
					contract.Want("443 policy", slices.ContainsFunc(policiesOf(lb, 443), func(p string) bool { return strings.HasSuffix(p, "ELBSecurityPolicy-TLS-1-2-2017-01") }), true))
			}),
		},
		{
			Name: "clb-subnets", Keys: []string{"subnets"},
			Before: clbWith("subnets", net.public[0]), After: clbWith("subnets", net.public[0]+","+net.public[1]),
			Was: classicIs(func(lb *classicLB) error {
				return contract.Want("subnets", fmt.Sprint(sorted(lb.desc.Subnets)), fmt.Sprint(net.public[:1]))
			}),
			Now: classicIs(func(lb *classicLB) error {
				return contract.Want("subnets", fmt.Sprint(sorted(lb.desc.Subnets)), fmt.Sprint(sorted(net.public)))
			}),
		},
		{
			Name: "clb-target-node-labels", Keys: []string{"target-node-labels"},
			Before: clbWith("target-node-labels", edgeLabel+"=edge"), After: clbWith(),
			Was: classicIs(func(lb *classicLB) error { return contract.Want("instances", len(lb.desc.Instances), 2) }),
			Now: classicIs(func(lb *classicLB) error { return contract.Want("instances", len(lb.desc.Instances), 3) }),
		},
		{
			Name: "clb-source-ranges-annotation", Keys: []string{"service.beta.kubernetes.io/load-balancer-source-ranges"},
			Before: map[string]string{"service.beta.kubernetes.io/load-balancer-source-ranges": "10.0.0.0/8"},
			After:  map[string]string{"service.beta.kubernetes.io/load-balancer-source-ranges": "192.168.0.0/16"},
			Was:    classicRules("tcp:80-80 10.0.0.0/8", "icmp:3-4 10.0.0.0/8"),
			Now:    classicRules("tcp:80-80 192.168.0.0/16", "icmp:3-4 192.168.0.0/16"),
		},
		{
			Name: "nlb-cross-zone", Keys: []string{"type", "cross-zone-load-balancing-enabled"},
			Before: nlbWith("cross-zone-load-balancing-enabled", "false"), After: nlbWith("cross-zone-load-balancing-enabled", "true"),
			Was: nlbIs(func(lb *networkLB) error {
				return contract.Want("cross-zone", lb.attrs["load_balancing.cross_zone.enabled"], "false")
			}),
			Now: nlbIs(func(lb *networkLB) error {
				return contract.Want("cross-zone", lb.attrs["load_balancing.cross_zone.enabled"], "true")
			}),
		},
		{
			Name: "nlb-access-log", Keys: []string{"access-log-enabled", "access-log-s3-bucket-name", "access-log-s3-bucket-prefix"},
			Before: nlbWith("access-log-enabled", "true", "access-log-s3-bucket-name", "logs", "access-log-s3-bucket-prefix", "p"),
			After:  nlbWith("access-log-enabled", "true", "access-log-s3-bucket-name", "logs", "access-log-s3-bucket-prefix", "q"),
			Was:    nlbIs(func(lb *networkLB) error { return nlbAccessLog(lb, "true", "logs", "p") }),
			Now:    nlbIs(func(lb *networkLB) error { return nlbAccessLog(lb, "true", "logs", "q") }),
		},
		{
			Name: "nlb-attributes", Keys: []string{"attributes"},
			Before: nlbWith("attributes", "dns_record.client_routing_policy=availability_zone_affinity"),
			After:  nlbWith("attributes", "dns_record.client_routing_policy=partial_availability_zone_affinity"),
			Was: nlbIs(func(lb *networkLB) error {
				return contract.Want("routing", lb.attrs["dns_record.client_routing_policy"], "availability_zone_affinity")
			}),
			Now: nlbIs(func(lb *networkLB) error {
				return contract.Want("routing", lb.attrs["dns_record.client_routing_policy"], "partial_availability_zone_affinity")
			}),
		},
		{
			Name: "nlb-target-group-attributes", Keys: []string{"target-group-attributes", "target-group-attributes.{port}"},
			Before: nlbWith("target-group-attributes", "deregistration_delay.timeout_seconds=30"),
			After: nlbWith("target-group-attributes", "deregistration_delay.timeout_seconds=60",
				"target-group-attributes.80", "preserve_client_ip.enabled=false"),
			Was: nlbIs(func(lb *networkLB) error {
				return contract.Want("delay", lb.groups[0].attrs["deregistration_delay.timeout_seconds"], "30")
			}),
			Now: nlbIs(func(lb *networkLB) error {
				return contract.FirstErr(contract.Want("delay", lb.groups[0].attrs["deregistration_delay.timeout_seconds"], "60"),
					contract.Want("preserve client IP", lb.groups[0].attrs["preserve_client_ip.enabled"], "false"))
			}),
		},
		{
			Name: "nlb-proxy-protocol", Keys: []string{"proxy-protocol"},
			Before: nlbWith("proxy-protocol", "*"), After: nlbWith(),
			Was: nlbIs(func(lb *networkLB) error {
				return contract.Want("proxy v2", lb.groups[0].attrs["proxy_protocol_v2.enabled"], "true")
			}),
			Now: nlbIs(func(lb *networkLB) error {
				return contract.Want("proxy v2", lb.groups[0].attrs["proxy_protocol_v2.enabled"], "false")
			}),
		},
		{
			Name: "nlb-proxy-protocol-per-target-group", Keys: []string{"proxy-protocol-per-target-group"},
			Spec:   withTLS,
			Before: nlbWith("proxy-protocol-per-target-group", "443"), After: nlbWith("proxy-protocol-per-target-group", "80"),
			Was: nlbIs(func(lb *networkLB) error { return contract.Want("proxy v2 on 80,443", proxyByPort(lb), "false,true") }),
			Now: nlbIs(func(lb *networkLB) error { return contract.Want("proxy v2 on 80,443", proxyByPort(lb), "true,false") }),
		},
		{
			Name: "nlb-ip-address-type", Keys: []string{"ip-address-type"},
			Before: nlbWith(), After: nlbWith("ip-address-type", "dualstack"),
			Was: nlbIs(func(lb *networkLB) error {
				return contract.Want("ip address type", string(lb.lb.IpAddressType), "ipv4")
			}),
			Now: nlbIs(func(lb *networkLB) error {
				return contract.Want("ip address type", string(lb.lb.IpAddressType), "dualstack")
			}),
		},
		{
			Name: "nlb-health-check",
			Keys: []string{"healthcheck-healthy-threshold", "healthcheck-unhealthy-threshold", "healthcheck-interval",
				"healthcheck-timeout", "healthcheck-protocol", "healthcheck-path", "healthcheck-success-codes", "healthcheck-port"},
			Before: nlbWith("healthcheck-healthy-threshold", "3", "healthcheck-unhealthy-threshold", "3", "healthcheck-interval", "30",
				"healthcheck-timeout", "10", "healthcheck-protocol", "http", "healthcheck-path", "/a", "healthcheck-success-codes", "200-399"),
			After: nlbWith("healthcheck-healthy-threshold", "2", "healthcheck-unhealthy-threshold", "5", "healthcheck-interval", "10",
				"healthcheck-timeout", "6", "healthcheck-protocol", "http", "healthcheck-path", "/b", "healthcheck-success-codes", "200",
				"healthcheck-port", "32001"),
			Was: nlbIs(func(lb *networkLB) error { return nlbHealth(lb, "HTTP traffic-port /a 200-399 3/3 30s 10s") }),
			Now: nlbIs(func(lb *networkLB) error { return nlbHealth(lb, "HTTP 32001 /b 200 2/5 10s 6s") }),
		},
		{
			Name: "nlb-tls", Keys: []string{"ssl-cert", "ssl-ports", "ssl-negotiation-policy", "backend-protocol", "alpn-policy"},
			Spec:   withTLS,
			Before: nlbWith("ssl-cert", cert1, "ssl-ports", "443"),
			After: nlbWith("ssl-cert", cert2, "ssl-ports", "443", "ssl-negotiation-policy", "ELBSecurityPolicy-TLS13-1-2-2021-06", "backend-protocol", "ssl",
				"alpn-policy", "HTTP2Preferred"),
			Was: nlbIs(func(lb *networkLB) error {
				return contract.Want("listeners", nlbListeners(lb), "TCP:80 TLS:443:"+cert1)
			}),
			Now: nlbIs(func(lb *networkLB) error {
				return contract.FirstErr(contract.Want("listeners", nlbListeners(lb), "TCP:80 TLS:443:"+cert2+":ELBSecurityPolicy-TLS13-1-2-2021-06"),
					contract.Want("443 target group protocol", listenerGroupProtocol(lb, 443), "TLS"),
					contract.Want("443 ALPN", fmt.Sprint(lb.listeners[1].AlpnPolicy), "[HTTP2Preferred]"))
			}),
		},
		{
			Name: "nlb-internal", Keys: []string{"internal"},
			Before: nlbWith(), After: nlbWith("internal", "true"),
			Was: nlbIs(func(lb *networkLB) error { return contract.Want("scheme", string(lb.lb.Scheme), "internet-facing") }),
			Now: nlbIs(func(lb *networkLB) error { return contract.Want("scheme", string(lb.lb.Scheme), "internal") }),
		},
		{
			Name: "nlb-subnets-tags-labels", Keys: []string{"subnets", "additional-resource-tags", "target-node-labels"},
			Before: nlbWith("subnets", net.public[0], "additional-resource-tags", "team=a,stage=dev", "target-node-labels", edgeLabel+"=edge"),
			After:  nlbWith("subnets", net.public[0]+","+net.public[1], "additional-resource-tags", "team=b"),
			Was: nlbIs(func(lb *networkLB) error {
				return contract.FirstErr(contract.Want("subnets", len(lb.lb.AvailabilityZones), 1), contract.Want("team", lb.tags["team"], "a"),
					contract.Want("targets", len(lb.groups[0].targets), 2))
			}),
			Now: nlbIs(func(lb *networkLB) error {
				return contract.FirstErr(contract.Want("subnets", len(lb.lb.AvailabilityZones), 2), contract.Want("team", lb.tags["team"], "b"),
					contract.Want("targets", len(lb.groups[0].targets), 3))
			}),
		},
		{
			Name: "clb-to-nlb", Keys: []string{"type"},
			Before: clbWith(), After: nlbWith(),
			Was: classicIs(func(*classicLB) error { return nil }),
			Now: contract.All(nlbIs(func(*networkLB) error { return nil }), func(t *testing.T, svc *v1.Service) error {
				lb, err := classicOf(t.Context(), contract.Key(svc))
				if err != nil || lb != nil {
					return fmt.Errorf("the Classic ELB not gone: err %v, lb %v", err, lb != nil)
				}
				return nil
			}),
		},
	}
}

// coveredElsewhere names the AWS keys whose effect another test shows, and why not here.
var coveredElsewhere = map[string]string{
	"name":                               "fixed at creation: the seed examples and providers/aws golden tests",
	"eip-allocations":                    "fixed at creation: the seed examples (nlb-eip) and providers/aws TestNLBPinnedAddresses (change = replacement)",
	"private-ipv4-addresses":             "fixed at creation: providers/aws TestNLBPinnedAddresses",
	"enable-tcp-udp-listener":            "providers/aws TestNLBTCPUDPListener and the golden nlb-tcp-udp",
	"nlb-target-type":                    "instance is the default everywhere; ip is refused with a UserError (no endpoints in the LoadBalancer interface)",
	"enable-icmp-for-path-mtu-discovery": "providers/aws TestClassicNoICMP and the golden no-icmp",
	// The security-group keys need NLBSecurityGroupMode = Managed or the Service's own groups.
	"disable-nlb-sg":                           "providers/aws TestNLBManagedSecurityGroup (Managed mode; a change replaces the NLB)",
	"security-group-prefix-lists":              "providers/aws TestNLBManagedSecurityGroup and TestNLBSecurityGroupKeysNeedGroups",
	"inbound-sg-rules-on-private-link-traffic": "providers/aws TestNLBManagedSecurityGroup and TestNLBSecurityGroupKeysNeedGroups",
	"manage-backend-security-group-rules":      "providers/aws TestNLBOwnGroupsWithBackendRules and TestClassicManageBackendRules",
	"ipv6-addresses":                           "fixed at creation: providers/aws TestNLBIPv6Pins (a change replaces the NLB)",
	"enable-prefix-for-ipv6-source-nat":        "fixed at creation: providers/aws TestNLBIPv6Pins",
	"source-nat-ipv6-prefixes":                 "fixed at creation: providers/aws TestNLBIPv6Pins",
}

// protocols is the first listener's "PROTO->PROTO"; "" while a poll catches the listeners
// being replaced (deleted, then created again).
func protocols(lb *classicLB) string {
	if len(lb.desc.ListenerDescriptions) == 0 {
		return ""
	}
	l := lb.desc.ListenerDescriptions[0].Listener
	return aws.ToString(l.Protocol) + "->" + aws.ToString(l.InstanceProtocol)
}

func accessLog(lb *classicLB, enabled bool, interval int32, bucket, prefix string) error {
	a := lb.attrs.AccessLog
	if a == nil {
		return fmt.Errorf("no access log attributes")
	}
	return contract.FirstErr(contract.Want("enabled", a.Enabled, enabled), contract.Want("interval", aws.ToInt32(a.EmitInterval), interval),
		contract.Want("bucket", aws.ToString(a.S3BucketName), bucket), contract.Want("prefix", aws.ToString(a.S3BucketPrefix), prefix))
}

func draining(lb *classicLB, enabled bool, timeout int32) error {
	d := lb.attrs.ConnectionDraining
	if d == nil {
		return fmt.Errorf("no connection draining attributes")
	}
	return contract.FirstErr(contract.Want("draining", d.Enabled, enabled), contract.Want("timeout", aws.ToInt32(d.Timeout), timeout))
}

func thresholds(lb *classicLB, healthy, unhealthy, interval, timeout int32) error {
	h := lb.desc.HealthCheck
	return contract.Want("health check", fmt.Sprint(aws.ToInt32(h.HealthyThreshold), aws.ToInt32(h.UnhealthyThreshold), aws.ToInt32(h.Interval), aws.ToInt32(h.Timeout)),
		fmt.Sprint(healthy, unhealthy, interval, timeout))
}

func healthTargetOf(lb *classicLB) string { return aws.ToString(lb.desc.HealthCheck.Target) }

func healthTarget(lb *classicLB, proto, path string) bool {
	t := healthTargetOf(lb)
	return strings.HasPrefix(t, proto) && strings.HasSuffix(t, path)
}

func certOf(lb *classicLB, port int32) string {
	for _, d := range lb.desc.ListenerDescriptions {
		if d.Listener.LoadBalancerPort == port {
			return aws.ToString(d.Listener.SSLCertificateId)
		}
	}
	return "no listener"
}

func policiesOf(lb *classicLB, port int32) []string {
	for _, d := range lb.desc.ListenerDescriptions {
		if d.Listener.LoadBalancerPort == port {
			return d.PolicyNames
		}
	}
	return nil
}

// classicRules checks that the managed group's rules are exactly rules ("proto:from-to cidr").
func classicRules(rules ...string) contract.Check {
	slices.Sort(rules)
	return func(t *testing.T, svc *v1.Service) error {
		return classicIs(func(lb *classicLB) error {
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
						got = append(got, fmt.Sprintf("%s:%d-%d %s", aws.ToString(p.IpProtocol), aws.ToInt32(p.FromPort), aws.ToInt32(p.ToPort), aws.ToString(r.CidrIp)))
					}
				}
			}
			slices.Sort(got)
			return contract.Want("managed group rules", fmt.Sprint(got), fmt.Sprint(rules))
		})(t, svc)
	}
}

func nlbAccessLog(lb *networkLB, enabled, bucket, prefix string) error {
	return contract.FirstErr(contract.Want("enabled", lb.attrs["access_logs.s3.enabled"], enabled),
		contract.Want("bucket", lb.attrs["access_logs.s3.bucket"], bucket), contract.Want("prefix", lb.attrs["access_logs.s3.prefix"], prefix))
}

// nlbHealth renders the first target group's health check as
// "PROTO port path codes healthy/unhealthy interval timeout".
func nlbHealth(lb *networkLB, wantHC string) error {
	tg := lb.groups[0].tg
	codes := ""
	if tg.Matcher != nil {
		codes = aws.ToString(tg.Matcher.HttpCode)
	}
	got := fmt.Sprintf("%s %s %s %s %d/%d %ds %ds", tg.HealthCheckProtocol, aws.ToString(tg.HealthCheckPort), aws.ToString(tg.HealthCheckPath), codes,
		aws.ToInt32(tg.HealthyThresholdCount), aws.ToInt32(tg.UnhealthyThresholdCount), aws.ToInt32(tg.HealthCheckIntervalSeconds), aws.ToInt32(tg.HealthCheckTimeoutSeconds))
	return contract.Want("health check", got, wantHC)
}

// nlbListeners renders "PROTO:port[:cert[:policy]]" sorted by port.
func nlbListeners(lb *networkLB) string {
	var out []string
	for _, l := range lb.listeners {
		s := fmt.Sprintf("%s:%d", l.Protocol, aws.ToInt32(l.Port))
		if len(l.Certificates) > 0 {
			s += ":" + aws.ToString(l.Certificates[0].CertificateArn)
		}
		if p := aws.ToString(l.SslPolicy); p != "" && len(l.Certificates) > 0 && p != defaultNLBPolicy {
			s += ":" + p
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

// defaultNLBPolicy is the policy AWS (and fakeaws) gives a TLS listener without one.
const defaultNLBPolicy = "ELBSecurityPolicy-2016-08"

// proxyByPort renders proxy_protocol_v2.enabled of the target groups behind the listeners,
// in listener port order.
func proxyByPort(lb *networkLB) string {
	var out []string
	for _, l := range lb.listeners {
		g := groupOf(lb, l)
		if g == nil {
			return fmt.Sprintf("no target group for listener %d", aws.ToInt32(l.Port))
		}
		out = append(out, g.attrs["proxy_protocol_v2.enabled"])
	}
	return strings.Join(out, ",")
}

// groupOf is the target group a listener forwards to.
func groupOf(lb *networkLB, l elbv2types.Listener) *targetGroup {
	for _, a := range l.DefaultActions {
		for i := range lb.groups {
			if aws.ToString(lb.groups[i].tg.TargetGroupArn) == aws.ToString(a.TargetGroupArn) {
				return &lb.groups[i]
			}
		}
	}
	return nil
}

// listenerGroupProtocol is the protocol of the target group behind the listener on port.
func listenerGroupProtocol(lb *networkLB, port int32) string {
	for _, l := range lb.listeners {
		if aws.ToInt32(l.Port) == port {
			if g := groupOf(lb, l); g != nil {
				return string(g.tg.Protocol)
			}
		}
	}
	return "none"
}

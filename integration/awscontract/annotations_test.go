package awscontract_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/cloudlb/cloudlb/annotations"
)

// probe waits until the load balancer of service shows what a case expects.
type probe func(t *testing.T, service string)

func clbProbe(ok func(*classicLB) error) probe {
	return func(t *testing.T, s string) { t.Helper(); waitClassic(t, s, ok) }
}

func nlbProbe(ok func(*networkLB) error) probe {
	return func(t *testing.T, s string) { t.Helper(); waitNLB(t, s, ok) }
}

// annotationCase creates a Service with before, waits for was, replaces its annotations with
// after (a key left out is removed), and waits for now.
type annotationCase struct {
	name string
	// keys are the registry keys (without the aws-load-balancer- prefix, or whole for the
	// core key) whose effect the case shows.
	keys          []string
	before, after map[string]string
	spec          func(*v1.Service)
	was, now      probe
}

func annotationCases() []annotationCase {
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
	return []annotationCase{
		{
			name: "clb-access-log",
			keys: []string{"access-log-enabled", "access-log-emit-interval", "access-log-s3-bucket-name", "access-log-s3-bucket-prefix"},
			before: clbWith("access-log-enabled", "true", "access-log-emit-interval", "5",
				"access-log-s3-bucket-name", "logs", "access-log-s3-bucket-prefix", "a"),
			after: clbWith("access-log-enabled", "true", "access-log-emit-interval", "60",
				"access-log-s3-bucket-name", "logs2", "access-log-s3-bucket-prefix", "b"),
			was: clbProbe(func(lb *classicLB) error { return accessLog(lb, true, 5, "logs", "a") }),
			now: clbProbe(func(lb *classicLB) error { return accessLog(lb, true, 60, "logs2", "b") }),
		},
		{
			name: "clb-tags", keys: []string{"additional-resource-tags"},
			before: clbWith("additional-resource-tags", "team=a,stage=dev"),
			after:  clbWith("additional-resource-tags", "team=b"),
			was:    clbProbe(func(lb *classicLB) error { return want("team,stage", lb.tags["team"]+","+lb.tags["stage"], "a,dev") }),
			now: clbProbe(func(lb *classicLB) error {
				_, stage := lb.tags["stage"]
				return firstErr(want("team", lb.tags["team"], "b"), want("stage tag kept", stage, false))
			}),
		},
		{
			name: "clb-backend-protocol", keys: []string{"backend-protocol"},
			before: clbWith("backend-protocol", "tcp"), after: clbWith("backend-protocol", "http"),
			was: clbProbe(func(lb *classicLB) error { return want("listener", protocols(lb), "TCP->TCP") }),
			now: clbProbe(func(lb *classicLB) error { return want("listener", protocols(lb), "HTTP->HTTP") }),
		},
		{
			name: "clb-connection-draining", keys: []string{"connection-draining-enabled", "connection-draining-timeout"},
			before: clbWith("connection-draining-enabled", "true", "connection-draining-timeout", "30"),
			after:  clbWith("connection-draining-enabled", "true", "connection-draining-timeout", "90"),
			was:    clbProbe(func(lb *classicLB) error { return draining(lb, true, 30) }),
			now:    clbProbe(func(lb *classicLB) error { return draining(lb, true, 90) }),
		},
		{
			name: "clb-idle-timeout-cross-zone", keys: []string{"connection-idle-timeout", "cross-zone-load-balancing-enabled"},
			before: clbWith("connection-idle-timeout", "60", "cross-zone-load-balancing-enabled", "false"),
			after:  clbWith("connection-idle-timeout", "300", "cross-zone-load-balancing-enabled", "true"),
			was: clbProbe(func(lb *classicLB) error {
				return firstErr(want("idle", aws.ToInt32(lb.attrs.ConnectionSettings.IdleTimeout), int32(60)),
					want("cross-zone", lb.attrs.CrossZoneLoadBalancing.Enabled, false))
			}),
			now: clbProbe(func(lb *classicLB) error {
				return firstErr(want("idle", aws.ToInt32(lb.attrs.ConnectionSettings.IdleTimeout), int32(300)),
					want("cross-zone", lb.attrs.CrossZoneLoadBalancing.Enabled, true))
			}),
		},
		{
			name: "clb-extra-security-groups", keys: []string{"extra-security-groups"},
			before: clbWith(), after: clbWith("extra-security-groups", net.extraGroups[0]),
			was: clbProbe(func(lb *classicLB) error { return want("groups", len(lb.desc.SecurityGroups), 1) }),
			now: clbProbe(func(lb *classicLB) error {
				return firstErr(want("groups", len(lb.desc.SecurityGroups), 2),
					want("extra group attached", slices.Contains(lb.desc.SecurityGroups, net.extraGroups[0]), true))
			}),
		},
		{
			name: "clb-security-groups", keys: []string{"security-groups"},
			before: clbWith(), after: clbWith("security-groups", net.extraGroups[1]),
			was: clbProbe(func(lb *classicLB) error {
				return want("managed group only", len(lb.desc.SecurityGroups) == 1 && lb.desc.SecurityGroups[0] != net.extraGroups[1], true)
			}),
			now: clbProbe(func(lb *classicLB) error {
				return want("groups", fmt.Sprint(lb.desc.SecurityGroups), fmt.Sprint([]string{net.extraGroups[1]}))
			}),
		},
		{
			name: "clb-health-check-thresholds",
			keys: []string{"healthcheck-healthy-threshold", "healthcheck-unhealthy-threshold", "healthcheck-interval", "healthcheck-timeout"},
			before: clbWith("healthcheck-healthy-threshold", "2", "healthcheck-unhealthy-threshold", "6",
				"healthcheck-interval", "10", "healthcheck-timeout", "5"),
			after: clbWith("healthcheck-healthy-threshold", "3", "healthcheck-unhealthy-threshold", "4",
				"healthcheck-interval", "30", "healthcheck-timeout", "10"),
			was: clbProbe(func(lb *classicLB) error { return thresholds(lb, 2, 6, 10, 5) }),
			now: clbProbe(func(lb *classicLB) error { return thresholds(lb, 3, 4, 30, 10) }),
		},
		{
			name: "clb-health-check-target", keys: []string{"healthcheck-protocol", "healthcheck-path", "healthcheck-port"},
			before: clbWith("healthcheck-protocol", "http", "healthcheck-path", "/ready"),
			after:  clbWith("healthcheck-protocol", "http", "healthcheck-path", "/live", "healthcheck-port", "32000"),
			was: clbProbe(func(lb *classicLB) error {
				return want("target /ready on the traffic port", healthTarget(lb, "HTTP:", "/ready") && !strings.Contains(healthTargetOf(lb), ":32000"), true)
			}),
			now: clbProbe(func(lb *classicLB) error { return want("target", healthTargetOf(lb), "HTTP:32000/live") }),
		},
		{
			name: "clb-internal", keys: []string{"internal"},
			before: clbWith(), after: clbWith("internal", "true"),
			was: clbProbe(func(lb *classicLB) error { return want("scheme", aws.ToString(lb.desc.Scheme), "internet-facing") }),
			now: clbProbe(func(lb *classicLB) error { return want("scheme", aws.ToString(lb.desc.Scheme), "internal") }),
		},
		{
			name: "clb-scheme", keys: []string{"scheme"},
			before: clbWith("scheme", "internal"), after: clbWith("scheme", "internet-facing"),
			was: clbProbe(func(lb *classicLB) error { return want("scheme", aws.ToString(lb.desc.Scheme), "internal") }),
			now: clbProbe(func(lb *classicLB) error { return want("scheme", aws.ToString(lb.desc.Scheme), "internet-facing") }),
		},
		{
			name: "clb-proxy-protocol", keys: []string{"proxy-protocol"},
			before: clbWith("proxy-protocol", "*"), after: clbWith(),
			was: clbProbe(func(lb *classicLB) error {
				return want("backend policies", backendPolicies(lb.desc), "k8s-proxyprotocol-enabled")
			}),
			now: clbProbe(func(lb *classicLB) error { return want("backend policies", backendPolicies(lb.desc), "") }),
		},
		{
			name: "clb-tls", keys: []string{"ssl-cert", "ssl-ports", "ssl-negotiation-policy"},
			spec:   withTLS,
			before: clbWith("ssl-cert", cert1, "ssl-ports", "443"),
			after:  clbWith("ssl-cert", cert2, "ssl-ports", "443", "ssl-negotiation-policy", "ELBSecurityPolicy-TLS-1-2-2017-01"),
			was: clbProbe(func(lb *classicLB) error {
				return firstErr(want("443 cert", certOf(lb, 443), cert1), want("80 cert", certOf(lb, 80), ""))
			}),
			now: clbProbe(func(lb *classicLB) error {
				return firstErr(want("443 cert", certOf(lb, 443), cert2),
					want("443 policy", slices.ContainsFunc(policiesOf(lb, 443), func(p string) bool { return strings.HasSuffix(p, "ELBSecurityPolicy-TLS-1-2-2017-01") }), true))
			}),
		},
		{
			name: "clb-subnets", keys: []string{"subnets"},
			before: clbWith("subnets", net.public[0]), after: clbWith("subnets", net.public[0]+","+net.public[1]),
			was: clbProbe(func(lb *classicLB) error {
				return want("subnets", fmt.Sprint(sorted(lb.desc.Subnets)), fmt.Sprint(net.public[:1]))
			}),
			now: clbProbe(func(lb *classicLB) error {
				return want("subnets", fmt.Sprint(sorted(lb.desc.Subnets)), fmt.Sprint(sorted(net.public)))
			}),
		},
		{
			name: "clb-target-node-labels", keys: []string{"target-node-labels"},
			before: clbWith("target-node-labels", edgeLabel+"=edge"), after: clbWith(),
			was: clbProbe(func(lb *classicLB) error { return want("instances", len(lb.desc.Instances), 2) }),
			now: clbProbe(func(lb *classicLB) error { return want("instances", len(lb.desc.Instances), 3) }),
		},
		{
			name: "clb-source-ranges-annotation", keys: []string{"service.beta.kubernetes.io/load-balancer-source-ranges"},
			before: map[string]string{"service.beta.kubernetes.io/load-balancer-source-ranges": "10.0.0.0/8"},
			after:  map[string]string{"service.beta.kubernetes.io/load-balancer-source-ranges": "192.168.0.0/16"},
			was:    classicRules("tcp:80-80 10.0.0.0/8", "icmp:3-4 10.0.0.0/8"),
			now:    classicRules("tcp:80-80 192.168.0.0/16", "icmp:3-4 192.168.0.0/16"),
		},
		{
			name: "nlb-cross-zone", keys: []string{"type", "cross-zone-load-balancing-enabled"},
			before: nlbWith("cross-zone-load-balancing-enabled", "false"), after: nlbWith("cross-zone-load-balancing-enabled", "true"),
			was: nlbProbe(func(lb *networkLB) error {
				return want("cross-zone", lb.attrs["load_balancing.cross_zone.enabled"], "false")
			}),
			now: nlbProbe(func(lb *networkLB) error {
				return want("cross-zone", lb.attrs["load_balancing.cross_zone.enabled"], "true")
			}),
		},
		{
			name: "nlb-access-log", keys: []string{"access-log-enabled", "access-log-s3-bucket-name", "access-log-s3-bucket-prefix"},
			before: nlbWith("access-log-enabled", "true", "access-log-s3-bucket-name", "logs", "access-log-s3-bucket-prefix", "p"),
			after:  nlbWith("access-log-enabled", "true", "access-log-s3-bucket-name", "logs", "access-log-s3-bucket-prefix", "q"),
			was:    nlbProbe(func(lb *networkLB) error { return nlbAccessLog(lb, "true", "logs", "p") }),
			now:    nlbProbe(func(lb *networkLB) error { return nlbAccessLog(lb, "true", "logs", "q") }),
		},
		{
			name: "nlb-attributes", keys: []string{"attributes"},
			before: nlbWith("attributes", "dns_record.client_routing_policy=availability_zone_affinity"),
			after:  nlbWith("attributes", "dns_record.client_routing_policy=partial_availability_zone_affinity"),
			was: nlbProbe(func(lb *networkLB) error {
				return want("routing", lb.attrs["dns_record.client_routing_policy"], "availability_zone_affinity")
			}),
			now: nlbProbe(func(lb *networkLB) error {
				return want("routing", lb.attrs["dns_record.client_routing_policy"], "partial_availability_zone_affinity")
			}),
		},
		{
			name: "nlb-target-group-attributes", keys: []string{"target-group-attributes", "target-group-attributes.{port}"},
			before: nlbWith("target-group-attributes", "deregistration_delay.timeout_seconds=30"),
			after: nlbWith("target-group-attributes", "deregistration_delay.timeout_seconds=60",
				"target-group-attributes.80", "preserve_client_ip.enabled=false"),
			was: nlbProbe(func(lb *networkLB) error {
				return want("delay", lb.groups[0].attrs["deregistration_delay.timeout_seconds"], "30")
			}),
			now: nlbProbe(func(lb *networkLB) error {
				return firstErr(want("delay", lb.groups[0].attrs["deregistration_delay.timeout_seconds"], "60"),
					want("preserve client IP", lb.groups[0].attrs["preserve_client_ip.enabled"], "false"))
			}),
		},
		{
			name: "nlb-proxy-protocol", keys: []string{"proxy-protocol"},
			before: nlbWith("proxy-protocol", "*"), after: nlbWith(),
			was: nlbProbe(func(lb *networkLB) error {
				return want("proxy v2", lb.groups[0].attrs["proxy_protocol_v2.enabled"], "true")
			}),
			now: nlbProbe(func(lb *networkLB) error {
				return want("proxy v2", lb.groups[0].attrs["proxy_protocol_v2.enabled"], "false")
			}),
		},
		{
			name: "nlb-proxy-protocol-per-target-group", keys: []string{"proxy-protocol-per-target-group"},
			spec:   withTLS,
			before: nlbWith("proxy-protocol-per-target-group", "443"), after: nlbWith("proxy-protocol-per-target-group", "80"),
			was: nlbProbe(func(lb *networkLB) error { return want("proxy v2 on 80,443", proxyByPort(lb), "false,true") }),
			now: nlbProbe(func(lb *networkLB) error { return want("proxy v2 on 80,443", proxyByPort(lb), "true,false") }),
		},
		{
			name: "nlb-ip-address-type", keys: []string{"ip-address-type"},
			before: nlbWith(), after: nlbWith("ip-address-type", "dualstack"),
			was: nlbProbe(func(lb *networkLB) error { return want("ip address type", string(lb.lb.IpAddressType), "ipv4") }),
			now: nlbProbe(func(lb *networkLB) error { return want("ip address type", string(lb.lb.IpAddressType), "dualstack") }),
		},
		{
			name: "nlb-health-check",
			keys: []string{"healthcheck-healthy-threshold", "healthcheck-unhealthy-threshold", "healthcheck-interval",
				"healthcheck-timeout", "healthcheck-protocol", "healthcheck-path", "healthcheck-success-codes", "healthcheck-port"},
			before: nlbWith("healthcheck-healthy-threshold", "3", "healthcheck-unhealthy-threshold", "3", "healthcheck-interval", "30",
				"healthcheck-timeout", "10", "healthcheck-protocol", "http", "healthcheck-path", "/a", "healthcheck-success-codes", "200-399"),
			after: nlbWith("healthcheck-healthy-threshold", "2", "healthcheck-unhealthy-threshold", "5", "healthcheck-interval", "10",
				"healthcheck-timeout", "6", "healthcheck-protocol", "http", "healthcheck-path", "/b", "healthcheck-success-codes", "200",
				"healthcheck-port", "32001"),
			was: nlbProbe(func(lb *networkLB) error { return nlbHealth(lb, "HTTP traffic-port /a 200-399 3/3 30s 10s") }),
			now: nlbProbe(func(lb *networkLB) error { return nlbHealth(lb, "HTTP 32001 /b 200 2/5 10s 6s") }),
		},
		{
			name: "nlb-tls", keys: []string{"ssl-cert", "ssl-ports", "ssl-negotiation-policy", "backend-protocol", "alpn-policy"},
			spec:   withTLS,
			before: nlbWith("ssl-cert", cert1, "ssl-ports", "443"),
			after: nlbWith("ssl-cert", cert2, "ssl-ports", "443", "ssl-negotiation-policy", "ELBSecurityPolicy-TLS13-1-2-2021-06", "backend-protocol", "ssl",
				"alpn-policy", "HTTP2Preferred"),
			was: nlbProbe(func(lb *networkLB) error { return want("listeners", nlbListeners(lb), "TCP:80 TLS:443:"+cert1) }),
			now: nlbProbe(func(lb *networkLB) error {
				return firstErr(want("listeners", nlbListeners(lb), "TCP:80 TLS:443:"+cert2+":ELBSecurityPolicy-TLS13-1-2-2021-06"),
					want("443 target group protocol", listenerGroupProtocol(lb, 443), "TLS"),
					want("443 ALPN", fmt.Sprint(lb.listeners[1].AlpnPolicy), "[HTTP2Preferred]"))
			}),
		},
		{
			name: "nlb-internal", keys: []string{"internal"},
			before: nlbWith(), after: nlbWith("internal", "true"),
			was: nlbProbe(func(lb *networkLB) error { return want("scheme", string(lb.lb.Scheme), "internet-facing") }),
			now: nlbProbe(func(lb *networkLB) error { return want("scheme", string(lb.lb.Scheme), "internal") }),
		},
		{
			name: "nlb-subnets-tags-labels", keys: []string{"subnets", "additional-resource-tags", "target-node-labels"},
			before: nlbWith("subnets", net.public[0], "additional-resource-tags", "team=a,stage=dev", "target-node-labels", edgeLabel+"=edge"),
			after:  nlbWith("subnets", net.public[0]+","+net.public[1], "additional-resource-tags", "team=b"),
			was: nlbProbe(func(lb *networkLB) error {
				return firstErr(want("subnets", len(lb.lb.AvailabilityZones), 1), want("team", lb.tags["team"], "a"),
					want("targets", len(lb.groups[0].targets), 2))
			}),
			now: nlbProbe(func(lb *networkLB) error {
				return firstErr(want("subnets", len(lb.lb.AvailabilityZones), 2), want("team", lb.tags["team"], "b"),
					want("targets", len(lb.groups[0].targets), 3))
			}),
		},
		{
			name: "clb-to-nlb", keys: []string{"type"},
			before: clbWith(), after: nlbWith(),
			was: clbProbe(func(*classicLB) error { return nil }),
			now: func(t *testing.T, s string) {
				t.Helper()
				waitNLB(t, s, func(*networkLB) error { return nil })
				waitFor(t, "the Classic ELB of "+s+" to go", func() (bool, string) {
					lb, err := classicOf(t.Context(), s)
					return err == nil && lb == nil, fmt.Sprintf("err %v, lb %v", err, lb != nil)
				})
			},
		},
	}
}

// TestEveryAnnotationChanged creates a Service per case, changes its annotations and waits
// for the cloud to follow; TestAnnotationCasesCoverTheRegistry keeps the cases complete.
func TestEveryAnnotationChanged(t *testing.T) {
	t.Parallel()
	for _, c := range annotationCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			tn := newTenant(t)
			svc := newService(c.name, maps.Clone(c.before))
			if c.spec != nil {
				c.spec(svc)
			}
			svc = tn.Create(svc)
			c.was(t, key(svc))
			tn.Update(svc.Name, func(s *v1.Service) { s.Annotations = maps.Clone(c.after) })
			c.now(t, key(svc))
		})
	}
}

// coveredElsewhere names the AWS keys whose effect another test shows, and why not here.
var coveredElsewhere = map[string]string{
	"name":                               "fixed at creation: TestSeedExamples and providers/aws golden tests",
	"eip-allocations":                    "fixed at creation: TestSeedExamples (nlb-eip) and providers/aws TestNLBPinnedAddresses (change = replacement)",
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

// TestAnnotationCasesCoverTheRegistry fails when an AWS key cloudlb acts on has no case above
// and no entry in coveredElsewhere.
func TestAnnotationCasesCoverTheRegistry(t *testing.T) {
	covered := map[string]bool{}
	for _, c := range annotationCasesFor(t) {
		for _, k := range c.keys {
			covered[k] = true
		}
	}
	for _, d := range annotations.ForCloud(annotations.AWS) {
		k := strings.TrimPrefix(d.Key, prefix)
		if d.Unsupported != "" || covered[k] || covered[d.Key] || coveredElsewhere[k] != "" {
			continue
		}
		t.Errorf("%s: no case in TestEveryAnnotationChanged and no entry in coveredElsewhere", d.Key)
	}
}

// annotationCasesFor builds the cases; they need the shared network only for values.
func annotationCasesFor(t *testing.T) []annotationCase {
	t.Helper()
	if shared.net == nil {
		t.Skip("no network")
	}
	return annotationCases()
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
	return firstErr(want("enabled", a.Enabled, enabled), want("interval", aws.ToInt32(a.EmitInterval), interval),
		want("bucket", aws.ToString(a.S3BucketName), bucket), want("prefix", aws.ToString(a.S3BucketPrefix), prefix))
}

func draining(lb *classicLB, enabled bool, timeout int32) error {
	d := lb.attrs.ConnectionDraining
	if d == nil {
		return fmt.Errorf("no connection draining attributes")
	}
	return firstErr(want("draining", d.Enabled, enabled), want("timeout", aws.ToInt32(d.Timeout), timeout))
}

func thresholds(lb *classicLB, healthy, unhealthy, interval, timeout int32) error {
	h := lb.desc.HealthCheck
	return want("health check", fmt.Sprint(aws.ToInt32(h.HealthyThreshold), aws.ToInt32(h.UnhealthyThreshold), aws.ToInt32(h.Interval), aws.ToInt32(h.Timeout)),
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

// classicRules waits for the managed group's rules to be exactly rules ("proto:from-to cidr").
func classicRules(rules ...string) probe {
	slices.Sort(rules)
	return func(t *testing.T, s string) {
		t.Helper()
		waitClassic(t, s, func(lb *classicLB) error {
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
			return want("managed group rules", fmt.Sprint(got), fmt.Sprint(rules))
		})
	}
}

func nlbAccessLog(lb *networkLB, enabled, bucket, prefix string) error {
	return firstErr(want("enabled", lb.attrs["access_logs.s3.enabled"], enabled),
		want("bucket", lb.attrs["access_logs.s3.bucket"], bucket), want("prefix", lb.attrs["access_logs.s3.prefix"], prefix))
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
	return want("health check", got, wantHC)
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

package annotations

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// awsK returns the full AWS key for a suffix.
func awsK(suffix string) string { return awsPrefix + suffix }

// awsNLBAnn returns ann with aws-load-balancer-type: nlb added.
func awsNLBAnn(ann map[string]string) map[string]string {
	out := map[string]string{awsK("type"): "nlb"}
	maps.Copy(out, ann)
	return out
}

// awsSvc builds a LoadBalancer Service with TCP ports http/80 and https/443.
func awsSvc(ann map[string]string, mut ...func(*v1.Service)) *v1.Service {
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", Annotations: ann},
		Spec: v1.ServiceSpec{
			Type: v1.ServiceTypeLoadBalancer,
			Ports: []v1.ServicePort{
				{Name: "http", Port: 80, Protocol: v1.ProtocolTCP, NodePort: 30080, TargetPort: intstr.FromInt32(8080)},
				{Name: "https", Port: 443, Protocol: v1.ProtocolTCP, NodePort: 30443, TargetPort: intstr.FromInt32(8443)},
			},
		},
	}
	for _, m := range mut {
		m(svc)
	}
	return svc
}

func awsLocal(s *v1.Service) {
	s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
	s.Spec.HealthCheckNodePort = 31999
}

func awsUDPPort(s *v1.Service) {
	s.Spec.Ports = append(s.Spec.Ports, v1.ServicePort{Name: "dns", Port: 53, Protocol: v1.ProtocolUDP, NodePort: 30053})
}

func awsParse(t *testing.T, ann map[string]string, mut ...func(*v1.Service)) (*AWSConfig, Problems) {
	t.Helper()
	cfg, ps := Parse(awsSvc(ann, mut...), AWS)
	if cfg.AWS == nil {
		t.Fatal("Parse(AWS) returned no AWS config")
	}
	return cfg.AWS, ps
}

// awsHas reports whether ps holds a problem of severity sev on key whose reason contains sub.
func awsHas(ps Problems, sev Severity, key, sub string) bool {
	return slices.ContainsFunc(ps, func(p Problem) bool {
		return p.Severity == sev && p.Key == key && strings.Contains(p.Reason, sub)
	})
}

func TestAWSDefaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		ann  map[string]string
		mut  []func(*v1.Service)
		want AWSHealthCheck
		typ  AWSLBType
	}{
		{"CLB Cluster", nil, nil, AWSHealthCheck{2, 6, 10, 5, "TCP", "", "", "traffic-port", ""}, AWSTypeCLB},
		{"CLB Local", nil, []func(*v1.Service){awsLocal}, AWSHealthCheck{2, 6, 10, 5, "HTTP", "/healthz", "", "31999", ""}, AWSTypeCLB},
		{"NLB Cluster", awsNLBAnn(nil), nil, AWSHealthCheck{3, 3, 30, 10, "TCP", "", "", "traffic-port", ""}, AWSTypeNLB},
		{"NLB Local", awsNLBAnn(nil), []func(*v1.Service){awsLocal}, AWSHealthCheck{2, 2, 10, 6, "HTTP", "/healthz", "200-399", "31999", ""}, AWSTypeNLB},
		{"NLB Local unallocated", awsNLBAnn(nil), []func(*v1.Service){awsLocal, func(s *v1.Service) { s.Spec.HealthCheckNodePort = 0 }},
			AWSHealthCheck{2, 2, 10, 6, "HTTP", "/healthz", "200-399", "", ""}, AWSTypeNLB},
		{"CLB SSL backend", map[string]string{awsK("ssl-cert"): "arn:aws:acm:us-east-1:123456789012:certificate/abc-123", awsK("backend-protocol"): "ssl"}, nil,
			AWSHealthCheck{2, 6, 10, 5, "SSL", "", "", "traffic-port", ""}, AWSTypeCLB},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, ps := awsParse(t, tc.ann, tc.mut...)
			if len(ps) != 0 {
				t.Errorf("unexpected problems: %v", ps)
			}
			if c.Type != tc.typ || c.HealthCheck != tc.want {
				t.Errorf("type %s, health check %+v; want %s, %+v", c.Type, c.HealthCheck, tc.typ, tc.want)
			}
			if c.Internal || c.CrossZone || c.ProxyProtocol || c.AccessLog.Enabled || c.SSL.BackendProtocol == "" ||
				!c.SSL.Ports.All || !c.ManageBackendSecurityGroupRules || !c.EnableICMPForPathMTUDiscovery {
				t.Errorf("wrong common defaults: %+v", c)
			}
			if tc.typ == AWSTypeCLB && (c.IdleTimeout != 60 || c.AccessLog.EmitInterval != 60 || c.ConnectionDraining != (AWSConnectionDraining{false, 300})) {
				t.Errorf("CLB defaults: idle %d, emit %d, draining %+v", c.IdleTimeout, c.AccessLog.EmitInterval, c.ConnectionDraining)
			}
			if tc.typ == AWSTypeNLB && (c.NLBTargetType != "instance" || c.IPAddressType != "ipv4" || c.ALPNPolicy != "None" ||
				!c.InboundSGRulesOnPrivateLinkTraffic || c.DisableNLBSecurityGroups || c.EnableTCPUDPListener || c.IdleTimeout != 0) {
				t.Errorf("NLB defaults: %+v", c)
			}
		})
	}
}

// TestAWSDefaultsConsistent checks that the health-check defaults never violate timeout < interval.
func TestAWSDefaultsConsistent(t *testing.T) {
	t.Parallel()
	for _, ctx := range regContexts {
		if ctx.Variant != "clb" && ctx.Variant != "nlb" {
			continue
		}
		iv, ok1 := AWSHealthCheckInterval.DefaultFor(ctx)
		to, ok2 := AWSHealthCheckTimeout.DefaultFor(ctx)
		if !ok1 || !ok2 {
			t.Errorf("%+v: missing health-check default", ctx)
		}
		var i, o int
		fmt.Sscan(iv, &i)
		fmt.Sscan(to, &o)
		if o >= i {
			t.Errorf("%+v: default timeout %d >= interval %d", ctx, o, i)
		}
	}
}

func TestAWSType(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		value string
		want  AWSLBType
		err   bool
	}{
		{"nlb", AWSTypeNLB, false}, {"NLB", AWSTypeNLB, false}, {"external", AWSTypeExternal, false},
		{"nlb-ip", AWSTypeExternal, false}, {"alb", AWSTypeCLB, true}, {"classic", AWSTypeCLB, true},
	} {
		c, ps := awsParse(t, map[string]string{awsK("type"): tc.value})
		if c.Type != tc.want || awsHas(ps, Error, awsK("type"), "") != tc.err {
			t.Errorf("type %q: got %s, problems %v", tc.value, c.Type, ps)
		}
	}
	// External: the provider steps aside, so nothing else is built or checked.
	c, ps := awsParse(t, map[string]string{awsK("type"): "external", awsK("healthcheck-interval"): "5"},
		func(s *v1.Service) { s.Spec.LoadBalancerIP = "1.2.3.4" })
	if c.Type != AWSTypeExternal || c.HealthCheck != (AWSHealthCheck{}) || ps.HasErrors() {
		t.Errorf("external: %+v, %v", c, ps)
	}
}

func TestAWSLimitsRejected(t *testing.T) {
	t.Parallel()
	const cert = "arn:aws:acm:us-east-1:123456789012:certificate/abc"
	many := make([]string, 49)
	for i := range many {
		many[i] = fmt.Sprintf("k%d=v", i)
	}
	for _, tc := range []struct {
		key, value string
		nlb        bool
		reason     string
	}{
		{"healthcheck-healthy-threshold", "1", false, "between 2 and 10"},
		{"healthcheck-healthy-threshold", "11", true, "between 2 and 10"},
		{"healthcheck-unhealthy-threshold", "1", false, "between 2 and 10"},
		{"healthcheck-unhealthy-threshold", "11", false, "between 2 and 10"},
		{"healthcheck-interval", "4", false, "between 5 and 300"},
		{"healthcheck-interval", "301", false, "between 5 and 300"},
		{"healthcheck-timeout", "1", false, "between 2 and 60"},
		{"healthcheck-timeout", "61", true, "between 2 and 60"},
		{"healthcheck-timeout", "ten", false, "not an integer"},
		{"access-log-emit-interval", "10", false, "one of 5, 60"},
		{"connection-idle-timeout", "0", false, "between 1 and 4000"},
		{"connection-idle-timeout", "4001", false, "between 1 and 4000"},
		{"connection-draining-timeout", "0", false, "between 1 and 3600"},
		{"connection-draining-timeout", "3601", false, "between 1 and 3600"},
		{"proxy-protocol", "true", false, "not an accepted value"},
		{"backend-protocol", "grpc", false, "not an accepted value"},
		{"access-log-enabled", "maybe", false, "not a boolean"},
		{"scheme", "public", false, "not an accepted value"},
		{"ssl-cert", "my-cert", false, "not an ACM or IAM certificate ARN"},
		{"ssl-cert", "arn:aws:acm:us-east-1:123:certificate/abc", false, "not an ACM or IAM"},
		{"ssl-cert", "arn:aws:s3:::bucket", false, "not an ACM or IAM"},
		{"ssl-cert", cert + "," + cert, true, "listed twice"},
		{"ssl-ports", "443,,80", false, "empty list item"},
		{"ssl-negotiation-policy", "bad policy", false, "is not an ELB security policy name"},
		{"healthcheck-protocol", "UDP", false, "not an accepted value"},
		{"healthcheck-protocol", "SSL", true, "cannot use SSL health checks"},
		{"healthcheck-port", "0", false, "out of range"},
		{"healthcheck-port", "70000", false, "out of range"},
		{"healthcheck-port", "Bad_Name", false, "neither traffic-port"},
		{"healthcheck-port", "metrics", false, `no Service port named "metrics"`},
		{"healthcheck-path", "healthz", false, "must start with /"},
		{"healthcheck-success-codes", "199", true, "not an HTTP code 200-599"},
		{"healthcheck-success-codes", "200-600", true, "not an HTTP code 200-599"},
		{"healthcheck-success-codes", "399-200", true, "is empty"},
		{"healthcheck-success-codes", "ok", true, "not an HTTP code"},
		{"subnets", "subnet-xyz", false, "not a subnet-... ID"},
		{"subnets", "subnet-0123abcd,subnet-0123abcd", false, "listed twice"},
		{"subnets", "my subnet!", false, "not a valid Name tag value"},
		{"security-groups", "sg-12", false, "not a sg-... ID"},
		{"extra-security-groups", "default", false, "not a sg-... ID"},
		{"extra-security-groups", "sg-0123abcd", true, "not supported on an NLB"},
		{"eip-allocations", "eip-0123abcd", true, "not a eipalloc-... ID"},
		{"private-ipv4-addresses", "10.0.0.300", true, "not an IPv4 address"},
		{"ipv6-addresses", "10.0.0.1", true, "not an IPv6 address"},
		{"security-group-prefix-lists", "prefix-1", true, "not a pl-... ID"},
		{"name", "", false, "empty value"}, // empty is only a warning; checked below as a warning
		{"name", strings.Repeat("a", 33), false, "1-32 allowed"},
		{"name", "-web", false, "must not start or end with '-'"},
		{"name", "web_1", false, "only letters, digits and '-'"},
		{"name", "internal-web", false, "must not start with internal-"},
		{"additional-resource-tags", "aws:team=x", false, "aws: prefix is reserved"},
		{"additional-resource-tags", "team=aws:x", false, "aws: prefix is reserved"},
		{"additional-resource-tags", "kubernetes.io/service-name=x", false, "reserved"},
		{"additional-resource-tags", "kubernetes.io/cluster/prod=owned", false, "reserved"},
		{"additional-resource-tags", strings.Repeat("k", 129) + "=v", false, "at most 128"},
		{"additional-resource-tags", "k=" + strings.Repeat("v", 257), false, "at most 256"},
		{"additional-resource-tags", "team=a;b", false, "may contain only"},
		{"additional-resource-tags", strings.Join(many, ","), false, "49 tags, at most 48"},
		{"target-node-labels", "bad key=x", false, "label key"},
		{"target-node-labels", "role=bad value", false, "label \"role\" value"},
		{"target-group-attributes", "unknown.attr=1", true, `unknown key "unknown.attr"`},
		{"target-group-attributes", "preserve_client_ip.enabled=yes", true, "must be true or false"},
		{"target-group-attributes", "deregistration_delay.timeout_seconds=3601", true, "integer 0-3600"},
		{"target-group-attributes", "stickiness.type=lb_cookie", true, "one of source_ip"},
		{"target-group-attributes", "load_balancing.cross_zone.enabled=maybe", true, "use_load_balancer_configuration"},
		{"target-group-attributes", "target_health_state.unhealthy.draining_interval_seconds=30", true, "needs target_health_state.unhealthy.connection_termination.enabled=false"},
		{"target-group-attributes.443", "proxy_protocol_v2.enabled=1", true, "must be true or false"},
		{"attributes", "idle_timeout.timeout_seconds=60", true, "unknown key"},
		{"attributes", "secondary_ips.auto_assigned.per_subnet=8", true, "integer 0-7"},
		{"attributes", "dns_record.client_routing_policy=nearest", true, "one of"},
		{"attributes", "access_logs.s3.bucket=My_Bucket", true, "not a valid S3 bucket name"},
		{"access-log-s3-bucket-name", "ab", false, "3-63 characters"},
		{"access-log-s3-bucket-name", "My-Bucket", false, "lower-case"},
		{"access-log-s3-bucket-name", "my..bucket", false, "adjacent periods"},
		{"access-log-s3-bucket-name", "192.168.1.10", false, "IP address"},
		{"access-log-s3-bucket-name", "xn--bucket", false, "reserved prefix"},
		{"access-log-s3-bucket-prefix", "prod/AWSLogs", false, "must not contain \"AWSLogs\""},
		{"access-log-s3-bucket-prefix", "my prefix", false, "whitespace"},
		{"alpn-policy", "h2", true, "not an accepted value"},
		{"nlb-target-type", "lambda", true, "not an accepted value"},
		{"ip-address-type", "ipv6", true, "not an accepted value"},
		{"proxy-protocol-per-target-group", "http", true, "not a port number"},
		{"enable-icmp-for-path-mtu-discovery", "yes", false, "not an accepted value"},
		{"disable-nlb-sg", "on", true, "not a boolean"},
		{"source-nat-ipv6-prefixes", "2001:db8::/64", true, "neither an IPv6 /80 prefix"},
	} {
		key := awsK(tc.key)
		ann := map[string]string{key: tc.value}
		if tc.nlb {
			ann = awsNLBAnn(ann)
		}
		_, ps := awsParse(t, ann)
		sev := Error
		if tc.value == "" {
			sev = Warning
		}
		if !awsHas(ps, sev, key, tc.reason) {
			t.Errorf("%s=%q: want %s containing %q, got %v", tc.key, tc.value, sev, tc.reason, ps)
		}
	}
}

func TestAWSValidEdgeValues(t *testing.T) {
	t.Parallel()
	tags48 := make([]string, 48)
	for i := range tags48 {
		tags48[i] = fmt.Sprintf("k%d=v", i)
	}
	for _, tc := range []struct {
		ann   map[string]string
		nlb   bool
		check func(*AWSConfig) bool
	}{
		{map[string]string{awsK("healthcheck-healthy-threshold"): "10", awsK("healthcheck-unhealthy-threshold"): "2"}, false,
			func(c *AWSConfig) bool {
				return c.HealthCheck.HealthyThreshold == 10 && c.HealthCheck.UnhealthyThreshold == 2
			}},
		{map[string]string{awsK("healthcheck-interval"): "300", awsK("healthcheck-timeout"): "60"}, true,
			func(c *AWSConfig) bool { return c.HealthCheck.Interval == 300 && c.HealthCheck.Timeout == 60 }},
		{map[string]string{awsK("healthcheck-interval"): "6"}, false, func(c *AWSConfig) bool { return c.HealthCheck.Interval == 6 }},
		{map[string]string{awsK("healthcheck-interval"): "5", awsK("healthcheck-timeout"): "2"}, false,
			func(c *AWSConfig) bool { return c.HealthCheck.Timeout == 2 }},
		{map[string]string{awsK("access-log-emit-interval"): "5", awsK("access-log-enabled"): "TRUE", awsK("access-log-s3-bucket-name"): "my.logs-1", awsK("access-log-s3-bucket-prefix"): "team/prod"}, false,
			func(c *AWSConfig) bool {
				return c.AccessLog == AWSAccessLog{Enabled: true, EmitInterval: 5, Bucket: "my.logs-1", Prefix: "team/prod"}
			}},
		{map[string]string{awsK("connection-idle-timeout"): "4000", awsK("connection-draining-enabled"): "true", awsK("connection-draining-timeout"): "3600"}, false,
			func(c *AWSConfig) bool {
				return c.IdleTimeout == 4000 && c.ConnectionDraining == AWSConnectionDraining{true, 3600}
			}},
		{map[string]string{awsK("connection-idle-timeout"): "1", awsK("connection-draining-enabled"): "true", awsK("connection-draining-timeout"): "1"}, false,
			func(c *AWSConfig) bool { return c.IdleTimeout == 1 && c.ConnectionDraining.Timeout == 1 }},
		{map[string]string{awsK("ssl-cert"): "arn:aws-us-gov:iam::123456789012:server-certificate/prod/web", awsK("ssl-ports"): " 443 , https"}, false,
			func(c *AWSConfig) bool {
				return c.SSL.Certificates[0] == "arn:aws-us-gov:iam::123456789012:server-certificate/prod/web" &&
					slices.Equal(c.SSL.Ports.Numbers, []int32{443}) && c.SSL.Enabled(v1.ServicePort{Port: 443, Name: "x"}) && !c.SSL.Enabled(v1.ServicePort{Port: 80, Name: "http"}) &&
					!c.SSL.Enabled(v1.ServicePort{Port: 443, Protocol: v1.ProtocolUDP})
			}},
		{map[string]string{awsK("ssl-cert"): "arn:aws-cn:acm:cn-north-1:123456789012:certificate/1-2,arn:aws:acm:eu-west-3:123456789012:certificate/3-4"}, true,
			func(c *AWSConfig) bool { return len(c.SSL.Certificates) == 2 }},
		{map[string]string{awsK("name"): strings.Repeat("a", 31) + "1"}, false, func(c *AWSConfig) bool { return len(c.Name) == 32 }},
		{map[string]string{awsK("additional-resource-tags"): strings.Join(tags48, ",")}, false, func(c *AWSConfig) bool { return len(c.AdditionalTags) == 48 }},
		{map[string]string{awsK("additional-resource-tags"): "team=web, bare, empty=, url=a=b, name=My App @home"}, false,
			func(c *AWSConfig) bool {
				return maps.Equal(c.AdditionalTags, map[string]string{"team": "web", "bare": "", "empty": "", "url": "a=b", "name": "My App @home"})
			}},
		{map[string]string{awsK("target-node-labels"): "node-role.kubernetes.io/lb, zone=a"}, false,
			func(c *AWSConfig) bool {
				return maps.Equal(c.TargetNodeLabels, map[string]string{"node-role.kubernetes.io/lb": "", "zone": "a"})
			}},
		{map[string]string{awsK("healthcheck-protocol"): "https", awsK("healthcheck-success-codes"): "200,202,599"}, true,
			func(c *AWSConfig) bool {
				return c.HealthCheck.Protocol == "HTTPS" && c.HealthCheck.SuccessCodes == "200,202,599"
			}},
		{map[string]string{awsK("healthcheck-protocol"): "HTTP", awsK("healthcheck-success-codes"): "200-200"}, true,
			func(c *AWSConfig) bool { return c.HealthCheck.Path == "/" && c.HealthCheck.SuccessCodes == "200-200" }},
		{map[string]string{awsK("subnets"): "subnet-0123abcd, subnet-0123456789abcdef0, public-a"}, false,
			func(c *AWSConfig) bool { return len(c.Subnets) == 3 && c.Subnets[2] == "public-a" }},
		{map[string]string{awsK("target-group-attributes"): "deregistration_delay.timeout_seconds=0,stickiness.enabled=True,stickiness.type=source_ip,target_health_state.unhealthy.connection_termination.enabled=false,target_health_state.unhealthy.draining_interval_seconds=360000,load_balancing.cross_zone.enabled=use_load_balancer_configuration"}, true,
			func(c *AWSConfig) bool {
				return c.TargetGroupAttributes["stickiness.enabled"] == "true" && len(c.TargetGroupAttributes) == 6
			}},
		{map[string]string{awsK("enable-icmp-for-path-mtu-discovery"): "off", awsK("alpn-policy"): "http2preferred", awsK("ssl-cert"): "arn:aws:acm:us-east-1:123456789012:certificate/a"}, true,
			func(c *AWSConfig) bool { return !c.EnableICMPForPathMTUDiscovery && c.ALPNPolicy == "HTTP2Preferred" }},
	} {
		ann := tc.ann
		if tc.nlb {
			ann = awsNLBAnn(ann)
		}
		c, ps := awsParse(t, ann)
		if len(ps) != 0 || !tc.check(c) {
			t.Errorf("%v: problems %v, config %+v", tc.ann, ps, c)
		}
	}
}

func TestAWSCrossField(t *testing.T) {
	t.Parallel()
	const cert = "arn:aws:acm:us-east-1:123456789012:certificate/abc"
	nlb := awsNLBAnn
	for _, tc := range []struct {
		name string
		ann  map[string]string
		mut  []func(*v1.Service)
		sev  Severity
		key  string
		want string
	}{
		{"timeout above default interval", map[string]string{awsK("healthcheck-timeout"): "10"}, nil, Error, "healthcheck-timeout", "less than service.beta.kubernetes.io/aws-load-balancer-healthcheck-interval (10, default)"},
		{"both set, timeout blamed", map[string]string{awsK("healthcheck-interval"): "20", awsK("healthcheck-timeout"): "20"}, nil, Error, "healthcheck-timeout", "(20, set)"},
		{"EIP on internal NLB", nlb(map[string]string{awsK("scheme"): "internal", awsK("eip-allocations"): "eipalloc-0123abcd"}), nil, Error, "eip-allocations", "internet-facing"},
		{"EIP on legacy internal NLB", nlb(map[string]string{awsK("internal"): "true", awsK("eip-allocations"): "eipalloc-0123abcd"}), nil, Error, "eip-allocations", "internet-facing"},
		{"private IPs on internet-facing NLB", nlb(map[string]string{awsK("private-ipv4-addresses"): "10.0.0.10"}), nil, Error, "private-ipv4-addresses", "need an internal NLB"},
		{"EIP count vs subnets", nlb(map[string]string{awsK("subnets"): "subnet-0123abcd,subnet-0123abce", awsK("eip-allocations"): "eipalloc-0123abcd"}), nil, Error, "eip-allocations", "has 1 items but service.beta.kubernetes.io/aws-load-balancer-subnets has 2"},
		{"IPv4 vs IPv6 count", nlb(map[string]string{awsK("scheme"): "internal", awsK("ip-address-type"): "dualstack", awsK("private-ipv4-addresses"): "10.0.0.10,10.0.1.10", awsK("ipv6-addresses"): "2001:db8::10"}), nil, Error, "ipv6-addresses", "has 1 items but service.beta.kubernetes.io/aws-load-balancer-private-ipv4-addresses has 2"},
		{"IPv6 without dualstack", nlb(map[string]string{awsK("ipv6-addresses"): "2001:db8::10"}), nil, Error, "ipv6-addresses", "needs service.beta.kubernetes.io/aws-load-balancer-ip-address-type: dualstack"},
		{"source NAT prefixes need enable", nlb(map[string]string{awsK("ip-address-type"): "dualstack", awsK("source-nat-ipv6-prefixes"): "auto_assigned"}), nil, Error, "source-nat-ipv6-prefixes", "enable-prefix-for-ipv6-source-nat: on"},
		{"scheme wins over internal", map[string]string{awsK("scheme"): "internet-facing", awsK("internal"): "true"}, nil, Warning, "internal", "conflicts with service.beta.kubernetes.io/aws-load-balancer-scheme=internet-facing, which wins"},
		{"TG attributes on CLB", map[string]string{awsK("target-group-attributes"): "preserve_client_ip.enabled=true"}, nil, Warning, "target-group-attributes", "ignored on CLB"},
		{"per-port TG attributes on CLB", map[string]string{awsK("target-group-attributes.80"): "preserve_client_ip.enabled=true"}, nil, Warning, "target-group-attributes.80", "ignored on CLB"},
		{"EIPs on CLB", map[string]string{awsK("eip-allocations"): "eipalloc-0123abcd"}, nil, Warning, "eip-allocations", "ignored on CLB"},
		{"idle timeout on NLB", nlb(map[string]string{awsK("connection-idle-timeout"): "100"}), nil, Warning, "connection-idle-timeout", "ignored on NLB"},
		{"draining on NLB", nlb(map[string]string{awsK("connection-draining-enabled"): "true"}), nil, Warning, "connection-draining-enabled", "ignored on NLB"},
		{"preserve client IP off with UDP", nlb(map[string]string{awsK("target-group-attributes"): "preserve_client_ip.enabled=false", awsK("enable-tcp-udp-listener"): "true"}), []func(*v1.Service){awsUDPPort}, Error, "target-group-attributes", "not allowed with UDP ports"},
		{"per-port preserve client IP off on UDP port", nlb(map[string]string{awsK("target-group-attributes.53"): "preserve_client_ip.enabled=FALSE", awsK("enable-tcp-udp-listener"): "true"}), []func(*v1.Service){awsUDPPort}, Error, "target-group-attributes.53", "not allowed with UDP ports"},
		{"PPv2 off contradicts proxy-protocol", nlb(map[string]string{awsK("proxy-protocol"): "*", awsK("target-group-attributes"): "proxy_protocol_v2.enabled=false"}), nil, Error, "target-group-attributes", "conflicts with"},
		{"several certs on CLB", map[string]string{awsK("ssl-cert"): cert + "," + cert + "2"}, nil, Error, "ssl-cert", "takes one certificate"},
		{"ssl-ports unknown name", map[string]string{awsK("ssl-cert"): cert, awsK("ssl-ports"): "http, admin"}, nil, Warning, "ssl-ports", `no Service port named "admin"`},
		{"ssl-ports unknown number", map[string]string{awsK("ssl-cert"): cert, awsK("ssl-ports"): "8443"}, nil, Warning, "ssl-ports", "no Service port 8443"},
		{"ssl-ports without cert", map[string]string{awsK("ssl-ports"): "443"}, nil, Warning, "ssl-ports", "ignored without"},
		{"backend https without cert on CLB", map[string]string{awsK("backend-protocol"): "https"}, nil, Warning, "backend-protocol", "plain TCP"},
		{"backend http on NLB", nlb(map[string]string{awsK("backend-protocol"): "http"}), nil, Warning, "backend-protocol", "does not proxy HTTP"},
		{"access logs without bucket", map[string]string{awsK("access-log-enabled"): "true"}, nil, Error, "access-log-enabled", "need an S3 bucket"},
		{"NLB access logs via attributes without bucket", nlb(map[string]string{awsK("attributes"): "access_logs.s3.enabled=true"}), nil, Error, "attributes", "need an S3 bucket"},
		{"bucket while disabled", map[string]string{awsK("access-log-s3-bucket-name"): "logs"}, nil, Warning, "access-log-s3-bucket-name", "ignored while access logs are disabled"},
		{"NLB access logs without TLS", nlb(map[string]string{awsK("access-log-enabled"): "true", awsK("access-log-s3-bucket-name"): "logs"}), nil, Warning, "access-log-enabled", "TLS listeners only"},
		{"attributes conflict", nlb(map[string]string{awsK("cross-zone-load-balancing-enabled"): "true", awsK("attributes"): "load_balancing.cross_zone.enabled=false"}), nil, Error, "attributes", "conflicts with service.beta.kubernetes.io/aws-load-balancer-cross-zone-load-balancing-enabled=true"},
		{"too many security groups", map[string]string{awsK("security-groups"): "sg-00000001,sg-00000002,sg-00000003", awsK("extra-security-groups"): "sg-00000004,sg-00000005,sg-00000006"}, nil, Error, "extra-security-groups", "would get 6 security groups"},
		{"disable NLB SG with SGs", nlb(map[string]string{awsK("disable-nlb-sg"): "true", awsK("security-groups"): "sg-0123abcd"}), nil, Error, "disable-nlb-sg", "conflicts with"},
		{"prefix lists without managed SG", nlb(map[string]string{awsK("disable-nlb-sg"): "true", awsK("security-group-prefix-lists"): "pl-0123abcd"}), nil, Warning, "security-group-prefix-lists", "no managed security group"},
		{"path on TCP check", map[string]string{awsK("healthcheck-path"): "/ready"}, nil, Warning, "healthcheck-path", "ignored for TCP health checks"},
		{"success codes on CLB", map[string]string{awsK("healthcheck-success-codes"): "200"}, nil, Warning, "healthcheck-success-codes", "ignored on CLB"},
		{"draining timeout while disabled", map[string]string{awsK("connection-draining-timeout"): "30"}, nil, Warning, "connection-draining-timeout", "ignored while"},
		{"PP per TG unknown port", nlb(map[string]string{awsK("proxy-protocol-per-target-group"): "80,8080"}), nil, Warning, "proxy-protocol-per-target-group", "no Service port 8080"},
		{"ALPN without TLS", nlb(map[string]string{awsK("alpn-policy"): "HTTP2Only"}), nil, Warning, "alpn-policy", "only TLS listeners"},
		{"per-port key for a missing port", nlb(map[string]string{awsK("target-group-attributes.8080"): "stickiness.enabled=true"}), nil, Warning, "target-group-attributes.8080", "no Service port 8080"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, ps := awsParse(t, tc.ann, tc.mut...)
			if !awsHas(ps, tc.sev, awsK(tc.key), tc.want) {
				t.Errorf("want %s on %s containing %q, got %v", tc.sev, tc.key, tc.want, ps)
			}
		})
	}
}

func TestAWSValueAliases(t *testing.T) {
	t.Parallel()
	// cloud-provider-aws: any value of aws-load-balancer-internal but "false" is internal.
	for _, v := range []string{"0.0.0.0/0", "yes", "internal"} {
		c, ps := awsParse(t, map[string]string{awsK("internal"): v})
		if !c.Internal || !awsHas(ps, Warning, awsK("internal"), `read as "true", as the upstream aws provider reads it`) || ps.HasErrors() {
			t.Errorf("internal=%q: internal=%v, %v", v, c.Internal, ps)
		}
	}
	// Other booleans: strconv.ParseBool's spellings keep their meaning, with a warning.
	for v, want := range map[string]bool{"1": true, "t": true, "0": false, "F": false} {
		c, ps := awsParse(t, map[string]string{awsK("cross-zone-load-balancing-enabled"): v})
		if c.CrossZone != want || !awsHas(ps, Warning, awsK("cross-zone-load-balancing-enabled"), fmt.Sprintf("read as %q", strconv.FormatBool(want))) || ps.HasErrors() {
			t.Errorf("cross-zone=%q: %v, %v; want %v with a warning", v, c.CrossZone, ps, want)
		}
	}
	c, ps := awsParse(t, awsNLBAnn(map[string]string{awsK("enable-icmp-for-path-mtu-discovery"): "false"}))
	if c.EnableICMPForPathMTUDiscovery || !awsHas(ps, Warning, awsK("enable-icmp-for-path-mtu-discovery"), "deprecated value") {
		t.Errorf("icmp alias: %v, %v", c.EnableICMPForPathMTUDiscovery, ps)
	}
	c, ps = awsParse(t, map[string]string{awsK("scheme"): "internal", awsK("internal"): "true"})
	if !c.Internal || len(ps) != 0 {
		t.Errorf("agreeing scheme and internal: %v, %v", c.Internal, ps)
	}
	c, _ = awsParse(t, map[string]string{awsK("scheme"): "internal", awsK("internal"): "false"})
	if !c.Internal {
		t.Error("scheme must win over internal")
	}
}

func TestAWSSpecRejections(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		ann   map[string]string
		mut   func(*v1.Service)
		field string
		want  string // "" means no error at all
	}{
		{"loadBalancerIP", nil, func(s *v1.Service) { s.Spec.LoadBalancerIP = "203.0.113.7" }, "spec.loadBalancerIP", "not supported on AWS"},
		{"ClientIP on CLB", nil, func(s *v1.Service) { s.Spec.SessionAffinity = v1.ServiceAffinityClientIP }, "spec.sessionAffinity", "Classic Load Balancer cannot honour ClientIP"},
		{"ClientIP on NLB", awsNLBAnn(nil), func(s *v1.Service) { s.Spec.SessionAffinity = v1.ServiceAffinityClientIP }, "spec.sessionAffinity", "stickiness.type=source_ip"},
		{"UDP on CLB", nil, awsUDPPort, "spec.ports[2].protocol", "does not support UDP"},
		{"SCTP on NLB", awsNLBAnn(nil), func(s *v1.Service) { s.Spec.Ports[1].Protocol = v1.ProtocolSCTP }, "spec.ports[1].protocol", "does not support SCTP"},
		{"mixed on NLB", awsNLBAnn(nil), awsUDPPort, "spec.ports", "mixed TCP and UDP"},
		{"mixed on NLB with TCP_UDP", awsNLBAnn(map[string]string{awsK("enable-tcp-udp-listener"): "true"}), awsUDPPort, "", ""},
		{"UDP only on NLB", awsNLBAnn(nil), func(s *v1.Service) { s.Spec.Ports = s.Spec.Ports[:1]; s.Spec.Ports[0].Protocol = v1.ProtocolUDP }, "", ""},
		{"affinity None", nil, func(s *v1.Service) { s.Spec.SessionAffinity = v1.ServiceAffinityNone }, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, ps := awsParse(t, tc.ann, tc.mut)
			if tc.want == "" {
				if ps.HasErrors() {
					t.Errorf("unexpected errors: %v", ps)
				}
				return
			}
			if !awsHas(ps, Error, tc.field, tc.want) {
				t.Errorf("want error on %s containing %q, got %v", tc.field, tc.want, ps)
			}
		})
	}
}

func TestAWSHealthCheckPort(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		ann      map[string]string
		mut      []func(*v1.Service)
		port     string
		portName string
	}{
		{"number", map[string]string{awsK("healthcheck-port"): "10256"}, nil, "10256", ""},
		{"traffic-port under Local", map[string]string{awsK("healthcheck-port"): "Traffic-Port"}, []func(*v1.Service){awsLocal}, "traffic-port", ""},
		{"named port on CLB is its nodePort", map[string]string{awsK("healthcheck-port"): "https"}, nil, "30443", "https"},
		{"named port with IP targets is its targetPort", awsNLBAnn(map[string]string{awsK("healthcheck-port"): "https", awsK("nlb-target-type"): "ip"}), nil, "8443", "https"},
		{"named port not allocated", map[string]string{awsK("healthcheck-port"): "http"}, []func(*v1.Service){func(s *v1.Service) { s.Spec.Ports[0].NodePort = 0 }}, "", "http"},
		{"Local default", awsNLBAnn(nil), []func(*v1.Service){awsLocal}, "31999", ""},
	} {
		c, ps := awsParse(t, tc.ann, tc.mut...)
		if ps.HasErrors() || c.HealthCheck.Port != tc.port || c.HealthCheck.PortName != tc.portName {
			t.Errorf("%s: port %q name %q, want %q %q; %v", tc.name, c.HealthCheck.Port, c.HealthCheck.PortName, tc.port, tc.portName, ps)
		}
	}
}

func TestAWSTypedNLB(t *testing.T) {
	t.Parallel()
	ann := awsNLBAnn(map[string]string{
		awsK("scheme"):                            "internal",
		awsK("name"):                              "shop-web",
		awsK("subnets"):                           "subnet-0123abcd,private-b",
		awsK("private-ipv4-addresses"):            "10.0.0.10, 10.0.1.10",
		awsK("ip-address-type"):                   "dualstack",
		awsK("ipv6-addresses"):                    "2001:db8::10,2001:db8:1::10",
		awsK("enable-prefix-for-ipv6-source-nat"): "on",
		awsK("source-nat-ipv6-prefixes"):          "auto_assigned,2001:db8:1:0:1::/80",
		awsK("target-group-attributes"):           "preserve_client_ip.enabled=TRUE,deregistration_delay.timeout_seconds=30",
		awsK("target-group-attributes.443"):       "deregistration_delay.timeout_seconds=120,proxy_protocol_v2.enabled=true",
		awsK("attributes"):                        "deletion_protection.enabled=True,load_balancing.cross_zone.enabled=true,access_logs.s3.enabled=true,access_logs.s3.bucket=logs",
		awsK("ssl-cert"):                          "arn:aws:acm:us-east-1:123456789012:certificate/abc",
		awsK("ssl-ports"):                         "https",
		awsK("ssl-negotiation-policy"):            "ELBSecurityPolicy-TLS13-1-2-2021-06",
		awsK("proxy-protocol-per-target-group"):   "80",
		awsK("security-groups"):                   "sg-0123abcd",
		awsK("healthcheck-protocol"):              "http",
		awsK("healthcheck-path"):                  "/ready",
	})
	c, ps := awsParse(t, ann)
	if len(ps) != 0 {
		t.Fatalf("unexpected problems: %v", ps)
	}
	want := map[int32]map[string]string{443: {"preserve_client_ip.enabled": "true", "deregistration_delay.timeout_seconds": "120", "proxy_protocol_v2.enabled": "true"}}
	switch {
	case c.Type != AWSTypeNLB || !c.Internal || c.Name != "shop-web":
		t.Errorf("type/scheme/name: %s %v %s", c.Type, c.Internal, c.Name)
	case !slices.Equal(c.PrivateIPv4Addresses, []netip.Addr{netip.MustParseAddr("10.0.0.10"), netip.MustParseAddr("10.0.1.10")}) || len(c.IPv6Addresses) != 2:
		t.Errorf("addresses: %v %v", c.PrivateIPv4Addresses, c.IPv6Addresses)
	case !c.EnablePrefixForIPv6SourceNAT || len(c.SourceNATIPv6Prefixes) != 2:
		t.Errorf("source NAT: %v %v", c.EnablePrefixForIPv6SourceNAT, c.SourceNATIPv6Prefixes)
	case c.TargetGroupAttributes["preserve_client_ip.enabled"] != "true" || c.TargetGroupAttributes["deregistration_delay.timeout_seconds"] != "30":
		t.Errorf("TG attributes: %v", c.TargetGroupAttributes)
	case len(c.TargetGroupAttributesPerPort) != 1 || !maps.Equal(c.TargetGroupAttributesPerPort[443], want[443]):
		t.Errorf("per-port TG attributes: %v", c.TargetGroupAttributesPerPort)
	case !maps.Equal(c.LBAttributes, map[string]string{"deletion_protection.enabled": "true"}) || !c.CrossZone ||
		c.AccessLog != (AWSAccessLog{Enabled: true, Bucket: "logs"}):
		t.Errorf("LB attributes %v, cross-zone %v, access log %+v", c.LBAttributes, c.CrossZone, c.AccessLog)
	case !c.SSL.Enabled(v1.ServicePort{Port: 443, Name: "https"}) || c.SSL.Enabled(v1.ServicePort{Port: 80, Name: "http"}) || c.SSL.NegotiationPolicy != "ELBSecurityPolicy-TLS13-1-2-2021-06":
		t.Errorf("SSL: %+v", c.SSL)
	case !slices.Equal(c.ProxyProtocolPerTargetGroup, []int32{80}) || c.ProxyProtocol:
		t.Errorf("proxy protocol: %v %v", c.ProxyProtocol, c.ProxyProtocolPerTargetGroup)
	case c.ManageBackendSecurityGroupRules || !slices.Equal(c.SecurityGroups, []string{"sg-0123abcd"}):
		t.Errorf("BYO security groups must default manage-backend-security-group-rules to false: %+v", c)
	case c.HealthCheck.Protocol != "HTTP" || c.HealthCheck.Path != "/ready" || c.HealthCheck.SuccessCodes != "200-399":
		t.Errorf("health check: %+v", c.HealthCheck)
	}
}

// TestAWSRegistryCoverage pins the key set: every reference key is declared, with a reason
// when unsupported.
func TestAWSRegistryCoverage(t *testing.T) {
	t.Parallel()
	supported := []string{
		"type", "internal", "ssl-cert", "ssl-ports", "ssl-negotiation-policy", "backend-protocol", "proxy-protocol",
		"access-log-emit-interval", "access-log-enabled", "access-log-s3-bucket-name", "access-log-s3-bucket-prefix",
		"connection-draining-enabled", "connection-draining-timeout", "connection-idle-timeout",
		"cross-zone-load-balancing-enabled", "additional-resource-tags", "healthcheck-healthy-threshold",
		"healthcheck-unhealthy-threshold", "healthcheck-interval", "healthcheck-timeout", "healthcheck-port",
		"healthcheck-protocol", "healthcheck-path", "target-group-attributes", "eip-allocations",
		"private-ipv4-addresses", "target-node-labels", "subnets", "security-groups", "extra-security-groups",
		"nlb-target-type", "name", "scheme", "ip-address-type", "healthcheck-success-codes", "attributes",
		"alpn-policy", "manage-backend-security-group-rules", "security-group-prefix-lists",
		"enable-icmp-for-path-mtu-discovery", "proxy-protocol-per-target-group", "disable-nlb-sg",
		"enable-tcp-udp-listener", "ipv6-addresses", "enable-prefix-for-ipv6-source-nat", "source-nat-ipv6-prefixes",
		"inbound-sg-rules-on-private-link-traffic", "target-group-attributes.{port}",
	}
	unsupported := []string{"quic-enabled-ports", "multi-cluster-target-group", "minimum-load-balancer-capacity", "listener-attributes.{port}"}
	got := map[string]*Descriptor{}
	for _, d := range ForCloud(AWS) {
		got[strings.TrimPrefix(d.Key, awsPrefix)] = d
	}
	for _, k := range supported {
		if d, ok := got[k]; !ok || d.Unsupported != "" {
			t.Errorf("%s: missing or unsupported", k)
		}
	}
	for _, k := range unsupported {
		if d, ok := got[k]; !ok || d.Unsupported == "" {
			t.Errorf("%s: missing or without an Unsupported reason", k)
		}
	}
	if n := len(supported) + len(unsupported); len(got) != n {
		t.Errorf("%d AWS keys, want %d", len(got), n)
	}
	if _, ok := got["load-balancer-source-ranges"]; ok {
		t.Error("the core source-range key must not be redeclared")
	}
	// An unsupported per-listener key is recognised, not reported as unknown or as a bad port.
	_, ps := awsParse(t, awsNLBAnn(map[string]string{awsK("listener-attributes.TCP-443"): "tcp.idle_timeout.seconds=600"}))
	if ps.HasErrors() || !awsHas(ps, Warning, awsK("listener-attributes.TCP-443"), "not supported by cloudlb") {
		t.Errorf("listener attributes: %v", ps)
	}
}

// TestAWSDefaultTimeoutFollowsInterval: setting only the interval never makes the default
// timeout invalid; the timeout follows it down.
func TestAWSDefaultTimeoutFollowsInterval(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		ann         map[string]string
		wantTimeout int64
	}{
		{"CLB interval at default timeout", map[string]string{awsK("healthcheck-interval"): "5"}, 4},
		{"NLB interval at default timeout", awsNLBAnn(map[string]string{awsK("healthcheck-interval"): "10"}), 9},
		{"CLB interval above default timeout keeps it", map[string]string{awsK("healthcheck-interval"): "30"}, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, ps := Parse(coreSvc(tc.ann), AWS)
			if len(ps) != 0 {
				t.Fatalf("problems: %v", ps)
			}
			if got := cfg.AWS.HealthCheck.Timeout; got != tc.wantTimeout {
				t.Errorf("timeout = %d, want %d", got, tc.wantTimeout)
			}
		})
	}
}

package annotations

import (
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// awsPrefix is the common prefix of every AWS key.
const awsPrefix = "service.beta.kubernetes.io/aws-load-balancer-"

// Load balancer kinds as written in aws-load-balancer-type.
const (
	awsTypeNLB      = "nlb"
	awsTypeNLBIP    = "nlb-ip"
	awsTypeExternal = "external"
)

// awsWhenCluster matches externalTrafficPolicy Cluster (the opposite of WhenLocal).
var awsWhenCluster = Cond{"Cluster", func(c Context) bool { return !c.Local }}

// Keys that cloud-provider-aws parses (reference table A.1), except the core source-range key.
var (
	AWSLoadBalancerType = &Descriptor{
		Key: awsPrefix + "type", Cloud: AWS, Type: Enum,
		Allowed:   []string{awsTypeNLB, awsTypeExternal, awsTypeNLBIP},
		Doc:       "Selects the load balancer kind: absent means a Classic Load Balancer, nlb a Network Load Balancer, external or nlb-ip hands the Service to aws-load-balancer-controller. Changing between Classic and NLB migrates: the new load balancer is created, the status moves to it, then the old one is deleted.",
		AppliesTo: "CLB, NLB", Change: Replace,
	}
	AWSInternal = &Descriptor{
		Key: awsPrefix + "internal", Cloud: AWS, Type: Bool,
		Defaults:    []Default{{Always, "false"}},
		OtherValues: "true",
		Doc:         "Creates an internal load balancer (private subnets only) instead of an internet-facing one; aws-load-balancer-scheme wins when both are set. As upstream, any value but false (0.0.0.0/0, yes, ...) means true, with a warning.",
		AppliesTo:   "CLB, NLB", Change: Replace,
	}
	AWSSSLCert = &Descriptor{
		Key: awsPrefix + "ssl-cert", Cloud: AWS, Type: List, Format: awsFormatCertARN,
		Validate:  awsValidateUnique,
		Doc:       "ACM or IAM server certificate ARNs for the TLS listeners; a CLB takes exactly one, on an NLB the first is the default certificate.",
		AppliesTo: "CLB, NLB", Change: InPlace,
	}
	AWSSSLPorts = &Descriptor{
		Key: awsPrefix + "ssl-ports", Cloud: AWS, Type: PortList,
		Defaults:  []Default{{Always, "*"}},
		Doc:       "Service port numbers or names whose listeners use the certificate (SSL/HTTPS on a CLB, TLS on an NLB); UDP ports never do.",
		AppliesTo: "CLB, NLB", Change: InPlace,
	}
	AWSSSLNegotiationPolicy = &Descriptor{
		Key: awsPrefix + "ssl-negotiation-policy", Cloud: AWS, Type: String, Format: awsFormatPolicyName,
		Doc:       "Predefined ELB security policy for the TLS listeners, e.g. ELBSecurityPolicy-TLS13-1-2-2021-06; AWS picks its default when unset.",
		AppliesTo: "CLB, NLB", Change: InPlace,
	}
	AWSBackendProtocol = &Descriptor{
		Key: awsPrefix + "backend-protocol", Cloud: AWS, Type: Enum,
		Allowed:   []string{"http", "https", "ssl", "tcp"},
		Defaults:  []Default{{Always, "tcp"}},
		Doc:       "Protocol spoken by the pods: http or https make a CLB a layer-7 proxy, ssl or tcp keep layer 4; on an NLB only ssl has an effect (TLS target groups).",
		AppliesTo: "CLB, NLB", Change: Replace,
	}
	AWSProxyProtocol = &Descriptor{
		Key: awsPrefix + "proxy-protocol", Cloud: AWS, Type: Enum,
		Allowed:   []string{"*"},
		Doc:       "Enables the PROXY protocol on every backend port: version 1 on a CLB, version 2 on every NLB target group.",
		AppliesTo: "CLB, NLB", Change: InPlace,
	}
	AWSAccessLogEnabled = &Descriptor{
		Key: awsPrefix + "access-log-enabled", Cloud: AWS, Type: Bool,
		Defaults:  []Default{{Always, "false"}},
		Doc:       "Writes access logs to the S3 bucket named by aws-load-balancer-access-log-s3-bucket-name (an NLB logs TLS listeners only).",
		AppliesTo: "CLB, NLB", Change: InPlace,
	}
	AWSAccessLogEmitInterval = &Descriptor{
		Key: awsPrefix + "access-log-emit-interval", Cloud: AWS, Type: Int,
		Allowed:   []string{"5", "60"},
		Defaults:  []Default{{Always, "60"}},
		Doc:       "Minutes between access-log publications (an NLB always publishes every 5 minutes).",
		AppliesTo: "CLB", Change: InPlace,
	}
	AWSAccessLogBucket = &Descriptor{
		Key: awsPrefix + "access-log-s3-bucket-name", Cloud: AWS, Type: String, Format: awsFormatS3Bucket,
		Doc:       "S3 bucket for access logs, in the load balancer's region, with a policy that lets Elastic Load Balancing write to it.",
		AppliesTo: "CLB, NLB", Change: InPlace,
	}
	AWSAccessLogPrefix = &Descriptor{
		Key: awsPrefix + "access-log-s3-bucket-prefix", Cloud: AWS, Type: String, Format: awsFormatS3Prefix,
		Doc:       "Key prefix for access logs in the bucket, e.g. my-app/prod; logs go to the bucket root when unset.",
		AppliesTo: "CLB, NLB", Change: InPlace,
	}
	AWSConnectionDrainingEnabled = &Descriptor{
		Key: awsPrefix + "connection-draining-enabled", Cloud: AWS, Type: Bool,
		Defaults:  []Default{{Always, "false"}},
		Doc:       "Keeps in-flight connections open to deregistering instances for the draining timeout (on an NLB use the deregistration_delay target-group attributes).",
		AppliesTo: "CLB", Change: InPlace,
	}
	AWSConnectionDrainingTimeout = &Descriptor{
		Key: awsPrefix + "connection-draining-timeout", Cloud: AWS, Type: Int,
		Range:     &Range{1, 3600},
		Defaults:  []Default{{Always, "300"}},
		Doc:       "Seconds connections may drain when connection draining is enabled.",
		AppliesTo: "CLB", Change: InPlace,
	}
	AWSIdleTimeout = &Descriptor{
		Key: awsPrefix + "connection-idle-timeout", Cloud: AWS, Type: Int,
		Range:     &Range{1, 4000},
		Defaults:  []Default{{Always, "60"}},
		Doc:       "Seconds a connection may stay idle before the load balancer closes it.",
		AppliesTo: "CLB", Change: InPlace,
	}
	AWSCrossZone = &Descriptor{
		Key: awsPrefix + "cross-zone-load-balancing-enabled", Cloud: AWS, Type: Bool,
		Defaults:  []Default{{Always, "false"}},
		Doc:       "Spreads traffic evenly over the targets of every enabled zone instead of per zone (NLB: the load_balancing.cross_zone.enabled attribute).",
		AppliesTo: "CLB, NLB", Change: InPlace,
	}
	AWSAdditionalTags = &Descriptor{
		Key: awsPrefix + "additional-resource-tags", Cloud: AWS, Type: Map, Format: awsFormatTagValue,
		Validate:  awsValidateTags,
		Doc:       "Extra tags k1=v1,k2=v2 (a bare key gets an empty value) for the load balancer, its target groups, listeners and security groups; removed tags are removed.",
		AppliesTo: "CLB, NLB", Change: InPlace,
	}
	AWSHealthCheckHealthyThreshold = &Descriptor{
		Key: awsPrefix + "healthcheck-healthy-threshold", Cloud: AWS, Type: Int,
		Range:     &Range{2, 10},
		Defaults:  []Default{{WhenNLBLoc, "2"}, {WhenNLB, "3"}, {WhenCLB, "2"}},
		Doc:       "Consecutive successful health checks before a backend receives traffic.",
		AppliesTo: "CLB, NLB", Change: InPlace,
	}
	AWSHealthCheckUnhealthyThreshold = &Descriptor{
		Key: awsPrefix + "healthcheck-unhealthy-threshold", Cloud: AWS, Type: Int,
		Range:     &Range{2, 10},
		Defaults:  []Default{{WhenNLBLoc, "2"}, {WhenNLB, "3"}, {WhenCLB, "6"}},
		Doc:       "Consecutive failed health checks before a backend stops receiving traffic.",
		AppliesTo: "CLB, NLB", Change: InPlace,
	}
	AWSHealthCheckInterval = &Descriptor{
		Key: awsPrefix + "healthcheck-interval", Cloud: AWS, Type: Int,
		Range:     &Range{5, 300},
		Defaults:  []Default{{WhenNLBLoc, "10"}, {WhenNLB, "30"}, {WhenCLB, "10"}},
		Doc:       "Seconds between health checks of one backend; must be greater than the health-check timeout.",
		AppliesTo: "CLB, NLB", Change: InPlace,
	}
	AWSHealthCheckTimeout = &Descriptor{
		Key: awsPrefix + "healthcheck-timeout", Cloud: AWS, Type: Int,
		Range:     &Range{2, 60},
		Defaults:  []Default{{WhenNLBLoc, "6"}, {WhenNLB, "10"}, {WhenCLB, "5"}},
		Doc:       "Seconds without a response before a health check fails; must be less than the health-check interval (when only the interval is set, a default timeout at or above it becomes interval-1).",
		AppliesTo: "CLB, NLB", Change: InPlace,
	}
	AWSHealthCheckPort = &Descriptor{
		Key: awsPrefix + "healthcheck-port", Cloud: AWS, Type: String, Format: awsFormatHealthCheckPort,
		Defaults:  []Default{{awsWhenCluster, "traffic-port"}},
		Doc:       "Port the health check connects to: traffic-port (the backend's own port), a port number, or a Service port name; Local policy defaults to spec.healthCheckNodePort.",
		AppliesTo: "CLB, NLB", Change: InPlace,
	}
	AWSHealthCheckProtocol = &Descriptor{
		Key: awsPrefix + "healthcheck-protocol", Cloud: AWS, Type: Enum,
		Allowed:   []string{"TCP", "SSL", "HTTP", "HTTPS"},
		Defaults:  []Default{{WhenLocal, "HTTP"}, {Always, "TCP"}},
		Doc:       "Health-check protocol: TCP, HTTP or HTTPS, and SSL on a CLB only; a CLB with an https or ssl backend defaults to SSL under Cluster policy.",
		AppliesTo: "CLB, NLB", Change: Replace,
	}
	AWSHealthCheckPath = &Descriptor{
		Key: awsPrefix + "healthcheck-path", Cloud: AWS, Type: String, Format: FormatPath,
		Defaults:  []Default{{WhenLocal, "/healthz"}, {Always, "/"}},
		Doc:       "Request path of HTTP and HTTPS health checks.",
		AppliesTo: "CLB, NLB", Change: InPlace,
	}
	AWSTargetGroupAttributes = &Descriptor{
		Key: awsPrefix + "target-group-attributes", Cloud: AWS, Type: Map,
		MapKeys: awsTGAttributeKeys, Validate: awsValidateTGAttributes,
		Doc:       "NLB target-group attributes k1=v1,k2=v2 applied to every target group, e.g. preserve_client_ip.enabled=false or stickiness.enabled=true,stickiness.type=source_ip.",
		AppliesTo: "NLB", Change: InPlace,
	}
	AWSEIPAllocations = &Descriptor{
		Key: awsPrefix + "eip-allocations", Cloud: AWS, Type: List, Format: idFormat("eipalloc-"),
		Validate:  awsValidateUnique,
		Doc:       "Elastic IP allocation IDs, one per subnet in subnet order, giving an internet-facing NLB fixed public addresses.",
		AppliesTo: "NLB, internet-facing", Change: Rejected,
	}
	AWSPrivateIPv4Addresses = &Descriptor{
		Key: awsPrefix + "private-ipv4-addresses", Cloud: AWS, Type: List, Format: FormatIPv4,
		Validate:  awsValidateUnique,
		Doc:       "Private IPv4 addresses, one per subnet in subnet order, giving an internal NLB fixed addresses.",
		AppliesTo: "NLB, internal", Change: Rejected,
	}
	AWSTargetNodeLabels = &Descriptor{
		Key: awsPrefix + "target-node-labels", Cloud: AWS, Type: Map,
		Validate:  awsValidateNodeLabels,
		Doc:       "Registers only nodes carrying every listed label k=v (a bare key or k= matches any value).",
		AppliesTo: "CLB, NLB", Change: InPlace,
	}
	AWSSubnets = &Descriptor{
		Key: awsPrefix + "subnets", Cloud: AWS, Type: List, Format: awsFormatSubnet,
		Validate:  awsValidateUnique,
		Doc:       "Subnets for the load balancer, as subnet IDs or Name tag values, at most one per Availability Zone; discovered from subnet tags when unset.",
		AppliesTo: "CLB, NLB", Change: InPlace,
	}
	AWSSecurityGroups = &Descriptor{
		Key: awsPrefix + "security-groups", Cloud: AWS, Type: List, Format: idFormat("sg-"),
		Validate:  awsValidateUnique,
		Doc:       "Security groups to attach instead of the managed one; cloudlb manages no rules in them. Changed in place, except that an NLB going from no groups to some, or back, is replaced (AWS cannot add or remove all of an NLB's groups).",
		AppliesTo: "CLB, NLB", Change: InPlace,
	}
	AWSExtraSecurityGroups = &Descriptor{
		Key: awsPrefix + "extra-security-groups", Cloud: AWS, Type: List, Format: idFormat("sg-"),
		Validate:  awsValidateUnique,
		Doc:       "Security groups attached in addition to the managed (or listed) ones.",
		AppliesTo: "CLB", Change: InPlace,
	}
)

// awsKeys returns every AWS descriptor.
func awsKeys() []*Descriptor {
	return append([]*Descriptor{
		AWSLoadBalancerType, AWSInternal, AWSSSLCert, AWSSSLPorts, AWSSSLNegotiationPolicy,
		AWSBackendProtocol, AWSProxyProtocol, AWSAccessLogEnabled, AWSAccessLogEmitInterval,
		AWSAccessLogBucket, AWSAccessLogPrefix, AWSConnectionDrainingEnabled, AWSConnectionDrainingTimeout,
		AWSIdleTimeout, AWSCrossZone, AWSAdditionalTags, AWSHealthCheckHealthyThreshold,
		AWSHealthCheckUnhealthyThreshold, AWSHealthCheckInterval, AWSHealthCheckTimeout, AWSHealthCheckPort,
		AWSHealthCheckProtocol, AWSHealthCheckPath, AWSTargetGroupAttributes, AWSEIPAllocations,
		AWSPrivateIPv4Addresses, AWSTargetNodeLabels, AWSSubnets, AWSSecurityGroups, AWSExtraSecurityGroups,
	}, awsNLBKeys()...)
}

// Formats of AWS values.
var (
	awsCertARNRE = regexp.MustCompile(`^arn:aws(-[a-z]+)*:(acm:[a-z]{2}(-[a-z]+)+-[0-9]+:[0-9]{12}:certificate/[A-Za-z0-9-]+|iam::[0-9]{12}:server-certificate/[A-Za-z0-9+=,.@_/-]+)$`)
	// awsFormatCertARN is an ACM certificate or IAM server-certificate ARN in any partition.
	awsFormatCertARN = &Format{Name: "an ACM (arn:aws:acm:REGION:ACCOUNT:certificate/ID) or IAM (arn:aws:iam::ACCOUNT:server-certificate/NAME) certificate ARN", Check: func(s string) error {
		if !awsCertARNRE.MatchString(s) {
			return errReason(fmt.Sprintf("%q is not an ACM or IAM certificate ARN", s))
		}
		return nil
	}}
	awsFormatPolicyName = regexpFormat("an ELB security policy name (letters, digits, '-', '_' and '.')", `^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$`)
	// awsFormatS3Bucket follows the S3 general-purpose bucket naming rules.
	awsFormatS3Bucket = &Format{Name: "an S3 bucket name (3-63 lower-case letters, digits, '.' and '-')", Check: awsCheckS3Bucket}
	awsFormatS3Prefix = &Format{Name: "an S3 key prefix without \"AWSLogs\" or whitespace", Check: func(s string) error {
		switch {
		case len(s) > 1024:
			return errReason("longer than 1024 characters")
		case strings.Contains(s, "AWSLogs"):
			return errReason("must not contain \"AWSLogs\" (Elastic Load Balancing appends it)")
		case strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }):
			return errReason("must not contain whitespace or control characters")
		}
		return nil
	}}
	awsFormatHealthCheckPort = &Format{Name: "traffic-port, a port number 1-65535, or a Service port name", Check: func(s string) error {
		if strings.EqualFold(s, "traffic-port") {
			return nil
		}
		if n, err := strconv.Atoi(s); err == nil {
			if n < 1 || n > 65535 {
				return errReason(fmt.Sprintf("port %d out of range 1-65535", n))
			}
			return nil
		}
		if dnsLabel(s) != nil {
			return errReason(fmt.Sprintf("%q is neither traffic-port, a port number nor a port name", s))
		}
		return nil
	}}
	awsFormatSubnet = &Format{Name: "a subnet ID (subnet-<hex>) or a subnet Name tag value", Check: func(s string) error {
		if strings.HasPrefix(s, "subnet-") {
			return idFormat("subnet-").Check(s)
		}
		if len(s) > 256 || !awsTagRE.MatchString(s) {
			return errReason(fmt.Sprintf("%q is not a valid Name tag value", s))
		}
		return nil
	}}
	awsS3BucketRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*[a-z0-9]$`)
	awsTagRE          = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
	awsFormatTagValue = &Format{Name: "a tag value (at most 256 letters, digits, spaces and _.:/=+-@)", Check: func(s string) error {
		return awsCheckTagText("value", s, 256)
	}}
)

func awsCheckS3Bucket(s string) error {
	bad := func(why string) error { return errReason(fmt.Sprintf("%q is not a valid S3 bucket name: %s", s, why)) }
	switch {
	case len(s) < 3 || len(s) > 63:
		return bad("must be 3-63 characters")
	case !awsS3BucketRE.MatchString(s):
		return bad("only lower-case letters, digits, '.' and '-', starting and ending with a letter or digit")
	case strings.Contains(s, ".."):
		return bad("two adjacent periods")
	case awsIsIPv4(s):
		return bad("formatted as an IP address")
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(s, p) {
			return bad("reserved prefix " + p)
		}
	}
	for _, sfx := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(s, sfx) {
			return bad("reserved suffix " + sfx)
		}
	}
	return nil
}

func awsIsIPv4(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is4()
}

// awsCheckTagText checks a tag key or value against the ELB Tag API pattern and length.
func awsCheckTagText(what, s string, maxLen int) error {
	if n := len([]rune(s)); n > maxLen {
		return errReason(fmt.Sprintf("tag %s %q is %d characters, at most %d allowed", what, s, n, maxLen))
	}
	if !awsTagRE.MatchString(s) {
		return errReason(fmt.Sprintf("tag %s %q may contain only letters, digits, spaces and _.:/=+-@", what, s))
	}
	if strings.HasPrefix(strings.ToLower(s), "aws:") {
		return errReason(fmt.Sprintf("tag %s %q: the aws: prefix is reserved for AWS", what, s))
	}
	return nil
}

// awsMaxUserTags is the AWS limit of 50 tags per resource minus the two tags cloudlb always
// writes (kubernetes.io/service-name and kubernetes.io/cluster/<id>).
const awsMaxUserTags = 48

// awsValidateTags checks tag keys and the tag count; values are checked by the Map Format.
func awsValidateTags(v any) error {
	tags, _ := v.(map[string]string)
	if len(tags) > awsMaxUserTags {
		return errReason(fmt.Sprintf("%d tags, at most %d allowed (AWS allows 50 per resource and cloudlb writes 2)", len(tags), awsMaxUserTags))
	}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		if err := awsCheckTagText("key", k, 128); err != nil {
			return err
		}
		if k == "kubernetes.io/service-name" || strings.HasPrefix(k, "kubernetes.io/cluster/") {
			return errReason(fmt.Sprintf("tag key %q is reserved: cloudlb writes it to track ownership", k))
		}
	}
	return nil
}

// awsValidateNodeLabels checks label keys and values with the Kubernetes label rules.
func awsValidateNodeLabels(v any) error {
	labels, _ := v.(map[string]string)
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return errReason(fmt.Sprintf("label key %q: %s", k, errs[0]))
		}
		if errs := validation.IsValidLabelValue(labels[k]); len(errs) > 0 {
			return errReason(fmt.Sprintf("label %q value %q: %s", k, labels[k], errs[0]))
		}
	}
	return nil
}

// awsValidateUnique rejects a list that names the same item twice.
func awsValidateUnique(v any) error {
	items, _ := v.([]string)
	seen := map[string]bool{}
	for _, it := range items {
		if seen[it] {
			return errReason(fmt.Sprintf("%q is listed twice", it))
		}
		seen[it] = true
	}
	return nil
}

package fakeaws

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// v2LB is one Network Load Balancer and its attributes.
type v2LB struct {
	lb    elbv2types.LoadBalancer
	attrs attrList
}

// v2TG is one target group with its attributes and registered targets.
type v2TG struct {
	tg      elbv2types.TargetGroup
	attrs   attrList
	targets []elbv2types.TargetDescription
	// inUseCalls is how many more DeleteTargetGroup calls answer ResourceInUse since the
	// group's last listener went away (Options.TargetGroupInUseCalls).
	inUseCalls int
}

type elbv2State struct {
	lbs       *table[v2LB]                // by ARN
	tgs       *table[v2TG]                // by ARN
	listeners *table[elbv2types.Listener] // by ARN
	tags      map[string][]elbv2types.Tag // by resource ARN
}

func newELBv2State() *elbv2State {
	return &elbv2State{
		lbs:       newTable[v2LB](),
		tgs:       newTable[v2TG](),
		listeners: newTable[elbv2types.Listener](),
		tags:      map[string][]elbv2types.Tag{},
	}
}

// elbv2Handlers lists every ELBv2 operation the fake serves.
var elbv2Handlers = map[string]handler{
	"CreateLoadBalancer":             queryOp((*Server).v2CreateLoadBalancer),
	"DescribeLoadBalancers":          queryOp((*Server).v2DescribeLoadBalancers),
	"DeleteLoadBalancer":             queryOp((*Server).v2DeleteLoadBalancer),
	"DescribeLoadBalancerAttributes": queryOp((*Server).v2DescribeLBAttributes),
	"ModifyLoadBalancerAttributes":   queryOp((*Server).v2ModifyLBAttributes),
	"SetSecurityGroups":              queryOp((*Server).v2SetSecurityGroups),
	"SetSubnets":                     queryOp((*Server).v2SetSubnets),
	"SetIpAddressType":               queryOp((*Server).v2SetIPAddressType),
	"CreateTargetGroup":              queryOp((*Server).v2CreateTargetGroup),
	"DescribeTargetGroups":           queryOp((*Server).v2DescribeTargetGroups),
	"ModifyTargetGroup":              queryOp((*Server).v2ModifyTargetGroup),
	"DeleteTargetGroup":              queryOp((*Server).v2DeleteTargetGroup),
	"DescribeTargetGroupAttributes":  queryOp((*Server).v2DescribeTGAttributes),
	"ModifyTargetGroupAttributes":    queryOp((*Server).v2ModifyTGAttributes),
	"RegisterTargets":                queryOp((*Server).v2RegisterTargets),
	"DeregisterTargets":              queryOp((*Server).v2DeregisterTargets),
	"DescribeTargetHealth":           queryOp((*Server).v2DescribeTargetHealth),
	"CreateListener":                 queryOp((*Server).v2CreateListener),
	"DescribeListeners":              queryOp((*Server).v2DescribeListeners),
	"ModifyListener":                 queryOp((*Server).v2ModifyListener),
	"DeleteListener":                 queryOp((*Server).v2DeleteListener),
	"AddTags":                        queryOp((*Server).v2AddTags),
	"RemoveTags":                     queryOp((*Server).v2RemoveTags),
	"DescribeTags":                   queryOp((*Server).v2DescribeTags),
}

var v2NameRE = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]{0,30}[a-zA-Z0-9])?$`)

func (s *Server) arn(resource string) string {
	return fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:%s", s.opts.Region, s.opts.AccountID, resource)
}

func errV2LBNotFound(what string) *apiError {
	return bad("LoadBalancerNotFound", "Load balancers '[%s]' not found", what)
}

func errTGNotFound(what string) *apiError {
	return bad("TargetGroupNotFound", "Target groups '[%s]' not found", what)
}

func (s *Server) v2lb(arn *string) (*v2LB, error) {
	if err := checkARN(deref(arn), "loadBalancerArn", lbARNRE); err != nil {
		return nil, err
	}
	lb, ok := s.elbv2.lbs.get(*arn)
	if !ok {
		return nil, errV2LBNotFound(*arn)
	}
	return lb, nil
}

func (s *Server) v2tg(arn *string) (*v2TG, error) {
	if err := checkARN(deref(arn), "targetGroupArn", tgARNRE); err != nil {
		return nil, err
	}
	tg, ok := s.elbv2.tgs.get(*arn)
	if !ok {
		return nil, errTGNotFound(*arn)
	}
	return tg, nil
}

// zones turns subnets or subnet mappings into the LB's AvailabilityZones.
func (s *Server) zones(subnets []string, mappings []elbv2types.SubnetMapping) (string, []elbv2types.AvailabilityZone, error) {
	if len(mappings) == 0 {
		for _, id := range subnets {
			mappings = append(mappings, elbv2types.SubnetMapping{SubnetId: ptr(id)})
		}
	}
	if len(mappings) == 0 {
		return "", nil, errValidation("At least one subnet must be specified")
	}
	var ids []string
	for _, m := range mappings {
		ids = append(ids, deref(m.SubnetId))
	}
	vpc, _, err := s.checkSubnets(ids, "SubnetNotFound")
	if err != nil {
		return "", nil, err
	}
	var out []elbv2types.AvailabilityZone
	for _, m := range mappings {
		sn, _ := s.ec2.subnets.get(*m.SubnetId)
		az := elbv2types.AvailabilityZone{SubnetId: m.SubnetId, ZoneName: sn.AvailabilityZone, LoadBalancerAddresses: []elbv2types.LoadBalancerAddress{}}
		if m.AllocationId != nil || m.PrivateIPv4Address != nil || m.IPv6Address != nil {
			addr := elbv2types.LoadBalancerAddress{AllocationId: m.AllocationId, PrivateIPv4Address: m.PrivateIPv4Address, IPv6Address: m.IPv6Address}
			if m.AllocationId != nil {
				// The fake has no Elastic IP pool; it derives a stable public address.
				addr.IpAddress = ptr(fmt.Sprintf("198.51.100.%d", 1+len(*m.AllocationId)*7%250))
			}
			az.LoadBalancerAddresses = append(az.LoadBalancerAddresses, addr)
		}
		if p := deref(m.SourceNatIpv6Prefix); p != "" {
			az.SourceNatIpv6Prefixes = []string{s.natPrefix(*m.SubnetId, p)}
		}
		out = append(out, az)
	}
	return vpc, out, nil
}

func subnetIDs(azs []elbv2types.AvailabilityZone) []string {
	var out []string
	for _, az := range azs {
		out = append(out, deref(az.SubnetId))
	}
	return out
}

func (s *Server) v2CreateLoadBalancer(in *elbv2.CreateLoadBalancerInput) (*elbv2.CreateLoadBalancerOutput, error) {
	if err := checkCreateLB(in); err != nil {
		return nil, err
	}
	name := deref(in.Name)
	if !v2NameRE.MatchString(name) || strings.HasPrefix(name, "internal-") {
		return nil, errValidation("The load balancer name '%s' must be at most 32 alphanumeric characters or hyphens, not starting or ending with a hyphen", name)
	}
	typ := in.Type
	if typ == "" {
		typ = elbv2types.LoadBalancerTypeEnumApplication
	}
	scheme := in.Scheme
	if scheme == "" {
		scheme = elbv2types.LoadBalancerSchemeEnumInternetFacing
	}
	if scheme != elbv2types.LoadBalancerSchemeEnumInternetFacing && scheme != elbv2types.LoadBalancerSchemeEnumInternal {
		return nil, errValidation("Invalid scheme %q", scheme)
	}
	ipType := in.IpAddressType
	if ipType == "" {
		ipType = elbv2types.IpAddressTypeIpv4
	}
	if err := checkIPv6Mappings(typ, ipType, in.EnablePrefixForIpv6SourceNat, in.SubnetMappings); err != nil {
		return nil, err
	}
	vpc, azs, err := s.zones(in.Subnets, in.SubnetMappings)
	if err != nil {
		return nil, err
	}
	if err := s.checkGroups(in.SecurityGroups, vpc, "InvalidSecurityGroup"); err != nil {
		return nil, err
	}
	for _, existing := range s.elbv2.lbs.list() {
		if *existing.lb.LoadBalancerName != name {
			continue
		}
		// Same name and same settings is idempotent in AWS; different settings is an error.
		if existing.lb.Type == typ && existing.lb.Scheme == scheme && fmt.Sprint(subnetIDs(existing.lb.AvailabilityZones)) == fmt.Sprint(subnetIDs(azs)) {
			return &elbv2.CreateLoadBalancerOutput{LoadBalancers: []elbv2types.LoadBalancer{existing.lb}}, nil
		}
		return nil, bad("DuplicateLoadBalancerName", "A load balancer with the same name '%s' exists, but with different settings", name)
	}
	short := map[elbv2types.LoadBalancerTypeEnum]string{"network": "net", "application": "app", "gateway": "gwy"}[typ]
	id := s.hex16()
	arn := s.arn(fmt.Sprintf("loadbalancer/%s/%s/%s", short, name, id))
	dns := s.lbDNSName(false, name, id, scheme == elbv2types.LoadBalancerSchemeEnumInternal)
	lb := &v2LB{lb: elbv2types.LoadBalancer{
		LoadBalancerArn:       ptr(arn),
		LoadBalancerName:      ptr(name),
		DNSName:               ptr(dns),
		CanonicalHostedZoneId: ptr("Z26RNL4JYFTOTI"),
		CreatedTime:           ptr(time.Now().UTC().Truncate(time.Millisecond)),
		Scheme:                scheme,
		Type:                  typ,
		VpcId:                 ptr(vpc),
		State:                 &elbv2types.LoadBalancerState{Code: elbv2types.LoadBalancerStateEnumActive},
		AvailabilityZones:     azs,
		IpAddressType:         elbv2types.IpAddressTypeIpv4,
		SecurityGroups:        append([]string{}, in.SecurityGroups...),
	}}
	lb.lb.IpAddressType = ipType
	if typ == elbv2types.LoadBalancerTypeEnumNetwork {
		lb.lb.EnablePrefixForIpv6SourceNat = in.EnablePrefixForIpv6SourceNat
		if lb.lb.EnablePrefixForIpv6SourceNat == "" {
			lb.lb.EnablePrefixForIpv6SourceNat = elbv2types.EnablePrefixForIpv6SourceNatEnumOff
		}
		if len(in.SecurityGroups) > 0 {
			// AWS evaluates the inbound rules on PrivateLink traffic unless told otherwise.
			lb.lb.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic = ptr("on")
		}
	}
	for _, kv := range [][2]string{
		{"access_logs.s3.enabled", "false"}, {"access_logs.s3.bucket", ""}, {"access_logs.s3.prefix", ""},
		{"deletion_protection.enabled", "false"}, {"load_balancing.cross_zone.enabled", "false"},
		{"ipv6.deny_all_igw_traffic", "false"}, {"dns_record.client_routing_policy", "any_availability_zone"},
	} {
		lb.attrs = append(lb.attrs, kv)
	}
	if typ == elbv2types.LoadBalancerTypeEnumNetwork {
		lb.attrs = append(lb.attrs, [2]string{"zonal_shift.config.enabled", "false"}, [2]string{"secondary_ips.auto_assigned.per_subnet", "0"})
	}
	if scheme == elbv2types.LoadBalancerSchemeEnumInternal {
		// AWS denies internet-gateway IPv6 traffic to internal load balancers by default.
		for i := range lb.attrs {
			if lb.attrs[i][0] == "ipv6.deny_all_igw_traffic" {
				lb.attrs[i][1] = "true"
			}
		}
	}
	s.elbv2.lbs.put(arn, lb)
	s.elbv2.tags[arn] = append([]elbv2types.Tag{}, in.Tags...)
	return &elbv2.CreateLoadBalancerOutput{LoadBalancers: []elbv2types.LoadBalancer{lb.lb}}, nil
}

func (s *Server) v2DescribeLoadBalancers(in *elbv2.DescribeLoadBalancersInput) (*elbv2.DescribeLoadBalancersOutput, error) {
	if len(in.Names) > 0 && len(in.LoadBalancerArns) > 0 {
		return nil, errValidation("Load balancer names and load balancer ARNs cannot be specified at the same time")
	}
	var all []elbv2types.LoadBalancer
	switch {
	case len(in.LoadBalancerArns) > 20:
		return nil, errValidation("1 validation error detected: Value at 'loadBalancerArns' failed to satisfy constraint: Member must have length less than or equal to 20")
	case len(in.LoadBalancerArns) > 0:
		for _, arn := range in.LoadBalancerArns {
			if err := checkARN(arn, "loadBalancerArns.member", lbARNRE); err != nil {
				return nil, err
			}
			lb, ok := s.elbv2.lbs.get(arn)
			if !ok {
				return nil, errV2LBNotFound(arn)
			}
			all = append(all, lb.lb)
		}
	case len(in.Names) > 0:
		for _, n := range in.Names {
			found := false
			for _, lb := range s.elbv2.lbs.list() {
				if *lb.lb.LoadBalancerName == n {
					all, found = append(all, lb.lb), true
				}
			}
			if !found {
				return nil, errV2LBNotFound(n)
			}
		}
	default:
		for _, lb := range s.elbv2.lbs.list() {
			all = append(all, lb.lb)
		}
	}
	start, end, next, err := v2page(len(all), in.Marker, in.PageSize)
	if err != nil {
		return nil, err
	}
	return &elbv2.DescribeLoadBalancersOutput{LoadBalancers: append([]elbv2types.LoadBalancer{}, all[start:end]...), NextMarker: next}, nil
}

// v2page cuts n items by Marker and PageSize (1-400).
func v2page(n int, m *string, pageSize *int32) (start, end int, next *string, err error) {
	size := int(deref(pageSize))
	if pageSize == nil {
		size = 400
	}
	if size < 1 || size > 400 {
		return 0, 0, nil, errValidation("PageSize must be between 1 and 400")
	}
	start, err = markerOffset(m, n)
	if err != nil {
		return 0, 0, nil, err
	}
	end = min(start+size, n)
	if end < n {
		next = ptr(marker(end))
	}
	return start, end, next, nil
}

func (s *Server) v2DeleteLoadBalancer(in *elbv2.DeleteLoadBalancerInput) (*elbv2.DeleteLoadBalancerOutput, error) {
	if err := checkARN(deref(in.LoadBalancerArn), "loadBalancerArn", lbARNRE); err != nil {
		return nil, err
	}
	lb, ok := s.elbv2.lbs.get(deref(in.LoadBalancerArn))
	if !ok {
		// Deleting a load balancer that is already gone succeeds.
		return &elbv2.DeleteLoadBalancerOutput{}, nil
	}
	if lb.attrs.get("deletion_protection.enabled") == "true" {
		return nil, bad("OperationNotPermitted", "Load balancer '%s' cannot be deleted because deletion protection is enabled", *in.LoadBalancerArn)
	}
	arn := *lb.lb.LoadBalancerArn
	for _, l := range s.elbv2.listeners.list() {
		if *l.LoadBalancerArn == arn {
			s.elbv2.listeners.del(*l.ListenerArn)
			delete(s.elbv2.tags, *l.ListenerArn)
		}
	}
	s.elbv2.lbs.del(arn)
	delete(s.elbv2.tags, arn)
	s.relink()
	return &elbv2.DeleteLoadBalancerOutput{}, nil
}

func (s *Server) v2DescribeLBAttributes(in *elbv2.DescribeLoadBalancerAttributesInput) (*elbv2.DescribeLoadBalancerAttributesOutput, error) {
	lb, err := s.v2lb(in.LoadBalancerArn)
	if err != nil {
		return nil, err
	}
	return &elbv2.DescribeLoadBalancerAttributesOutput{Attributes: lbAttributes(lb.attrs)}, nil
}

func (s *Server) v2ModifyLBAttributes(in *elbv2.ModifyLoadBalancerAttributesInput) (*elbv2.ModifyLoadBalancerAttributesOutput, error) {
	lb, err := s.v2lb(in.LoadBalancerArn)
	if err != nil {
		return nil, err
	}
	var changes attrList
	for _, a := range in.Attributes {
		changes = append(changes, [2]string{deref(a.Key), deref(a.Value)})
	}
	next, err := lb.attrs.modify(changes, "Load balancer")
	if err != nil {
		return nil, err
	}
	if next.get("access_logs.s3.enabled") == "true" && next.get("access_logs.s3.bucket") == "" {
		return nil, errValidation("The value of 'access_logs.s3.bucket' cannot be empty when access logs are enabled")
	}
	lb.attrs = next
	return &elbv2.ModifyLoadBalancerAttributesOutput{Attributes: lbAttributes(next)}, nil
}

// attrList is an ordered key/value attribute set with AWS's known keys only.
type attrList [][2]string

func (l attrList) get(key string) string {
	for _, kv := range l {
		if kv[0] == key {
			return kv[1]
		}
	}
	return ""
}

// modify returns a copy with changes applied; unknown keys and non-boolean values of
// *.enabled keys are ValidationErrors, as in AWS.
func (l attrList) modify(changes attrList, kind string) (attrList, error) {
	next := append(attrList{}, l...)
	for _, c := range changes {
		found := false
		for i := range next {
			if next[i][0] == c[0] {
				next[i][1], found = c[1], true
			}
		}
		if !found {
			return nil, errValidation("%s attribute key '%s' is not recognized", kind, c[0])
		}
		if strings.HasSuffix(c[0], ".enabled") && c[1] != "true" && c[1] != "false" {
			return nil, errValidation("%s attribute '%s' value '%s' must be 'true' or 'false'", kind, c[0], c[1])
		}
	}
	return next, nil
}

func lbAttributes(l attrList) []elbv2types.LoadBalancerAttribute {
	out := []elbv2types.LoadBalancerAttribute{}
	for _, kv := range l {
		out = append(out, elbv2types.LoadBalancerAttribute{Key: ptr(kv[0]), Value: ptr(kv[1])})
	}
	return out
}

func (s *Server) v2SetSecurityGroups(in *elbv2.SetSecurityGroupsInput) (*elbv2.SetSecurityGroupsOutput, error) {
	lb, err := s.v2lb(in.LoadBalancerArn)
	if err != nil {
		return nil, err
	}
	if lb.lb.Type == elbv2types.LoadBalancerTypeEnumNetwork && len(lb.lb.SecurityGroups) == 0 && len(in.SecurityGroups) > 0 {
		return nil, bad("InvalidConfigurationRequest", "You cannot set security groups on a Network Load Balancer which was created without any security groups.")
	}
	if err := s.checkGroups(in.SecurityGroups, deref(lb.lb.VpcId), "InvalidSecurityGroup"); err != nil {
		return nil, err
	}
	enforce := in.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic
	switch {
	case enforce == "":
	case lb.lb.Type != elbv2types.LoadBalancerTypeEnumNetwork:
		return nil, bad("InvalidConfigurationRequest", "EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic applies to Network Load Balancers only")
	case enforce != "on" && enforce != "off":
		return nil, errValidation("EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic must be 'on' or 'off', not '%s'", enforce)
	}
	lb.lb.SecurityGroups = append([]string{}, in.SecurityGroups...)
	out := &elbv2.SetSecurityGroupsOutput{SecurityGroupIds: lb.lb.SecurityGroups}
	if lb.lb.Type == elbv2types.LoadBalancerTypeEnumNetwork {
		if enforce != "" {
			lb.lb.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic = ptr(string(enforce))
		}
		if len(lb.lb.SecurityGroups) == 0 {
			lb.lb.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic = nil
		}
		out.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic = elbv2types.EnforceSecurityGroupInboundRulesOnPrivateLinkTrafficEnum(deref(lb.lb.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic))
	}
	return out, nil
}

func (s *Server) v2SetSubnets(in *elbv2.SetSubnetsInput) (*elbv2.SetSubnetsOutput, error) {
	lb, err := s.v2lb(in.LoadBalancerArn)
	if err != nil {
		return nil, err
	}
	if err := checkIPv6Mappings(lb.lb.Type, lb.lb.IpAddressType, lb.lb.EnablePrefixForIpv6SourceNat, in.SubnetMappings); err != nil {
		return nil, err
	}
	vpc, azs, err := s.zones(in.Subnets, in.SubnetMappings)
	if err != nil {
		return nil, err
	}
	if vpc != deref(lb.lb.VpcId) {
		return nil, bad("InvalidConfigurationRequest", "Subnets must belong to the load balancer's VPC")
	}
	if lb.lb.Type == elbv2types.LoadBalancerTypeEnumNetwork {
		// NLBs can add subnets but not remove them.
		have := map[string]bool{}
		for _, id := range subnetIDs(azs) {
			have[id] = true
		}
		for _, id := range subnetIDs(lb.lb.AvailabilityZones) {
			if !have[id] {
				return nil, bad("InvalidConfigurationRequest", "Subnet removal is not supported for Network Load Balancers. You must specify all existing subnets along with any new ones.")
			}
		}
	}
	// A subnet the load balancer keeps keeps its addresses unless a mapping says otherwise.
	for i := range azs {
		for _, old := range lb.lb.AvailabilityZones {
			if deref(old.SubnetId) == deref(azs[i].SubnetId) && len(azs[i].LoadBalancerAddresses) == 0 && len(azs[i].SourceNatIpv6Prefixes) == 0 {
				azs[i].LoadBalancerAddresses, azs[i].SourceNatIpv6Prefixes = old.LoadBalancerAddresses, old.SourceNatIpv6Prefixes
			}
		}
	}
	lb.lb.AvailabilityZones = azs
	return &elbv2.SetSubnetsOutput{AvailabilityZones: azs, IpAddressType: lb.lb.IpAddressType}, nil
}

func (s *Server) listenersOf(lbArn string) []*elbv2types.Listener {
	var out []*elbv2types.Listener
	for _, l := range s.elbv2.listeners.list() {
		if *l.LoadBalancerArn == lbArn {
			out = append(out, l)
		}
	}
	return out
}

func (s *Server) v2DescribeTags(in *elbv2.DescribeTagsInput) (*elbv2.DescribeTagsOutput, error) {
	if err := checkResourceArns(in.ResourceArns); err != nil {
		return nil, err
	}
	out := &elbv2.DescribeTagsOutput{TagDescriptions: []elbv2types.TagDescription{}}
	for _, arn := range in.ResourceArns {
		tags, err := s.v2tags(arn)
		if err != nil {
			return nil, err
		}
		out.TagDescriptions = append(out.TagDescriptions, elbv2types.TagDescription{ResourceArn: ptr(arn), Tags: append([]elbv2types.Tag{}, tags...)})
	}
	return out, nil
}

// v2tags checks that arn names an existing resource and returns its tags.
func (s *Server) v2tags(arn string) ([]elbv2types.Tag, error) {
	switch {
	case strings.Contains(arn, ":loadbalancer/"):
		if _, ok := s.elbv2.lbs.get(arn); !ok {
			return nil, errV2LBNotFound(arn)
		}
	case strings.Contains(arn, ":targetgroup/"):
		if _, ok := s.elbv2.tgs.get(arn); !ok {
			return nil, errTGNotFound(arn)
		}
	case strings.Contains(arn, ":listener/"):
		if _, ok := s.elbv2.listeners.get(arn); !ok {
			return nil, bad("ListenerNotFound", "Listener '%s' not found", arn)
		}
	default:
		return nil, errValidation("'%s' is not a valid load balancer, target group or listener ARN", arn)
	}
	return s.elbv2.tags[arn], nil
}

func (s *Server) v2AddTags(in *elbv2.AddTagsInput) (*elbv2.AddTagsOutput, error) {
	if err := checkResourceArns(in.ResourceArns); err != nil {
		return nil, err
	}
	if err := checkELBTags(elbv2Tags(in.Tags), in.Tags != nil, true); err != nil {
		return nil, err
	}
	for _, arn := range in.ResourceArns {
		if _, err := s.v2tags(arn); err != nil {
			return nil, err
		}
	}
	seen := map[string]bool{}
	for _, t := range in.Tags {
		if seen[deref(t.Key)] {
			return nil, bad("DuplicateTagKeys", "Tag key '%s' is duplicated", deref(t.Key))
		}
		seen[deref(t.Key)] = true
	}
	for _, arn := range in.ResourceArns {
		tags := s.elbv2.tags[arn]
		for _, t := range in.Tags {
			replaced := false
			for i := range tags {
				if deref(tags[i].Key) == deref(t.Key) {
					tags[i].Value, replaced = t.Value, true
				}
			}
			if !replaced {
				tags = append(tags, t)
			}
		}
		if len(tags) > 50 {
			return nil, bad("TooManyTags", "The quota for the number of tags that can be assigned to a resource has been reached.")
		}
		s.elbv2.tags[arn] = tags
	}
	return &elbv2.AddTagsOutput{}, nil
}

func (s *Server) v2RemoveTags(in *elbv2.RemoveTagsInput) (*elbv2.RemoveTagsOutput, error) {
	if err := checkResourceArns(in.ResourceArns); err != nil {
		return nil, err
	}
	if len(in.TagKeys) == 0 {
		if in.TagKeys == nil {
			return nil, errRequired("tagKeys")
		}
		return nil, errTooFew("tagKeys", 1)
	}
	for _, arn := range in.ResourceArns {
		if _, err := s.v2tags(arn); err != nil {
			return nil, err
		}
	}
	for _, arn := range in.ResourceArns {
		kept := []elbv2types.Tag{}
		for _, t := range s.elbv2.tags[arn] {
			if !contains(in.TagKeys, deref(t.Key)) {
				kept = append(kept, t)
			}
		}
		s.elbv2.tags[arn] = kept
	}
	return &elbv2.RemoveTagsOutput{}, nil
}

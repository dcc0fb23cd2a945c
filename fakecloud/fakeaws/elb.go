package fakeaws

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
)

// classicLB is one Classic Load Balancer with what DescribeLoadBalancers does not carry.
type classicLB struct {
	desc     *elbtypes.LoadBalancerDescription
	attrs    elbtypes.LoadBalancerAttributes
	policies []elbtypes.PolicyDescription
	tags     []elbtypes.Tag
}

type elbState struct {
	lbs *table[classicLB]
	// emptied is the record of both APIs' emptied backends (backends.go), kept with the
	// Classic state since server.go's state holds no other place both APIs' hooks reach.
	emptied []string
}

func newELBState() *elbState { return &elbState{lbs: newTable[classicLB]()} }

// elbHandlers lists every Classic ELB operation the fake serves.
var elbHandlers = map[string]handler{
	"CreateLoadBalancer":                      elbOp((*Server).elbCreateLoadBalancer),
	"DescribeLoadBalancers":                   elbOp((*Server).elbDescribeLoadBalancers),
	"DeleteLoadBalancer":                      elbOp((*Server).elbDeleteLoadBalancer),
	"CreateLoadBalancerListeners":             elbOp((*Server).elbCreateListeners),
	"DeleteLoadBalancerListeners":             elbOp((*Server).elbDeleteListeners),
	"ConfigureHealthCheck":                    elbOp((*Server).elbConfigureHealthCheck),
	"RegisterInstancesWithLoadBalancer":       elbOp((*Server).elbRegisterInstances),
	"DeregisterInstancesFromLoadBalancer":     elbOp((*Server).elbDeregisterInstances),
	"DescribeInstanceHealth":                  elbOp((*Server).elbDescribeInstanceHealth),
	"DescribeLoadBalancerAttributes":          elbOp((*Server).elbDescribeAttributes),
	"ModifyLoadBalancerAttributes":            elbOp((*Server).elbModifyAttributes),
	"CreateLoadBalancerPolicy":                elbOp((*Server).elbCreatePolicy),
	"DeleteLoadBalancerPolicy":                elbOp((*Server).elbDeletePolicy),
	"DescribeLoadBalancerPolicies":            elbOp((*Server).elbDescribePolicies),
	"SetLoadBalancerPoliciesOfListener":       elbOp((*Server).elbSetPoliciesOfListener),
	"SetLoadBalancerPoliciesForBackendServer": elbOp((*Server).elbSetPoliciesForBackend),
	"ApplySecurityGroupsToLoadBalancer":       elbOp((*Server).elbApplySecurityGroups),
	"AttachLoadBalancerToSubnets":             elbOp((*Server).elbAttachSubnets),
	"DetachLoadBalancerFromSubnets":           elbOp((*Server).elbDetachSubnets),
	"AddTags":                                 elbOp((*Server).elbAddTags),
	"RemoveTags":                              elbOp((*Server).elbRemoveTags),
	"DescribeTags":                            elbOp((*Server).elbDescribeTags),
}

// queryOp adapts a typed ELB or ELBv2 operation to a handler.
func queryOp[I, O any](fn func(*Server, *I) (*O, error)) handler {
	return func(s *Server, req *request) (any, error) {
		var in I
		decodeInput(req.form, &in, false)
		return fn(s, &in)
	}
}

var lbNameRE = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]{0,30}[a-zA-Z0-9])?$`)

func errLBNotFound(name string) *apiError {
	return bad("LoadBalancerNotFound", "There is no ACTIVE Load Balancer named '%s'", name)
}

func (s *Server) classic(name *string) (*classicLB, error) {
	if deref(name) == "" {
		return nil, errRequired("loadBalancerName")
	}
	lb, ok := s.elb.lbs.get(*name)
	if !ok {
		return nil, errLBNotFound(*name)
	}
	return lb, nil
}

// checkSubnets resolves subnet IDs to their VPC and zones; all must share one VPC.
func (s *Server) checkSubnets(ids []string, code string) (vpc string, zones []string, err error) {
	seenAZ := map[string]bool{}
	for _, id := range ids {
		sn, ok := s.ec2.subnets.get(id)
		if !ok {
			return "", nil, bad(code, "The subnet with id '%s' does not exist", id)
		}
		if vpc != "" && vpc != *sn.VpcId {
			return "", nil, bad("InvalidConfigurationRequest", "All subnets must belong to the same VPC")
		}
		vpc = *sn.VpcId
		if seenAZ[*sn.AvailabilityZone] {
			return "", nil, bad("InvalidConfigurationRequest", "Only one subnet per Availability Zone is allowed: %s", *sn.AvailabilityZone)
		}
		seenAZ[*sn.AvailabilityZone] = true
		zones = append(zones, *sn.AvailabilityZone)
	}
	return vpc, zones, nil
}

func (s *Server) checkGroups(ids []string, vpc, code string) error {
	for _, id := range ids {
		g, ok := s.ec2.groups.get(id)
		if !ok || (vpc != "" && g.vpcID != vpc) {
			return bad(code, "One or more security groups are invalid: %s", id)
		}
	}
	return nil
}

func (s *Server) validListener(l elbtypes.Listener) error {
	proto := strings.ToUpper(deref(l.Protocol))
	switch proto {
	case "HTTP", "HTTPS", "TCP", "SSL":
	default:
		return errValidation("Invalid listener protocol %q", deref(l.Protocol))
	}
	if l.LoadBalancerPort < 1 || l.LoadBalancerPort > 65535 || l.InstancePort == nil || *l.InstancePort < 1 || *l.InstancePort > 65535 {
		return errValidation("Invalid listener ports %d -> %d", l.LoadBalancerPort, deref(l.InstancePort))
	}
	if (proto == "HTTPS" || proto == "SSL") && deref(l.SSLCertificateId) == "" {
		return bad("CertificateNotFound", "A certificate is required for an %s listener", proto)
	}
	if proto == "HTTPS" || proto == "SSL" {
		return s.checkCertificates(*l.SSLCertificateId)
	}
	return nil
}

func normListener(l elbtypes.Listener) elbtypes.Listener {
	l.Protocol = ptr(strings.ToUpper(deref(l.Protocol)))
	if l.InstanceProtocol == nil {
		switch *l.Protocol {
		case "HTTPS":
			l.InstanceProtocol = ptr("HTTP")
		case "SSL":
			l.InstanceProtocol = ptr("TCP")
		default:
			l.InstanceProtocol = l.Protocol
		}
	} else {
		l.InstanceProtocol = ptr(strings.ToUpper(*l.InstanceProtocol))
	}
	return l
}

func (s *Server) elbCreateLoadBalancer(in *elb.CreateLoadBalancerInput) (*elb.CreateLoadBalancerOutput, error) {
	name := deref(in.LoadBalancerName)
	if !lbNameRE.MatchString(name) {
		return nil, errValidation("LoadBalancerName %q must be at most 32 alphanumeric characters or hyphens, not starting or ending with a hyphen", name)
	}
	if err := checkClassicListeners(in.Listeners); err != nil {
		return nil, err
	}
	if err := checkELBTags(elbTags(in.Tags), in.Tags != nil, false); err != nil {
		return nil, err
	}
	if len(in.Subnets) == 0 {
		return nil, bad("InvalidConfigurationRequest", "Either AvailabilityZones or SubnetIds must be specified; the fake serves VPC load balancers only")
	}
	scheme := deref(in.Scheme)
	switch scheme {
	case "":
		scheme = "internet-facing"
	case "internet-facing", "internal":
	default:
		return nil, bad("InvalidScheme", "Invalid scheme %q", scheme)
	}
	vpc, zones, err := s.checkSubnets(in.Subnets, "SubnetNotFound")
	if err != nil {
		return nil, err
	}
	if err := s.checkGroups(in.SecurityGroups, vpc, "InvalidSecurityGroup"); err != nil {
		return nil, err
	}
	listeners := []elbtypes.ListenerDescription{}
	for _, l := range in.Listeners {
		if err := s.validListener(l); err != nil {
			return nil, err
		}
		listeners = append(listeners, elbtypes.ListenerDescription{Listener: ptr(normListener(l)), PolicyNames: []string{}})
	}
	groups := in.SecurityGroups
	if len(groups) == 0 {
		// AWS attaches the VPC's default group when none is given.
		if g := s.groupByName(vpc, "default"); g != nil {
			groups = []string{g.id}
		}
	}
	if existing, ok := s.elb.lbs.get(name); ok {
		// A repeat with the same settings answers the existing load balancer; see sameClassic.
		if !sameClassic(existing.desc, scheme, in.Subnets, groups, listeners) {
			return nil, bad("DuplicateLoadBalancerName", "Load Balancer named '%s' already exists and it is configured with different parameters.", name)
		}
		return &elb.CreateLoadBalancerOutput{DNSName: existing.desc.DNSName}, nil
	}
	dns := s.lbDNSName(true, name, strconv.Itoa(1000000000+s.rng.IntN(999999999)), scheme == "internal")
	desc := &elbtypes.LoadBalancerDescription{
		LoadBalancerName:          ptr(name),
		DNSName:                   ptr(dns),
		CanonicalHostedZoneName:   ptr(dns),
		CanonicalHostedZoneNameID: ptr("Z35SXDOTRQ7X7K"),
		CreatedTime:               ptr(time.Now().UTC().Truncate(time.Millisecond)),
		Scheme:                    ptr(scheme),
		VPCId:                     ptr(vpc),
		Subnets:                   append([]string{}, in.Subnets...),
		AvailabilityZones:         zones,
		SecurityGroups:            append([]string{}, groups...),
		ListenerDescriptions:      listeners,
		BackendServerDescriptions: []elbtypes.BackendServerDescription{},
		Instances:                 []elbtypes.Instance{},
		HealthCheck: &elbtypes.HealthCheck{
			Target: ptr(fmt.Sprintf("TCP:%d", deref(in.Listeners[0].InstancePort))), Interval: ptr(int32(30)),
			Timeout: ptr(int32(5)), HealthyThreshold: ptr(int32(10)), UnhealthyThreshold: ptr(int32(2)),
		},
		Policies: &elbtypes.Policies{
			AppCookieStickinessPolicies: []elbtypes.AppCookieStickinessPolicy{},
			LBCookieStickinessPolicies:  []elbtypes.LBCookieStickinessPolicy{},
			OtherPolicies:               []string{},
		},
		SourceSecurityGroup: &elbtypes.SourceSecurityGroup{OwnerAlias: ptr(s.opts.AccountID)},
	}
	if len(groups) > 0 {
		if g, ok := s.ec2.groups.get(groups[0]); ok {
			desc.SourceSecurityGroup.GroupName = ptr(g.name)
		}
	}
	if scheme == "internal" {
		desc.CanonicalHostedZoneName = nil
	}
	s.elb.lbs.put(name, &classicLB{
		desc: desc,
		attrs: elbtypes.LoadBalancerAttributes{
			AccessLog:              &elbtypes.AccessLog{Enabled: false},
			ConnectionDraining:     &elbtypes.ConnectionDraining{Enabled: false, Timeout: ptr(int32(300))},
			ConnectionSettings:     &elbtypes.ConnectionSettings{IdleTimeout: ptr(int32(60))},
			CrossZoneLoadBalancing: &elbtypes.CrossZoneLoadBalancing{Enabled: false},
		},
		tags: append([]elbtypes.Tag{}, in.Tags...),
	})
	return &elb.CreateLoadBalancerOutput{DNSName: ptr(dns)}, nil
}

func (s *Server) elbDescribeLoadBalancers(in *elb.DescribeLoadBalancersInput) (*elb.DescribeLoadBalancersOutput, error) {
	var all []*classicLB
	if len(in.LoadBalancerNames) > 0 {
		for _, n := range in.LoadBalancerNames {
			lb, ok := s.elb.lbs.get(n)
			if !ok {
				return nil, errLBNotFound(n)
			}
			all = append(all, lb)
		}
	} else {
		all = s.elb.lbs.list()
	}
	size := int(deref(in.PageSize))
	if in.PageSize == nil {
		size = 400 // the default; an explicit 0 is refused, as AWS refuses it
	}
	if size < 1 || size > 400 {
		return nil, errValidation("PageSize must be between 1 and 400")
	}
	start, err := markerOffset(in.Marker, len(all))
	if err != nil {
		return nil, err
	}
	end := min(start+size, len(all))
	out := &elb.DescribeLoadBalancersOutput{LoadBalancerDescriptions: []elbtypes.LoadBalancerDescription{}}
	for _, lb := range all[start:end] {
		out.LoadBalancerDescriptions = append(out.LoadBalancerDescriptions, *lb.desc)
	}
	if end < len(all) {
		out.NextMarker = ptr(marker(end))
	}
	return out, nil
}

// marker and markerOffset make the opaque Marker of the ELB APIs.
func marker(off int) string { return "bWFya2Vy" + strconv.Itoa(off) }

func markerOffset(m *string, n int) (int, error) {
	if m == nil || *m == "" {
		return 0, nil
	}
	off, err := strconv.Atoi(strings.TrimPrefix(*m, "bWFya2Vy"))
	if err != nil || !strings.HasPrefix(*m, "bWFya2Vy") || off < 0 || off > n {
		return 0, errValidation("Invalid Marker %q", *m)
	}
	return off, nil
}

func (s *Server) elbDeleteLoadBalancer(in *elb.DeleteLoadBalancerInput) (*elb.DeleteLoadBalancerOutput, error) {
	if deref(in.LoadBalancerName) == "" {
		return nil, errRequired("loadBalancerName")
	}
	// Deleting a load balancer that does not exist succeeds, as in AWS.
	s.elb.lbs.del(deref(in.LoadBalancerName))
	return &elb.DeleteLoadBalancerOutput{}, nil
}

func (s *Server) elbCreateListeners(in *elb.CreateLoadBalancerListenersInput) (*elb.CreateLoadBalancerListenersOutput, error) {
	lb, err := s.classic(in.LoadBalancerName)
	if err != nil {
		return nil, err
	}
	if err := checkClassicListeners(in.Listeners); err != nil {
		return nil, err
	}
	var add []elbtypes.ListenerDescription
	for _, l := range in.Listeners {
		if err := s.validListener(l); err != nil {
			return nil, err
		}
		l = normListener(l)
		for _, have := range lb.desc.ListenerDescriptions {
			h := have.Listener
			if h.LoadBalancerPort != l.LoadBalancerPort {
				continue
			}
			if *h.Protocol == *l.Protocol && *h.InstanceProtocol == *l.InstanceProtocol && deref(h.InstancePort) == deref(l.InstancePort) && deref(h.SSLCertificateId) == deref(l.SSLCertificateId) {
				l.LoadBalancerPort = -1 // identical: a no-op, as in AWS
				break
			}
			return nil, bad("DuplicateListener", "A listener already exists for %s with LoadBalancerPort %d, but with a different InstancePort, Protocol, or SSLCertificateId", *lb.desc.LoadBalancerName, l.LoadBalancerPort)
		}
		if l.LoadBalancerPort >= 0 {
			add = append(add, elbtypes.ListenerDescription{Listener: ptr(l), PolicyNames: []string{}})
		}
	}
	lb.desc.ListenerDescriptions = append(lb.desc.ListenerDescriptions, add...)
	return &elb.CreateLoadBalancerListenersOutput{}, nil
}

func (s *Server) elbDeleteListeners(in *elb.DeleteLoadBalancerListenersInput) (*elb.DeleteLoadBalancerListenersOutput, error) {
	lb, err := s.classic(in.LoadBalancerName)
	if err != nil {
		return nil, err
	}
	if len(in.LoadBalancerPorts) == 0 {
		return nil, errRequired("loadBalancerPorts")
	}
	kept := lb.desc.ListenerDescriptions[:0:0]
	for _, ld := range lb.desc.ListenerDescriptions {
		drop := false
		for _, p := range in.LoadBalancerPorts {
			drop = drop || p == ld.Listener.LoadBalancerPort
		}
		if !drop {
			kept = append(kept, ld)
		}
	}
	lb.desc.ListenerDescriptions = kept
	return &elb.DeleteLoadBalancerListenersOutput{}, nil
}

var healthTargetRE = regexp.MustCompile(`^(TCP|SSL|HTTP|HTTPS):(\d{1,5})(/.*)?$`)

func (s *Server) elbConfigureHealthCheck(in *elb.ConfigureHealthCheckInput) (*elb.ConfigureHealthCheckOutput, error) {
	lb, err := s.classic(in.LoadBalancerName)
	if err != nil {
		return nil, err
	}
	hc := in.HealthCheck
	if hc == nil {
		return nil, errRequired("healthCheck")
	}
	m := healthTargetRE.FindStringSubmatch(deref(hc.Target))
	if m != nil {
		if port, _ := strconv.Atoi(m[2]); port < 1 || port > 65535 {
			return nil, errValidation("Invalid health check target %q: the port must be between 1 and 65535", deref(hc.Target))
		}
	}
	if m == nil || ((m[1] == "HTTP" || m[1] == "HTTPS") && m[3] == "") || ((m[1] == "TCP" || m[1] == "SSL") && m[3] != "") {
		return nil, errValidation("Invalid health check target %q", deref(hc.Target))
	}
	switch {
	case deref(hc.Interval) < 5 || deref(hc.Interval) > 300:
		return nil, errValidation("Interval must be between 5 and 300")
	case deref(hc.Timeout) < 2 || deref(hc.Timeout) > 60 || deref(hc.Timeout) >= deref(hc.Interval):
		return nil, errValidation("Timeout must be between 2 and 60 and smaller than the interval")
	case deref(hc.HealthyThreshold) < 2 || deref(hc.HealthyThreshold) > 10:
		return nil, errValidation("HealthyThreshold must be between 2 and 10")
	case deref(hc.UnhealthyThreshold) < 2 || deref(hc.UnhealthyThreshold) > 10:
		return nil, errValidation("UnhealthyThreshold must be between 2 and 10")
	}
	c := *hc
	lb.desc.HealthCheck = &c
	return &elb.ConfigureHealthCheckOutput{HealthCheck: &c}, nil
}

func (s *Server) elbRegisterInstances(in *elb.RegisterInstancesWithLoadBalancerInput) (*elb.RegisterInstancesWithLoadBalancerOutput, error) {
	lb, err := s.classic(in.LoadBalancerName)
	if err != nil {
		return nil, err
	}
	if in.Instances == nil {
		return nil, errRequired("instances")
	}
	for _, i := range in.Instances {
		inst, ok := s.ec2.instances.get(deref(i.InstanceId))
		if !ok || deref(inst.VpcId) != deref(lb.desc.VPCId) {
			return nil, bad("InvalidInstance", "The requested instance %s is not a valid EC2 instance in the load balancer's VPC", deref(i.InstanceId))
		}
	}
	for _, i := range in.Instances {
		found := false
		for _, have := range lb.desc.Instances {
			found = found || deref(have.InstanceId) == deref(i.InstanceId)
		}
		if !found {
			lb.desc.Instances = append(lb.desc.Instances, elbtypes.Instance{InstanceId: i.InstanceId})
		}
	}
	return &elb.RegisterInstancesWithLoadBalancerOutput{Instances: lb.desc.Instances}, nil
}

func (s *Server) elbDeregisterInstances(in *elb.DeregisterInstancesFromLoadBalancerInput) (*elb.DeregisterInstancesFromLoadBalancerOutput, error) {
	defer s.noteEmptied("DeregisterInstancesFromLoadBalancer", s.backendCounts())
	lb, err := s.classic(in.LoadBalancerName)
	if err != nil {
		return nil, err
	}
	if in.Instances == nil {
		return nil, errRequired("instances")
	}
	kept := []elbtypes.Instance{}
	for _, have := range lb.desc.Instances {
		drop := false
		for _, i := range in.Instances {
			drop = drop || deref(have.InstanceId) == deref(i.InstanceId)
		}
		if !drop {
			kept = append(kept, have)
		}
	}
	lb.desc.Instances = kept
	return &elb.DeregisterInstancesFromLoadBalancerOutput{Instances: kept}, nil
}

func (s *Server) elbDescribeInstanceHealth(in *elb.DescribeInstanceHealthInput) (*elb.DescribeInstanceHealthOutput, error) {
	lb, err := s.classic(in.LoadBalancerName)
	if err != nil {
		return nil, err
	}
	out := &elb.DescribeInstanceHealthOutput{InstanceStates: []elbtypes.InstanceState{}}
	instances, err := healthOf(lb, in.Instances)
	if err != nil {
		return nil, err
	}
	for _, i := range instances {
		state := elbtypes.InstanceState{InstanceId: i.InstanceId, State: ptr("InService"), ReasonCode: ptr("N/A"), Description: ptr("N/A")}
		if inst, ok := s.ec2.instances.get(deref(i.InstanceId)); !ok || inst.State.Name != "running" {
			state.State, state.ReasonCode, state.Description = ptr("OutOfService"), ptr("Instance"), ptr("Instance is not running.")
		}
		out.InstanceStates = append(out.InstanceStates, state)
	}
	return out, nil
}

func (s *Server) elbApplySecurityGroups(in *elb.ApplySecurityGroupsToLoadBalancerInput) (*elb.ApplySecurityGroupsToLoadBalancerOutput, error) {
	lb, err := s.classic(in.LoadBalancerName)
	if err != nil {
		return nil, err
	}
	if len(in.SecurityGroups) == 0 {
		return nil, errRequired("securityGroups")
	}
	if err := s.checkGroups(in.SecurityGroups, deref(lb.desc.VPCId), "InvalidSecurityGroup"); err != nil {
		return nil, err
	}
	lb.desc.SecurityGroups = append([]string{}, in.SecurityGroups...)
	return &elb.ApplySecurityGroupsToLoadBalancerOutput{SecurityGroups: lb.desc.SecurityGroups}, nil
}

func (s *Server) elbAttachSubnets(in *elb.AttachLoadBalancerToSubnetsInput) (*elb.AttachLoadBalancerToSubnetsOutput, error) {
	lb, err := s.classic(in.LoadBalancerName)
	if err != nil {
		return nil, err
	}
	if len(in.Subnets) == 0 {
		return nil, errRequired("subnets")
	}
	subnets := append([]string{}, lb.desc.Subnets...)
	for _, id := range in.Subnets {
		if !contains(subnets, id) {
			subnets = append(subnets, id)
		}
	}
	vpc, zones, err := s.checkSubnets(subnets, "SubnetNotFound")
	if err != nil {
		return nil, err
	}
	if vpc != deref(lb.desc.VPCId) {
		return nil, bad("InvalidConfigurationRequest", "Subnets must belong to the load balancer's VPC")
	}
	lb.desc.Subnets, lb.desc.AvailabilityZones = subnets, zones
	return &elb.AttachLoadBalancerToSubnetsOutput{Subnets: subnets}, nil
}

func (s *Server) elbDetachSubnets(in *elb.DetachLoadBalancerFromSubnetsInput) (*elb.DetachLoadBalancerFromSubnetsOutput, error) {
	lb, err := s.classic(in.LoadBalancerName)
	if err != nil {
		return nil, err
	}
	if len(in.Subnets) == 0 {
		return nil, errRequired("subnets")
	}
	subnets := []string{}
	for _, id := range lb.desc.Subnets {
		if !contains(in.Subnets, id) {
			subnets = append(subnets, id)
		}
	}
	if len(subnets) == 0 {
		return nil, bad("InvalidConfigurationRequest", "A load balancer must remain attached to at least one subnet")
	}
	_, zones, _ := s.checkSubnets(subnets, "SubnetNotFound")
	lb.desc.Subnets, lb.desc.AvailabilityZones = subnets, zones
	return &elb.DetachLoadBalancerFromSubnetsOutput{Subnets: subnets}, nil
}

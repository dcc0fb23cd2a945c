package fakeaws

import (
	"fmt"
	"strconv"

	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

func validHealthCheck(proto elbv2types.ProtocolEnum, path *string, interval, timeout, healthy, unhealthy *int32) error {
	switch proto {
	case "", elbv2types.ProtocolEnumTcp, elbv2types.ProtocolEnumHttp, elbv2types.ProtocolEnumHttps:
	default:
		return errValidation("Health check protocol '%s' is not supported", proto)
	}
	if path != nil && proto != elbv2types.ProtocolEnumHttp && proto != elbv2types.ProtocolEnumHttps {
		return errValidation("A health check path can only be specified for HTTP and HTTPS health checks")
	}
	if interval != nil && (*interval < 5 || *interval > 300) {
		return errValidation("Health check interval must be between 5 and 300 seconds")
	}
	if timeout != nil && (*timeout < 2 || *timeout > 120) {
		return errValidation("Health check timeout must be between 2 and 120 seconds")
	}
	if healthy != nil && (*healthy < 2 || *healthy > 10) {
		return errValidation("Healthy threshold count must be between 2 and 10")
	}
	if unhealthy != nil && (*unhealthy < 2 || *unhealthy > 10) {
		return errValidation("Unhealthy threshold count must be between 2 and 10")
	}
	return nil
}

func (s *Server) v2CreateTargetGroup(in *elbv2.CreateTargetGroupInput) (*elbv2.CreateTargetGroupOutput, error) {
	if err := checkCreateTG(in); err != nil {
		return nil, err
	}
	name := deref(in.Name)
	if !v2NameRE.MatchString(name) {
		return nil, errValidation("Target group name '%s' must be at most 32 alphanumeric characters or hyphens, not starting or ending with a hyphen", name)
	}
	targetType := in.TargetType
	if targetType == "" {
		targetType = elbv2types.TargetTypeEnumInstance
	}
	if targetType != elbv2types.TargetTypeEnumLambda {
		if in.Protocol == "" || in.Port == nil || deref(in.VpcId) == "" {
			return nil, errValidation("A protocol, a port and a VPC ID must be specified for target groups of type '%s'", targetType)
		}
		if err := s.vpcExists(*in.VpcId); err != nil {
			return nil, errValidation("The VPC ID '%s' is not found", *in.VpcId)
		}
	}
	hcProto := in.HealthCheckProtocol
	if hcProto == "" {
		switch in.Protocol {
		case elbv2types.ProtocolEnumHttp, elbv2types.ProtocolEnumHttps:
			hcProto = in.Protocol
		default:
			hcProto = elbv2types.ProtocolEnumTcp
		}
	}
	if err := validHealthCheck(hcProto, in.HealthCheckPath, in.HealthCheckIntervalSeconds, in.HealthCheckTimeoutSeconds, in.HealthyThresholdCount, in.UnhealthyThresholdCount); err != nil {
		return nil, err
	}
	for _, existing := range s.elbv2.tgs.list() {
		e := existing.tg
		if *e.TargetGroupName != name {
			continue
		}
		if e.Protocol == in.Protocol && deref(e.Port) == deref(in.Port) && deref(e.VpcId) == deref(in.VpcId) && e.TargetType == targetType {
			return &elbv2.CreateTargetGroupOutput{TargetGroups: []elbv2types.TargetGroup{e}}, nil
		}
		return nil, bad("DuplicateTargetGroupName", "A target group with the same name '%s' exists, but with different settings", name)
	}
	timeout := int32(10)
	if hcProto == elbv2types.ProtocolEnumHttp {
		timeout = 6
	}
	arn := s.arn(fmt.Sprintf("targetgroup/%s/%s", name, s.hex16()))
	tg := &v2TG{tg: elbv2types.TargetGroup{
		TargetGroupArn:             ptr(arn),
		TargetGroupName:            ptr(name),
		Protocol:                   in.Protocol,
		Port:                       in.Port,
		VpcId:                      in.VpcId,
		TargetType:                 targetType,
		IpAddressType:              elbv2types.TargetGroupIpAddressTypeEnumIpv4,
		HealthCheckEnabled:         ptr(true),
		HealthCheckProtocol:        hcProto,
		HealthCheckPort:            ptr("traffic-port"),
		HealthCheckIntervalSeconds: ptr(int32(30)),
		HealthCheckTimeoutSeconds:  ptr(timeout),
		HealthyThresholdCount:      ptr(int32(5)),
		UnhealthyThresholdCount:    ptr(int32(2)),
		LoadBalancerArns:           []string{},
	}}
	t := &tg.tg
	if in.HealthCheckEnabled != nil {
		t.HealthCheckEnabled = in.HealthCheckEnabled
	}
	if in.HealthCheckPort != nil {
		t.HealthCheckPort = in.HealthCheckPort
	}
	if in.HealthCheckIntervalSeconds != nil {
		t.HealthCheckIntervalSeconds = in.HealthCheckIntervalSeconds
	}
	if in.HealthCheckTimeoutSeconds != nil {
		t.HealthCheckTimeoutSeconds = in.HealthCheckTimeoutSeconds
	}
	if in.HealthyThresholdCount != nil {
		t.HealthyThresholdCount = in.HealthyThresholdCount
	}
	if in.UnhealthyThresholdCount != nil {
		t.UnhealthyThresholdCount = in.UnhealthyThresholdCount
	}
	if hcProto == elbv2types.ProtocolEnumHttp || hcProto == elbv2types.ProtocolEnumHttps {
		t.HealthCheckPath = ptr("/")
		if in.HealthCheckPath != nil {
			t.HealthCheckPath = in.HealthCheckPath
		}
		t.Matcher = &elbv2types.Matcher{HttpCode: ptr("200-399")}
		if in.Matcher != nil {
			t.Matcher = in.Matcher
		}
	}
	preserve := "true"
	if targetType == elbv2types.TargetTypeEnumIp && (in.Protocol == elbv2types.ProtocolEnumTcp || in.Protocol == elbv2types.ProtocolEnumTls) {
		preserve = "false"
	}
	tg.attrs = attrList{
		{"deregistration_delay.timeout_seconds", "300"},
		{"deregistration_delay.connection_termination.enabled", "false"},
		{"preserve_client_ip.enabled", preserve},
		{"proxy_protocol_v2.enabled", "false"},
		{"stickiness.enabled", "false"},
		{"stickiness.type", "source_ip"},
		{"load_balancing.cross_zone.enabled", "use_load_balancer_configuration"},
		{"target_health_state.unhealthy.connection_termination.enabled", "true"},
	}
	s.elbv2.tgs.put(arn, tg)
	s.elbv2.tags[arn] = append([]elbv2types.Tag{}, in.Tags...)
	return &elbv2.CreateTargetGroupOutput{TargetGroups: []elbv2types.TargetGroup{tg.tg}}, nil
}

func (s *Server) v2DescribeTargetGroups(in *elbv2.DescribeTargetGroupsInput) (*elbv2.DescribeTargetGroupsOutput, error) {
	if in.LoadBalancerArn != nil && (len(in.Names) > 0 || len(in.TargetGroupArns) > 0) {
		return nil, errValidation("A load balancer ARN cannot be specified with target group names or ARNs")
	}
	if len(in.Names) > 0 && len(in.TargetGroupArns) > 0 {
		return nil, errValidation("Target group names and target group ARNs cannot be specified at the same time")
	}
	var all []elbv2types.TargetGroup
	if in.LoadBalancerArn != nil {
		if _, err := s.v2lb(in.LoadBalancerArn); err != nil {
			return nil, err
		}
	}
	for _, arn := range in.TargetGroupArns {
		if _, ok := s.elbv2.tgs.get(arn); !ok {
			return nil, errTGNotFound(arn)
		}
	}
	for _, n := range in.Names {
		found := false
		for _, tg := range s.elbv2.tgs.list() {
			found = found || *tg.tg.TargetGroupName == n
		}
		if !found {
			return nil, errTGNotFound(n)
		}
	}
	for _, tg := range s.elbv2.tgs.list() {
		t := tg.tg
		if len(in.TargetGroupArns) > 0 && !contains(in.TargetGroupArns, *t.TargetGroupArn) {
			continue
		}
		if len(in.Names) > 0 && !contains(in.Names, *t.TargetGroupName) {
			continue
		}
		if in.LoadBalancerArn != nil && !contains(t.LoadBalancerArns, *in.LoadBalancerArn) {
			continue
		}
		all = append(all, t)
	}
	if in.LoadBalancerArn != nil && len(all) == 0 {
		// Field report: AWS answers TargetGroupNotFound, not an empty list, for a load
		// balancer without target groups (the reference does not say).
		return nil, bad("TargetGroupNotFound", "One or more target groups not found")
	}
	start, end, next, err := v2page(len(all), in.Marker, in.PageSize)
	if err != nil {
		return nil, err
	}
	return &elbv2.DescribeTargetGroupsOutput{TargetGroups: append([]elbv2types.TargetGroup{}, all[start:end]...), NextMarker: next}, nil
}

func (s *Server) v2ModifyTargetGroup(in *elbv2.ModifyTargetGroupInput) (*elbv2.ModifyTargetGroupOutput, error) {
	tg, err := s.v2tg(in.TargetGroupArn)
	if err != nil {
		return nil, err
	}
	t := &tg.tg
	hcProto := t.HealthCheckProtocol
	if in.HealthCheckProtocol != "" && in.HealthCheckProtocol != t.HealthCheckProtocol {
		if t.Protocol == elbv2types.ProtocolEnumTcp {
			return nil, bad("InvalidConfigurationRequest", "You cannot change the health check protocol for a target group with the TCP protocol")
		}
		hcProto = in.HealthCheckProtocol
	}
	path := in.HealthCheckPath
	if err := validHealthCheck(hcProto, path, in.HealthCheckIntervalSeconds, in.HealthCheckTimeoutSeconds, in.HealthyThresholdCount, in.UnhealthyThresholdCount); err != nil {
		return nil, err
	}
	t.HealthCheckProtocol = hcProto
	for _, f := range []struct {
		dst **int32
		src *int32
	}{
		{&t.HealthCheckIntervalSeconds, in.HealthCheckIntervalSeconds},
		{&t.HealthCheckTimeoutSeconds, in.HealthCheckTimeoutSeconds},
		{&t.HealthyThresholdCount, in.HealthyThresholdCount},
		{&t.UnhealthyThresholdCount, in.UnhealthyThresholdCount},
	} {
		if f.src != nil {
			*f.dst = ptr(*f.src)
		}
	}
	if in.HealthCheckPort != nil {
		t.HealthCheckPort = ptr(*in.HealthCheckPort)
	}
	if in.HealthCheckEnabled != nil {
		t.HealthCheckEnabled = ptr(*in.HealthCheckEnabled)
	}
	if hcProto == elbv2types.ProtocolEnumHttp || hcProto == elbv2types.ProtocolEnumHttps {
		if path != nil {
			t.HealthCheckPath = ptr(*path)
		} else if t.HealthCheckPath == nil {
			t.HealthCheckPath = ptr("/")
		}
		if in.Matcher != nil {
			t.Matcher = in.Matcher
		} else if t.Matcher == nil {
			t.Matcher = &elbv2types.Matcher{HttpCode: ptr("200-399")}
		}
	} else {
		t.HealthCheckPath, t.Matcher = nil, nil
	}
	return &elbv2.ModifyTargetGroupOutput{TargetGroups: []elbv2types.TargetGroup{*t}}, nil
}

func (s *Server) v2DeleteTargetGroup(in *elbv2.DeleteTargetGroupInput) (*elbv2.DeleteTargetGroupOutput, error) {
	arn := deref(in.TargetGroupArn)
	if err := checkARN(arn, "targetGroupArn", tgARNRE); err != nil {
		return nil, err
	}
	tg, ok := s.elbv2.tgs.get(arn)
	if !ok {
		// DeleteTargetGroup is idempotent: AWS models no not-found error for it.
		return &elbv2.DeleteTargetGroupOutput{}, nil
	}
	for _, l := range s.elbv2.listeners.list() {
		if contains(forwardTargets(l.DefaultActions), arn) {
			return nil, bad("ResourceInUse", "Target group '%s' is currently in use by a listener or a rule", arn)
		}
	}
	if tg.inUseCalls > 0 {
		tg.inUseCalls--
		return nil, bad("ResourceInUse", "Target group '%s' is currently in use by a listener or a rule", arn)
	}
	s.elbv2.tgs.del(arn)
	delete(s.elbv2.tags, arn)
	return &elbv2.DeleteTargetGroupOutput{}, nil
}

func (s *Server) v2DescribeTGAttributes(in *elbv2.DescribeTargetGroupAttributesInput) (*elbv2.DescribeTargetGroupAttributesOutput, error) {
	tg, err := s.v2tg(in.TargetGroupArn)
	if err != nil {
		return nil, err
	}
	return &elbv2.DescribeTargetGroupAttributesOutput{Attributes: tgAttributes(tg.attrs)}, nil
}

func tgAttributes(l attrList) []elbv2types.TargetGroupAttribute {
	out := []elbv2types.TargetGroupAttribute{}
	for _, kv := range l {
		out = append(out, elbv2types.TargetGroupAttribute{Key: ptr(kv[0]), Value: ptr(kv[1])})
	}
	return out
}

func (s *Server) v2ModifyTGAttributes(in *elbv2.ModifyTargetGroupAttributesInput) (*elbv2.ModifyTargetGroupAttributesOutput, error) {
	tg, err := s.v2tg(in.TargetGroupArn)
	if err != nil {
		return nil, err
	}
	var changes attrList
	for _, a := range in.Attributes {
		changes = append(changes, [2]string{deref(a.Key), deref(a.Value)})
	}
	next, err := tg.attrs.modify(changes, "Target group")
	if err != nil {
		return nil, err
	}
	if d, err := strconv.Atoi(next.get("deregistration_delay.timeout_seconds")); err != nil || d < 0 || d > 3600 {
		return nil, errValidation("deregistration_delay.timeout_seconds must be between 0 and 3600")
	}
	if next.get("preserve_client_ip.enabled") == "false" && (tg.tg.Protocol == elbv2types.ProtocolEnumUdp || tg.tg.Protocol == elbv2types.ProtocolEnumTcpUdp) {
		return nil, bad("InvalidConfigurationRequest", "Client IP preservation cannot be disabled for UDP and TCP_UDP target groups")
	}
	tg.attrs = next
	return &elbv2.ModifyTargetGroupAttributesOutput{Attributes: tgAttributes(next)}, nil
}

func targetKey(t elbv2types.TargetDescription, defPort int32) string {
	port := deref(t.Port)
	if t.Port == nil {
		port = defPort
	}
	return deref(t.Id) + ":" + strconv.Itoa(int(port))
}

func (s *Server) v2RegisterTargets(in *elbv2.RegisterTargetsInput) (*elbv2.RegisterTargetsOutput, error) {
	tg, err := s.v2tg(in.TargetGroupArn)
	if err != nil {
		return nil, err
	}
	if err := checkTargets(in.Targets); err != nil {
		return nil, err
	}
	if tg.tg.TargetType == elbv2types.TargetTypeEnumInstance {
		for _, t := range in.Targets {
			inst, ok := s.ec2.instances.get(deref(t.Id))
			if !ok || inst.State.Name != "running" {
				return nil, bad("InvalidTarget", "The following targets are not in a running state and can't be registered: '%s'", deref(t.Id))
			}
			if deref(inst.VpcId) != deref(tg.tg.VpcId) {
				return nil, bad("InvalidTarget", "The following targets are not in the target group VPC '%s': '%s'", deref(tg.tg.VpcId), deref(t.Id))
			}
		}
	}
	have := map[string]bool{}
	for _, t := range tg.targets {
		have[targetKey(t, 0)] = true
	}
	for _, t := range in.Targets {
		if t.Port == nil {
			t.Port = tg.tg.Port
		}
		if have[targetKey(t, 0)] {
			continue
		}
		have[targetKey(t, 0)] = true
		tg.targets = append(tg.targets, elbv2types.TargetDescription{Id: t.Id, Port: t.Port, AvailabilityZone: t.AvailabilityZone})
	}
	if len(tg.targets) > 1000 {
		return nil, bad("TooManyTargets", "You've reached the limit on the number of targets registered to a target group")
	}
	return &elbv2.RegisterTargetsOutput{}, nil
}

func (s *Server) v2DeregisterTargets(in *elbv2.DeregisterTargetsInput) (*elbv2.DeregisterTargetsOutput, error) {
	defer s.noteEmptied("DeregisterTargets", s.backendCounts())
	tg, err := s.v2tg(in.TargetGroupArn)
	if err != nil {
		return nil, err
	}
	if err := checkTargets(in.Targets); err != nil {
		return nil, err
	}
	drop := map[string]bool{}
	for _, t := range in.Targets {
		k := targetKey(t, deref(tg.tg.Port))
		found := false
		for _, have := range tg.targets {
			found = found || targetKey(have, 0) == k
		}
		if !found {
			return nil, bad("InvalidTarget", "The following targets are not registered in target group '%s': '%s'", *tg.tg.TargetGroupArn, deref(t.Id))
		}
		drop[k] = true
	}
	kept := tg.targets[:0:0]
	for _, t := range tg.targets {
		if !drop[targetKey(t, 0)] {
			kept = append(kept, t)
		}
	}
	tg.targets = kept
	return &elbv2.DeregisterTargetsOutput{}, nil
}

func (s *Server) v2DescribeTargetHealth(in *elbv2.DescribeTargetHealthInput) (*elbv2.DescribeTargetHealthOutput, error) {
	tg, err := s.v2tg(in.TargetGroupArn)
	if err != nil {
		return nil, err
	}
	targets := tg.targets
	if len(in.Targets) > 0 {
		targets = in.Targets
	}
	out := &elbv2.DescribeTargetHealthOutput{TargetHealthDescriptions: []elbv2types.TargetHealthDescription{}}
	for _, t := range targets {
		if t.Port == nil {
			t.Port = tg.tg.Port
		}
		registered := false
		for _, have := range tg.targets {
			registered = registered || targetKey(have, 0) == targetKey(t, 0)
		}
		hcPort := deref(tg.tg.HealthCheckPort)
		if hcPort == "traffic-port" {
			hcPort = strconv.Itoa(int(deref(t.Port)))
		}
		health := &elbv2types.TargetHealth{State: elbv2types.TargetHealthStateEnumHealthy}
		inst, ok := s.ec2.instances.get(deref(t.Id))
		switch {
		case !registered:
			health = &elbv2types.TargetHealth{State: elbv2types.TargetHealthStateEnumUnused, Reason: elbv2types.TargetHealthReasonEnumNotRegistered, Description: ptr("Target is not registered to the target group")}
		case len(tg.tg.LoadBalancerArns) == 0:
			health = &elbv2types.TargetHealth{State: elbv2types.TargetHealthStateEnumUnused, Reason: elbv2types.TargetHealthReasonEnumNotInUse, Description: ptr("Target group is not configured to receive traffic from the load balancer")}
		case tg.tg.TargetType == elbv2types.TargetTypeEnumInstance && (!ok || inst.State.Name != "running"):
			health = &elbv2types.TargetHealth{State: elbv2types.TargetHealthStateEnumUnhealthy, Reason: elbv2types.TargetHealthReasonEnumInvalidState, Description: ptr("Target is in the stopped or terminated state")}
		}
		out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, elbv2types.TargetHealthDescription{
			Target: &elbv2types.TargetDescription{Id: t.Id, Port: t.Port}, HealthCheckPort: ptr(hcPort), TargetHealth: health,
		})
	}
	return out, nil
}

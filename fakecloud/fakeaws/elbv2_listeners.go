package fakeaws

import (
	"fmt"
	"strings"

	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// forwardTargets lists the target groups the actions forward to.
func forwardTargets(actions []elbv2types.Action) []string {
	var out []string
	for _, a := range actions {
		if a.TargetGroupArn != nil {
			out = append(out, *a.TargetGroupArn)
		}
		if a.ForwardConfig != nil {
			for _, t := range a.ForwardConfig.TargetGroups {
				if t.TargetGroupArn != nil && !contains(out, *t.TargetGroupArn) {
					out = append(out, *t.TargetGroupArn)
				}
			}
		}
	}
	return out
}

// checkActions validates default actions for lb and returns them in AWS's echoed form.
func (s *Server) checkActions(lb *v2LB, actions []elbv2types.Action) ([]elbv2types.Action, error) {
	if len(actions) == 0 {
		return nil, errRequired("defaultActions")
	}
	var out []elbv2types.Action
	for _, a := range actions {
		if a.Type != elbv2types.ActionTypeEnumForward {
			if lb.lb.Type == elbv2types.LoadBalancerTypeEnumNetwork {
				return nil, bad("InvalidLoadBalancerAction", "Network Load Balancers support only forward actions")
			}
			out = append(out, a)
			continue
		}
		arns := forwardTargets([]elbv2types.Action{a})
		if len(arns) == 0 {
			return nil, bad("InvalidLoadBalancerAction", "A forward action must specify a target group")
		}
		for _, arn := range arns {
			tg, ok := s.elbv2.tgs.get(arn)
			if !ok {
				return nil, errTGNotFound(arn)
			}
			if deref(tg.tg.VpcId) != deref(lb.lb.VpcId) {
				return nil, bad("InvalidConfigurationRequest", "Target group '%s' is not in the load balancer's VPC", arn)
			}
			for _, other := range tg.tg.LoadBalancerArns {
				if other != *lb.lb.LoadBalancerArn && lb.lb.Type == elbv2types.LoadBalancerTypeEnumNetwork {
					return nil, bad("TargetGroupAssociationLimit", "The following target groups cannot be associated with more than one load balancer: '%s'", arn)
				}
			}
		}
		echo := elbv2types.Action{Type: elbv2types.ActionTypeEnumForward, Order: a.Order, ForwardConfig: &elbv2types.ForwardActionConfig{
			TargetGroupStickinessConfig: &elbv2types.TargetGroupStickinessConfig{Enabled: ptr(false)},
		}}
		if len(arns) == 1 {
			echo.TargetGroupArn = ptr(arns[0])
		}
		for _, arn := range arns {
			// Weights are echoed as given (AWS's default is 1); an NLB takes 0 to 999, 0
			// keeping a group attached (health-checked) without traffic.
			w := int32(1)
			if a.ForwardConfig != nil {
				for _, t := range a.ForwardConfig.TargetGroups {
					if deref(t.TargetGroupArn) == arn && t.Weight != nil {
						w = *t.Weight
					}
				}
			}
			if w < 0 || w > 999 {
				return nil, errValidation("Target group weight must be between 0 and 999")
			}
			echo.ForwardConfig.TargetGroups = append(echo.ForwardConfig.TargetGroups, elbv2types.TargetGroupTuple{TargetGroupArn: ptr(arn), Weight: ptr(w)})
		}
		out = append(out, echo)
	}
	return out, nil
}

// relink recomputes every target group's LoadBalancerArns from the listeners.
func (s *Server) relink() {
	linked := s.linkedGroups()
	defer s.markReleased(linked)
	for _, tg := range s.elbv2.tgs.list() {
		tg.tg.LoadBalancerArns = []string{}
	}
	for _, l := range s.elbv2.listeners.list() {
		for _, arn := range forwardTargets(l.DefaultActions) {
			if tg, ok := s.elbv2.tgs.get(arn); ok && !contains(tg.tg.LoadBalancerArns, *l.LoadBalancerArn) {
				tg.tg.LoadBalancerArns = append(tg.tg.LoadBalancerArns, *l.LoadBalancerArn)
			}
		}
	}
}

// defaultSSLPolicy is what AWS sets on a TLS listener created without one.
const defaultSSLPolicy = "ELBSecurityPolicy-2016-08"

func (s *Server) checkListenerProtocol(lb *v2LB, proto elbv2types.ProtocolEnum, port *int32, certs []elbv2types.Certificate) error {
	if lb.lb.Type == elbv2types.LoadBalancerTypeEnumNetwork {
		switch proto {
		case elbv2types.ProtocolEnumTcp, elbv2types.ProtocolEnumUdp, elbv2types.ProtocolEnumTls, elbv2types.ProtocolEnumTcpUdp:
		default:
			return bad("UnsupportedProtocol", "Protocol '%s' is not supported by Network Load Balancers", proto)
		}
	}
	if port == nil || *port < 1 || *port > 65535 {
		return errValidation("A listener port between 1 and 65535 must be specified")
	}
	if (proto == elbv2types.ProtocolEnumTls || proto == elbv2types.ProtocolEnumHttps) && len(certs) == 0 {
		return errValidation("A certificate must be specified for %s listeners", proto)
	}
	if proto == elbv2types.ProtocolEnumTls || proto == elbv2types.ProtocolEnumHttps {
		for _, c := range certs {
			if err := s.checkCertificates(deref(c.CertificateArn)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Server) v2CreateListener(in *elbv2.CreateListenerInput) (*elbv2.CreateListenerOutput, error) {
	if err := checkELBTags(elbv2Tags(in.Tags), in.Tags != nil, false); err != nil {
		return nil, err
	}
	lb, err := s.v2lb(in.LoadBalancerArn)
	if err != nil {
		return nil, err
	}
	if err := s.checkListenerProtocol(lb, in.Protocol, in.Port, in.Certificates); err != nil {
		return nil, err
	}
	if err := checkALPN(in.Protocol, in.AlpnPolicy); err != nil {
		return nil, err
	}
	actions, err := s.checkActions(lb, in.DefaultActions)
	if err != nil {
		return nil, err
	}
	for _, l := range s.listenersOf(*lb.lb.LoadBalancerArn) {
		if deref(l.Port) != *in.Port {
			continue
		}
		if l.Protocol == in.Protocol && fmt.Sprint(forwardTargets(l.DefaultActions)) == fmt.Sprint(forwardTargets(actions)) {
			return &elbv2.CreateListenerOutput{Listeners: []elbv2types.Listener{*l}}, nil
		}
		return nil, bad("DuplicateListener", "A listener already exists on this port for this load balancer '%s'", *lb.lb.LoadBalancerArn)
	}
	if len(s.listenersOf(*lb.lb.LoadBalancerArn)) >= 50 {
		return nil, bad("TooManyListeners", "You've reached the limit on the number of listeners per load balancer")
	}
	// listener/net/<lb name>/<lb id>/<listener id>
	lbPath := strings.SplitN(*lb.lb.LoadBalancerArn, ":loadbalancer/", 2)[1]
	arn := s.arn("listener/" + lbPath + "/" + s.hex16())
	l := &elbv2types.Listener{
		ListenerArn:     ptr(arn),
		LoadBalancerArn: lb.lb.LoadBalancerArn,
		Port:            in.Port,
		Protocol:        in.Protocol,
		DefaultActions:  actions,
		Certificates:    in.Certificates,
		SslPolicy:       in.SslPolicy,
		AlpnPolicy:      in.AlpnPolicy,
	}
	if in.Protocol == elbv2types.ProtocolEnumTls && l.SslPolicy == nil {
		l.SslPolicy = ptr(defaultSSLPolicy)
	}
	if in.Protocol != elbv2types.ProtocolEnumTls && in.Protocol != elbv2types.ProtocolEnumHttps {
		l.SslPolicy, l.Certificates = nil, nil
	}
	s.elbv2.listeners.put(arn, l)
	s.elbv2.tags[arn] = append([]elbv2types.Tag{}, in.Tags...)
	s.relink()
	return &elbv2.CreateListenerOutput{Listeners: []elbv2types.Listener{*l}}, nil
}

func (s *Server) listener(arn *string) (*elbv2types.Listener, error) {
	l, ok := s.elbv2.listeners.get(deref(arn))
	if !ok {
		return nil, bad("ListenerNotFound", "One or more listeners not found")
	}
	return l, nil
}

func (s *Server) v2DescribeListeners(in *elbv2.DescribeListenersInput) (*elbv2.DescribeListenersOutput, error) {
	var all []elbv2types.Listener
	switch {
	case len(in.ListenerArns) > 0:
		for _, arn := range in.ListenerArns {
			l, err := s.listener(ptr(arn))
			if err != nil {
				return nil, err
			}
			all = append(all, *l)
		}
	case in.LoadBalancerArn != nil:
		if _, err := s.v2lb(in.LoadBalancerArn); err != nil {
			return nil, err
		}
		for _, l := range s.listenersOf(*in.LoadBalancerArn) {
			all = append(all, *l)
		}
	default:
		return nil, errValidation("You must specify either listener ARNs or a load balancer ARN")
	}
	start, end, next, err := v2page(len(all), in.Marker, in.PageSize)
	if err != nil {
		return nil, err
	}
	return &elbv2.DescribeListenersOutput{Listeners: all[start:end], NextMarker: next}, nil
}

func (s *Server) v2ModifyListener(in *elbv2.ModifyListenerInput) (*elbv2.ModifyListenerOutput, error) {
	defer s.noteEmptied("ModifyListener", s.backendCounts())
	l, err := s.listener(in.ListenerArn)
	if err != nil {
		return nil, err
	}
	lb, _ := s.elbv2.lbs.get(*l.LoadBalancerArn)
	next := *l
	if in.Port != nil {
		for _, other := range s.listenersOf(*l.LoadBalancerArn) {
			if *other.ListenerArn != *l.ListenerArn && deref(other.Port) == *in.Port {
				return nil, bad("DuplicateListener", "A listener already exists on port %d for this load balancer", *in.Port)
			}
		}
		next.Port = ptr(*in.Port)
	}
	if in.Protocol != "" {
		next.Protocol = in.Protocol
	}
	if in.Certificates != nil {
		next.Certificates = in.Certificates
	}
	if in.SslPolicy != nil {
		next.SslPolicy = in.SslPolicy
	}
	if in.AlpnPolicy != nil {
		next.AlpnPolicy = in.AlpnPolicy
	}
	if next.Protocol != elbv2types.ProtocolEnumTls && next.Protocol != elbv2types.ProtocolEnumHttps {
		next.SslPolicy, next.Certificates = nil, nil
	} else if next.SslPolicy == nil {
		next.SslPolicy = ptr(defaultSSLPolicy)
	}
	if err := s.checkListenerProtocol(lb, next.Protocol, next.Port, next.Certificates); err != nil {
		return nil, err
	}
	if next.Protocol != elbv2types.ProtocolEnumTls && in.AlpnPolicy == nil {
		next.AlpnPolicy = nil // leaving TLS drops the policy
	}
	if err := checkALPN(next.Protocol, next.AlpnPolicy); err != nil {
		return nil, err
	}
	if in.DefaultActions != nil {
		actions, err := s.checkActions(lb, in.DefaultActions)
		if err != nil {
			return nil, err
		}
		next.DefaultActions = actions
	}
	*l = next
	s.relink()
	return &elbv2.ModifyListenerOutput{Listeners: []elbv2types.Listener{next}}, nil
}

func (s *Server) v2DeleteListener(in *elbv2.DeleteListenerInput) (*elbv2.DeleteListenerOutput, error) {
	l, err := s.listener(in.ListenerArn)
	if err != nil {
		return nil, err
	}
	s.elbv2.listeners.del(*l.ListenerArn)
	delete(s.elbv2.tags, *l.ListenerArn)
	s.relink()
	return &elbv2.DeleteListenerOutput{}, nil
}

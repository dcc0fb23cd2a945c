package fakeaws

import (
	"net/http"
	"sort"

	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
)

// Attributes, policies and tags of Classic Load Balancers.

func (s *Server) elbDescribeAttributes(in *elb.DescribeLoadBalancerAttributesInput) (*elb.DescribeLoadBalancerAttributesOutput, error) {
	lb, err := s.classic(in.LoadBalancerName)
	if err != nil {
		return nil, err
	}
	a := lb.attrs
	return &elb.DescribeLoadBalancerAttributesOutput{LoadBalancerAttributes: &a}, nil
}

func (s *Server) elbModifyAttributes(in *elb.ModifyLoadBalancerAttributesInput) (*elb.ModifyLoadBalancerAttributesOutput, error) {
	lb, err := s.classic(in.LoadBalancerName)
	if err != nil {
		return nil, err
	}
	want := in.LoadBalancerAttributes
	if want == nil {
		return nil, errRequired("loadBalancerAttributes")
	}
	if cs := want.ConnectionSettings; cs != nil && (deref(cs.IdleTimeout) < 1 || deref(cs.IdleTimeout) > 4000) {
		return nil, errValidation("IdleTimeout must be between 1 and 4000")
	}
	if cd := want.ConnectionDraining; cd != nil && cd.Timeout != nil && (*cd.Timeout < 1 || *cd.Timeout > 3600) {
		return nil, errValidation("ConnectionDraining Timeout must be between 1 and 3600")
	}
	if al := want.AccessLog; al != nil && al.Enabled {
		if deref(al.S3BucketName) == "" {
			return nil, bad("InvalidConfigurationRequest", "S3BucketName is required when access logs are enabled")
		}
		if al.EmitInterval != nil && *al.EmitInterval != 5 && *al.EmitInterval != 60 {
			return nil, errValidation("EmitInterval must be 5 or 60")
		}
	}
	if want.AccessLog != nil {
		v := *want.AccessLog
		lb.attrs.AccessLog = &v
	}
	if want.ConnectionDraining != nil {
		v := *want.ConnectionDraining
		if v.Timeout == nil {
			v.Timeout = lb.attrs.ConnectionDraining.Timeout
		}
		lb.attrs.ConnectionDraining = &v
	}
	if want.ConnectionSettings != nil {
		v := *want.ConnectionSettings
		lb.attrs.ConnectionSettings = &v
	}
	if want.CrossZoneLoadBalancing != nil {
		v := *want.CrossZoneLoadBalancing
		lb.attrs.CrossZoneLoadBalancing = &v
	}
	if want.AdditionalAttributes != nil {
		lb.attrs.AdditionalAttributes = append([]elbtypes.AdditionalAttribute{}, want.AdditionalAttributes...)
	}
	a := lb.attrs
	return &elb.ModifyLoadBalancerAttributesOutput{LoadBalancerName: lb.desc.LoadBalancerName, LoadBalancerAttributes: &a}, nil
}

// policyTypes are the policy types the fake accepts.
var policyTypes = map[string]bool{
	"ProxyProtocolPolicyType": true, "SSLNegotiationPolicyType": true, "BackendServerAuthenticationPolicyType": true,
	"PublicKeyPolicyType": true, "AppCookieStickinessPolicyType": true, "LBCookieStickinessPolicyType": true,
}

func (s *Server) elbCreatePolicy(in *elb.CreateLoadBalancerPolicyInput) (*elb.CreateLoadBalancerPolicyOutput, error) {
	lb, err := s.classic(in.LoadBalancerName)
	if err != nil {
		return nil, err
	}
	name := deref(in.PolicyName)
	if name == "" {
		return nil, errRequired("policyName")
	}
	if !policyTypes[deref(in.PolicyTypeName)] {
		return nil, bad("PolicyTypeNotFound", "There is no policy type with name '%s'", deref(in.PolicyTypeName))
	}
	for _, p := range lb.policies {
		if *p.PolicyName == name {
			return nil, bad("DuplicatePolicyName", "Policy with the same name exists for this LoadBalancer. Please choose another name.")
		}
	}
	pd := elbtypes.PolicyDescription{PolicyName: ptr(name), PolicyTypeName: in.PolicyTypeName, PolicyAttributeDescriptions: []elbtypes.PolicyAttributeDescription{}}
	for _, a := range in.PolicyAttributes {
		pd.PolicyAttributeDescriptions = append(pd.PolicyAttributeDescriptions, elbtypes.PolicyAttributeDescription{AttributeName: a.AttributeName, AttributeValue: a.AttributeValue})
	}
	lb.policies = append(lb.policies, pd)
	lb.desc.Policies.OtherPolicies = append(lb.desc.Policies.OtherPolicies, name)
	return &elb.CreateLoadBalancerPolicyOutput{}, nil
}

func (s *Server) elbDeletePolicy(in *elb.DeleteLoadBalancerPolicyInput) (*elb.DeleteLoadBalancerPolicyOutput, error) {
	lb, err := s.classic(in.LoadBalancerName)
	if err != nil {
		return nil, err
	}
	name := deref(in.PolicyName)
	for _, ld := range lb.desc.ListenerDescriptions {
		if contains(ld.PolicyNames, name) {
			return nil, bad("InvalidConfigurationRequest", "Policy %s is in use by a listener", name)
		}
	}
	for _, b := range lb.desc.BackendServerDescriptions {
		if contains(b.PolicyNames, name) {
			return nil, bad("InvalidConfigurationRequest", "Policy %s is in use by a backend server", name)
		}
	}
	kept := lb.policies[:0:0]
	for _, p := range lb.policies {
		if *p.PolicyName != name {
			kept = append(kept, p)
		}
	}
	lb.policies = kept
	lb.desc.Policies.OtherPolicies = without(lb.desc.Policies.OtherPolicies, name)
	return &elb.DeleteLoadBalancerPolicyOutput{}, nil
}

func without(list []string, s string) []string {
	out := []string{}
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

func (s *Server) elbDescribePolicies(in *elb.DescribeLoadBalancerPoliciesInput) (*elb.DescribeLoadBalancerPoliciesOutput, error) {
	out := &elb.DescribeLoadBalancerPoliciesOutput{PolicyDescriptions: []elbtypes.PolicyDescription{}}
	if deref(in.LoadBalancerName) == "" {
		// Without a load balancer AWS lists its sample policies; the fake has none.
		if len(in.PolicyNames) > 0 {
			return nil, bad("PolicyNotFound", "One or more specified policies were not found.")
		}
		return out, nil
	}
	lb, err := s.classic(in.LoadBalancerName)
	if err != nil {
		return nil, err
	}
	if err := s.requirePolicies(lb, in.PolicyNames); err != nil {
		return nil, err
	}
	for _, p := range lb.policies {
		if len(in.PolicyNames) == 0 || contains(in.PolicyNames, *p.PolicyName) {
			out.PolicyDescriptions = append(out.PolicyDescriptions, p)
		}
	}
	return out, nil
}

// requirePolicies returns PolicyNotFound for the first name lb has no policy of.
func (s *Server) requirePolicies(lb *classicLB, names []string) error {
	for _, name := range names {
		if s.policy(lb, name) == nil {
			return bad("PolicyNotFound", "There is no policy with name %s for load balancer %s", name, *lb.desc.LoadBalancerName)
		}
	}
	return nil
}

func (s *Server) policy(lb *classicLB, name string) *elbtypes.PolicyDescription {
	for i := range lb.policies {
		if *lb.policies[i].PolicyName == name {
			return &lb.policies[i]
		}
	}
	return nil
}

func (s *Server) elbSetPoliciesOfListener(in *elb.SetLoadBalancerPoliciesOfListenerInput) (*elb.SetLoadBalancerPoliciesOfListenerOutput, error) {
	lb, err := s.classic(in.LoadBalancerName)
	if err != nil {
		return nil, err
	}
	if err := s.requirePolicies(lb, in.PolicyNames); err != nil {
		return nil, err
	}
	for i, ld := range lb.desc.ListenerDescriptions {
		if ld.Listener.LoadBalancerPort == in.LoadBalancerPort {
			lb.desc.ListenerDescriptions[i].PolicyNames = append([]string{}, in.PolicyNames...)
			return &elb.SetLoadBalancerPoliciesOfListenerOutput{}, nil
		}
	}
	return nil, bad("ListenerNotFound", "There is no listener on port %d for load balancer %s", in.LoadBalancerPort, *lb.desc.LoadBalancerName)
}

func (s *Server) elbSetPoliciesForBackend(in *elb.SetLoadBalancerPoliciesForBackendServerInput) (*elb.SetLoadBalancerPoliciesForBackendServerOutput, error) {
	lb, err := s.classic(in.LoadBalancerName)
	if err != nil {
		return nil, err
	}
	if err := s.requirePolicies(lb, in.PolicyNames); err != nil {
		return nil, err
	}
	port := deref(in.InstancePort)
	kept := []elbtypes.BackendServerDescription{}
	for _, b := range lb.desc.BackendServerDescriptions {
		if deref(b.InstancePort) != port {
			kept = append(kept, b)
		}
	}
	if len(in.PolicyNames) > 0 {
		kept = append(kept, elbtypes.BackendServerDescription{InstancePort: ptr(port), PolicyNames: append([]string{}, in.PolicyNames...)})
		sort.Slice(kept, func(i, j int) bool { return deref(kept[i].InstancePort) < deref(kept[j].InstancePort) })
	}
	lb.desc.BackendServerDescriptions = kept
	return &elb.SetLoadBalancerPoliciesForBackendServerOutput{}, nil
}

func (s *Server) classics(names []string) ([]*classicLB, error) {
	if len(names) == 0 {
		return nil, errRequired("loadBalancerNames")
	}
	var out []*classicLB
	for _, n := range names {
		lb, ok := s.elb.lbs.get(n)
		if !ok {
			return nil, errLBNotFound(n)
		}
		out = append(out, lb)
	}
	return out, nil
}

func (s *Server) elbAddTags(in *elb.AddTagsInput) (*elb.AddTagsOutput, error) {
	if err := checkTagNames(in.LoadBalancerNames, 1); err != nil {
		return nil, err
	}
	if err := checkELBTags(elbTags(in.Tags), in.Tags != nil, true); err != nil {
		return nil, err
	}
	lbs, err := s.classics(in.LoadBalancerNames)
	if err != nil {
		return nil, err
	}
	for _, lb := range lbs {
		for _, t := range in.Tags {
			replaced := false
			for i := range lb.tags {
				if deref(lb.tags[i].Key) == deref(t.Key) {
					lb.tags[i].Value, replaced = t.Value, true
				}
			}
			if !replaced {
				lb.tags = append(lb.tags, t)
			}
		}
		if len(lb.tags) > 50 {
			return nil, errf(http.StatusBadRequest, "TooManyTags", "The quota for the number of tags that can be assigned to a load balancer has been reached.")
		}
	}
	return &elb.AddTagsOutput{}, nil
}

func (s *Server) elbRemoveTags(in *elb.RemoveTagsInput) (*elb.RemoveTagsOutput, error) {
	if err := checkTagNames(in.LoadBalancerNames, 1); err != nil {
		return nil, err
	}
	if len(in.Tags) == 0 {
		if in.Tags == nil {
			return nil, errRequired("tags")
		}
		return nil, errTooFew("tags", 1)
	}
	lbs, err := s.classics(in.LoadBalancerNames)
	if err != nil {
		return nil, err
	}
	for _, lb := range lbs {
		kept := []elbtypes.Tag{}
		for _, t := range lb.tags {
			drop := false
			for _, k := range in.Tags {
				drop = drop || deref(k.Key) == deref(t.Key)
			}
			if !drop {
				kept = append(kept, t)
			}
		}
		lb.tags = kept
	}
	return &elb.RemoveTagsOutput{}, nil
}

func (s *Server) elbDescribeTags(in *elb.DescribeTagsInput) (*elb.DescribeTagsOutput, error) {
	if err := checkTagNames(in.LoadBalancerNames, 20); err != nil {
		return nil, err
	}
	lbs, err := s.classics(in.LoadBalancerNames)
	if err != nil {
		return nil, err
	}
	out := &elb.DescribeTagsOutput{TagDescriptions: []elbtypes.TagDescription{}}
	for _, lb := range lbs {
		out.TagDescriptions = append(out.TagDescriptions, elbtypes.TagDescription{LoadBalancerName: lb.desc.LoadBalancerName, Tags: append([]elbtypes.Tag{}, lb.tags...)})
	}
	return out, nil
}

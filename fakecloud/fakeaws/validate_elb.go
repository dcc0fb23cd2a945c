package fakeaws

import (
	"fmt"
	"net/http"
	"sort"

	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
)

// Classic ELB checks; VALIDATIONS.md cites their sources.

// elbOp adapts a Classic ELB operation and gives its errors Classic's HTTP statuses: the
// 2012-06-01 reference documents InvalidConfigurationRequest with 409, where ELBv2 uses 400,
// and the helpers both APIs share write 400.
func elbOp[I, O any](fn func(*Server, *I) (*O, error)) handler {
	h := queryOp(fn)
	return func(s *Server, req *request) (any, error) {
		out, err := h(s, req)
		if ae, ok := err.(*apiError); ok && ae.Code == "InvalidConfigurationRequest" {
			c := *ae
			c.Status = http.StatusConflict
			return nil, &c
		}
		return out, err
	}
}

// classicPortOK is the load balancer port rule of Classic load balancers in a VPC, 1-65535
// (the 25, 80, 443, 465, 587, 1024-65535 list was EC2-Classic's, which the fake does not serve).
func classicPortOK(p int32) bool { return p >= 1 && p <= 65535 }

// checkClassicListeners checks the Listeners parameter of CreateLoadBalancer and
// CreateLoadBalancerListeners: present, not empty, ports in range.
func checkClassicListeners(ls []elbtypes.Listener) error {
	if ls == nil {
		return errRequired("listeners")
	}
	if len(ls) == 0 {
		return errTooFew("listeners", 1)
	}
	for _, l := range ls {
		if l.Protocol == nil {
			return errRequired("listeners.member.protocol")
		}
		if l.InstancePort == nil {
			return errRequired("listeners.member.instancePort")
		}
		if !classicPortOK(l.LoadBalancerPort) {
			return errValidation("LoadBalancerPort %d is not valid: it must be between 1 and 65535", l.LoadBalancerPort)
		}
	}
	return nil
}

// sameClassic reports whether a repeated CreateLoadBalancer asks for what exists. The
// reference does not document the repeat; AWS's DuplicateLoadBalancerName message, "already
// exists and it is configured with different parameters", implies that the same
// parameters succeed, and the fake then answers the existing DNS name. It compares what
// the call sets: scheme, subnets, security groups (with the VPC default filled in) and
// listeners; tags are not compared.
func sameClassic(have *elbtypes.LoadBalancerDescription, scheme string, subnets, groups []string, listeners []elbtypes.ListenerDescription) bool {
	if deref(have.Scheme) != scheme || !sameSet(have.Subnets, subnets) || !sameSet(have.SecurityGroups, groups) {
		return false
	}
	key := func(lds []elbtypes.ListenerDescription) []string {
		var out []string
		for _, ld := range lds {
			l := ld.Listener
			out = append(out, fmt.Sprintf("%s:%d>%s:%d:%s", deref(l.Protocol), l.LoadBalancerPort, deref(l.InstanceProtocol), deref(l.InstancePort), deref(l.SSLCertificateId)))
		}
		return out
	}
	return sameSet(key(have.ListenerDescriptions), key(listeners))
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	a, b = append([]string{}, a...), append([]string{}, b...)
	sort.Strings(a)
	sort.Strings(b)
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// healthOf picks the instances DescribeInstanceHealth reports: all registered ones, or the
// asked ones, each of which must be registered (InvalidInstance otherwise).
func healthOf(lb *classicLB, asked []elbtypes.Instance) ([]elbtypes.Instance, error) {
	if len(asked) == 0 {
		return lb.desc.Instances, nil
	}
	for _, a := range asked {
		found := false
		for _, have := range lb.desc.Instances {
			found = found || deref(have.InstanceId) == deref(a.InstanceId)
		}
		if !found {
			return nil, bad("InvalidInstance", "Could not find EC2 instance %s registered with load balancer %s", deref(a.InstanceId), deref(lb.desc.LoadBalancerName))
		}
	}
	return asked, nil
}

// checkTagNames bounds the LoadBalancerNames of the tag operations: AddTags and RemoveTags
// take one load balancer, DescribeTags up to 20.
func checkTagNames(names []string, max int) error {
	if len(names) == 0 {
		return errRequired("loadBalancerNames")
	}
	if len(names) > max {
		return errValidation("1 validation error detected: Value at 'loadBalancerNames' failed to satisfy constraint: Member must have length less than or equal to %d", max)
	}
	return nil
}

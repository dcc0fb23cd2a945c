package fakeaws

import (
	"crypto/sha256"
	"fmt"
	"net/netip"

	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// The fake's subnets carry no IPv6 CIDR blocks, so it does not check that a dualstack load
// balancer's subnets have one, nor that an IPv6 address or a source NAT prefix falls inside
// its subnet; it does enforce the rules between the settings (below).

// checkIPv6Mappings applies AWS's rules for the IPv6 parts of a new load balancer: the
// address type's values, IPv6 addresses only on dualstack, source NAT prefixes only on a
// dualstack Network Load Balancer with EnablePrefixForIpv6SourceNat on.
func checkIPv6Mappings(typ elbv2types.LoadBalancerTypeEnum, ipType elbv2types.IpAddressType, nat elbv2types.EnablePrefixForIpv6SourceNatEnum, mappings []elbv2types.SubnetMapping) error {
	switch ipType {
	case elbv2types.IpAddressTypeIpv4, elbv2types.IpAddressTypeDualstack:
	case elbv2types.IpAddressTypeDualstackWithoutPublicIpv4:
		if typ == elbv2types.LoadBalancerTypeEnumNetwork {
			return errValidation("IP address type '%s' is only supported by Application Load Balancers", ipType)
		}
	default:
		return errValidation("Invalid IP address type '%s'", ipType)
	}
	switch nat {
	case "", elbv2types.EnablePrefixForIpv6SourceNatEnumOff:
	case elbv2types.EnablePrefixForIpv6SourceNatEnumOn:
		if typ != elbv2types.LoadBalancerTypeEnumNetwork || ipType != elbv2types.IpAddressTypeDualstack {
			return errValidation("EnablePrefixForIpv6SourceNat can be 'on' only for a dualstack Network Load Balancer")
		}
	default:
		return errValidation("EnablePrefixForIpv6SourceNat must be 'on' or 'off', not '%s'", nat)
	}
	for _, m := range mappings {
		if a := deref(m.IPv6Address); a != "" {
			ip, err := netip.ParseAddr(a)
			if err != nil || !ip.Is6() || ip.Is4In6() {
				return errValidation("'%s' is not a valid IPv6 address", a)
			}
			if ipType != elbv2types.IpAddressTypeDualstack {
				return bad("InvalidConfigurationRequest", "An IPv6 address can be specified only for a dualstack load balancer")
			}
		}
		if p := deref(m.SourceNatIpv6Prefix); p != "" {
			if nat != elbv2types.EnablePrefixForIpv6SourceNatEnumOn {
				return bad("InvalidConfigurationRequest", "A source NAT IPv6 prefix needs EnablePrefixForIpv6SourceNat 'on'")
			}
			if p == "auto_assigned" {
				continue
			}
			pfx, err := netip.ParsePrefix(p)
			if err != nil || !pfx.Addr().Is6() || pfx.Bits() != 80 {
				return errValidation("Source NAT IPv6 prefix '%s' must be an IPv6 /80 prefix or 'auto_assigned'", p)
			}
		}
	}
	return nil
}

// natPrefix is the source NAT prefix a subnet mapping asked for; for auto_assigned the fake
// derives a stable /80 from the subnet, as AWS assigns one from the subnet's block.
func (s *Server) natPrefix(subnet, asked string) string {
	if asked != "auto_assigned" {
		return asked
	}
	h := sha256.Sum256([]byte(subnet))
	return fmt.Sprintf("2600:1f18:%x:%x%02x::/80", uint16(h[0])<<8|uint16(h[1]), h[2], h[3])
}

func (s *Server) v2SetIPAddressType(in *elbv2.SetIpAddressTypeInput) (*elbv2.SetIpAddressTypeOutput, error) {
	lb, err := s.v2lb(in.LoadBalancerArn)
	if err != nil {
		return nil, err
	}
	if in.IpAddressType == "" {
		return nil, errRequired("ipAddressType")
	}
	if err := checkIPv6Mappings(lb.lb.Type, in.IpAddressType, "", nil); err != nil {
		return nil, err
	}
	// Source NAT prefixes exist only on dualstack NLBs, so they pin the type.
	if in.IpAddressType == elbv2types.IpAddressTypeIpv4 && lb.lb.EnablePrefixForIpv6SourceNat == elbv2types.EnablePrefixForIpv6SourceNatEnumOn {
		return nil, bad("InvalidConfigurationRequest", "You cannot set the IP address type to ipv4 while prefixes for IPv6 source NAT are enabled")
	}
	lb.lb.IpAddressType = in.IpAddressType
	return &elbv2.SetIpAddressTypeOutput{IpAddressType: lb.lb.IpAddressType}, nil
}

// alpnPolicies are the ALPN policy names a TLS listener accepts.
var alpnPolicies = []string{"HTTP1Only", "HTTP2Only", "HTTP2Optional", "HTTP2Preferred", "None"}

// checkALPN applies AWS's rules to a listener's ALPN policy: one known name, and only on a
// TLS listener.
func checkALPN(proto elbv2types.ProtocolEnum, policy []string) error {
	if len(policy) == 0 {
		return nil
	}
	if len(policy) > 1 {
		return errValidation("AlpnPolicy takes one policy name")
	}
	if !contains(alpnPolicies, policy[0]) {
		return errValidation("ALPN policy '%s' is not valid; use one of %v", policy[0], alpnPolicies)
	}
	if proto != elbv2types.ProtocolEnumTls {
		return bad("ALPNPolicyNotFound", "ALPN policies can be set only on TLS listeners, not %s", proto)
	}
	return nil
}

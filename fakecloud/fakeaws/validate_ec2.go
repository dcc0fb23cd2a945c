package fakeaws

import "github.com/aws/aws-sdk-go-v2/service/ec2"

// EC2 checks shared by several operations; VALIDATIONS.md cites their sources.

// checkRunInstances applies RunInstances' rules on the image, the counts and the tags.
func checkRunInstances(in *ec2.RunInstancesInput) error {
	if deref(in.ImageId) == "" && in.LaunchTemplate == nil {
		return errMissing("ImageId")
	}
	if in.MinCount == nil {
		return errMissing("MinCount")
	}
	if in.MaxCount == nil {
		return errMissing("MaxCount")
	}
	min, max := *in.MinCount, *in.MaxCount
	switch {
	case min < 1:
		return bad("InvalidParameterValue", "Value (%d) for parameter minCount is invalid. Expected a positive integer.", min)
	case max < 1:
		return bad("InvalidParameterValue", "Value (%d) for parameter maxCount is invalid. Expected a positive integer.", max)
	case min > max:
		return bad("InvalidParameterValue", "Value (%d) for parameter minCount is invalid. minCount must not exceed maxCount (%d).", min, max)
	}
	return checkTagSpecs(in.TagSpecifications, "instance", "volume", "network-interface", "spot-instances-request", "elastic-gpu")
}

// checkRouteParams requires CreateRoute's destination and exactly one target.
func checkRouteParams(in *ec2.CreateRouteInput) error {
	if deref(in.DestinationCidrBlock) == "" && deref(in.DestinationIpv6CidrBlock) == "" && deref(in.DestinationPrefixListId) == "" {
		return errMissing("DestinationCidrBlock")
	}
	targets := 0
	for _, t := range []*string{in.GatewayId, in.NatGatewayId, in.InstanceId, in.NetworkInterfaceId, in.TransitGatewayId,
		in.VpcPeeringConnectionId, in.EgressOnlyInternetGatewayId, in.LocalGatewayId, in.CarrierGatewayId, in.VpcEndpointId, in.CoreNetworkArn} {
		if deref(t) != "" {
			targets++
		}
	}
	if targets != 1 {
		return bad("InvalidParameterCombination", "The request must contain exactly one of gatewayId, natGatewayId, instanceId, networkInterfaceId, transitGatewayId, vpcPeeringConnectionId, egressOnlyInternetGatewayId, localGatewayId, carrierGatewayId, vpcEndpointId or coreNetworkArn")
	}
	return nil
}

// checkZones answers DescribeAvailabilityZones' unknown zone names and IDs.
func (s *Server) checkZones(names, ids []string) error {
	for _, n := range names {
		if s.zoneIndex(n) < 0 {
			return bad("InvalidParameterValue", "Invalid availability zone: [%s]", n)
		}
	}
	for _, id := range ids {
		found := false
		for i := range s.opts.Zones {
			found = found || s.zoneID(i) == id
		}
		if !found {
			return bad("InvalidParameterValue", "Invalid availability zone ID: [%s]", id)
		}
	}
	return nil
}

// checkRuleIDs answers DescribeSecurityGroupRules' unknown rule IDs.
func (s *Server) checkRuleIDs(ids []string) error {
	for _, id := range ids {
		found := false
		for _, g := range s.ec2.groups.list() {
			for _, r := range append(append([]sgRule{}, g.ingress...), g.egress...) {
				found = found || r.id == id
			}
		}
		if !found {
			return bad("InvalidSecurityGroupRuleId.NotFound", "The security group rule ID '%s' does not exist", id)
		}
	}
	return nil
}

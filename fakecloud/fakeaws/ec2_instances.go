package fakeaws

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

func (s *Server) runInstances(in *ec2.RunInstancesInput) (*ec2.RunInstancesOutput, error) {
	if err := checkRunInstances(in); err != nil {
		return nil, err
	}
	// AWS launches up to MaxCount when capacity allows; the fake always can.
	count := int(*in.MaxCount)
	subnetID := deref(in.SubnetId)
	if subnetID == "" {
		az := ""
		if in.Placement != nil {
			az = deref(in.Placement.AvailabilityZone)
		}
		for _, sn := range s.ec2.subnets.list() {
			if az == "" || *sn.AvailabilityZone == az {
				subnetID = *sn.SubnetId
				break
			}
		}
		if subnetID == "" {
			return nil, bad("VPCIdNotSpecified", "No default VPC for this user. GroupName is only supported for EC2-Classic and default VPC.")
		}
	}
	sn, ok := s.ec2.subnets.get(subnetID)
	if !ok {
		return nil, bad("InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", subnetID)
	}
	groupIDs := in.SecurityGroupIds
	for _, name := range in.SecurityGroups {
		g := s.groupByName(*sn.VpcId, name)
		if g == nil {
			return nil, bad("InvalidGroup.NotFound", "The security group '%s' does not exist in VPC '%s'", name, *sn.VpcId)
		}
		groupIDs = append(groupIDs, g.id)
	}
	if len(groupIDs) == 0 {
		if g := s.groupByName(*sn.VpcId, "default"); g != nil {
			groupIDs = []string{g.id}
		}
	}
	var groups []ec2types.GroupIdentifier
	for _, id := range groupIDs {
		g, ok := s.ec2.groups.get(id)
		if !ok || g.vpcID != *sn.VpcId {
			return nil, bad("InvalidGroup.NotFound", "The security group '%s' does not exist in VPC '%s'", id, *sn.VpcId)
		}
		groups = append(groups, ec2types.GroupIdentifier{GroupId: ptr(g.id), GroupName: ptr(g.name)})
	}
	itype := in.InstanceType
	if itype == "" {
		itype = ec2types.InstanceTypeM1Small
	}
	resID := s.newID("r")
	out := &ec2.RunInstancesOutput{ReservationId: ptr(resID), OwnerId: ptr(s.opts.AccountID), Groups: groups}
	for i := 0; i < count; i++ {
		ip, err := s.nextPrivateIP(sn, i == 0 && in.PrivateIpAddress != nil, deref(in.PrivateIpAddress))
		if err != nil {
			return nil, err
		}
		id := s.newID("i")
		inst := &ec2types.Instance{
			InstanceId:       ptr(id),
			ImageId:          in.ImageId,
			InstanceType:     itype,
			State:            &ec2types.InstanceState{Code: ptr(int32(16)), Name: ec2types.InstanceStateNameRunning},
			SubnetId:         ptr(subnetID),
			VpcId:            sn.VpcId,
			PrivateIpAddress: ptr(ip),
			PrivateDnsName:   ptr(s.privateDNSName(ip)),
			Placement:        &ec2types.Placement{AvailabilityZone: sn.AvailabilityZone, Tenancy: ec2types.TenancyDefault},
			SecurityGroups:   groups,
			Tags:             specTags(in.TagSpecifications, "instance"),
			LaunchTime:       ptr(time.Now().UTC().Truncate(time.Second)),
			AmiLaunchIndex:   ptr(int32(i)),
			Architecture:     ec2types.ArchitectureValuesX8664,
			RootDeviceType:   ec2types.DeviceTypeEbs,
			SourceDestCheck:  ptr(true),
			Hypervisor:       ec2types.HypervisorTypeXen,
		}
		s.ec2.instances.put(id, inst)
		s.ec2.reservation[id] = resID
		out.Instances = append(out.Instances, *inst)
	}
	return out, nil
}

// nextPrivateIP hands out subnet addresses from .10 up, or checks a requested one.
func (s *Server) nextPrivateIP(sn *ec2types.Subnet, want bool, ip string) (string, error) {
	pfx := netip.MustParsePrefix(*sn.CidrBlock)
	if want {
		a, err := netip.ParseAddr(ip)
		if err != nil || !pfx.Contains(a) {
			return "", bad("InvalidParameterValue", "Address %s does not fall within the subnet's address range", ip)
		}
		return ip, nil
	}
	n := s.ec2.nextIP[*sn.SubnetId]
	if n == 0 {
		n = 10
	}
	a := pfx.Addr()
	for i := 0; i < n; i++ {
		a = a.Next()
	}
	if !pfx.Contains(a) {
		return "", bad("InsufficientFreeAddressesInSubnet", "There are not enough free addresses in subnet '%s' to satisfy the requested number of instances.", *sn.SubnetId)
	}
	s.ec2.nextIP[*sn.SubnetId] = n + 1
	return a.String(), nil
}

func (s *Server) privateDNSName(ip string) string {
	host := "ip-" + strings.ReplaceAll(ip, ".", "-")
	if s.opts.Region == "us-east-1" {
		return host + ".ec2.internal"
	}
	return fmt.Sprintf("%s.%s.compute.internal", host, s.opts.Region)
}

func instanceFilter(inst *ec2types.Instance) filterValues {
	return func(name string) ([]string, bool) {
		var vals []string
		switch name {
		case "instance-id":
			return []string{*inst.InstanceId}, true
		case "vpc-id":
			return []string{deref(inst.VpcId)}, true
		case "subnet-id":
			return []string{deref(inst.SubnetId)}, true
		case "instance-state-name":
			return []string{string(inst.State.Name)}, true
		case "instance-state-code":
			return []string{fmt.Sprint(deref(inst.State.Code))}, true
		case "private-dns-name":
			return []string{deref(inst.PrivateDnsName)}, true
		case "private-ip-address":
			return []string{deref(inst.PrivateIpAddress)}, true
		case "availability-zone":
			return []string{deref(inst.Placement.AvailabilityZone)}, true
		case "instance-type":
			return []string{string(inst.InstanceType)}, true
		case "image-id":
			return []string{deref(inst.ImageId)}, true
		case "instance.group-id", "group-id":
			for _, g := range inst.SecurityGroups {
				vals = append(vals, deref(g.GroupId))
			}
			return vals, true
		case "instance.group-name", "group-name":
			for _, g := range inst.SecurityGroups {
				vals = append(vals, deref(g.GroupName))
			}
			return vals, true
		}
		return nil, false
	}
}

func (s *Server) describeInstances(in *ec2.DescribeInstancesInput) (*ec2.DescribeInstancesOutput, error) {
	if len(in.InstanceIds) > 0 && in.MaxResults != nil {
		return nil, bad("InvalidParameterCombination", "The parameter instancesSet cannot be used with the parameter maxResults")
	}
	for _, id := range in.InstanceIds {
		if _, ok := s.ec2.instances.get(id); !ok {
			return nil, bad("InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", id)
		}
	}
	var matched []*ec2types.Instance
	for _, inst := range s.ec2.instances.list() {
		if len(in.InstanceIds) > 0 && !contains(in.InstanceIds, *inst.InstanceId) {
			continue
		}
		ok, err := matchFilters(in.Filters, inst.Tags, instanceFilter(inst))
		if err != nil {
			return nil, err
		}
		if ok {
			matched = append(matched, inst)
		}
	}
	start, end, next, err := page(len(matched), in.MaxResults, in.NextToken, 5, 1000)
	if err != nil {
		return nil, err
	}
	out := &ec2.DescribeInstancesOutput{NextToken: next}
	for _, inst := range matched[start:end] {
		res := s.ec2.reservation[*inst.InstanceId]
		n := len(out.Reservations)
		if n == 0 || *out.Reservations[n-1].ReservationId != res {
			out.Reservations = append(out.Reservations, ec2types.Reservation{ReservationId: ptr(res), OwnerId: ptr(s.opts.AccountID)})
			n++
		}
		out.Reservations[n-1].Instances = append(out.Reservations[n-1].Instances, *inst)
	}
	return out, nil
}

func (s *Server) terminateInstances(in *ec2.TerminateInstancesInput) (*ec2.TerminateInstancesOutput, error) {
	if len(in.InstanceIds) == 0 {
		return nil, errMissing("InstanceId")
	}
	for _, id := range in.InstanceIds {
		if _, ok := s.ec2.instances.get(id); !ok {
			return nil, bad("InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", id)
		}
	}
	out := &ec2.TerminateInstancesOutput{}
	for _, id := range in.InstanceIds {
		inst, _ := s.ec2.instances.get(id)
		prev := *inst.State
		inst.State = &ec2types.InstanceState{Code: ptr(int32(48)), Name: ec2types.InstanceStateNameTerminated}
		out.TerminatingInstances = append(out.TerminatingInstances, ec2types.InstanceStateChange{
			InstanceId: ptr(id), PreviousState: &prev, CurrentState: inst.State,
		})
	}
	return out, nil
}

package fakeaws

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// ec2Handlers lists every EC2 operation the fake serves.
var ec2Handlers = map[string]handler{
	"CreateVpc":                     ec2op((*Server).createVpc),
	"DescribeVpcs":                  ec2op((*Server).describeVpcs),
	"CreateSubnet":                  ec2op((*Server).createSubnet),
	"DescribeSubnets":               ec2op((*Server).describeSubnets),
	"CreateRouteTable":              ec2op((*Server).createRouteTable),
	"CreateRoute":                   ec2op((*Server).createRoute),
	"AssociateRouteTable":           ec2op((*Server).associateRouteTable),
	"DescribeRouteTables":           ec2op((*Server).describeRouteTables),
	"CreateInternetGateway":         ec2op((*Server).createInternetGateway),
	"AttachInternetGateway":         ec2op((*Server).attachInternetGateway),
	"DescribeInternetGateways":      ec2op((*Server).describeInternetGateways),
	"DescribeAvailabilityZones":     ec2op((*Server).describeAvailabilityZones),
	"CreateTags":                    ec2op((*Server).createTags),
	"DeleteTags":                    ec2op((*Server).deleteTags),
	"RunInstances":                  ec2op((*Server).runInstances),
	"DescribeInstances":             ec2op((*Server).describeInstances),
	"TerminateInstances":            ec2op((*Server).terminateInstances),
	"CreateSecurityGroup":           ec2op((*Server).createSecurityGroup),
	"DescribeSecurityGroups":        ec2op((*Server).describeSecurityGroups),
	"DeleteSecurityGroup":           ec2op((*Server).deleteSecurityGroup),
	"AuthorizeSecurityGroupIngress": ec2op((*Server).authorizeSecurityGroupIngress),
	"RevokeSecurityGroupIngress":    ec2op((*Server).revokeSecurityGroupIngress),
	"DescribeSecurityGroupRules":    ec2op((*Server).describeSecurityGroupRules),
}

// ec2op adapts a typed EC2 operation to a handler.
func ec2op[I, O any](fn func(*Server, *I) (*O, error)) handler {
	return func(s *Server, req *request) (any, error) {
		var in I
		decodeInput(req.form, &in, true)
		return fn(s, &in)
	}
}

func (s *Server) createVpc(in *ec2.CreateVpcInput) (*ec2.CreateVpcOutput, error) {
	if in.CidrBlock == nil && in.Ipv4IpamPoolId == nil {
		return nil, bad("MissingParameter", "Either 'cidrBlock' or 'ipv4IpamPoolId' should be provided.")
	}
	if err := checkTagSpecs(in.TagSpecifications, "vpc"); err != nil {
		return nil, err
	}
	cidr := deref(in.CidrBlock)
	pfx, err := netip.ParsePrefix(cidr)
	if err != nil || !pfx.Addr().Is4() || pfx.Bits() < 16 || pfx.Bits() > 28 {
		return nil, bad("InvalidParameterValue", "Value (%s) for parameter cidrBlock is invalid. This is not a valid CIDR block.", cidr)
	}
	id := s.newID("vpc")
	vpc := &ec2types.Vpc{
		VpcId:           ptr(id),
		CidrBlock:       ptr(pfx.Masked().String()),
		State:           ec2types.VpcStateAvailable,
		OwnerId:         ptr(s.opts.AccountID),
		IsDefault:       ptr(false),
		InstanceTenancy: ec2types.TenancyDefault,
		DhcpOptionsId:   ptr("dopt-" + s.hex16()[:8]),
		CidrBlockAssociationSet: []ec2types.VpcCidrBlockAssociation{{
			AssociationId:  ptr(s.newID("vpc-cidr-assoc")),
			CidrBlock:      ptr(pfx.Masked().String()),
			CidrBlockState: &ec2types.VpcCidrBlockState{State: ec2types.VpcCidrBlockStateCodeAssociated},
		}},
		Tags: specTags(in.TagSpecifications, "vpc"),
	}
	s.ec2.vpcs.put(id, vpc)
	// Like AWS, a VPC comes with a main route table and a "default" security group.
	rtb := s.newRouteTable(id)
	rtb.Associations = []ec2types.RouteTableAssociation{{
		Main:                    ptr(true),
		RouteTableAssociationId: ptr(s.newID("rtbassoc")),
		RouteTableId:            rtb.RouteTableId,
		AssociationState:        &ec2types.RouteTableAssociationState{State: ec2types.RouteTableAssociationStateCodeAssociated},
	}}
	s.newSecurityGroup("default", "default VPC security group", id, nil)
	return &ec2.CreateVpcOutput{Vpc: vpc}, nil
}

func (s *Server) vpcExists(id string) error {
	if _, ok := s.ec2.vpcs.get(id); !ok {
		return bad("InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", id)
	}
	return nil
}

func (s *Server) describeVpcs(in *ec2.DescribeVpcsInput) (*ec2.DescribeVpcsOutput, error) {
	var out []ec2types.Vpc
	for _, id := range in.VpcIds {
		if err := s.vpcExists(id); err != nil {
			return nil, err
		}
	}
	for _, v := range s.ec2.vpcs.list() {
		if len(in.VpcIds) > 0 && !contains(in.VpcIds, *v.VpcId) {
			continue
		}
		ok, err := matchFilters(in.Filters, v.Tags, func(name string) ([]string, bool) {
			switch name {
			case "vpc-id":
				return []string{*v.VpcId}, true
			case "cidr", "cidr-block-association.cidr-block":
				return []string{*v.CidrBlock}, true
			case "state":
				return []string{string(v.State)}, true
			case "is-default":
				return []string{"false"}, true
			case "owner-id":
				return []string{*v.OwnerId}, true
			}
			return nil, false
		})
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, *v)
		}
	}
	start, end, next, err := page(len(out), in.MaxResults, in.NextToken, 5, 1000)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeVpcsOutput{Vpcs: out[start:end], NextToken: next}, nil
}

func (s *Server) zoneIndex(name string) int {
	for i, z := range s.opts.Zones {
		if z == name {
			return i
		}
	}
	return -1
}

// zoneID is the AZ ID for zone i: us-east-1 → use1-az1, eu-west-2 → euw2-az1.
func (s *Server) zoneID(i int) string {
	parts := strings.Split(s.opts.Region, "-")
	short := parts[0]
	for _, p := range parts[1:] {
		if p != "" {
			short += p[:1]
		}
	}
	if len(parts) > 1 {
		short = short[:len(short)-1] + parts[len(parts)-1]
	}
	return fmt.Sprintf("%s-az%d", short, i+1)
}

func (s *Server) createSubnet(in *ec2.CreateSubnetInput) (*ec2.CreateSubnetOutput, error) {
	vpcID := deref(in.VpcId)
	if vpcID == "" {
		return nil, errMissing("VpcId")
	}
	if err := s.vpcExists(vpcID); err != nil {
		return nil, err
	}
	if in.CidrBlock == nil && !deref(in.Ipv6Native) {
		return nil, errMissing("CidrBlock")
	}
	if err := checkTagSpecs(in.TagSpecifications, "subnet"); err != nil {
		return nil, err
	}
	vpc, _ := s.ec2.vpcs.get(vpcID)
	cidr := deref(in.CidrBlock)
	pfx, err := netip.ParsePrefix(cidr)
	if err != nil || !pfx.Addr().Is4() {
		return nil, bad("InvalidParameterValue", "Value (%s) for parameter cidrBlock is invalid. This is not a valid CIDR block.", cidr)
	}
	pfx = pfx.Masked()
	vpcPfx := netip.MustParsePrefix(*vpc.CidrBlock)
	if !vpcPfx.Contains(pfx.Addr()) || pfx.Bits() < vpcPfx.Bits() || pfx.Bits() > 28 {
		return nil, bad("InvalidSubnet.Range", "The CIDR '%s' is invalid.", cidr)
	}
	for _, sn := range s.ec2.subnets.list() {
		if *sn.VpcId == vpcID && netip.MustParsePrefix(*sn.CidrBlock).Overlaps(pfx) {
			return nil, bad("InvalidSubnet.Conflict", "The CIDR '%s' conflicts with another subnet", cidr)
		}
	}
	az := deref(in.AvailabilityZone)
	if az == "" {
		az = s.opts.Zones[0]
	}
	zi := s.zoneIndex(az)
	if zi < 0 {
		return nil, bad("InvalidParameterValue", "Value (%s) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: %s.", az, strings.Join(s.opts.Zones, ", "))
	}
	id := s.newID("subnet")
	sn := &ec2types.Subnet{
		SubnetId:                ptr(id),
		VpcId:                   ptr(vpcID),
		CidrBlock:               ptr(pfx.String()),
		AvailabilityZone:        ptr(az),
		AvailabilityZoneId:      ptr(s.zoneID(zi)),
		AvailableIpAddressCount: ptr(int32(1<<(32-pfx.Bits()) - 5)),
		State:                   ec2types.SubnetStateAvailable,
		OwnerId:                 ptr(s.opts.AccountID),
		DefaultForAz:            ptr(false),
		MapPublicIpOnLaunch:     ptr(false),
		SubnetArn:               ptr(fmt.Sprintf("arn:aws:ec2:%s:%s:subnet/%s", s.opts.Region, s.opts.AccountID, id)),
		Tags:                    specTags(in.TagSpecifications, "subnet"),
	}
	s.ec2.subnets.put(id, sn)
	return &ec2.CreateSubnetOutput{Subnet: sn}, nil
}

func (s *Server) describeSubnets(in *ec2.DescribeSubnetsInput) (*ec2.DescribeSubnetsOutput, error) {
	for _, id := range in.SubnetIds {
		if _, ok := s.ec2.subnets.get(id); !ok {
			return nil, bad("InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", id)
		}
	}
	var out []ec2types.Subnet
	for _, sn := range s.ec2.subnets.list() {
		if len(in.SubnetIds) > 0 && !contains(in.SubnetIds, *sn.SubnetId) {
			continue
		}
		ok, err := matchFilters(in.Filters, sn.Tags, func(name string) ([]string, bool) {
			switch name {
			case "vpc-id":
				return []string{*sn.VpcId}, true
			case "subnet-id":
				return []string{*sn.SubnetId}, true
			case "availability-zone":
				return []string{*sn.AvailabilityZone}, true
			case "availability-zone-id":
				return []string{*sn.AvailabilityZoneId}, true
			case "cidr-block", "cidr", "cidrBlock":
				return []string{*sn.CidrBlock}, true
			case "state":
				return []string{string(sn.State)}, true
			case "default-for-az":
				return []string{"false"}, true
			}
			return nil, false
		})
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, *sn)
		}
	}
	start, end, next, err := page(len(out), in.MaxResults, in.NextToken, 5, 1000)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeSubnetsOutput{Subnets: out[start:end], NextToken: next}, nil
}

func (s *Server) newRouteTable(vpcID string) *ec2types.RouteTable {
	vpc, _ := s.ec2.vpcs.get(vpcID)
	id := s.newID("rtb")
	rtb := &ec2types.RouteTable{
		RouteTableId: ptr(id),
		VpcId:        ptr(vpcID),
		OwnerId:      ptr(s.opts.AccountID),
		Routes: []ec2types.Route{{
			DestinationCidrBlock: vpc.CidrBlock,
			GatewayId:            ptr("local"),
			Origin:               ec2types.RouteOriginCreateRouteTable,
			State:                ec2types.RouteStateActive,
		}},
	}
	s.ec2.routeTables.put(id, rtb)
	return rtb
}

func (s *Server) createRouteTable(in *ec2.CreateRouteTableInput) (*ec2.CreateRouteTableOutput, error) {
	if deref(in.VpcId) == "" {
		return nil, errMissing("VpcId")
	}
	if err := checkTagSpecs(in.TagSpecifications, "route-table"); err != nil {
		return nil, err
	}
	if err := s.vpcExists(deref(in.VpcId)); err != nil {
		return nil, err
	}
	rtb := s.newRouteTable(*in.VpcId)
	rtb.Tags = specTags(in.TagSpecifications, "route-table")
	return &ec2.CreateRouteTableOutput{RouteTable: rtb}, nil
}

func (s *Server) routeTable(id string) (*ec2types.RouteTable, error) {
	if id == "" {
		return nil, errMissing("RouteTableId")
	}
	rtb, ok := s.ec2.routeTables.get(id)
	if !ok {
		return nil, bad("InvalidRouteTableID.NotFound", "The routeTable ID '%s' does not exist", id)
	}
	return rtb, nil
}

func (s *Server) createRoute(in *ec2.CreateRouteInput) (*ec2.CreateRouteOutput, error) {
	rtb, err := s.routeTable(deref(in.RouteTableId))
	if err != nil {
		return nil, err
	}
	if err := checkRouteParams(in); err != nil {
		return nil, err
	}
	dst := deref(in.DestinationCidrBlock)
	if _, err := netip.ParsePrefix(dst); err != nil {
		return nil, bad("InvalidParameterValue", "Value (%s) for parameter destinationCidrBlock is invalid.", dst)
	}
	for _, r := range rtb.Routes {
		if deref(r.DestinationCidrBlock) == dst {
			return nil, bad("RouteAlreadyExists", "The route identified by %s already exists.", dst)
		}
	}
	if gw := deref(in.GatewayId); strings.HasPrefix(gw, "igw-") {
		if _, ok := s.ec2.igws.get(gw); !ok {
			return nil, bad("InvalidInternetGatewayID.NotFound", "The internetGateway ID '%s' does not exist", gw)
		}
	}
	rtb.Routes = append(rtb.Routes, ec2types.Route{
		DestinationCidrBlock: ptr(dst),
		GatewayId:            in.GatewayId,
		NatGatewayId:         in.NatGatewayId,
		InstanceId:           in.InstanceId,
		Origin:               ec2types.RouteOriginCreateRoute,
		State:                ec2types.RouteStateActive,
	})
	return &ec2.CreateRouteOutput{Return: ptr(true)}, nil
}

func (s *Server) associateRouteTable(in *ec2.AssociateRouteTableInput) (*ec2.AssociateRouteTableOutput, error) {
	rtb, err := s.routeTable(deref(in.RouteTableId))
	if err != nil {
		return nil, err
	}
	subnetID := deref(in.SubnetId)
	if subnetID == "" && deref(in.GatewayId) == "" {
		return nil, errMissing("SubnetId")
	}
	if _, ok := s.ec2.subnets.get(subnetID); !ok {
		return nil, bad("InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", subnetID)
	}
	for _, other := range s.ec2.routeTables.list() {
		for _, a := range other.Associations {
			if deref(a.SubnetId) == subnetID {
				return nil, bad("Resource.AlreadyAssociated", "the specified association for route table %s conflicts with an existing association", *rtb.RouteTableId)
			}
		}
	}
	assoc := ec2types.RouteTableAssociation{
		Main:                    ptr(false),
		RouteTableAssociationId: ptr(s.newID("rtbassoc")),
		RouteTableId:            rtb.RouteTableId,
		SubnetId:                ptr(subnetID),
		AssociationState:        &ec2types.RouteTableAssociationState{State: ec2types.RouteTableAssociationStateCodeAssociated},
	}
	rtb.Associations = append(rtb.Associations, assoc)
	return &ec2.AssociateRouteTableOutput{AssociationId: assoc.RouteTableAssociationId, AssociationState: assoc.AssociationState}, nil
}

func (s *Server) describeRouteTables(in *ec2.DescribeRouteTablesInput) (*ec2.DescribeRouteTablesOutput, error) {
	for _, id := range in.RouteTableIds {
		if _, ok := s.ec2.routeTables.get(id); !ok {
			return nil, notFoundByID(id)
		}
	}
	var out []ec2types.RouteTable
	for _, rtb := range s.ec2.routeTables.list() {
		if len(in.RouteTableIds) > 0 && !contains(in.RouteTableIds, *rtb.RouteTableId) {
			continue
		}
		ok, err := matchFilters(in.Filters, rtb.Tags, func(name string) ([]string, bool) {
			var vals []string
			switch name {
			case "vpc-id":
				return []string{*rtb.VpcId}, true
			case "route-table-id":
				return []string{*rtb.RouteTableId}, true
			case "association.subnet-id":
				for _, a := range rtb.Associations {
					if a.SubnetId != nil {
						vals = append(vals, *a.SubnetId)
					}
				}
				return vals, true
			case "association.main":
				main := "false"
				for _, a := range rtb.Associations {
					if deref(a.Main) {
						main = "true"
					}
				}
				return []string{main}, true
			case "route.gateway-id":
				for _, r := range rtb.Routes {
					if r.GatewayId != nil {
						vals = append(vals, *r.GatewayId)
					}
				}
				return vals, true
			}
			return nil, false
		})
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, *rtb)
		}
	}
	start, end, next, err := page(len(out), in.MaxResults, in.NextToken, 5, 100)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeRouteTablesOutput{RouteTables: out[start:end], NextToken: next}, nil
}

func (s *Server) createInternetGateway(in *ec2.CreateInternetGatewayInput) (*ec2.CreateInternetGatewayOutput, error) {
	if err := checkTagSpecs(in.TagSpecifications, "internet-gateway"); err != nil {
		return nil, err
	}
	id := s.newID("igw")
	igw := &ec2types.InternetGateway{
		InternetGatewayId: ptr(id),
		OwnerId:           ptr(s.opts.AccountID),
		Tags:              specTags(in.TagSpecifications, "internet-gateway"),
	}
	s.ec2.igws.put(id, igw)
	return &ec2.CreateInternetGatewayOutput{InternetGateway: igw}, nil
}

func (s *Server) attachInternetGateway(in *ec2.AttachInternetGatewayInput) (*ec2.AttachInternetGatewayOutput, error) {
	if deref(in.InternetGatewayId) == "" {
		return nil, errMissing("InternetGatewayId")
	}
	if deref(in.VpcId) == "" {
		return nil, errMissing("VpcId")
	}
	igw, ok := s.ec2.igws.get(deref(in.InternetGatewayId))
	if !ok {
		return nil, bad("InvalidInternetGatewayID.NotFound", "The internetGateway ID '%s' does not exist", deref(in.InternetGatewayId))
	}
	if err := s.vpcExists(deref(in.VpcId)); err != nil {
		return nil, err
	}
	if len(igw.Attachments) > 0 {
		return nil, bad("Resource.AlreadyAssociated", "resource %s is already attached to network %s", *igw.InternetGatewayId, deref(igw.Attachments[0].VpcId))
	}
	igw.Attachments = []ec2types.InternetGatewayAttachment{{VpcId: in.VpcId, State: ec2types.AttachmentStatus("available")}}
	return &ec2.AttachInternetGatewayOutput{}, nil
}

func (s *Server) describeInternetGateways(in *ec2.DescribeInternetGatewaysInput) (*ec2.DescribeInternetGatewaysOutput, error) {
	for _, id := range in.InternetGatewayIds {
		if _, ok := s.ec2.igws.get(id); !ok {
			return nil, notFoundByID(id)
		}
	}
	var out []ec2types.InternetGateway
	for _, igw := range s.ec2.igws.list() {
		if len(in.InternetGatewayIds) > 0 && !contains(in.InternetGatewayIds, *igw.InternetGatewayId) {
			continue
		}
		ok, err := matchFilters(in.Filters, igw.Tags, func(name string) ([]string, bool) {
			switch name {
			case "internet-gateway-id":
				return []string{*igw.InternetGatewayId}, true
			case "attachment.vpc-id":
				var v []string
				for _, a := range igw.Attachments {
					v = append(v, deref(a.VpcId))
				}
				return v, true
			}
			return nil, false
		})
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, *igw)
		}
	}
	return &ec2.DescribeInternetGatewaysOutput{InternetGateways: out}, nil
}

func (s *Server) describeAvailabilityZones(in *ec2.DescribeAvailabilityZonesInput) (*ec2.DescribeAvailabilityZonesOutput, error) {
	if err := s.checkZones(in.ZoneNames, in.ZoneIds); err != nil {
		return nil, err
	}
	var out []ec2types.AvailabilityZone
	for i, z := range s.opts.Zones {
		az := ec2types.AvailabilityZone{
			ZoneName:           ptr(z),
			ZoneId:             ptr(s.zoneID(i)),
			ZoneType:           ptr("availability-zone"),
			State:              ec2types.AvailabilityZoneStateAvailable,
			RegionName:         ptr(s.opts.Region),
			GroupName:          ptr(s.opts.Region),
			NetworkBorderGroup: ptr(s.opts.Region),
			OptInStatus:        ec2types.AvailabilityZoneOptInStatusOptInNotRequired,
		}
		if len(in.ZoneNames) > 0 && !contains(in.ZoneNames, z) {
			continue
		}
		if len(in.ZoneIds) > 0 && !contains(in.ZoneIds, *az.ZoneId) {
			continue
		}
		ok, err := matchFilters(in.Filters, nil, func(name string) ([]string, bool) {
			switch name {
			case "zone-name":
				return []string{z}, true
			case "zone-id":
				return []string{*az.ZoneId}, true
			case "zone-type":
				return []string{"availability-zone"}, true
			case "state":
				return []string{"available"}, true
			case "region-name":
				return []string{s.opts.Region}, true
			}
			return nil, false
		})
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, az)
		}
	}
	return &ec2.DescribeAvailabilityZonesOutput{AvailabilityZones: out}, nil
}

func (s *Server) createTags(in *ec2.CreateTagsInput) (*ec2.CreateTagsOutput, error) {
	if len(in.Resources) == 0 {
		return nil, errMissing("ResourceId")
	}
	if len(in.Tags) == 0 {
		return nil, bad("InvalidParameterValue", "You must specify one or more tags to create")
	}
	if err := checkEC2Tags(in.Tags); err != nil {
		return nil, err
	}
	// Check every ID and the quota first so a failed call changes nothing.
	for _, id := range in.Resources {
		have, ok := s.ec2.tagsOf(id)
		if !ok {
			return nil, notFoundByID(id)
		}
		merged := append([]ec2types.Tag{}, *have...)
		setTags(&merged, in.Tags)
		if len(merged) > maxTags {
			return nil, bad("TagLimitExceeded", "The maximum number of tags per resource (%d) would be exceeded for %s", maxTags, id)
		}
	}
	for _, id := range in.Resources {
		tags, _ := s.ec2.tagsOf(id)
		setTags(tags, in.Tags)
	}
	return &ec2.CreateTagsOutput{}, nil
}

func (s *Server) deleteTags(in *ec2.DeleteTagsInput) (*ec2.DeleteTagsOutput, error) {
	if len(in.Resources) == 0 {
		return nil, errMissing("ResourceId")
	}
	for _, id := range in.Resources {
		if _, ok := s.ec2.tagsOf(id); !ok {
			return nil, notFoundByID(id)
		}
	}
	for _, id := range in.Resources {
		tags, _ := s.ec2.tagsOf(id)
		if len(in.Tags) == 0 {
			*tags = nil
			continue
		}
		removeTags(tags, in.Tags)
	}
	return &ec2.DeleteTagsOutput{}, nil
}

// notFoundByID is the error EC2 gives for an unknown resource ID, by its prefix.
func notFoundByID(id string) *apiError {
	kind, _, _ := strings.Cut(id, "-")
	switch kind {
	case "vpc":
		return bad("InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", id)
	case "subnet":
		return bad("InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", id)
	case "i":
		return bad("InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", id)
	case "sg":
		return bad("InvalidGroup.NotFound", "The security group '%s' does not exist", id)
	case "rtb":
		return bad("InvalidRouteTableID.NotFound", "The routeTable ID '%s' does not exist", id)
	case "igw":
		return bad("InvalidInternetGatewayID.NotFound", "The internetGateway ID '%s' does not exist", id)
	}
	return bad("InvalidID", "The ID '%s' is not valid", id)
}

package fakeaws

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

func tagSpec(kind ec2types.ResourceType, kv ...string) []ec2types.TagSpecification {
	var tags []ec2types.Tag
	for i := 0; i+1 < len(kv); i += 2 {
		tags = append(tags, ec2types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return []ec2types.TagSpecification{{ResourceType: kind, Tags: tags}}
}

// Each case is one request AWS refuses; the fake must refuse it with AWS's code and
// change nothing.
func TestEC2Validation(t *testing.T) {
	t.Parallel()
	c := newFake(t)
	tp := buildTopo(t, c)
	group := func(in *ec2.CreateSecurityGroupInput) error {
		if in.VpcId == nil {
			in.VpcId = aws.String(tp.vpc)
		}
		_, err := c.ec2.CreateSecurityGroup(ctx, in)
		return err
	}
	run := func(in *ec2.RunInstancesInput) error {
		_, err := c.ec2.RunInstances(ctx, in)
		return err
	}
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"security group with a tag specification without tags", func() error {
			return group(&ec2.CreateSecurityGroupInput{GroupName: aws.String("g1"), Description: aws.String("d"), TagSpecifications: tagSpec(ec2types.ResourceTypeSecurityGroup)})
		}, "InvalidParameterValue"},
		{"security group tagged as another resource type", func() error {
			return group(&ec2.CreateSecurityGroupInput{GroupName: aws.String("g2"), Description: aws.String("d"), TagSpecifications: tagSpec(ec2types.ResourceTypeVpc, "k", "v")})
		}, "InvalidParameterValue"},
		{"tag specification without resource type", func() error {
			return group(&ec2.CreateSecurityGroupInput{GroupName: aws.String("g3"), Description: aws.String("d"), TagSpecifications: tagSpec("", "k", "v")})
		}, "InvalidParameterValue"},
		{"resource type twice", func() error {
			specs := append(tagSpec(ec2types.ResourceTypeSecurityGroup, "a", "1"), tagSpec(ec2types.ResourceTypeSecurityGroup, "b", "2")...)
			return group(&ec2.CreateSecurityGroupInput{GroupName: aws.String("g4"), Description: aws.String("d"), TagSpecifications: specs})
		}, "InvalidParameterValue"},
		{"empty tag key", func() error {
			return group(&ec2.CreateSecurityGroupInput{GroupName: aws.String("g5"), Description: aws.String("d"), TagSpecifications: tagSpec(ec2types.ResourceTypeSecurityGroup, "", "v")})
		}, "InvalidParameterValue"},
		{"reserved aws: tag key", func() error {
			return group(&ec2.CreateSecurityGroupInput{GroupName: aws.String("g6"), Description: aws.String("d"), TagSpecifications: tagSpec(ec2types.ResourceTypeSecurityGroup, "aws:x", "v")})
		}, "InvalidParameterValue"},
		{"tag key over 127 characters", func() error {
			return group(&ec2.CreateSecurityGroupInput{GroupName: aws.String("g7"), Description: aws.String("d"), TagSpecifications: tagSpec(ec2types.ResourceTypeSecurityGroup, strings.Repeat("k", 128), "v")})
		}, "InvalidParameterValue"},
		{"vpc with a tag specification without tags", func() error {
			_, err := c.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.1.0.0/16"), TagSpecifications: tagSpec(ec2types.ResourceTypeVpc)})
			return err
		}, "InvalidParameterValue"},
		{"vpc without a CIDR block", func() error {
			_, err := c.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{})
			return err
		}, "MissingParameter"},
		{"subnet with a tag specification without tags", func() error {
			_, err := c.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(tp.vpc), CidrBlock: aws.String("10.0.9.0/24"), TagSpecifications: tagSpec(ec2types.ResourceTypeSubnet)})
			return err
		}, "InvalidParameterValue"},
		{"subnet without a CIDR block", func() error {
			_, err := c.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(tp.vpc)})
			return err
		}, "MissingParameter"},
		{"instances with a tag specification without tags", func() error {
			return run(&ec2.RunInstancesInput{ImageId: aws.String("ami-1"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: aws.String(tp.public), TagSpecifications: tagSpec(ec2types.ResourceTypeInstance)})
		}, "InvalidParameterValue"},
		{"instances without an image", func() error {
			return run(&ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: aws.String(tp.public)})
		}, "MissingParameter"},
		{"instances with MinCount above MaxCount", func() error {
			return run(&ec2.RunInstancesInput{ImageId: aws.String("ami-1"), MinCount: aws.Int32(3), MaxCount: aws.Int32(2), SubnetId: aws.String(tp.public)})
		}, "InvalidParameterValue"},
		{"instances in a security group that does not exist", func() error {
			return run(&ec2.RunInstancesInput{ImageId: aws.String("ami-1"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: aws.String(tp.public), SecurityGroupIds: []string{"sg-00000000000000000"}})
		}, "InvalidGroup.NotFound"},
		{"instances in a subnet that does not exist", func() error {
			return run(&ec2.RunInstancesInput{ImageId: aws.String("ami-1"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: aws.String("subnet-00000000000000000")})
		}, "InvalidSubnetID.NotFound"},
		{"create tags without tags", func() error {
			_, err := c.ec2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{tp.vpc}, Tags: []ec2types.Tag{}})
			return err
		}, "InvalidParameterValue"},
		{"create tags over the quota", func() error {
			var tags []ec2types.Tag
			for i := 0; i < 51; i++ {
				tags = append(tags, ec2types.Tag{Key: aws.String("k" + strings.Repeat("x", i)), Value: aws.String("v")})
			}
			_, err := c.ec2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{tp.vpc}, Tags: tags})
			return err
		}, "TagLimitExceeded"},
		{"delete tags without resources", func() error {
			_, err := c.ec2.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{}})
			return err
		}, "MissingParameter"},
		{"route table without a VPC", func() error {
			_, err := c.ec2.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: aws.String("")})
			return err
		}, "MissingParameter"},
		{"route without a target", func() error {
			rtb := must[*ec2.CreateRouteTableOutput](t)(c.ec2.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: aws.String(tp.vpc)}))
			_, err := c.ec2.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: rtb.RouteTable.RouteTableId, DestinationCidrBlock: aws.String("0.0.0.0/0")})
			return err
		}, "InvalidParameterCombination"},
		{"route tables that do not exist", func() error {
			_, err := c.ec2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{RouteTableIds: []string{"rtb-00000000000000000"}})
			return err
		}, "InvalidRouteTableID.NotFound"},
		{"internet gateways that do not exist", func() error {
			_, err := c.ec2.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{InternetGatewayIds: []string{"igw-00000000000000000"}})
			return err
		}, "InvalidInternetGatewayID.NotFound"},
		{"zones that do not exist", func() error {
			_, err := c.ec2.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{ZoneNames: []string{"us-east-1z"}})
			return err
		}, "InvalidParameterValue"},
		{"security group rules that do not exist", func() error {
			_, err := c.ec2.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{SecurityGroupRuleIds: []string{"sgr-00000000000000000"}})
			return err
		}, "InvalidSecurityGroupRuleId.NotFound"},
		{"ingress without permissions", func() error {
			g := must[*ec2.DescribeSecurityGroupsOutput](t)(c.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{}))
			_, err := c.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: g.SecurityGroups[0].GroupId})
			return err
		}, "MissingParameter"},
		{"terminate without instances", func() error {
			_, err := c.ec2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{}})
			return err
		}, "MissingParameter"},
		{"duplicate security group", func() error {
			if err := group(&ec2.CreateSecurityGroupInput{GroupName: aws.String("dup"), Description: aws.String("d")}); err != nil {
				return err
			}
			return group(&ec2.CreateSecurityGroupInput{GroupName: aws.String("dup"), Description: aws.String("d")})
		}, "InvalidGroup.Duplicate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := c.srv.Inventory()
			wantCode(t, tc.call(), tc.want)
			after := c.srv.Inventory()
			if len(after.SecurityGroups) > len(before.SecurityGroups)+1 || len(after.Instances) != len(before.Instances) {
				t.Fatalf("a refused call created resources: %+v -> %+v", before, after)
			}
		})
	}
}

// Tags on creation are stored; a specification is only accepted with tags, so the
// topology builder leaves untagged resources without one.
func TestTopologyWithoutTags(t *testing.T) {
	t.Parallel()
	s := New(Options{})
	b, err := s.ApplyTopology(Topology{
		VPC:            TopologyVPC{CIDR: "10.0.0.0/16"},
		Subnets:        []TopologySubnet{{Name: "a", CIDR: "10.0.1.0/24", Public: true}},
		SecurityGroups: []TopologySecurityGroup{{Name: "nodes"}},
		Instances:      []TopologyInstance{{Name: "n", Subnet: "a", SecurityGroups: []string{"nodes"}}},
	})
	if err != nil || b.SecurityGroups["nodes"] == "" || b.Instances["n"] == "" {
		t.Fatalf("ApplyTopology = %+v, %v", b, err)
	}
}

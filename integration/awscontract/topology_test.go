package awscontract_test

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// network is what buildNetwork made, by role.
type network struct {
	vpc string
	// public and private subnets, one per zone, in zone order.
	public, private []string
	zones           []string
	nodeGroup       string
	// extraGroups stand in for the seed examples' sg-... placeholders.
	extraGroups []string
	instances   []instance
}

type instance struct{ name, id, zone string }

func (i instance) providerID() string { return "aws:///" + i.zone + "/" + i.id }

// buildNetwork builds, only through EC2 calls any AWS-compatible endpoint serves: a VPC, a
// public and a private subnet in each of two zones tagged with the ELB roles and the cluster,
// an internet gateway routed from the public subnets, the nodes' security group and four
// instances (three for the Nodes, one spare for TestContract/NodeChurn).
func buildNetwork(ctx context.Context, api *ec2.Client, cluster string) (*network, error) {
	owned := []ec2types.Tag{{Key: aws.String("kubernetes.io/cluster/" + cluster), Value: aws.String("owned")}}
	tags := func(kind ec2types.ResourceType, extra ...ec2types.Tag) []ec2types.TagSpecification {
		return []ec2types.TagSpecification{{ResourceType: kind, Tags: append(append([]ec2types.Tag{}, owned...), extra...)}}
	}
	n := &network{zones: []string{region + "a", region + "b"}}
	vpc, err := api.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16"), TagSpecifications: tags(ec2types.ResourceTypeVpc)})
	if err != nil {
		return nil, fmt.Errorf("CreateVpc: %w", err)
	}
	n.vpc = aws.ToString(vpc.Vpc.VpcId)
	igw, err := api.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{})
	if err != nil {
		return nil, fmt.Errorf("CreateInternetGateway: %w", err)
	}
	if _, err := api.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: igw.InternetGateway.InternetGatewayId, VpcId: &n.vpc}); err != nil {
		return nil, fmt.Errorf("AttachInternetGateway: %w", err)
	}
	rtb, err := api.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: &n.vpc})
	if err != nil {
		return nil, fmt.Errorf("CreateRouteTable: %w", err)
	}
	if _, err := api.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: rtb.RouteTable.RouteTableId,
		DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: igw.InternetGateway.InternetGatewayId}); err != nil {
		return nil, fmt.Errorf("CreateRoute: %w", err)
	}
	for i, zone := range n.zones {
		for _, public := range []bool{true, false} {
			role, cidr := "kubernetes.io/role/internal-elb", fmt.Sprintf("10.0.%d.0/24", 10+i)
			if public {
				role, cidr = "kubernetes.io/role/elb", fmt.Sprintf("10.0.%d.0/24", i)
			}
			sn, err := api.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: &n.vpc, CidrBlock: aws.String(cidr), AvailabilityZone: aws.String(zone),
				TagSpecifications: tags(ec2types.ResourceTypeSubnet, ec2types.Tag{Key: aws.String(role), Value: aws.String("1")})})
			if err != nil {
				return nil, fmt.Errorf("CreateSubnet %s: %w", cidr, err)
			}
			id := aws.ToString(sn.Subnet.SubnetId)
			if !public {
				n.private = append(n.private, id)
				continue
			}
			n.public = append(n.public, id)
			if _, err := api.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: rtb.RouteTable.RouteTableId, SubnetId: &id}); err != nil {
				return nil, fmt.Errorf("AssociateRouteTable: %w", err)
			}
		}
	}
	group := func(name string, extra ...ec2types.Tag) (string, error) {
		in := &ec2.CreateSecurityGroupInput{GroupName: aws.String(name), Description: aws.String(name), VpcId: &n.vpc}
		if len(extra) > 0 { // EC2 refuses a TagSpecification without tags
			in.TagSpecifications = []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSecurityGroup, Tags: extra}}
		}
		g, err := api.CreateSecurityGroup(ctx, in)
		if err != nil {
			return "", fmt.Errorf("CreateSecurityGroup %s: %w", name, err)
		}
		return aws.ToString(g.GroupId), nil
	}
	if n.nodeGroup, err = group("contract-nodes", owned...); err != nil {
		return nil, err
	}
	for _, name := range []string{"contract-extra-1", "contract-extra-2"} {
		id, err := group(name)
		if err != nil {
			return nil, err
		}
		n.extraGroups = append(n.extraGroups, id)
	}
	for i, name := range []string{"node-a", "node-b", "node-c", "spare"} {
		zone := i % 2
		out, err := api.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-00000000000000000"), InstanceType: ec2types.InstanceTypeT3Micro,
			MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: &n.private[zone], SecurityGroupIds: []string{n.nodeGroup},
			TagSpecifications: tags(ec2types.ResourceTypeInstance, ec2types.Tag{Key: aws.String("Name"), Value: aws.String(name)})})
		if err != nil {
			return nil, fmt.Errorf("RunInstances %s: %w", name, err)
		}
		n.instances = append(n.instances, instance{name: name, id: aws.ToString(out.Instances[0].InstanceId), zone: n.zones[zone]})
	}
	return n, nil
}

package fakeaws

import (
	"fmt"
	"os"
	"sort"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"sigs.k8s.io/yaml"
)

// Topology is a network to build at start: one VPC, its subnets, security groups and
// instances. It is built through the same operations the EC2 API serves.
type Topology struct {
	VPC            TopologyVPC             `json:"vpc"`
	Subnets        []TopologySubnet        `json:"subnets"`
	SecurityGroups []TopologySecurityGroup `json:"securityGroups,omitempty"`
	Instances      []TopologyInstance      `json:"instances,omitempty"`
}

// TopologyVPC is the VPC.
type TopologyVPC struct {
	CIDR string            `json:"cidr"`
	Tags map[string]string `json:"tags,omitempty"`
}

// TopologySubnet is one subnet; public subnets get a route to an internet gateway.
type TopologySubnet struct {
	// Name is the Name tag and how instances refer to the subnet.
	Name   string            `json:"name"`
	CIDR   string            `json:"cidr"`
	Zone   string            `json:"zone,omitempty"`
	Public bool              `json:"public,omitempty"`
	Tags   map[string]string `json:"tags,omitempty"`
}

// TopologySecurityGroup is one security group of the VPC.
type TopologySecurityGroup struct {
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
}

// TopologyInstance is one instance (or Count alike ones, named name-1, name-2, ...).
type TopologyInstance struct {
	Name           string            `json:"name"`
	Subnet         string            `json:"subnet"`
	Count          int               `json:"count,omitempty"`
	InstanceType   string            `json:"instanceType,omitempty"`
	SecurityGroups []string          `json:"securityGroups,omitempty"`
	Tags           map[string]string `json:"tags,omitempty"`
}

// Built maps the topology's names to the IDs the fake gave them.
type Built struct {
	VPC            string            `json:"vpc"`
	Subnets        map[string]string `json:"subnets"`
	SecurityGroups map[string]string `json:"securityGroups"`
	Instances      map[string]string `json:"instances"`
}

// LoadTopology reads a YAML (or JSON) topology file; unknown fields are errors.
func LoadTopology(path string) (Topology, error) {
	var t Topology
	data, err := os.ReadFile(path)
	if err != nil {
		return t, err
	}
	if err := yaml.UnmarshalStrict(data, &t); err != nil {
		return t, fmt.Errorf("topology %s: %w", path, err)
	}
	return t, nil
}

func tagList(name string, tags map[string]string) []ec2types.Tag {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []ec2types.Tag
	if name != "" {
		out = append(out, ec2types.Tag{Key: ptr("Name"), Value: ptr(name)})
	}
	for _, k := range keys {
		if k == "Name" && name != "" {
			continue
		}
		out = append(out, ec2types.Tag{Key: ptr(k), Value: ptr(tags[k])})
	}
	return out
}

// spec tags a new resource; no tags means no TagSpecification, since EC2 refuses a
// specification without tags.
func spec(kind ec2types.ResourceType, tags []ec2types.Tag) []ec2types.TagSpecification {
	if len(tags) == 0 {
		return nil
	}
	return []ec2types.TagSpecification{{ResourceType: kind, Tags: tags}}
}

// ApplyTopology builds t in the fake. A failure leaves what was built before it.
func (s *Server) ApplyTopology(t Topology) (*Built, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := &Built{Subnets: map[string]string{}, SecurityGroups: map[string]string{}, Instances: map[string]string{}}
	vpc, err := s.createVpc(&ec2.CreateVpcInput{CidrBlock: ptr(t.VPC.CIDR), TagSpecifications: spec(ec2types.ResourceTypeVpc, tagList("", t.VPC.Tags))})
	if err != nil {
		return nil, fmt.Errorf("vpc: %w", err)
	}
	b.VPC = *vpc.Vpc.VpcId
	var publicRTB *string
	for i, sn := range t.Subnets {
		if sn.Name == "" {
			return nil, fmt.Errorf("subnets[%d]: a name is required", i)
		}
		if _, dup := b.Subnets[sn.Name]; dup {
			return nil, fmt.Errorf("subnets[%d]: duplicate name %q", i, sn.Name)
		}
		out, err := s.createSubnet(&ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: ptr(sn.CIDR), AvailabilityZone: optional(sn.Zone),
			TagSpecifications: spec(ec2types.ResourceTypeSubnet, tagList(sn.Name, sn.Tags))})
		if err != nil {
			return nil, fmt.Errorf("subnet %s: %w", sn.Name, err)
		}
		b.Subnets[sn.Name] = *out.Subnet.SubnetId
		if !sn.Public {
			continue
		}
		if publicRTB == nil {
			igw, _ := s.createInternetGateway(&ec2.CreateInternetGatewayInput{})
			if _, err := s.attachInternetGateway(&ec2.AttachInternetGatewayInput{InternetGatewayId: igw.InternetGateway.InternetGatewayId, VpcId: vpc.Vpc.VpcId}); err != nil {
				return nil, err
			}
			rtb, _ := s.createRouteTable(&ec2.CreateRouteTableInput{VpcId: vpc.Vpc.VpcId, TagSpecifications: spec(ec2types.ResourceTypeRouteTable, tagList("public", nil))})
			if _, err := s.createRoute(&ec2.CreateRouteInput{RouteTableId: rtb.RouteTable.RouteTableId, DestinationCidrBlock: ptr("0.0.0.0/0"), GatewayId: igw.InternetGateway.InternetGatewayId}); err != nil {
				return nil, err
			}
			publicRTB = rtb.RouteTable.RouteTableId
		}
		if _, err := s.associateRouteTable(&ec2.AssociateRouteTableInput{RouteTableId: publicRTB, SubnetId: out.Subnet.SubnetId}); err != nil {
			return nil, err
		}
	}
	for _, g := range t.SecurityGroups {
		desc := g.Description
		if desc == "" {
			desc = g.Name
		}
		out, err := s.createSecurityGroup(&ec2.CreateSecurityGroupInput{GroupName: ptr(g.Name), Description: ptr(desc), VpcId: vpc.Vpc.VpcId,
			TagSpecifications: spec(ec2types.ResourceTypeSecurityGroup, tagList("", g.Tags))})
		if err != nil {
			return nil, fmt.Errorf("security group %s: %w", g.Name, err)
		}
		b.SecurityGroups[g.Name] = *out.GroupId
	}
	for i, inst := range t.Instances {
		subnet, ok := b.Subnets[inst.Subnet]
		if !ok {
			return nil, fmt.Errorf("instances[%d] %s: unknown subnet %q", i, inst.Name, inst.Subnet)
		}
		var groups []string
		for _, g := range inst.SecurityGroups {
			id, ok := b.SecurityGroups[g]
			if !ok {
				return nil, fmt.Errorf("instances[%d] %s: unknown security group %q", i, inst.Name, g)
			}
			groups = append(groups, id)
		}
		count := max(inst.Count, 1)
		for n := 1; n <= count; n++ {
			name := inst.Name
			if inst.Count > 1 {
				name = fmt.Sprintf("%s-%d", inst.Name, n)
			}
			if _, dup := b.Instances[name]; dup || name == "" {
				return nil, fmt.Errorf("instances[%d]: missing or duplicate name %q", i, name)
			}
			out, err := s.runInstances(&ec2.RunInstancesInput{ImageId: ptr("ami-0fa4e0000000000aa"), MinCount: ptr(int32(1)), MaxCount: ptr(int32(1)),
				SubnetId: ptr(subnet), SecurityGroupIds: groups, InstanceType: ec2types.InstanceType(inst.InstanceType),
				TagSpecifications: spec(ec2types.ResourceTypeInstance, tagList(name, inst.Tags))})
			if err != nil {
				return nil, fmt.Errorf("instance %s: %w", name, err)
			}
			b.Instances[name] = *out.Instances[0].InstanceId
		}
	}
	return b, nil
}

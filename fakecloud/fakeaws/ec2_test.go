package fakeaws

import (
	"fmt"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

func filter(name string, values ...string) ec2types.Filter {
	return ec2types.Filter{Name: aws.String(name), Values: values}
}

func TestTopologyThroughEC2(t *testing.T) {
	t.Parallel()
	c := newFake(t)
	tp := buildTopo(t, c)

	vpcs := must[*ec2.DescribeVpcsOutput](t)(c.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{tp.vpc}}))
	if len(vpcs.Vpcs) != 1 || *vpcs.Vpcs[0].CidrBlock != "10.0.0.0/16" || vpcs.Vpcs[0].State != ec2types.VpcStateAvailable {
		t.Fatalf("DescribeVpcs = %+v", vpcs.Vpcs)
	}

	tests := []struct {
		name    string
		filters []ec2types.Filter
		ids     []string
		want    []string
	}{
		{"vpc-id", []ec2types.Filter{filter("vpc-id", tp.vpc)}, nil, []string{tp.public, tp.private}},
		{"tag:Name", []ec2types.Filter{filter("tag:Name", "elb")}, nil, []string{tp.public}},
		{"tag-key", []ec2types.Filter{filter("tag-key", "kubernetes.io/role/internal-elb")}, nil, []string{tp.private}},
		{"wildcard", []ec2types.Filter{filter("tag-key", "kubernetes.io/role/*")}, nil, []string{tp.public, tp.private}},
		{"subnet-id", []ec2types.Filter{filter("subnet-id", tp.private)}, nil, []string{tp.private}},
		{"ids", nil, []string{tp.public}, []string{tp.public}},
		{"no match", []ec2types.Filter{filter("vpc-id", tp.vpc), filter("tag:Name", "nope")}, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := must[*ec2.DescribeSubnetsOutput](t)(c.ec2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: tc.filters, SubnetIds: tc.ids}))
			var got []string
			for _, s := range out.Subnets {
				got = append(got, *s.SubnetId)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("subnets = %v, want %v", got, tc.want)
			}
		})
	}

	sn := must[*ec2.DescribeSubnetsOutput](t)(c.ec2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{tp.public}})).Subnets[0]
	if *sn.AvailabilityZone != "us-east-1a" || *sn.AvailabilityZoneId != "use1-az1" || len(sn.Tags) != 2 || *sn.VpcId != tp.vpc {
		t.Fatalf("subnet = %+v", sn)
	}

	// The public subnet is the one whose route table routes to an internet gateway.
	rts := must[*ec2.DescribeRouteTablesOutput](t)(c.ec2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{filter("vpc-id", tp.vpc)}}))
	if len(rts.RouteTables) != 2 {
		t.Fatalf("route tables = %d, want main + public", len(rts.RouteTables))
	}
	public := map[string]bool{}
	for _, rt := range rts.RouteTables {
		igw := false
		for _, r := range rt.Routes {
			igw = igw || len(aws.ToString(r.GatewayId)) > 3 && aws.ToString(r.GatewayId)[:4] == "igw-"
		}
		for _, a := range rt.Associations {
			if a.SubnetId != nil && igw {
				public[*a.SubnetId] = true
			}
			if aws.ToBool(a.Main) && igw {
				t.Fatalf("main table routes to the internet")
			}
		}
	}
	if !public[tp.public] || public[tp.private] {
		t.Fatalf("public subnets = %v", public)
	}

	azs := must[*ec2.DescribeAvailabilityZonesOutput](t)(c.ec2.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{}))
	if len(azs.AvailabilityZones) != 3 || aws.ToString(azs.AvailabilityZones[1].ZoneType) != "availability-zone" || azs.AvailabilityZones[1].State != ec2types.AvailabilityZoneStateAvailable {
		t.Fatalf("AZs = %+v", azs.AvailabilityZones)
	}

	_, err := c.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(tp.vpc), CidrBlock: aws.String("10.0.1.128/25")})
	wantCode(t, err, "InvalidSubnet.Conflict")
	_, err = c.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String("vpc-0000"), CidrBlock: aws.String("10.0.9.0/24")})
	wantCode(t, err, "InvalidVpcID.NotFound")
	_, err = c.ec2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{filter("bogus", "x")}})
	wantCode(t, err, "InvalidParameterValue")
}

func TestInstancesTagsAndPagination(t *testing.T) {
	t.Parallel()
	c := newFake(t)
	tp := buildTopo(t, c)
	for i := 0; i < 3; i++ {
		must[*ec2.RunInstancesOutput](t)(c.ec2.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-1"), MinCount: aws.Int32(4), MaxCount: aws.Int32(4), SubnetId: aws.String(tp.private)}))
	}

	// 14 instances, 5 a page: the SDK paginator follows NextToken.
	p := ec2.NewDescribeInstancesPaginator(c.ec2, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
	var ids []string
	pages := 0
	for p.HasMorePages() {
		out := must[*ec2.DescribeInstancesOutput](t)(p.NextPage(ctx))
		pages++
		for _, r := range out.Reservations {
			for _, i := range r.Instances {
				ids = append(ids, *i.InstanceId)
			}
		}
	}
	if len(ids) != 14 || pages != 3 {
		t.Fatalf("paged %d instances in %d pages, want 14 in 3", len(ids), pages)
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Fatalf("instance %s listed twice", id)
		}
		seen[id] = true
	}

	inst := must[*ec2.DescribeInstancesOutput](t)(c.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: tp.instances[:1]})).Reservations[0].Instances[0]
	if inst.State.Name != ec2types.InstanceStateNameRunning || *inst.PrivateIpAddress != "10.0.1.10" || *inst.PrivateDnsName != "ip-10-0-1-10.ec2.internal" ||
		*inst.Placement.AvailabilityZone != "us-east-1a" || *inst.VpcId != tp.vpc || len(inst.SecurityGroups) != 1 || *inst.SecurityGroups[0].GroupName != "default" {
		t.Fatalf("instance = %+v", inst)
	}

	must[*ec2.CreateTagsOutput](t)(c.ec2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: tp.instances, Tags: []ec2types.Tag{{Key: aws.String("role"), Value: aws.String("node")}}}))
	must[*ec2.DeleteTagsOutput](t)(c.ec2.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: tp.instances[1:], Tags: []ec2types.Tag{{Key: aws.String("role")}}}))
	out := must[*ec2.DescribeInstancesOutput](t)(c.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{filter("tag:role", "node"), filter("instance-state-name", "running")}}))
	if len(out.Reservations) != 1 || len(out.Reservations[0].Instances) != 1 || *out.Reservations[0].Instances[0].InstanceId != tp.instances[0] {
		t.Fatalf("tag filter = %+v", out.Reservations)
	}
	_, err := c.ec2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{"i-0000000000000dead"}, Tags: []ec2types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}})
	wantCode(t, err, "InvalidInstanceID.NotFound")
	_, err = c.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0000000000000dead"}})
	wantCode(t, err, "InvalidInstanceID.NotFound")

	must[*ec2.TerminateInstancesOutput](t)(c.ec2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: tp.instances[:1]}))
	out = must[*ec2.DescribeInstancesOutput](t)(c.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{filter("instance-state-name", "terminated")}}))
	if len(out.Reservations) != 1 {
		t.Fatalf("terminated = %+v", out.Reservations)
	}
}

func ingress(proto string, port int32, cidrs ...string) ec2types.IpPermission {
	p := ec2types.IpPermission{IpProtocol: aws.String(proto), FromPort: aws.Int32(port), ToPort: aws.Int32(port)}
	for _, c := range cidrs {
		p.IpRanges = append(p.IpRanges, ec2types.IpRange{CidrIp: aws.String(c), Description: aws.String("kubernetes.io/rule/nlb/client=a1")})
	}
	return p
}

func TestSecurityGroups(t *testing.T) {
	t.Parallel()
	c := newFake(t)
	tp := buildTopo(t, c)

	lbSG := must[*ec2.CreateSecurityGroupOutput](t)(c.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String("k8s-elb-a1"), Description: aws.String("Security group for Kubernetes ELB a1"), VpcId: aws.String(tp.vpc),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSecurityGroup, Tags: []ec2types.Tag{{Key: aws.String("kubernetes.io/cluster/demo"), Value: aws.String("owned")}}}},
	})).GroupId
	nodeSG := must[*ec2.CreateSecurityGroupOutput](t)(c.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String("nodes"), Description: aws.String("nodes"), VpcId: aws.String(tp.vpc),
	})).GroupId

	_, err := c.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("nodes"), Description: aws.String("again"), VpcId: aws.String(tp.vpc)})
	wantCode(t, err, "InvalidGroup.Duplicate")

	must[*ec2.AuthorizeSecurityGroupIngressOutput](t)(c.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: lbSG,
		IpPermissions: []ec2types.IpPermission{
			ingress("tcp", 80, "0.0.0.0/0", "10.1.0.0/16"),
			{IpProtocol: aws.String("icmp"), FromPort: aws.Int32(3), ToPort: aws.Int32(4), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}},
		},
	}))
	must[*ec2.AuthorizeSecurityGroupIngressOutput](t)(c.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: nodeSG,
		IpPermissions: []ec2types.IpPermission{
			{IpProtocol: aws.String("-1"), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: lbSG, Description: aws.String("from the LB")}}},
			{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(30000), ToPort: aws.Int32(32767), PrefixListIds: []ec2types.PrefixListId{{PrefixListId: aws.String("pl-12345")}}},
		},
	}))

	_, err = c.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: lbSG, IpPermissions: []ec2types.IpPermission{ingress("tcp", 80, "0.0.0.0/0")}})
	wantCode(t, err, "InvalidPermission.Duplicate")
	_, err = c.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String("sg-0000000000000dead"), IpPermissions: []ec2types.IpPermission{ingress("tcp", 80, "0.0.0.0/0")}})
	wantCode(t, err, "InvalidGroup.NotFound")

	g := must[*ec2.DescribeSecurityGroupsOutput](t)(c.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{*lbSG}})).SecurityGroups[0]
	if *g.GroupName != "k8s-elb-a1" || *g.Description != "Security group for Kubernetes ELB a1" || *g.VpcId != tp.vpc || len(g.Tags) != 1 {
		t.Fatalf("group = %+v", g)
	}
	if len(g.IpPermissions) != 2 || len(g.IpPermissions[0].IpRanges) != 2 || *g.IpPermissions[0].IpRanges[1].CidrIp != "10.1.0.0/16" ||
		aws.ToString(g.IpPermissions[0].IpRanges[0].Description) != "kubernetes.io/rule/nlb/client=a1" || *g.IpPermissions[1].FromPort != 3 {
		t.Fatalf("ingress = %+v", g.IpPermissions)
	}
	if len(g.IpPermissionsEgress) != 1 || *g.IpPermissionsEgress[0].IpProtocol != "-1" {
		t.Fatalf("egress = %+v", g.IpPermissionsEgress)
	}

	byFilter := func(filters ...ec2types.Filter) []string {
		t.Helper()
		out := must[*ec2.DescribeSecurityGroupsOutput](t)(c.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: filters}))
		var names []string
		for _, g := range out.SecurityGroups {
			names = append(names, *g.GroupName)
		}
		sort.Strings(names)
		return names
	}
	for _, tc := range []struct {
		filters []ec2types.Filter
		want    string
	}{
		{[]ec2types.Filter{filter("vpc-id", tp.vpc)}, "[default k8s-elb-a1 nodes]"},
		{[]ec2types.Filter{filter("group-name", "k8s-elb-a1"), filter("vpc-id", tp.vpc)}, "[k8s-elb-a1]"},
		{[]ec2types.Filter{filter("group-id", *nodeSG)}, "[nodes]"},
		{[]ec2types.Filter{filter("tag:kubernetes.io/cluster/demo", "owned")}, "[k8s-elb-a1]"},
		{[]ec2types.Filter{filter("ip-permission.group-id", *lbSG)}, "[nodes]"},
	} {
		if got := fmt.Sprint(byFilter(tc.filters...)); got != tc.want {
			t.Errorf("filters %v: got %s, want %s", tc.filters, got, tc.want)
		}
	}

	// A group referenced by another group's rule cannot go.
	_, err = c.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: lbSG})
	wantCode(t, err, "DependencyViolation")
	must[*ec2.RevokeSecurityGroupIngressOutput](t)(c.ec2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{
		GroupId:       nodeSG,
		IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("-1"), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: lbSG}}}},
	}))
	_, err = c.ec2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{
		GroupId:       nodeSG,
		IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("-1"), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: lbSG}}}},
	})
	wantCode(t, err, "InvalidPermission.NotFound")
	must[*ec2.DeleteSecurityGroupOutput](t)(c.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: lbSG}))
	_, err = c.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{*lbSG}})
	wantCode(t, err, "InvalidGroup.NotFound")

	rules := must[*ec2.DescribeSecurityGroupRulesOutput](t)(c.ec2.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{Filters: []ec2types.Filter{filter("group-id", *nodeSG)}}))
	if len(rules.SecurityGroupRules) != 2 || aws.ToString(rules.SecurityGroupRules[0].PrefixListId) != "pl-12345" || !aws.ToBool(rules.SecurityGroupRules[1].IsEgress) {
		t.Fatalf("rules = %+v", rules.SecurityGroupRules)
	}
}

func TestSecurityGroupRuleQuota(t *testing.T) {
	t.Parallel()
	c := newFake(t)
	tp := buildTopo(t, c)
	sg := must[*ec2.CreateSecurityGroupOutput](t)(c.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("q"), Description: aws.String("q"), VpcId: aws.String(tp.vpc)})).GroupId
	var cidrs []string
	for i := 0; i < 59; i++ {
		cidrs = append(cidrs, fmt.Sprintf("10.%d.0.0/16", i))
	}
	must[*ec2.AuthorizeSecurityGroupIngressOutput](t)(c.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg, IpPermissions: []ec2types.IpPermission{ingress("tcp", 443, cidrs...)}}))
	// Two more would make 61: refused whole, nothing added.
	_, err := c.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg, IpPermissions: []ec2types.IpPermission{ingress("udp", 53, "1.1.1.1/32", "8.8.8.8/32")}})
	wantCode(t, err, "RulesPerSecurityGroupLimitExceeded")
	must[*ec2.AuthorizeSecurityGroupIngressOutput](t)(c.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg, IpPermissions: []ec2types.IpPermission{ingress("udp", 53, "1.1.1.1/32")}}))
	g := must[*ec2.DescribeSecurityGroupsOutput](t)(c.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{*sg}})).SecurityGroups[0]
	n := 0
	for _, p := range g.IpPermissions {
		n += len(p.IpRanges)
	}
	if n != 60 {
		t.Fatalf("rules = %d, want 60", n)
	}
}

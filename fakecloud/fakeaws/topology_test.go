package fakeaws

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

func TestApplyTopology(t *testing.T) {
	t.Parallel()
	topo, err := LoadTopology("testdata/topology.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c := newFake(t)
	b, err := c.srv.ApplyTopology(topo)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Subnets) != 3 || len(b.Instances) != 3 || b.Instances["node-1"] == "" || b.Instances["node-b"] == "" || b.SecurityGroups["demo-nodes"] == "" {
		t.Fatalf("built = %+v", b)
	}

	// What was built is visible through the API, as a provider would discover it.
	subnets := must[*ec2.DescribeSubnetsOutput](t)(c.ec2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{
		filter("vpc-id", b.VPC), filter("tag-key", "kubernetes.io/role/elb")}}))
	if len(subnets.Subnets) != 2 {
		t.Fatalf("elb-role subnets = %d", len(subnets.Subnets))
	}
	rts := must[*ec2.DescribeRouteTablesOutput](t)(c.ec2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{filter("route.gateway-id", "igw-*")}}))
	if len(rts.RouteTables) != 1 || len(rts.RouteTables[0].Associations) != 2 {
		t.Fatalf("public route tables = %+v", rts.RouteTables)
	}
	insts := must[*ec2.DescribeInstancesOutput](t)(c.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
		filter("tag:kubernetes.io/cluster/demo", "owned"), filter("instance.group-id", b.SecurityGroups["demo-nodes"])}}))
	n := 0
	for _, r := range insts.Reservations {
		for _, i := range r.Instances {
			n++
			if i.InstanceType != "m5.large" && aws.ToString(i.SubnetId) == b.Subnets["public-a"] {
				t.Errorf("instance type = %s", i.InstanceType)
			}
		}
	}
	if n != 3 {
		t.Fatalf("cluster instances = %d", n)
	}
}

func TestLoadTopologyErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown field", "vpc: {cidr: 10.0.0.0/16}\nsubnet: []\n", "unknown field"},
		{"unknown subnet", "vpc: {cidr: 10.0.0.0/16}\ninstances: [{name: n, subnet: nope}]\n", `unknown subnet "nope"`},
		{"bad cidr", "vpc: {cidr: 10.0.0.0/33}\n", "vpc: InvalidParameterValue"},
		{"subnet outside vpc", "vpc: {cidr: 10.0.0.0/16}\nsubnets: [{name: a, cidr: 192.168.0.0/24}]\n", "InvalidSubnet.Range"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			topo, err := LoadTopology(path)
			if err == nil {
				_, err = New(Options{}).ApplyTopology(topo)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestInventoryAndFilterLimit(t *testing.T) {
	t.Parallel()
	c := newFake(t)
	tp := buildTopo(t, c)
	sg := must[*ec2.CreateSecurityGroupOutput](t)(c.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("k8s-elb-a1"), Description: aws.String("lb"), VpcId: aws.String(tp.vpc)})).GroupId
	must[*ec2.AuthorizeSecurityGroupIngressOutput](t)(c.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg, IpPermissions: []ec2types.IpPermission{ingress("tcp", 80, "0.0.0.0/0")}}))
	inv := c.srv.Inventory()
	if len(inv.SecurityGroups) != 1 || inv.SecurityGroups[0].Name != "k8s-elb-a1" ||
		strings.Join(inv.SecurityGroups[0].Ingress, ";") != "tcp 80-80 0.0.0.0/0 kubernetes.io/rule/nlb/client=a1" || len(inv.Instances) != 2 {
		t.Fatalf("inventory = %+v", inv)
	}

	var many []string
	for i := 0; i < 201; i++ {
		many = append(many, "i-"+strings.Repeat("0", 16)+string(rune('a'+i%26)))
	}
	_, err := c.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{filter("instance-id", many...)}})
	wantCode(t, err, "FilterLimitExceeded")
}

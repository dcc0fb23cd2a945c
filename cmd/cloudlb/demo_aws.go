package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cloudlb/cloudlb/fakecloud/fakeaws"
	"github.com/cloudlb/cloudlb/providers/fake"
)

const (
	// demoAWSCluster is the KubernetesClusterID of the aws demo and the cluster of its tags.
	demoAWSCluster = "cloudlb-demo"
	// demoAWSRegion is the fake's region; the cloud config's Zone is in it.
	demoAWSRegion = "us-east-1"
)

// demoCloud is where the demo reads the load balancers back from.
type demoCloud interface {
	LoadBalancers() ([]fake.LoadBalancer, error)
}

// demoAWSTopology is the network of the aws demo: a VPC, a public and a private subnet in each
// of two zones, all tagged for the cluster, and one instance per demo Node.
func demoAWSTopology() fakeaws.Topology {
	owned := "kubernetes.io/cluster/" + demoAWSCluster
	subnet := func(name, cidr, zone string, public bool) fakeaws.TopologySubnet {
		role := "kubernetes.io/role/internal-elb"
		if public {
			role = "kubernetes.io/role/elb"
		}
		return fakeaws.TopologySubnet{Name: name, CIDR: cidr, Zone: zone, Public: public, Tags: map[string]string{owned: "owned", role: "1"}}
	}
	t := fakeaws.Topology{
		VPC: fakeaws.TopologyVPC{CIDR: "10.0.0.0/16", Tags: map[string]string{"Name": demoAWSCluster, owned: "owned"}},
		Subnets: []fakeaws.TopologySubnet{
			subnet("public-a", "10.0.1.0/24", demoAWSRegion+"a", true),
			subnet("public-b", "10.0.2.0/24", demoAWSRegion+"b", true),
			subnet("private-a", "10.0.101.0/24", demoAWSRegion+"a", false),
			subnet("private-b", "10.0.102.0/24", demoAWSRegion+"b", false),
		},
		SecurityGroups: []fakeaws.TopologySecurityGroup{{Name: "demo-nodes", Description: "cluster nodes", Tags: map[string]string{owned: "owned"}}},
	}
	for _, n := range demoNodes() {
		t.Instances = append(t.Instances, fakeaws.TopologyInstance{Name: n.Name, Subnet: demoAWSSubnet(n.Name),
			InstanceType: "m5.large", SecurityGroups: []string{"demo-nodes"}, Tags: map[string]string{owned: "owned"}})
	}
	return t
}

// demoAWSSubnet spreads the demo Nodes over the private subnets of the two zones.
func demoAWSSubnet(node string) string {
	if strings.HasSuffix(node, "-2") {
		return "private-b"
	}
	return "private-a"
}

// demoAWSProviderIDs maps the demo Node names to aws:///<zone>/<instance id>.
func demoAWSProviderIDs(built *fakeaws.Built) map[string]string {
	ids := map[string]string{}
	for _, n := range demoNodes() {
		zone := demoAWSRegion + strings.TrimPrefix(demoAWSSubnet(n.Name), "private-")
		ids[n.Name] = "aws:///" + zone + "/" + built.Instances[n.Name]
	}
	return ids
}

// demoAWSCloudConfig is the aws provider's INI cloud config for the demo VPC.
func demoAWSCloudConfig(built *fakeaws.Built) string {
	return fmt.Sprintf("[Global]\nZone = %sa\nVPC = %s\nKubernetesClusterID = %s\n", demoAWSRegion, built.VPC, demoAWSCluster)
}

// demoAWSEnv points the controller manager's SDK at the fake.
func demoAWSEnv(url string) []string {
	return []string{"AWS_ENDPOINT_URL=" + url, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_REGION=" + demoAWSRegion, "AWS_EC2_METADATA_DISABLED=true"}
}

// awsDemoCloud reads the fake's Classic ELBs as the fake provider's load balancers: Hostname is
// the DNS name (which the table matches to the Service's ingress) and Nodes the Node names of
// the registered instances.
type awsDemoCloud struct {
	srv   *fakeaws.Server
	nodes map[string]string // instance ID -> Node name
}

func newAWSDemoCloud(srv *fakeaws.Server, built *fakeaws.Built) *awsDemoCloud {
	c := &awsDemoCloud{srv: srv, nodes: map[string]string{}}
	for name, id := range built.Instances {
		c.nodes[id] = name
	}
	return c
}

// LoadBalancers implements demoCloud.
func (c *awsDemoCloud) LoadBalancers() ([]fake.LoadBalancer, error) {
	var lbs []fake.LoadBalancer
	for _, clb := range c.srv.ClassicLoadBalancers() {
		lb := fake.LoadBalancer{Name: clb.Name, Hostname: clb.DNSName, Internal: clb.Scheme == "internal"}
		for _, id := range clb.Instances {
			if n, ok := c.nodes[id]; ok {
				id = n
			}
			lb.Nodes = append(lb.Nodes, id)
		}
		slices.Sort(lb.Nodes)
		lbs = append(lbs, lb)
	}
	return lbs, nil
}

package aws

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	cloudprovider "k8s.io/cloud-provider"

	"github.com/cloudlb/cloudlb/providers"
)

// networkTTL is how long the VPC's subnets are cached. Subnet discovery is per cluster, not
// per Service, so it must not count against a Service's no-op reconcile.
const networkTTL = 10 * time.Minute

// Options are the dependencies of a Cloud.
type Options struct {
	// Config is the parsed cloud config; nil means the zero config.
	Config *CloudConfig
	// ELB and EC2 are the SDK clients (or anything with the same verbs).
	ELB elbAPI
	EC2 ec2API
	// ELBv2 serves the NLB path; nil means NLB Services are rejected.
	ELBv2 elbv2API
	// Now is the clock of the subnet cache; nil means time.Now.
	Now func() time.Time
	// Limits are the client-side rate limits and retries; zero fields take the defaults.
	Limits Limits

	// limits are set by NewFromConfig, which configured the clients with them.
	limits *limits
}

// Cloud is the AWS provider. It implements cloudprovider.Interface (load balancers only)
// and cloudprovider.LoadBalancer, and is safe for concurrent use.
type Cloud struct {
	providers.LoadBalancerOnly

	cfg   *CloudConfig
	elb   elbAPI
	ec2   ec2API
	elbv2 elbv2API
	now   func() time.Time
	// limits are shared by every call of this Cloud, whatever the Service.
	limits *limits

	mu      sync.Mutex
	network *network

	// classic and nlbs remember our load balancers' instances and tags between syncs, and
	// instances the security groups of the VPC's instances (see cache.go).
	classic   classicCache
	nlbs      nlbCache
	instances instanceGroups
	// noBackend remembers where the cluster has no NLB backend group (observe_backend.go).
	noBackend backendAbsence

	// writes records every write to a load balancer (apply.go's run), so that a Listing
	// (listing.go) never stands for a read of one written since it began.
	writes providers.WriteLog
}

// network is the cached VPC and its subnets.
type network struct {
	vpc     string
	subnets []Subnet
	at      time.Time
}

var (
	_ cloudprovider.Interface    = (*Cloud)(nil)
	_ cloudprovider.LoadBalancer = (*Cloud)(nil)
)

// New builds a Cloud from its dependencies.
func New(o Options) *Cloud {
	if o.Config == nil {
		o.Config = &CloudConfig{ServiceOverrides: map[string]*ServiceOverride{}}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.limits == nil {
		o.limits = newLimits(o.Limits)
	}
	return &Cloud{cfg: o.Config, elb: o.ELB, ec2: o.EC2, elbv2: o.ELBv2, now: o.Now, limits: o.limits}
}

// LoadBalancer returns the cloud itself.
func (c *Cloud) LoadBalancer() (cloudprovider.LoadBalancer, bool) { return c, true }

// ProviderName is "aws".
func (c *Cloud) ProviderName() string { return ProviderName }

// HasClusterID reports whether the cloud config names the cluster.
func (c *Cloud) HasClusterID() bool {
	return c.cfg.Global.KubernetesClusterID != "" || c.cfg.Global.KubernetesClusterTag != ""
}

// cluster is the cluster name of the ownership tags: the config's KubernetesClusterID (as
// upstream), else the controller's --cluster-name.
func (c *Cloud) cluster(clusterName string) string {
	if id := c.cfg.Global.KubernetesClusterID; id != "" {
		return id
	}
	if t := c.cfg.Global.KubernetesClusterTag; t != "" {
		return t
	}
	return clusterName
}

// settings are Build's cluster-wide inputs.
func (c *Cloud) settings(clusterName string) Settings {
	ports, _ := parseNodePortRange(c.cfg.Global.NodePortRange) // validated by ParseCloudConfig
	return Settings{Cluster: c.cluster(clusterName), ElbSecurityGroup: c.cfg.Global.ElbSecurityGroup,
		NLBManagedSecurityGroups:    strings.EqualFold(c.cfg.Global.NLBSecurityGroupMode, nlbSecurityGroupModeManaged),
		NodePorts:                   ports,
		PerServiceNodeRules:         strings.EqualFold(c.cfg.Global.NLBBackendSecurityGroup, backendPerService),
		DisableSecurityGroupIngress: c.cfg.Global.DisableSecurityGroupIngress}
}

// vpcAndSubnets returns the cluster's VPC and its subnets, cached for networkTTL. The VPC
// is the config's VPC, else the VPC of SubnetID, else the VPC of the subnets tagged for the
// cluster.
func (c *Cloud) vpcAndSubnets(ctx context.Context, cluster string) (*network, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.network; n != nil && c.now().Sub(n.at) < networkTTL {
		return n, nil
	}
	vpc := c.cfg.Global.VPC
	if vpc == "" {
		in := &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: aws.String("tag-key"), Values: []string{clusterTag(cluster)}}}}
		if id := c.cfg.Global.SubnetID; id != "" {
			in = &ec2.DescribeSubnetsInput{SubnetIds: []string{id}}
		}
		out, err := call(ctx, c.limits, "ec2.DescribeSubnets", func() (*ec2.DescribeSubnetsOutput, error) { return c.ec2.DescribeSubnets(ctx, in) })
		if err != nil {
			return nil, err
		}
		if len(out.Subnets) == 0 {
			return nil, fmt.Errorf("aws: cannot find the cluster's VPC: set VPC in the cloud config or tag its subnets %s", clusterTag(cluster))
		}
		vpc = aws.ToString(out.Subnets[0].VpcId)
	}
	vpcFilter := []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{vpc}}}
	var subnets []ec2types.Subnet
	for p := ec2.NewDescribeSubnetsPaginator(meteredSubnets{c.ec2, c.limits}, &ec2.DescribeSubnetsInput{Filters: vpcFilter}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		subnets = append(subnets, page.Subnets...)
	}
	var tables []ec2types.RouteTable
	for p := ec2.NewDescribeRouteTablesPaginator(meteredRoutes{c.ec2, c.limits}, &ec2.DescribeRouteTablesInput{Filters: vpcFilter}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		tables = append(tables, page.RouteTables...)
	}
	n := &network{vpc: vpc, at: c.now()}
	for _, s := range subnets {
		sub := Subnet{ID: aws.ToString(s.SubnetId), Zone: aws.ToString(s.AvailabilityZone), CIDR: aws.ToString(s.CidrBlock), Tags: map[string]string{}}
		for _, t := range s.Tags {
			sub.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
		sub.Public = isPublic(sub.ID, tables)
		n.subnets = append(n.subnets, sub)
	}
	c.network = n
	return n, nil
}

// isPublic reports whether the subnet's route table (or the main one) routes to an internet
// gateway.
func isPublic(subnet string, tables []ec2types.RouteTable) bool {
	var table *ec2types.RouteTable
	for i, t := range tables {
		for _, a := range t.Associations {
			if aws.ToString(a.SubnetId) == subnet {
				table = &tables[i]
			}
		}
	}
	if table == nil { // no explicit association: the main table applies
		for i, t := range tables {
			for _, a := range t.Associations {
				if aws.ToBool(a.Main) {
					table = &tables[i]
				}
			}
		}
	}
	if table == nil {
		return false
	}
	for _, r := range table.Routes {
		if strings.HasPrefix(aws.ToString(r.GatewayId), "igw") {
			return true
		}
	}
	return false
}

// meteredSubnets and meteredRoutes let the SDK paginators report every page as a call.
type meteredSubnets struct {
	api    ec2API
	limits *limits
}

func (m meteredSubnets) DescribeSubnets(ctx context.Context, in *ec2.DescribeSubnetsInput, o ...func(*ec2.Options)) (*ec2.DescribeSubnetsOutput, error) {
	return call(ctx, m.limits, "ec2.DescribeSubnets", func() (*ec2.DescribeSubnetsOutput, error) { return m.api.DescribeSubnets(ctx, in, o...) })
}

type meteredRoutes struct {
	api    ec2API
	limits *limits
}

func (m meteredRoutes) DescribeRouteTables(ctx context.Context, in *ec2.DescribeRouteTablesInput, o ...func(*ec2.Options)) (*ec2.DescribeRouteTablesOutput, error) {
	return call(ctx, m.limits, "ec2.DescribeRouteTables", func() (*ec2.DescribeRouteTablesOutput, error) { return m.api.DescribeRouteTables(ctx, in, o...) })
}

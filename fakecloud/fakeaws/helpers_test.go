package fakeaws

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/smithy-go"
)

// clients are the real SDK clients pointed at one fake.
type clients struct {
	srv   *Server
	url   string
	ec2   *ec2.Client
	elb   *elb.Client
	elbv2 *elbv2.Client
}

// newFake starts a fake on httptest and returns SDK clients without retries, so
// every call is exactly one request.
func newFake(t *testing.T) *clients {
	t.Helper()
	srv := New(Options{})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	cfg := aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDFAKE", "secret", ""),
		BaseEndpoint:     aws.String(hs.URL),
		RetryMaxAttempts: 1,
	}
	return &clients{
		srv:   srv,
		url:   hs.URL,
		ec2:   ec2.NewFromConfig(cfg),
		elb:   elb.NewFromConfig(cfg),
		elbv2: elbv2.NewFromConfig(cfg),
	}
}

// code is the AWS error code of err, or "" for nil.
func code(err error) string {
	if err == nil {
		return ""
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return "not an APIError: " + err.Error()
}

func wantCode(t *testing.T, err error, want string) {
	t.Helper()
	if got := code(err); got != want {
		t.Fatalf("error code = %q, want %q (err: %v)", got, want, err)
	}
}

func must[T any](t *testing.T) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

var ctx = context.Background()

// topo is a VPC with one public and one private subnet and two instances.
type topo struct {
	vpc, public, private string
	instances            []string
}

func buildTopo(t *testing.T, c *clients) topo {
	t.Helper()
	vpc := must[*ec2.CreateVpcOutput](t)(c.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")}))
	vpcID := *vpc.Vpc.VpcId
	sub := func(cidr, az, role string) string {
		out := must[*ec2.CreateSubnetOutput](t)(c.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{
			VpcId: aws.String(vpcID), CidrBlock: aws.String(cidr), AvailabilityZone: aws.String(az),
			TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSubnet, Tags: []ec2types.Tag{
				{Key: aws.String("Name"), Value: aws.String(role)},
				{Key: aws.String("kubernetes.io/role/" + role), Value: aws.String("1")},
			}}},
		}))
		return *out.Subnet.SubnetId
	}
	public := sub("10.0.1.0/24", "us-east-1a", "elb")
	private := sub("10.0.2.0/24", "us-east-1b", "internal-elb")
	igw := must[*ec2.CreateInternetGatewayOutput](t)(c.ec2.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{}))
	must[*ec2.AttachInternetGatewayOutput](t)(c.ec2.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: igw.InternetGateway.InternetGatewayId, VpcId: aws.String(vpcID)}))
	rtb := must[*ec2.CreateRouteTableOutput](t)(c.ec2.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: aws.String(vpcID)}))
	must[*ec2.CreateRouteOutput](t)(c.ec2.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: rtb.RouteTable.RouteTableId, DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: igw.InternetGateway.InternetGatewayId}))
	must[*ec2.AssociateRouteTableOutput](t)(c.ec2.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: rtb.RouteTable.RouteTableId, SubnetId: aws.String(public)}))
	run := must[*ec2.RunInstancesOutput](t)(c.ec2.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String("ami-12345678"), MinCount: aws.Int32(2), MaxCount: aws.Int32(2), SubnetId: aws.String(public),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance, Tags: []ec2types.Tag{
			{Key: aws.String("kubernetes.io/cluster/demo"), Value: aws.String("owned")},
		}}},
	}))
	tp := topo{vpc: vpcID, public: public, private: private}
	for _, i := range run.Instances {
		tp.instances = append(tp.instances, *i.InstanceId)
	}
	return tp
}

func asErr[T error](err error, target *T) bool { return errors.As(err, target) }

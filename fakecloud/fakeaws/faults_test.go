package fakeaws

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/cloudlb/cloudlb/fakecloud/fakecore"
)

func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// A lost response is a 5xx for a write that happened: the state changed all the same.
func TestLoseResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(s *Server)
	}{
		{"rate", func(s *Server) { s.SetFaults(fakecore.Faults{LoseResponseRate: 1}) }},
		{"one-shot", func(s *Server) { s.FailNext(NewCall(ServiceEC2, "CreateSecurityGroup"), 1, fakecore.ErrLost) }},
		{"rate limited to the operation", func(s *Server) {
			s.SetFaults(fakecore.Faults{LoseResponseRate: 1, Operations: []string{"ec2:CreateSecurityGroup"}})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newFake(t)
			tp := buildTopo(t, c)
			tc.setup(c.srv)
			_, err := c.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("g"), Description: aws.String("g"), VpcId: aws.String(tp.vpc)})
			wantCode(t, err, "InternalError")
			if httpStatus(err) != 500 {
				t.Fatalf("status of %v is not 500", err)
			}
			// Reads are never lost, so the caller can see what happened.
			out := must[*ec2.DescribeSecurityGroupsOutput](t)(c.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupNames: []string{"g"}}))
			if len(out.SecurityGroups) != 1 {
				t.Fatalf("groups named g = %d, want the one the lost call created", len(out.SecurityGroups))
			}
			// The retry meets what the first call made.
			c.srv.SetFaults(fakecore.Faults{})
			_, err = c.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("g"), Description: aws.String("g"), VpcId: aws.String(tp.vpc)})
			wantCode(t, err, "InvalidGroup.Duplicate")
		})
	}
}

func TestLoseResponseELBv2Status(t *testing.T) {
	t.Parallel()
	c := newFake(t)
	tp := buildTopo(t, c)
	c.srv.FailNext(NewCall(ServiceELBv2, "CreateTargetGroup"), 1, fakecore.ErrLost)
	in := &elbv2.CreateTargetGroupInput{Name: aws.String("tg"), Protocol: elbv2types.ProtocolEnumTcp, Port: aws.Int32(80), VpcId: aws.String(tp.vpc)}
	_, err := c.elbv2.CreateTargetGroup(ctx, in)
	wantCode(t, err, "ServiceUnavailable")
	if httpStatus(err) != 503 {
		t.Fatalf("status of %v is not 503", err)
	}
	// CreateTargetGroup is idempotent, so the retry returns the group the lost call made.
	again := must[*elbv2.CreateTargetGroupOutput](t)(c.elbv2.CreateTargetGroup(ctx, in))
	if got := c.srv.Inventory().TargetGroups; len(got) != 1 || *again.TargetGroups[0].TargetGroupName != "tg" {
		t.Fatalf("target groups = %v", got)
	}
}

func TestFailNextTimes(t *testing.T) {
	t.Parallel()
	c := newFake(t)
	call := NewCall(ServiceEC2, "DescribeVpcs")
	c.srv.FailNext(call, 3, &fakecore.APIError{Code: "RequestLimitExceeded", Status: 503})
	for i := 0; i < 3; i++ {
		_, err := c.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
		wantCode(t, err, "RequestLimitExceeded")
	}
	must[*ec2.DescribeVpcsOutput](t)(c.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}))
	if n := c.srv.CallCount(NewCall(ServiceEC2, "DescribeVpcs")); n != 4 {
		t.Fatalf("calls = %d, want 4", n)
	}
}

// Writes above WriteRateLimit are throttled, reads never; a bucket refills with time, so a
// client that slows down is served again.
func TestWriteRateLimit(t *testing.T) {
	t.Parallel()
	c := newFake(t)
	tp := buildTopo(t, c)
	c.srv.SetFaults(fakecore.Faults{WriteRateLimit: 0.001, WriteBurst: 2})
	create := func(name string) error {
		_, err := c.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name), Description: aws.String(name), VpcId: aws.String(tp.vpc)})
		return err
	}
	for _, name := range []string{"a", "b"} {
		if err := create(name); err != nil {
			t.Fatalf("write %s within the burst: %v", name, err)
		}
	}
	wantCode(t, create("c"), "RequestLimitExceeded")
	for range 5 {
		if _, err := c.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{}); err != nil {
			t.Fatalf("a read was throttled: %v", err)
		}
	}
	c.srv.SetFaults(fakecore.Faults{WriteRateLimit: 1000})
	if err := create("c"); err != nil {
		t.Fatalf("write under a higher limit: %v", err)
	}
}

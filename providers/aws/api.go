package aws

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/smithy-go"

	"github.com/cloudlb/cloudlb/providers/cloudapi"
)

// elbAPI lists the Classic ELB verbs the provider calls; *elb.Client satisfies it.
type elbAPI interface {
	DescribeLoadBalancers(context.Context, *elb.DescribeLoadBalancersInput, ...func(*elb.Options)) (*elb.DescribeLoadBalancersOutput, error)
	DescribeTags(context.Context, *elb.DescribeTagsInput, ...func(*elb.Options)) (*elb.DescribeTagsOutput, error)
	DescribeLoadBalancerAttributes(context.Context, *elb.DescribeLoadBalancerAttributesInput, ...func(*elb.Options)) (*elb.DescribeLoadBalancerAttributesOutput, error)
	CreateLoadBalancer(context.Context, *elb.CreateLoadBalancerInput, ...func(*elb.Options)) (*elb.CreateLoadBalancerOutput, error)
	DeleteLoadBalancer(context.Context, *elb.DeleteLoadBalancerInput, ...func(*elb.Options)) (*elb.DeleteLoadBalancerOutput, error)
	CreateLoadBalancerListeners(context.Context, *elb.CreateLoadBalancerListenersInput, ...func(*elb.Options)) (*elb.CreateLoadBalancerListenersOutput, error)
	DeleteLoadBalancerListeners(context.Context, *elb.DeleteLoadBalancerListenersInput, ...func(*elb.Options)) (*elb.DeleteLoadBalancerListenersOutput, error)
	ConfigureHealthCheck(context.Context, *elb.ConfigureHealthCheckInput, ...func(*elb.Options)) (*elb.ConfigureHealthCheckOutput, error)
	ModifyLoadBalancerAttributes(context.Context, *elb.ModifyLoadBalancerAttributesInput, ...func(*elb.Options)) (*elb.ModifyLoadBalancerAttributesOutput, error)
	CreateLoadBalancerPolicy(context.Context, *elb.CreateLoadBalancerPolicyInput, ...func(*elb.Options)) (*elb.CreateLoadBalancerPolicyOutput, error)
	SetLoadBalancerPoliciesOfListener(context.Context, *elb.SetLoadBalancerPoliciesOfListenerInput, ...func(*elb.Options)) (*elb.SetLoadBalancerPoliciesOfListenerOutput, error)
	SetLoadBalancerPoliciesForBackendServer(context.Context, *elb.SetLoadBalancerPoliciesForBackendServerInput, ...func(*elb.Options)) (*elb.SetLoadBalancerPoliciesForBackendServerOutput, error)
	RegisterInstancesWithLoadBalancer(context.Context, *elb.RegisterInstancesWithLoadBalancerInput, ...func(*elb.Options)) (*elb.RegisterInstancesWithLoadBalancerOutput, error)
	DeregisterInstancesFromLoadBalancer(context.Context, *elb.DeregisterInstancesFromLoadBalancerInput, ...func(*elb.Options)) (*elb.DeregisterInstancesFromLoadBalancerOutput, error)
	ApplySecurityGroupsToLoadBalancer(context.Context, *elb.ApplySecurityGroupsToLoadBalancerInput, ...func(*elb.Options)) (*elb.ApplySecurityGroupsToLoadBalancerOutput, error)
	AttachLoadBalancerToSubnets(context.Context, *elb.AttachLoadBalancerToSubnetsInput, ...func(*elb.Options)) (*elb.AttachLoadBalancerToSubnetsOutput, error)
	DetachLoadBalancerFromSubnets(context.Context, *elb.DetachLoadBalancerFromSubnetsInput, ...func(*elb.Options)) (*elb.DetachLoadBalancerFromSubnetsOutput, error)
	AddTags(context.Context, *elb.AddTagsInput, ...func(*elb.Options)) (*elb.AddTagsOutput, error)
	RemoveTags(context.Context, *elb.RemoveTagsInput, ...func(*elb.Options)) (*elb.RemoveTagsOutput, error)
}

// ec2API lists the EC2 verbs the provider calls; *ec2.Client satisfies it.
type ec2API interface {
	DescribeSubnets(context.Context, *ec2.DescribeSubnetsInput, ...func(*ec2.Options)) (*ec2.DescribeSubnetsOutput, error)
	DescribeRouteTables(context.Context, *ec2.DescribeRouteTablesInput, ...func(*ec2.Options)) (*ec2.DescribeRouteTablesOutput, error)
	DescribeInstances(context.Context, *ec2.DescribeInstancesInput, ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
	DescribeSecurityGroups(context.Context, *ec2.DescribeSecurityGroupsInput, ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error)
	CreateSecurityGroup(context.Context, *ec2.CreateSecurityGroupInput, ...func(*ec2.Options)) (*ec2.CreateSecurityGroupOutput, error)
	DeleteSecurityGroup(context.Context, *ec2.DeleteSecurityGroupInput, ...func(*ec2.Options)) (*ec2.DeleteSecurityGroupOutput, error)
	AuthorizeSecurityGroupIngress(context.Context, *ec2.AuthorizeSecurityGroupIngressInput, ...func(*ec2.Options)) (*ec2.AuthorizeSecurityGroupIngressOutput, error)
	RevokeSecurityGroupIngress(context.Context, *ec2.RevokeSecurityGroupIngressInput, ...func(*ec2.Options)) (*ec2.RevokeSecurityGroupIngressOutput, error)
}

var (
	_ elbAPI = (*elb.Client)(nil)
	_ ec2API = (*ec2.Client)(nil)
)

// call runs one SDK request and reports it as operation op ("elb.CreateLoadBalancer",
// "ec2.DescribeSubnets") to the cloud API metrics, throttling counted apart. It first waits
// on the client-side token bucket of op's API, shared by every call of the Cloud.
func call[T any](ctx context.Context, ls *limits, op string, f func() (T, error)) (T, error) {
	if err := ls.forOp(op).wait(ctx, op); err != nil {
		var zero T
		return zero, err
	}
	start := time.Now()
	out, err := f()
	cloudapi.Observe(ProviderName, op, start, cloudapi.Outcome{Err: err, Throttled: isThrottle(err)})
	if err != nil {
		return out, fmt.Errorf("%s: %w", op, err)
	}
	return out, nil
}

// errorCode is the AWS error code of err, or "".
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// isThrottle reports whether err is AWS's throttling answer.
func isThrottle(err error) bool { return cloudapi.AWSThrottled(errorCode(err)) }

// elbv2API lists the Elastic Load Balancing v2 verbs the NLB path calls.
type elbv2API interface {
	DescribeLoadBalancers(context.Context, *elbv2.DescribeLoadBalancersInput, ...func(*elbv2.Options)) (*elbv2.DescribeLoadBalancersOutput, error)
	DescribeTags(context.Context, *elbv2.DescribeTagsInput, ...func(*elbv2.Options)) (*elbv2.DescribeTagsOutput, error)
	DescribeListeners(context.Context, *elbv2.DescribeListenersInput, ...func(*elbv2.Options)) (*elbv2.DescribeListenersOutput, error)
	DescribeTargetGroups(context.Context, *elbv2.DescribeTargetGroupsInput, ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupsOutput, error)
	DescribeTargetGroupAttributes(context.Context, *elbv2.DescribeTargetGroupAttributesInput, ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupAttributesOutput, error)
	ModifyTargetGroupAttributes(context.Context, *elbv2.ModifyTargetGroupAttributesInput, ...func(*elbv2.Options)) (*elbv2.ModifyTargetGroupAttributesOutput, error)
	DescribeTargetHealth(context.Context, *elbv2.DescribeTargetHealthInput, ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error)
	DescribeLoadBalancerAttributes(context.Context, *elbv2.DescribeLoadBalancerAttributesInput, ...func(*elbv2.Options)) (*elbv2.DescribeLoadBalancerAttributesOutput, error)
	CreateLoadBalancer(context.Context, *elbv2.CreateLoadBalancerInput, ...func(*elbv2.Options)) (*elbv2.CreateLoadBalancerOutput, error)
	DeleteLoadBalancer(context.Context, *elbv2.DeleteLoadBalancerInput, ...func(*elbv2.Options)) (*elbv2.DeleteLoadBalancerOutput, error)
	SetSubnets(context.Context, *elbv2.SetSubnetsInput, ...func(*elbv2.Options)) (*elbv2.SetSubnetsOutput, error)
	ModifyLoadBalancerAttributes(context.Context, *elbv2.ModifyLoadBalancerAttributesInput, ...func(*elbv2.Options)) (*elbv2.ModifyLoadBalancerAttributesOutput, error)
	CreateTargetGroup(context.Context, *elbv2.CreateTargetGroupInput, ...func(*elbv2.Options)) (*elbv2.CreateTargetGroupOutput, error)
	ModifyTargetGroup(context.Context, *elbv2.ModifyTargetGroupInput, ...func(*elbv2.Options)) (*elbv2.ModifyTargetGroupOutput, error)
	DeleteTargetGroup(context.Context, *elbv2.DeleteTargetGroupInput, ...func(*elbv2.Options)) (*elbv2.DeleteTargetGroupOutput, error)
	RegisterTargets(context.Context, *elbv2.RegisterTargetsInput, ...func(*elbv2.Options)) (*elbv2.RegisterTargetsOutput, error)
	DeregisterTargets(context.Context, *elbv2.DeregisterTargetsInput, ...func(*elbv2.Options)) (*elbv2.DeregisterTargetsOutput, error)
	CreateListener(context.Context, *elbv2.CreateListenerInput, ...func(*elbv2.Options)) (*elbv2.CreateListenerOutput, error)
	ModifyListener(context.Context, *elbv2.ModifyListenerInput, ...func(*elbv2.Options)) (*elbv2.ModifyListenerOutput, error)
	DeleteListener(context.Context, *elbv2.DeleteListenerInput, ...func(*elbv2.Options)) (*elbv2.DeleteListenerOutput, error)
	AddTags(context.Context, *elbv2.AddTagsInput, ...func(*elbv2.Options)) (*elbv2.AddTagsOutput, error)
	RemoveTags(context.Context, *elbv2.RemoveTagsInput, ...func(*elbv2.Options)) (*elbv2.RemoveTagsOutput, error)
	SetSecurityGroups(context.Context, *elbv2.SetSecurityGroupsInput, ...func(*elbv2.Options)) (*elbv2.SetSecurityGroupsOutput, error)
	SetIpAddressType(context.Context, *elbv2.SetIpAddressTypeInput, ...func(*elbv2.Options)) (*elbv2.SetIpAddressTypeOutput, error)
}

var _ elbv2API = (*elbv2.Client)(nil)

package aws

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/cloudlb/cloudlb/providers"
)

func fromGroup(source, name string) []ec2types.IpPermission {
	return []ec2types.IpPermission{{IpProtocol: aws.String("-1"), UserIdGroupPairs: []ec2types.UserIdGroupPair{
		{GroupId: aws.String(source), Description: aws.String(fmt.Sprintf("cloudlb: traffic from load balancer %s", name))},
	}}}
}

func (c *Cloud) revokeFrom(ctx context.Context, group, source string) error {
	_, err := call(ctx, c.limits, "ec2.RevokeSecurityGroupIngress", func() (*ec2.RevokeSecurityGroupIngressOutput, error) {
		return c.ec2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(group), IpPermissions: []ec2types.IpPermission{
			{IpProtocol: aws.String("-1"), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(source)}}},
		}})
	})
	if errorCode(err) == "InvalidPermission.NotFound" {
		return nil
	}
	return err
}

// revokeLBIngress removes a Classic Load Balancer's all-traffic rule from a node group.
type revokeLBIngress struct{ group, source string }

func (w revokeLBIngress) audit() providers.Write {
	return providers.Write{Operation: "ec2.RevokeSecurityGroupIngress", Object: w.group}
}

func (w revokeLBIngress) apply(ctx context.Context, r *run) error {
	return r.c.revokeFrom(ctx, w.group, w.source)
}

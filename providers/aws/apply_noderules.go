package aws

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"

	"github.com/cloudlb/cloudlb/providers"
)

// fromGroup is the all-traffic rule from source that lets load balancer name in.
func fromGroup(source, name string) []ec2types.IpPermission {
	return []ec2types.IpPermission{{IpProtocol: aws.String("-1"), UserIdGroupPairs: []ec2types.UserIdGroupPair{
		{GroupId: aws.String(source), Description: aws.String(fmt.Sprintf("cloudlb: traffic from load balancer %s", name))},
	}}}
}

// revokeFrom removes the all-traffic rule from source in group; one already gone is fine.
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

// authorizeLBIngress lets a Classic Load Balancer's group into a node group.
type authorizeLBIngress struct {
	group  string
	source ref
	lb     string
}

func (w authorizeLBIngress) audit() providers.Write {
	return providers.Write{Operation: "ec2.AuthorizeSecurityGroupIngress", Object: w.group}
}

func (w authorizeLBIngress) apply(ctx context.Context, r *run) error {
	source, err := r.resolve(w.source)
	if err != nil {
		return err
	}
	_, err = call(ctx, r.c.limits, "ec2.AuthorizeSecurityGroupIngress", func() (*ec2.AuthorizeSecurityGroupIngressOutput, error) {
		return r.c.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(w.group), IpPermissions: fromGroup(source, w.lb)})
	})
	return ignoreDuplicate(err)
}

// addNodeRulesTag records on a Classic Load Balancer the hash of the source group and the node
// groups holding its rules (nodeRulesHash), with the tags in also (the load balancer's own,
// managedGroupRef standing for a group the run created; classicPlan.mergeTagWrites).
type addNodeRulesTag struct {
	lb     string
	source ref
	groups []string
	also   map[string]string
}

func (w addNodeRulesTag) audit() providers.Write {
	return providers.Write{Operation: "elb.AddTags", Object: w.lb}
}

func (w addNodeRulesTag) apply(ctx context.Context, r *run) error {
	source, err := r.resolve(w.source)
	if err != nil {
		return err
	}
	tags, err := r.resolveTags(w.also)
	if err != nil {
		return err
	}
	if tags == nil {
		tags = map[string]string{}
	}
	hash := nodeRulesHash(source, w.groups)
	tags[tagNodeRules] = hash
	if _, err := call(ctx, r.c.limits, "elb.AddTags", func() (*elb.AddTagsOutput, error) {
		return r.c.elb.AddTags(ctx, &elb.AddTagsInput{LoadBalancerNames: []string{w.lb}, Tags: toTags(tags)})
	}); err != nil {
		return err
	}
	r.nodeRulesHash = hash
	return nil
}

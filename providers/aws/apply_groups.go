package aws

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/cloudlb/cloudlb/providers"
)

// createGroup creates the managed security group sg of service, or adopts it when a
// previous attempt created it (only if it carries cluster's tag).
func (c *Cloud) createGroup(ctx context.Context, sg *SecurityGroup, cluster, service, vpc string) (string, error) {
	tags := make([]ec2types.Tag, 0, len(sg.Tags))
	for _, k := range slices.Sorted(maps.Keys(sg.Tags)) {
		tags = append(tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(sg.Tags[k])})
	}
	out, err := call(ctx, c.limits, "ec2.CreateSecurityGroup", func() (*ec2.CreateSecurityGroupOutput, error) {
		return c.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
			GroupName: aws.String(sg.Name), Description: aws.String(sg.Description), VpcId: aws.String(vpc),
			TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSecurityGroup, Tags: tags}},
		})
	})
	if errorCode(err) == "InvalidGroup.Duplicate" {
		g, ferr := c.findGroup(ctx, sg.Name, vpc)
		if ferr != nil {
			return "", ferr
		}
		if g == nil || !owned(g.Tags, cluster) || g.Tags[tagRole] != sg.Tags[tagRole] {
			return "", providers.NewUserError(service, "security group %s already exists and is not ours; it is left untouched", sg.Name)
		}
		return g.ID, nil
	}
	if err != nil {
		return "", err
	}
	return aws.ToString(out.GroupId), nil
}

// authorize adds rules; when some are present already (InvalidPermission.Duplicate: left by
// a crash, or the same rule under another description, which AWS counts as the same) it
// adds them one by one, skipping those present.
func (c *Cloud) authorize(ctx context.Context, group string, rules []Rule) error {
	if len(rules) == 0 {
		return nil
	}
	one := func(rs []Rule) error {
		_, err := call(ctx, c.limits, "ec2.AuthorizeSecurityGroupIngress", func() (*ec2.AuthorizeSecurityGroupIngressOutput, error) {
			return c.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(group), IpPermissions: toPermissions(rs)})
		})
		return err
	}
	err := one(rules)
	if errorCode(err) != "InvalidPermission.Duplicate" || len(rules) == 1 {
		return ignoreDuplicate(err)
	}
	for _, r := range rules {
		if err := ignoreDuplicate(one([]Rule{r})); err != nil {
			return err
		}
	}
	return nil
}

func ignoreDuplicate(err error) error {
	if errorCode(err) == "InvalidPermission.Duplicate" {
		return nil
	}
	return err
}

// errGroupInUse is the transient error of a group still referenced while the load
// balancer's network interfaces drain.
var errGroupInUse = errors.New("security group still in use, retrying")

func (c *Cloud) deleteGroup(ctx context.Context, id string) error {
	_, err := call(ctx, c.limits, "ec2.DeleteSecurityGroup", func() (*ec2.DeleteSecurityGroupOutput, error) {
		return c.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(id)})
	})
	switch errorCode(err) {
	case "InvalidGroup.NotFound":
		return nil
	case "DependencyViolation":
		return fmt.Errorf("deleting %s: %w: %w", id, errGroupInUse, err)
	}
	return err
}

// toPermissions groups rules into one permission per protocol and port range.
func toPermissions(rules []Rule) []ec2types.IpPermission {
	var out []ec2types.IpPermission
	index := map[string]int{}
	for _, r := range rules {
		k := fmt.Sprintf("%s/%d/%d", r.Protocol, r.FromPort, r.ToPort)
		i, ok := index[k]
		if !ok {
			i = len(out)
			index[k] = i
			out = append(out, ec2types.IpPermission{IpProtocol: aws.String(r.Protocol), FromPort: aws.Int32(r.FromPort), ToPort: aws.Int32(r.ToPort)})
		}
		desc := aws.String(r.Description)
		if r.Description == "" {
			desc = nil
		}
		switch {
		case r.Group != "":
			out[i].UserIdGroupPairs = append(out[i].UserIdGroupPairs, ec2types.UserIdGroupPair{GroupId: aws.String(r.Group), Description: desc})
		case r.PrefixList != "":
			out[i].PrefixListIds = append(out[i].PrefixListIds, ec2types.PrefixListId{PrefixListId: aws.String(r.PrefixList), Description: desc})
		case isIPv6(r.CIDR):
			out[i].Ipv6Ranges = append(out[i].Ipv6Ranges, ec2types.Ipv6Range{CidrIpv6: aws.String(r.CIDR), Description: desc})
		default:
			out[i].IpRanges = append(out[i].IpRanges, ec2types.IpRange{CidrIp: aws.String(r.CIDR), Description: desc})
		}
	}
	return out
}

func isIPv6(cidr string) bool { return slices.Contains([]byte(cidr), ':') }

// revoke removes rules from group, tolerating rules already gone.
func (c *Cloud) revoke(ctx context.Context, group string, rules []Rule) error {
	if len(rules) == 0 {
		return nil
	}
	_, err := call(ctx, c.limits, "ec2.RevokeSecurityGroupIngress", func() (*ec2.RevokeSecurityGroupIngressOutput, error) {
		return c.ec2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(group), IpPermissions: toPermissions(rules)})
	})
	if errorCode(err) == "InvalidPermission.NotFound" {
		return nil
	}
	return err
}

// The EC2 writes of the plans: the managed security groups and the node rules.

// createSecurityGroup creates a managed group, or adopts it when an earlier attempt created
// it (c.createGroup).
type createSecurityGroup struct {
	sg               *SecurityGroup
	cluster, service string
	// managed says the group is the one managedGroupRef stands for in the plan's rules,
	// backend that it is the cluster's backend group (backendGroupRef).
	managed, backend bool
}

func (w createSecurityGroup) audit() providers.Write {
	return providers.Write{Operation: "ec2.CreateSecurityGroup", Object: w.sg.Name, Change: providers.ChangeCreated}
}

func (w createSecurityGroup) apply(ctx context.Context, r *run) error {
	if w.backend {
		r.c.noBackend.forget()
	}
	id, err := r.c.createGroup(ctx, w.sg, w.cluster, w.service, r.vpc)
	if err != nil {
		return err
	}
	r.created[w.sg.Name] = id
	if w.managed {
		r.created[managedGroupRef] = id
	}
	if w.backend {
		r.created[backendGroupRef] = id
	}
	return nil
}

// authorizeIngress adds rules to a group (c.authorize).
type authorizeIngress struct {
	group ref
	rules []Rule
}

func (w authorizeIngress) audit() providers.Write {
	return providers.Write{Operation: "ec2.AuthorizeSecurityGroupIngress", Object: w.group.String()}
}

func (w authorizeIngress) apply(ctx context.Context, r *run) error {
	group, rules, err := r.resolveGroupRules(w.group, w.rules)
	if err != nil {
		return err
	}
	return r.c.authorize(ctx, group, rules)
}

// revokeIngress removes rules from a group (c.revoke).
type revokeIngress struct {
	group ref
	rules []Rule
}

func (w revokeIngress) audit() providers.Write {
	return providers.Write{Operation: "ec2.RevokeSecurityGroupIngress", Object: w.group.String()}
}

func (w revokeIngress) apply(ctx context.Context, r *run) error {
	group, rules, err := r.resolveGroupRules(w.group, w.rules)
	if err != nil {
		return err
	}
	return r.c.revoke(ctx, group, rules)
}

// resolveGroupRules resolves a rule write's group and the groups its rules name.
func (r *run) resolveGroupRules(group ref, rules []Rule) (string, []Rule, error) {
	id, err := r.resolve(group)
	if err != nil {
		return "", nil, err
	}
	resolved, err := r.resolveRules(rules)
	return id, resolved, err
}

// revokeIngressFrom removes from group every rule that lets source in, whatever its protocol
// and ports, before source is deleted.
type revokeIngressFrom struct {
	group, source string
	rules         []Rule
}

func (w revokeIngressFrom) audit() providers.Write {
	return providers.Write{Operation: "ec2.RevokeSecurityGroupIngress", Object: w.group}
}

func (w revokeIngressFrom) apply(ctx context.Context, r *run) error {
	var perms []ec2types.IpPermission
	for _, rule := range w.rules {
		p := ec2types.IpPermission{IpProtocol: aws.String(rule.Protocol), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(w.source)}}}
		if rule.Protocol != "-1" {
			p.FromPort, p.ToPort = aws.Int32(rule.FromPort), aws.Int32(rule.ToPort)
		}
		perms = append(perms, p)
	}
	_, err := call(ctx, r.c.limits, "ec2.RevokeSecurityGroupIngress", func() (*ec2.RevokeSecurityGroupIngressOutput, error) {
		return r.c.ec2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(w.group), IpPermissions: perms})
	})
	if errorCode(err) == "InvalidPermission.NotFound" {
		return nil
	}
	return err
}

// deleteSecurityGroup deletes a group (c.deleteGroup).
type deleteSecurityGroup struct{ id string }

func (w deleteSecurityGroup) audit() providers.Write {
	return providers.Write{Operation: "ec2.DeleteSecurityGroup", Object: w.id, Change: providers.ChangeDeleted}
}

func (w deleteSecurityGroup) apply(ctx context.Context, r *run) error {
	return r.c.deleteGroup(ctx, w.id)
}

package aws

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"k8s.io/client-go/kubernetes"

	"github.com/cloudlb/cloudlb/providers"
)

// tagLegacyCluster is upstream's tag from before kubernetes.io/cluster/<id>: its value is the
// cluster ID. Upstream still reads it on its own instance and writes it beside the new tag when
// it found it there.
const tagLegacyCluster = "KubernetesCluster"

// imdsOverrideService is the [ServiceOverride] Service that points the instance metadata
// client elsewhere; upstream resolves the metadata endpoint through the same overrides.
const imdsOverrideService = "ec2metadata"

var _ providers.ClusterIDDiscoverer = (*Cloud)(nil)

// instanceMetadata is the one IMDS verb discovery calls; *imds.Client has it.
type instanceMetadata interface {
	GetMetadata(context.Context, *imds.GetMetadataInput, ...func(*imds.Options)) (*imds.GetMetadataOutput, error)
}

// DiscoverClusterID finds the cluster ID as upstream cloud-provider-aws does: the cloud
// config's KubernetesClusterID or KubernetesClusterTag, else the tags of the EC2 instance the
// controller runs on (asked of the instance metadata service, then ec2:DescribeInstances):
// kubernetes.io/cluster/<id>, or the legacy KubernetesCluster=<id>. The metadata client
// honours the SDK's AWS_EC2_METADATA_SERVICE_ENDPOINT and AWS_EC2_METADATA_DISABLED, and the
// cloud config's [ServiceOverride] for Service "ec2metadata". The Kubernetes client is not used.
func (c *Cloud) DiscoverClusterID(ctx context.Context, _ kubernetes.Interface) (string, string, error) {
	if id, src, ok, err := configClusterID(c.cfg); ok || err != nil {
		return id, src, err
	}
	md, err := c.metadataClient(ctx)
	if err != nil {
		return "", "", err
	}
	return c.instanceClusterID(ctx, md)
}

// configClusterID is the ID the cloud config names; ok is false when it names none.
// Upstream's KubernetesClusterTag is the legacy tag's value and KubernetesClusterID the new
// tag's; both set to different IDs is upstream's "clusterID tags did not match" (and refused
// by ParseCloudConfig).
func configClusterID(cc *CloudConfig) (id, source string, ok bool, err error) {
	newID, legacy := cc.Global.KubernetesClusterID, cc.Global.KubernetesClusterTag
	switch {
	case newID != "" && legacy != "" && newID != legacy:
		return "", "", false, fmt.Errorf("aws cloud config: KubernetesClusterID = %q and KubernetesClusterTag = %q name different clusters", newID, legacy)
	case newID != "":
		return newID, "cloud config KubernetesClusterID", true, nil
	case legacy != "":
		return legacy, "cloud config KubernetesClusterTag", true, nil
	}
	return "", "", false, nil
}

// metadataClient is the SDK's IMDS client configured like the other clients: the default
// configuration sources, then the cloud config's override for "ec2metadata".
func (c *Cloud) metadataClient(ctx context.Context) (instanceMetadata, error) {
	ac, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("aws: loading the SDK configuration for the instance metadata client: %w", err)
	}
	region := c.cfg.region()
	if region == "" {
		region = ac.Region
	}
	return imds.NewFromConfig(ac, func(o *imds.Options) {
		if u := c.cfg.endpoint(imdsOverrideService, region); u != "" {
			o.Endpoint = u
		}
	}), nil
}

// instanceClusterID reads the controller's instance ID from md and the cluster ID from that
// instance's tags.
func (c *Cloud) instanceClusterID(ctx context.Context, md instanceMetadata) (string, string, error) {
	const looked = "the cloud config sets neither KubernetesClusterID nor KubernetesClusterTag"
	instance, err := selfInstanceID(ctx, md)
	if err != nil {
		return "", "", fmt.Errorf("aws: %s, and the instance the controller runs on is unknown: %w: %w", looked, err, providers.ErrNoClusterID)
	}
	out, err := call(ctx, c.limits, "ec2.DescribeInstances", func() (*ec2.DescribeInstancesOutput, error) {
		return c.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{instance}})
	})
	if err != nil {
		return "", "", fmt.Errorf("aws: reading the tags of instance %s, the controller's: %w", instance, err)
	}
	var tags []ec2types.Tag
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			if aws.ToString(i.InstanceId) == instance {
				tags = i.Tags
			}
		}
	}
	id, src, err := clusterIDFromTags(tags)
	switch {
	case err != nil:
		return "", "", fmt.Errorf("aws: instance %s, the controller's: %w", instance, err)
	case id == "":
		return "", "", fmt.Errorf("aws: %s, and instance %s, the controller's, has neither a %s<id> tag nor a %s tag: %w",
			looked, instance, tagClusterPrefix, tagLegacyCluster, providers.ErrNoClusterID)
	}
	return id, src + " of instance " + instance, nil
}

// selfInstanceID asks the metadata service which instance this is.
func selfInstanceID(ctx context.Context, md instanceMetadata) (string, error) {
	out, err := md.GetMetadata(ctx, &imds.GetMetadataInput{Path: "instance-id"})
	if err != nil {
		return "", fmt.Errorf("instance metadata instance-id: %w", err)
	}
	defer out.Content.Close()
	b, err := io.ReadAll(out.Content)
	if err != nil {
		return "", fmt.Errorf("instance metadata instance-id: %w", err)
	}
	id := strings.TrimSpace(string(b))
	if !strings.HasPrefix(id, "i-") {
		return "", fmt.Errorf("instance metadata instance-id: %q is not an instance ID", id)
	}
	return id, nil
}

// errTagsDisagree is returned when an instance's tags name two clusters.
var errTagsDisagree = errors.New("cluster tags disagree")

// clusterIDFromTags is upstream's reading of an instance's tags: the <id> of its one
// kubernetes.io/cluster/<id> tag (whatever its value: upstream does not look at owned or
// shared here), else the value of KubernetesCluster. Two cluster tags, or a legacy tag naming
// another cluster than the new one, are an error naming both. "" without error: neither tag.
func clusterIDFromTags(tags []ec2types.Tag) (id, source string, err error) {
	var newIDs, legacy []string
	for _, t := range tags {
		k := aws.ToString(t.Key)
		switch {
		case strings.HasPrefix(k, tagClusterPrefix):
			newIDs = append(newIDs, strings.TrimPrefix(k, tagClusterPrefix))
		case k == tagLegacyCluster:
			legacy = append(legacy, aws.ToString(t.Value))
		}
	}
	slices.Sort(newIDs)
	switch {
	case len(newIDs) > 1:
		return "", "", fmt.Errorf("%w: tags %s%s and %s%s", errTagsDisagree, tagClusterPrefix, newIDs[0], tagClusterPrefix, newIDs[1])
	case len(newIDs) == 1 && len(legacy) == 1 && legacy[0] != newIDs[0]:
		return "", "", fmt.Errorf("%w: tags %s%s and %s=%s", errTagsDisagree, tagClusterPrefix, newIDs[0], tagLegacyCluster, legacy[0])
	case len(newIDs) == 1:
		return newIDs[0], "tag " + tagClusterPrefix + newIDs[0], nil
	case len(legacy) == 1 && legacy[0] != "":
		return legacy[0], "tag " + tagLegacyCluster, nil
	}
	return "", "", nil
}

package aws

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/cloudlb/cloudlb/internal/cloudconfig"
	"github.com/cloudlb/cloudlb/providers"
)

// ProviderName is the name the provider registers under (--cloud-provider=aws).
const ProviderName = "aws"

// nlbSecurityGroupModeManaged is upstream's NLBSecurityGroupMode value that gives each NLB a
// managed security group.
const nlbSecurityGroupModeManaged = "Managed"

// The values of NLBBackendSecurityGroup.
const (
	backendShared     = "Shared"
	backendPerService = "PerService"
)

// CloudConfig is the upstream cloud-provider-aws INI file, read with gcfg as upstream reads it,
// so users switch without rewriting it: the same sections and keys, names without case,
// `;` and `#` comments to the end of the line outside double quotes. Every key upstream
// declares is accepted; those tagged `cloudlb:"ignored"` are not acted on, and the start-up
// log names them when they are set.
type CloudConfig struct {
	Global struct {
		Zone                        string
		Region                      string
		VPC                         string
		SubnetID                    string
		KubernetesClusterID         string
		KubernetesClusterTag        string
		ElbSecurityGroup            string
		DisableSecurityGroupIngress bool
		NLBSecurityGroupMode        string
		RoleARN                     string
		// NodePortRange is the cluster's NodePort range ("30000-32767" when unset): the shared
		// rules that let the NLBs' backend group into the nodes cover it (build_backend.go).
		// cloudlb's own key; upstream has none.
		NodePortRange string
		// NLBBackendSecurityGroup is Shared (the default: the NLBs' node rules come from the
		// cluster's backend group) or PerService (each NLB's own group is let into the nodes,
		// as before the backend group and as cloud-provider-aws expects; NLBs that carry the
		// backend group are moved off it, and it is deleted after the last). cloudlb's own key.
		NLBBackendSecurityGroup string

		RouteTableID string `cloudlb:"ignored"`
		// SourceARN is upstream's aws:SourceArn for RoleARN's trust policy; the SDK's
		// AssumeRole here sends none.
		SourceARN                                       string   `cloudlb:"ignored"`
		NodeIPFamilies                                  []string `cloudlb:"ignored"`
		ClusterServiceLoadBalancerHealthProbeMode       string   `cloudlb:"ignored"`
		ClusterServiceSharedLoadBalancerHealthProbePort int32    `cloudlb:"ignored"`
		ClusterServiceSharedLoadBalancerHealthProbePath string   `cloudlb:"ignored"`
		SupportedTopologyInstanceTypePattern            string   `cloudlb:"ignored"`
		// DisableStrictZoneCheck is gone upstream but still in files written for older
		// releases.
		DisableStrictZoneCheck bool `cloudlb:"ignored"`
	}
	// ServiceOverrides are endpoint overrides, keyed by the section's name: upstream's
	// `[ServiceOverride "N"]` sections.
	ServiceOverrides map[string]*ServiceOverride `gcfg:"ServiceOverride"`
}

// ServiceOverride points one AWS service of one region at another URL.
type ServiceOverride struct {
	Service string
	Region  string
	URL     string
	// The SDK signs for the region and service it calls, so upstream's signing overrides
	// are accepted and not acted on.
	SigningRegion string `cloudlb:"ignored"`
	SigningMethod string `cloudlb:"ignored"`
	SigningName   string `cloudlb:"ignored"`
}

// ParseCloudConfig reads the INI file with gcfg. Unknown sections and keys are errors that
// name the file (when r is one), the line, the key and the nearest known key, so a typo is
// not silently ignored. A nil reader gives the zero config.
func ParseCloudConfig(r io.Reader) (*CloudConfig, error) {
	cfg := &CloudConfig{}
	if r != nil {
		if _, err := cloudconfig.ReadINI(cfg, r); err != nil {
			return nil, fmt.Errorf("aws cloud config: %w", err)
		}
	}
	if cfg.ServiceOverrides == nil {
		cfg.ServiceOverrides = map[string]*ServiceOverride{}
	}
	if m := cfg.Global.NLBSecurityGroupMode; m != "" && !strings.EqualFold(m, nlbSecurityGroupModeManaged) {
		return nil, fmt.Errorf("aws cloud config: NLBSecurityGroupMode = %q: the only mode is %s (leave it unset for NLBs without security groups)", m, nlbSecurityGroupModeManaged)
	}
	if err := validateClusterKeys(cfg); err != nil {
		return nil, err
	}
	if m := cfg.Global.NLBBackendSecurityGroup; m != "" && !strings.EqualFold(m, backendShared) && !strings.EqualFold(m, backendPerService) {
		return nil, fmt.Errorf("aws cloud config: NLBBackendSecurityGroup = %q: want %s (the default) or %s", m, backendShared, backendPerService)
	}
	if _, err := parseNodePortRange(cfg.Global.NodePortRange); err != nil {
		return nil, fmt.Errorf("aws cloud config: NodePortRange = %q: %w", cfg.Global.NodePortRange, err)
	}
	for n, o := range cfg.ServiceOverrides {
		if n == "" {
			return nil, fmt.Errorf("aws cloud config: [ServiceOverride] needs a name, e.g. [ServiceOverride \"1\"]")
		}
		// gcfg keeps the spaces inside quotes; upstream trims them before comparing.
		o.Service, o.Region, o.URL = strings.TrimSpace(o.Service), strings.TrimSpace(o.Region), strings.TrimSpace(o.URL)
		if o.Service == "" || o.Region == "" || o.URL == "" {
			return nil, fmt.Errorf("aws cloud config: [ServiceOverride %q] needs Service, Region and URL", n)
		}
	}
	return cfg, nil
}

// maxClusterIDLen keeps kubernetes.io/cluster/<id> within AWS's 128-character tag keys.
const maxClusterIDLen = 128 - len(tagClusterPrefix)

// validateClusterKeys checks KubernetesClusterID and KubernetesClusterTag: both name the
// cluster of the ownership tags, so two different values are refused, as upstream refuses
// them ("clusterID tags did not match"), and each must fit in a tag key.
func validateClusterKeys(cfg *CloudConfig) error {
	g := cfg.Global
	if id, tag := g.KubernetesClusterID, g.KubernetesClusterTag; id != "" && tag != "" && id != tag {
		return fmt.Errorf("aws cloud config: KubernetesClusterID = %q and KubernetesClusterTag = %q name different clusters: set one of them, or both to the same ID", id, tag)
	}
	for _, kv := range [][2]string{{"KubernetesClusterID", g.KubernetesClusterID}, {"KubernetesClusterTag", g.KubernetesClusterTag}} {
		if len(kv[1]) > maxClusterIDLen {
			return fmt.Errorf("aws cloud config: %s = %q: at most %d characters, so that the tag key %s<id> fits AWS's 128", kv[0], kv[1], maxClusterIDLen, tagClusterPrefix)
		}
	}
	return nil
}

// region is Region, else the Zone without its letter ("us-east-1a" -> "us-east-1").
func (c *CloudConfig) region() string {
	if c.Global.Region != "" {
		return c.Global.Region
	}
	if z := c.Global.Zone; len(z) > 1 {
		return z[:len(z)-1]
	}
	return ""
}

// endpoint is the override URL for service ("ec2", "elasticloadbalancing") in region.
func (c *CloudConfig) endpoint(service, region string) string {
	for _, o := range c.ServiceOverrides {
		if strings.EqualFold(o.Service, service) && o.Region == region {
			return o.URL
		}
	}
	return ""
}

var registerOnce sync.Once

// Register makes the provider available to cloudprovider.InitCloudProvider as "aws"; it is
// safe to call more than once.
func Register() {
	providers.Register(&registerOnce, ProviderName, ParseCloudConfig, func(cc *CloudConfig) (*Cloud, error) {
		return NewFromConfig(context.Background(), cc)
	})
}

// NewFromConfig builds the provider with SDK clients from the default credential chain
// (AWS_ENDPOINT_URL and AWS_REGION are honoured by the SDK), the config's region and its
// endpoint overrides. With RoleARN, every call uses that role's credentials, obtained with
// sts:AssumeRole from the default chain's (and renewed before they expire), as upstream.
func NewFromConfig(ctx context.Context, cc *CloudConfig) (*Cloud, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if r := cc.region(); r != "" {
		opts = append(opts, awsconfig.WithRegion(r))
	}
	ac, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("aws: loading the SDK configuration: %w", err)
	}
	if ac.Region == "" {
		return nil, fmt.Errorf("aws: no region: set Region or Zone in [Global] of the cloud config, or AWS_REGION")
	}
	if arn := cc.Global.RoleARN; arn != "" {
		stsc := sts.NewFromConfig(ac, func(o *sts.Options) {
			if u := cc.endpoint("sts", ac.Region); u != "" {
				o.BaseEndpoint = aws.String(u)
			}
		})
		ac.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(stsc, arn, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = "cloudlb"
		}))
	}
	// One retryer and one token bucket per API for the life of the Cloud: the adaptive
	// retryer only slows down if every call reports to the same instance.
	ls := newLimits(Limits{})
	ec2c := ec2.NewFromConfig(ac, func(o *ec2.Options) {
		ls.ec2.configure(&o.Retryer, &o.APIOptions)
		if u := cc.endpoint("ec2", ac.Region); u != "" {
			o.BaseEndpoint = aws.String(u)
		}
	})
	elbc := elb.NewFromConfig(ac, func(o *elb.Options) {
		ls.elb.configure(&o.Retryer, &o.APIOptions)
		if u := cc.endpoint("elasticloadbalancing", ac.Region); u != "" {
			o.BaseEndpoint = aws.String(u)
		}
	})
	elbv2c := elbv2.NewFromConfig(ac, func(o *elbv2.Options) {
		ls.elbv2.configure(&o.Retryer, &o.APIOptions)
		if u := cc.endpoint("elasticloadbalancing", ac.Region); u != "" {
			o.BaseEndpoint = aws.String(u)
		}
	})
	return New(Options{Config: cc, ELB: elbc, EC2: ec2c, ELBv2: elbv2c, limits: ls}), nil
}

// UnknownKeyError is a section or key of the cloud config that the provider does not know.
type UnknownKeyError = cloudconfig.UnknownKeyError

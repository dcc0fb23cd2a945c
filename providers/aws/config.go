package aws

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	cloudprovider "k8s.io/cloud-provider"
)

// ProviderName is the name the provider registers under (--cloud-provider=aws).
const ProviderName = "aws"

// nlbSecurityGroupModeManaged is upstream's NLBSecurityGroupMode value that gives each NLB a
// managed security group.
const nlbSecurityGroupModeManaged = "Managed"

// CloudConfig is the upstream cloud-provider-aws INI file, so users switch without
// rewriting it. Keys we read but do not act on yet are kept for compatibility.
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
	}
	// ServiceOverrides are endpoint overrides, keyed by the section's name.
	ServiceOverrides map[string]*ServiceOverride
}

// ServiceOverride points one AWS service of one region at another URL.
type ServiceOverride struct {
	Service string
	Region  string
	URL     string
}

// ParseCloudConfig reads the INI format: `[Global]` and `[ServiceOverride "N"]` sections of
// `Key = Value` lines, `#` and `;` comments. Unknown sections and keys are errors, so a typo
// is not silently ignored. A nil reader gives the zero config.
func ParseCloudConfig(r io.Reader) (*CloudConfig, error) {
	cfg := &CloudConfig{ServiceOverrides: map[string]*ServiceOverride{}}
	if r == nil {
		return cfg, nil
	}
	sc := bufio.NewScanner(r)
	section, sub, line := "", "", 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' || text[0] == ';' {
			continue
		}
		if strings.HasPrefix(text, "[") {
			if !strings.HasSuffix(text, "]") {
				return nil, fmt.Errorf("aws cloud config line %d: unterminated section %q", line, text)
			}
			head := strings.TrimSpace(text[1 : len(text)-1])
			section, sub, _ = strings.Cut(head, " ")
			section = strings.ToLower(section)
			sub = strings.Trim(strings.TrimSpace(sub), `"`)
			switch section {
			case "global":
			case "serviceoverride":
				if sub == "" {
					return nil, fmt.Errorf("aws cloud config line %d: [ServiceOverride] needs a name, e.g. [ServiceOverride \"1\"]", line)
				}
				if cfg.ServiceOverrides[sub] == nil {
					cfg.ServiceOverrides[sub] = &ServiceOverride{}
				}
			default:
				return nil, fmt.Errorf("aws cloud config line %d: unknown section [%s]", line, head)
			}
			continue
		}
		k, v, ok := strings.Cut(text, "=")
		if !ok {
			return nil, fmt.Errorf("aws cloud config line %d: want key = value, got %q", line, text)
		}
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.Trim(strings.TrimSpace(v), `"`)
		if err := cfg.set(section, sub, k, v); err != nil {
			return nil, fmt.Errorf("aws cloud config line %d: %w", line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading the aws cloud config: %w", err)
	}
	if m := cfg.Global.NLBSecurityGroupMode; m != "" && !strings.EqualFold(m, nlbSecurityGroupModeManaged) {
		return nil, fmt.Errorf("aws cloud config: NLBSecurityGroupMode = %q: the only mode is %s (leave it unset for NLBs without security groups)", m, nlbSecurityGroupModeManaged)
	}
	for n, o := range cfg.ServiceOverrides {
		if o.Service == "" || o.Region == "" || o.URL == "" {
			return nil, fmt.Errorf("aws cloud config: [ServiceOverride %q] needs Service, Region and URL", n)
		}
	}
	return cfg, nil
}

func (c *CloudConfig) set(section, sub, k, v string) error {
	g := &c.Global
	strs := map[string]*string{
		"zone": &g.Zone, "region": &g.Region, "vpc": &g.VPC, "subnetid": &g.SubnetID,
		"kubernetesclusterid": &g.KubernetesClusterID, "kubernetesclustertag": &g.KubernetesClusterTag,
		"elbsecuritygroup": &g.ElbSecurityGroup, "nlbsecuritygroupmode": &g.NLBSecurityGroupMode,
		"rolearn": &g.RoleARN,
	}
	switch section {
	case "global":
		if p, ok := strs[k]; ok {
			*p = v
			return nil
		}
		if k == "disablesecuritygroupingress" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("DisableSecurityGroupIngress: %q is not a boolean", v)
			}
			g.DisableSecurityGroupIngress = b
			return nil
		}
		// Upstream keys we accept and ignore (instance metadata, node naming, ...).
		return nil
	case "serviceoverride":
		o := c.ServiceOverrides[sub]
		switch k {
		case "service":
			o.Service = v
		case "region":
			o.Region = v
		case "url":
			o.URL = v
		case "signingregion", "signingmethod", "signingname":
			// accepted for compatibility; the SDK signs for the region it calls
		default:
			return fmt.Errorf("[ServiceOverride %q]: unknown key %q", sub, k)
		}
		return nil
	}
	return fmt.Errorf("key %q outside a section", k)
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
	registerOnce.Do(func() {
		cloudprovider.RegisterCloudProvider(ProviderName, newFromReader)
	})
}

func newFromReader(r io.Reader) (cloudprovider.Interface, error) {
	cfg, err := ParseCloudConfig(r)
	if err != nil {
		return nil, err
	}
	c, err := NewFromConfig(context.Background(), cfg)
	if err != nil {
		return nil, err // not c: a nil *Cloud would be a non-nil Interface
	}
	return c, nil
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

package aws

import (
	"strings"
	"testing"
)

func TestParseCloudConfig(t *testing.T) {
	t.Parallel()
	cfg, err := ParseCloudConfig(strings.NewReader(`
# upstream cloud-provider-aws format
[Global]
Zone = eu-west-1b
VPC = vpc-123
SubnetID = subnet-1
KubernetesClusterID = prod
ElbSecurityGroup = sg-9
DisableSecurityGroupIngress = true
NLBSecurityGroupMode = Managed
RoleARN = arn:aws:iam::1:role/x
DisableStrictZoneCheck = true

[ServiceOverride "1"]
Service = ec2
Region = eu-west-1
URL = https://ec2.example
SigningRegion = eu-west-1

[ServiceOverride "2"]
Service = elasticloadbalancing
Region = eu-west-1
URL = https://elb.example
`))
	if err != nil {
		t.Fatal(err)
	}
	g := cfg.Global
	if g.VPC != "vpc-123" || g.SubnetID != "subnet-1" || g.KubernetesClusterID != "prod" || g.ElbSecurityGroup != "sg-9" ||
		!g.DisableSecurityGroupIngress || g.NLBSecurityGroupMode != "Managed" || g.RoleARN == "" {
		t.Errorf("global = %+v", g)
	}
	if cfg.region() != "eu-west-1" {
		t.Errorf("region = %q", cfg.region())
	}
	if cfg.endpoint("ec2", "eu-west-1") != "https://ec2.example" || cfg.endpoint("elasticloadbalancing", "eu-west-1") != "https://elb.example" ||
		cfg.endpoint("ec2", "us-east-1") != "" {
		t.Errorf("overrides = %+v", cfg.ServiceOverrides)
	}
	c := New(Options{Config: cfg})
	if c.cluster("ignored") != "prod" || !c.HasClusterID() {
		t.Errorf("cluster = %q", c.cluster("ignored"))
	}
	if s := c.settings("x"); !s.NLBManagedSecurityGroups {
		t.Errorf("settings = %+v, want NLB managed security groups", s)
	}
	if s := New(Options{}).settings("x"); s.NLBManagedSecurityGroups {
		t.Errorf("zero config settings = %+v, want no NLB managed security groups", s)
	}
}

func TestParseCloudConfigErrors(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]string{
		"unknown section":  "[Nope]\n",
		"bad bool":         "[Global]\nDisableSecurityGroupIngress = maybe\n",
		"no equals":        "[Global]\nZone\n",
		"override no name": "[ServiceOverride]\nService = ec2\n",
		"override partial": "[ServiceOverride \"1\"]\nService = ec2\n",
		"override key":     "[ServiceOverride \"1\"]\nServise = ec2\n",
		"outside section":  "Zone = a\n",
		"nlb sg mode":      "[Global]\nNLBSecurityGroupMode = Unmanaged\n",
	} {
		if _, err := ParseCloudConfig(strings.NewReader(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if cfg, err := ParseCloudConfig(nil); err != nil || cfg.region() != "" {
		t.Errorf("nil reader: %v %+v", err, cfg)
	}
}

package aws

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
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

// TestParseCloudConfigGcfg pins the gcfg semantics upstream's files are written for.
func TestParseCloudConfigGcfg(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		in    string
		check func(t *testing.T, c *CloudConfig)
	}{
		{"inline ; comment", "[Global]\nZone = us-east-1a ; comment\n", func(t *testing.T, c *CloudConfig) {
			if c.Global.Zone != "us-east-1a" || c.region() != "us-east-1" {
				t.Errorf("zone %q region %q", c.Global.Zone, c.region())
			}
		}},
		{"inline # comment", "[Global]\nKubernetesClusterID = prod # the prod cluster\n", func(t *testing.T, c *CloudConfig) {
			if c.Global.KubernetesClusterID != "prod" {
				t.Errorf("cluster id %q", c.Global.KubernetesClusterID)
			}
		}},
		{"quoted value keeps ; and #", "[Global]\nKubernetesClusterID = \"a;b#c\" ; comment\n[ServiceOverride \"1\"]\nService = ec2\nRegion = r\nURL = \"https://ec2.example/x;y\"\n",
			func(t *testing.T, c *CloudConfig) {
				if c.Global.KubernetesClusterID != "a;b#c" || c.endpoint("ec2", "r") != "https://ec2.example/x;y" {
					t.Errorf("cluster id %q endpoint %q", c.Global.KubernetesClusterID, c.endpoint("ec2", "r"))
				}
			}},
		{"names without case", "[global]\nkubernetesclusterid = prod\nDISABLESECURITYGROUPINGRESS = yes\n", func(t *testing.T, c *CloudConfig) {
			if c.Global.KubernetesClusterID != "prod" || !c.Global.DisableSecurityGroupIngress {
				t.Errorf("global %+v", c.Global)
			}
		}},
		{"multi-valued key", "[Global]\nNodeIPFamilies = ipv4\nNodeIPFamilies = ipv6\n", func(t *testing.T, c *CloudConfig) {
			if !slices.Equal(c.Global.NodeIPFamilies, []string{"ipv4", "ipv6"}) {
				t.Errorf("node ip families %q", c.Global.NodeIPFamilies)
			}
		}},
		{"override subsections", "[ServiceOverride \"ec2\"]\nService = ec2\nRegion = r\nURL = https://a\n[ServiceOverride \"elb\"]\nService = elasticloadbalancing\nRegion = r\nURL = https://b\nSigningName = x\n",
			func(t *testing.T, c *CloudConfig) {
				if len(c.ServiceOverrides) != 2 || c.endpoint("ec2", "r") != "https://a" || c.endpoint("elasticloadbalancing", "r") != "https://b" {
					t.Errorf("overrides %+v", c.ServiceOverrides)
				}
			}},
		{"byte order mark", "\ufeff[Global]\nZone = eu-west-1a\n", func(t *testing.T, c *CloudConfig) {
			if c.Global.Zone != "eu-west-1a" {
				t.Errorf("zone %q", c.Global.Zone)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := ParseCloudConfig(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func TestParseCloudConfigUnknownKeys(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   string
		want UnknownKeyError
		msg  string
	}{
		{"typo of a key", "[Global]\nZone = us-east-1a\nKubernetesClusterIDD = mycluster\n",
			UnknownKeyError{Line: 3, Section: "Global", Key: "KubernetesClusterIDD", Nearest: "KubernetesClusterID"},
			`aws cloud config: line 3: unknown key "KubernetesClusterIDD" in [Global], did you mean KubernetesClusterID?`},
		{"typo in another case", "[global]\nvcp = vpc-1\n",
			UnknownKeyError{Line: 2, Section: "global", Key: "vcp", Nearest: "VPC"}, "did you mean VPC?"},
		{"typo of a section", "\n[Globl]\nZone = a\n",
			UnknownKeyError{Line: 2, Section: "Globl", Nearest: "Global"}, "line 2: unknown section [Globl], did you mean Global?"},
		{"typo in an override", "[ServiceOverride \"1\"]\nServise = ec2\n",
			UnknownKeyError{Line: 2, Section: `ServiceOverride "1"`, Key: "Servise", Nearest: "Service"}, `in [ServiceOverride "1"], did you mean Service?`},
		{"subsection of Global", "[Global \"x\"]\nZone = a\n",
			UnknownKeyError{Line: 1, Section: `Global "x"`, Nearest: "Global"}, `unknown section [Global "x"]`},
		{"nothing near", "[Global]\nFrobnicate = yes\n",
			UnknownKeyError{Line: 2, Section: "Global", Key: "Frobnicate"}, `unknown key "Frobnicate" in [Global]` + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseCloudConfig(strings.NewReader(tc.in))
			var uk *UnknownKeyError
			if !errors.As(err, &uk) {
				t.Fatalf("err = %v, want an UnknownKeyError", err)
			}
			if *uk != tc.want {
				t.Errorf("got %+v, want %+v", *uk, tc.want)
			}
			if !strings.Contains(err.Error()+"\n", tc.msg) {
				t.Errorf("message %q does not contain %q", err, tc.msg)
			}
		})
	}
}

func TestParseCloudConfigUnknownKeysNameTheFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "cloud.conf")
	if err := os.WriteFile(path, []byte("[Global]\nZone = us-east-1a\nKubernetesClusterIDD = a\nRoleArm = b\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = ParseCloudConfig(f)
	for _, want := range []string{path + `:3: unknown key "KubernetesClusterIDD"`, path + `:4: unknown key "RoleArm" in [Global], did you mean RoleARN?`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to contain %q", err, want)
		}
	}
}

func TestEffective(t *testing.T) {
	t.Parallel()
	cfg, err := ParseCloudConfig(strings.NewReader("[Global]\nZone = eu-west-1b\nKubernetesClusterID = prod\nDisableStrictZoneCheck = true\n" +
		"[ServiceOverride \"1\"]\nService = ec2\nRegion = eu-west-1\nURL = https://ec2.example\nSigningRegion = eu-west-1\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{}
	kv := New(Options{Config: cfg}).EffectiveConfig()
	for i := 0; i+1 < len(kv); i += 2 {
		got[kv[i].(string)] = kv[i+1]
	}
	want := map[string]any{
		"Zone": "eu-west-1b", "Region": "", "effectiveRegion": "eu-west-1", "KubernetesClusterID": "prod", "DisableSecurityGroupIngress": false,
		"ServiceOverrides": []string{"ec2/eu-west-1=https://ec2.example"},
		"ignoredKeys":      []string{"DisableStrictZoneCheck", `ServiceOverride "1" SigningRegion`},
	}
	for k, v := range want {
		if !reflect.DeepEqual(got[k], v) {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	if _, ok := got["RouteTableID"]; ok {
		t.Error("an ignored key is logged as a setting")
	}
}

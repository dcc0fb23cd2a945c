package azure

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParseCloudConfigUnknownKeys(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   string
		want UnknownKeyError
		msg  string
	}{
		{"typo", "{\n  \"resourceGroup\": \"rg\",\n  \"securityGroupNmae\": \"nsg\"\n}",
			UnknownKeyError{Line: 3, Key: "securityGroupNmae", Nearest: "securityGroupName"},
			`azure cloud config: line 3: unknown key "securityGroupNmae", did you mean securityGroupName?`},
		{"typo of an upstream key cloudlb ignores", `{"vmTyp": "vmss"}`,
			UnknownKeyError{Line: 1, Key: "vmTyp", Nearest: "vmType"}, "did you mean vmType?"},
		{"nothing near", `{"frobnicate": true}`,
			UnknownKeyError{Line: 1, Key: "frobnicate"}, `line 1: unknown key "frobnicate"` + "\n"},
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

func TestParseCloudConfigKnownKeys(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]string{
		"keys without case":              `{"SecurityGroupName": "nsg", "RESOURCEGROUP": "rg"}`,
		"upstream keys cloudlb ignores":  `{"vmType": "vmss", "loadBalancerRateLimit": {"cloudProviderRateLimitQPS": 10}, "routeRateLimit": {"cloudProviderRateLimit": true}, "tagsMap": {"a": "b"}}`,
		"credentials":                    `{"aadClientId": "id", "aadClientSecret": "s", "useManagedIdentityExtension": false}`,
		"nested objects are not checked": `{"multipleStandardLoadBalancerConfigurations": [{"name": "x", "anything": 1}]}`,
	} {
		if _, err := ParseCloudConfig(strings.NewReader(in)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestClassifyKeys(t *testing.T) {
	t.Parallel()
	ignored, err := classifyKeys("azure.json", []byte("{\"location\": \"x\",\n\"vmType\": \"vmss\",\n\"useInstanceMetadata\": true,\n\"locaton\": \"y\",\n\"bogus\": 1}"))
	if !slices.Equal(ignored, []string{"vmType", "useInstanceMetadata"}) {
		t.Errorf("ignored = %q", ignored)
	}
	want := "azure.json:4: unknown key \"locaton\", did you mean location?\nazure.json:5: unknown key \"bogus\""
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
	// Malformed JSON is json.Unmarshal's to report.
	if ignored, err := classifyKeys("", []byte(`{"bogus": `)); ignored != nil || err != nil {
		t.Errorf("malformed: %q %v", ignored, err)
	}
}

func TestParseCloudConfigUnknownKeysNameTheFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "azure.json")
	if err := os.WriteFile(path, []byte("{\n\"securityGroupNmae\": \"nsg\"\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := path + `:2: unknown key "securityGroupNmae", did you mean securityGroupName?`
	if _, err := ParseCloudConfig(f); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v, want it to contain %q", err, want)
	}
}

func TestEffective(t *testing.T) {
	t.Parallel()
	cc, err := ParseCloudConfig(strings.NewReader(`{"resourceGroup": "rg", "location": "westeurope", "aadClientId": "id", "aadClientSecret": "s3cret", "aadClientCertPassword": "pa55"}`))
	if err != nil {
		t.Fatal(err)
	}
	kv := cc.Effective()
	got := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		got[kv[i].(string)] = kv[i+1]
	}
	for k, v := range map[string]any{"resourceGroup": "rg", "vnetResourceGroup": "rg", "loadBalancerSku": "standard", "excludeMasterFromStandardLB": nil} {
		if !reflect.DeepEqual(got[k], v) {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	if s := fmt.Sprint(kv...); strings.Contains(s, "s3cret") || strings.Contains(s, "pa55") {
		t.Errorf("a secret is logged: %s", s)
	}
	// Every secret field the config has shows as redacted, never as its value.
	for _, k := range secretKeys {
		if v, ok := got[k]; ok && v != redacted {
			t.Errorf("%s = %#v, want %q", k, v, redacted)
		}
	}
}

func TestEffectiveRedacts(t *testing.T) {
	t.Parallel()
	type conf struct {
		Name     string  `json:"name"`
		Token    string  `json:"token" datapolicy:"token"`
		Password string  `json:"aadClientCertPassword"`
		Unset    string  `json:"unset" datapolicy:"token"`
		Flag     *bool   `json:"flag"`
		NoFlag   *bool   `json:"noFlag"`
		Skipped  string  `json:"-"`
		hidden   string  // unexported: encoding/json skips it
		Ratio    float64 `json:"ratio,omitempty"`
	}
	yes := true
	got := effectiveSettings(reflect.ValueOf(conf{Name: "n", Token: "t0k", Password: "pw", Flag: &yes, Skipped: "x", hidden: "h", Ratio: 0.5}))
	want := []any{"name", "n", "token", redacted, "aadClientCertPassword", redacted, "unset", "", "flag", true, "noFlag", nil, "ratio", 0.5}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v\nwant %#v", got, want)
	}
}

package aws_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	awsprovider "github.com/cloudlb/cloudlb/fakecloud/fakeaws"
	cloudaws "github.com/cloudlb/cloudlb/providers/aws"
)

// TestRoleARN checks that with RoleARN in the cloud config every call is signed with the
// credentials sts:AssumeRole returned for that role, not with the default chain's.
func TestRoleARN(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDBASE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "base-secret")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	const role = "arn:aws:iam::123456789012:role/cloudlb"
	srv := awsprovider.New(awsprovider.Options{})
	var mu sync.Mutex
	var assumed []url.Values
	var keys []string
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, cred, _ := strings.Cut(r.Header.Get("Authorization"), "Credential=")
		key, _, _ := strings.Cut(cred, "/")
		if strings.HasPrefix(r.URL.Path, "/sts") {
			body, _ := io.ReadAll(r.Body)
			form, _ := url.ParseQuery(string(body))
			mu.Lock()
			assumed = append(assumed, form)
			mu.Unlock()
			if form.Get("Action") != "AssumeRole" || key != "AKIDBASE" {
				http.Error(w, "unexpected STS call "+form.Get("Action")+" signed by "+key, http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "text/xml")
			fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>
<Credentials><AccessKeyId>ASIAROLE</AccessKeyId><SecretAccessKey>role-secret</SecretAccessKey><SessionToken>token</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>
<AssumedRoleUser><Arn>%s/cloudlb</Arn><AssumedRoleId>AROA:cloudlb</AssumedRoleId></AssumedRoleUser>
</AssumeRoleResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></AssumeRoleResponse>`, role)
			return
		}
		mu.Lock()
		keys = append(keys, key)
		mu.Unlock()
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		srv.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	cc, err := cloudaws.ParseCloudConfig(strings.NewReader(fmt.Sprintf(`[Global]
Region = us-east-1
RoleARN = %[1]s
[ServiceOverride "sts"]
Service = sts
Region = us-east-1
URL = %[2]s/sts
[ServiceOverride "elb"]
Service = elasticloadbalancing
Region = us-east-1
URL = %[2]s
[ServiceOverride "ec2"]
Service = ec2
Region = us-east-1
URL = %[2]s
`, role, hs.URL)))
	if err != nil {
		t.Fatal(err)
	}
	c, err := cloudaws.NewFromConfig(ctx, cc)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, exists, err := c.GetLoadBalancer(ctx, cluster, service()); err != nil || exists {
			t.Fatalf("GetLoadBalancer = %v, %v", exists, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(assumed) != 1 || assumed[0].Get("RoleArn") != role || assumed[0].Get("RoleSessionName") != "cloudlb" {
		t.Errorf("AssumeRole calls = %v, want one for %s (credentials are cached)", assumed, role)
	}
	// GetLoadBalancer reads both kinds when the Service has none (a kept load balancer may be
	// of the other kind): two calls each time.
	if len(keys) != 4 || slices.ContainsFunc(keys, func(k string) bool { return k != "ASIAROLE" }) {
		t.Errorf("ELB calls signed with %v, want four with the role's ASIAROLE", keys)
	}
}

package fakeaws

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const ec2Auth = "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=x"

// Requests the SDK never sends still get an XML error in the envelope the signing name (or
// the Version) points at, never a plain-text body.
func TestProtocolErrors(t *testing.T) {
	t.Parallel()
	c := newFake(t)
	tests := []struct {
		name       string
		method     string
		body       string
		auth       string
		wantStatus int
		wantBody   []string
	}{
		{"no action", "POST", url.Values{"Version": {ec2Version}}.Encode(), "", 400,
			[]string{"<Response><Errors><Error><Code>MissingAction</Code>"}},
		{"no version, ec2 signing", "POST", url.Values{"Action": {"DescribeVpcs"}}.Encode(), ec2Auth, 400,
			[]string{"<Response><Errors><Error><Code>MissingParameter</Code>", "Version"}},
		{"no version, elb signing", "POST", url.Values{"Action": {"DescribeLoadBalancers"}}.Encode(), "", 400,
			[]string{"<ErrorResponse", "<Code>MissingParameter</Code>"}},
		{"unknown version", "POST", url.Values{"Action": {"DescribeVpcs"}, "Version": {"2010-01-01"}}.Encode(), ec2Auth, 400,
			[]string{"<Code>NoSuchVersion</Code>", "2010-01-01"}},
		{"malformed body", "POST", "Action=DescribeVpcs&Version=%zz", ec2Auth, 404,
			[]string{"<Response><Errors><Error><Code>MalformedQueryString</Code>"}},
		{"wrong method", "PUT", "", "", 405,
			[]string{"<ErrorResponse", "<Code>InvalidHttpRequest</Code>"}},
		{"get with query", "GET", "", ec2Auth, 200, []string{"<DescribeVpcsResponse", "<vpcSet/>"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			target := c.url
			if tc.method == "GET" {
				target += "/?" + url.Values{"Action": {"DescribeVpcs"}, "Version": {ec2Version}}.Encode()
			}
			req, err := http.NewRequest(tc.method, target, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var b strings.Builder
			if _, err := io.Copy(&b, resp.Body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.wantStatus || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/xml") {
				t.Fatalf("status %d (%s), want %d\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), tc.wantStatus, b.String())
			}
			for _, want := range tc.wantBody {
				if !strings.Contains(b.String(), want) {
					t.Errorf("body lacks %q:\n%s", want, b.String())
				}
			}
		})
	}
}

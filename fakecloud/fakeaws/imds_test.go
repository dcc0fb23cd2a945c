package fakeaws

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// TestIMDSThroughSDK reads the metadata with the SDK's own imds client, which fetches an
// IMDSv2 token first and sends it with every request.
func TestIMDSThroughSDK(t *testing.T) {
	t.Parallel()
	c := newFake(t)
	tp := buildTopo(t, c)
	hs := httptest.NewServer(c.srv.IMDS(tp.instances[0]))
	t.Cleanup(hs.Close)
	client := imds.New(imds.Options{Endpoint: hs.URL})

	inst := must[*ec2.DescribeInstancesOutput](t)(c.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: tp.instances[:1]})).Reservations[0].Instances[0]
	for _, tc := range []struct {
		path, want string
	}{
		{"instance-id", tp.instances[0]},
		{"placement/availability-zone", "us-east-1a"},
		{"placement/region", "us-east-1"},
		{"local-ipv4", *inst.PrivateIpAddress},
		{"local-hostname", *inst.PrivateDnsName},
	} {
		t.Run(tc.path, func(t *testing.T) {
			out, err := client.GetMetadata(ctx, &imds.GetMetadataInput{Path: tc.path})
			if err != nil {
				t.Fatal(err)
			}
			defer out.Content.Close()
			got, _ := io.ReadAll(out.Content)
			if string(got) != tc.want {
				t.Errorf("%s = %q, want %q", tc.path, got, tc.want)
			}
		})
	}
}

// TestIMDSRules checks the answers IMDSv2 gives to requests outside its protocol.
func TestIMDSRules(t *testing.T) {
	t.Parallel()
	c := newFake(t)
	tp := buildTopo(t, c)
	hs := httptest.NewServer(c.srv.IMDS(tp.instances[0]))
	t.Cleanup(hs.Close)
	gone := httptest.NewServer(c.srv.IMDS("i-0000000000000dead"))
	t.Cleanup(gone.Close)

	token := func(t *testing.T, url string) string {
		req, _ := http.NewRequest(http.MethodPut, url+imdsTokenPath, nil)
		req.Header.Set(imdsTTLHeader, "60")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || resp.Header.Get(imdsTTLHeader) != "60" {
			t.Fatalf("token: %d %q, ttl header %q", resp.StatusCode, b, resp.Header.Get(imdsTTLHeader))
		}
		return string(b)
	}
	valid := token(t, hs.URL)
	validGone := token(t, gone.URL)

	tests := []struct {
		name    string
		url     string
		method  string
		path    string
		headers map[string]string
		want    int
	}{
		{"token without ttl", hs.URL, http.MethodPut, imdsTokenPath, nil, http.StatusBadRequest},
		{"token ttl 0", hs.URL, http.MethodPut, imdsTokenPath, map[string]string{imdsTTLHeader: "0"}, http.StatusBadRequest},
		{"token ttl above six hours", hs.URL, http.MethodPut, imdsTokenPath, map[string]string{imdsTTLHeader: "21601"}, http.StatusBadRequest},
		{"token ttl six hours", hs.URL, http.MethodPut, imdsTokenPath, map[string]string{imdsTTLHeader: "21600"}, http.StatusOK},
		{"token through a proxy", hs.URL, http.MethodPut, imdsTokenPath, map[string]string{imdsTTLHeader: "60", "X-Forwarded-For": "10.0.0.1"}, http.StatusForbidden},
		{"token with GET", hs.URL, http.MethodGet, imdsTokenPath, map[string]string{imdsTTLHeader: "60"}, http.StatusMethodNotAllowed},
		{"metadata without token (IMDSv1)", hs.URL, http.MethodGet, "/latest/meta-data/instance-id", nil, http.StatusUnauthorized},
		{"metadata with unknown token", hs.URL, http.MethodGet, "/latest/meta-data/instance-id", map[string]string{imdsTokenHeader: "nope"}, http.StatusUnauthorized},
		{"metadata with another instance's token", hs.URL, http.MethodGet, "/latest/meta-data/instance-id", map[string]string{imdsTokenHeader: validGone}, http.StatusUnauthorized},
		{"metadata", hs.URL, http.MethodGet, "/latest/meta-data/instance-id", map[string]string{imdsTokenHeader: valid}, http.StatusOK},
		{"unknown metadata path", hs.URL, http.MethodGet, "/latest/meta-data/nope", map[string]string{imdsTokenHeader: valid}, http.StatusNotFound},
		{"instance that does not exist", gone.URL, http.MethodGet, "/latest/meta-data/instance-id", map[string]string{imdsTokenHeader: validGone}, http.StatusNotFound},
		{"outside the metadata tree", hs.URL, http.MethodGet, "/latest/user-data", map[string]string{imdsTokenHeader: valid}, http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, tc.url+tc.path, nil)
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("%s %s = %d, want %d", tc.method, tc.path, resp.StatusCode, tc.want)
			}
		})
	}
}

package fakeaws

import (
	"regexp"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

var serverCertID = regexp.MustCompile(`^ASCA[A-Z2-7]{17}$`)

// iamClient is an IAM client of the fake, without retries like the others.
func iamClient(c *clients) *iam.Client {
	return iam.NewFromConfig(aws.Config{Region: "us-east-1", RetryMaxAttempts: 1, BaseEndpoint: aws.String(c.url),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDFAKE", "secret", "")})
}

// uploadCert uploads a fresh self-signed certificate as an IAM server certificate.
func uploadCert(t *testing.T, c *clients, name string) *iamtypes.ServerCertificateMetadata {
	t.Helper()
	tc := newTestCert(t, certOpts{})
	return must[*iam.UploadServerCertificateOutput](t)(iamClient(c).UploadServerCertificate(ctx, &iam.UploadServerCertificateInput{
		ServerCertificateName: aws.String(name), CertificateBody: aws.String(string(tc.certPEM)), PrivateKey: aws.String(string(tc.keyPEM)),
	})).ServerCertificateMetadata
}

func TestIAMUploadServerCertificate(t *testing.T) {
	t.Parallel()
	good := newTestCert(t, certOpts{})
	other := newTestCert(t, certOpts{})
	ca := newTestCert(t, certOpts{cn: "ca.example.com", ca: true})
	signed := newTestCert(t, certOpts{parent: &ca})
	cases := []struct {
		name, certName, path  string
		cert, key, chain      []byte
		wantCode, wantARNPath string
	}{
		{name: "default path", certName: "web", cert: good.certPEM, key: good.keyPEM, wantARNPath: "server-certificate/web"},
		{name: "with path and chain", certName: "web", path: "/cloudfront/test/", cert: signed.certPEM, key: signed.keyPEM, chain: ca.certPEM, wantARNPath: "server-certificate/cloudfront/test/web"},
		{name: "key of another certificate", certName: "web", cert: good.certPEM, key: other.keyPEM, wantCode: "KeyPairMismatch"},
		{name: "not PEM", certName: "web", cert: []byte("junk"), key: good.keyPEM, wantCode: "MalformedCertificate"},
		{name: "chain that did not sign it", certName: "web", cert: signed.certPEM, key: signed.keyPEM, chain: other.certPEM, wantCode: "MalformedCertificate"},
		{name: "name with a space", certName: "my cert", cert: good.certPEM, key: good.keyPEM, wantCode: "ValidationError"},
		{name: "path without trailing slash", certName: "web", path: "/cloudfront", cert: good.certPEM, key: good.keyPEM, wantCode: "ValidationError"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newFake(t)
			in := &iam.UploadServerCertificateInput{ServerCertificateName: aws.String(tc.certName), CertificateBody: aws.String(string(tc.cert)), PrivateKey: aws.String(string(tc.key))}
			if tc.path != "" {
				in.Path = aws.String(tc.path)
			}
			if tc.chain != nil {
				in.CertificateChain = aws.String(string(tc.chain))
			}
			out, err := iamClient(c).UploadServerCertificate(ctx, in)
			wantCode(t, err, tc.wantCode)
			if err != nil {
				return
			}
			m := out.ServerCertificateMetadata
			if aws.ToString(m.Arn) != "arn:aws:iam::123456789012:"+tc.wantARNPath || !serverCertID.MatchString(aws.ToString(m.ServerCertificateId)) || m.Expiration == nil || m.UploadDate == nil {
				t.Fatalf("metadata = %+v (%s, %s)", m, aws.ToString(m.Arn), aws.ToString(m.ServerCertificateId))
			}
			got := must[*iam.GetServerCertificateOutput](t)(iamClient(c).GetServerCertificate(ctx, &iam.GetServerCertificateInput{ServerCertificateName: aws.String(tc.certName)})).ServerCertificate
			if aws.ToString(got.CertificateBody) != string(tc.cert) || aws.ToString(got.CertificateChain) != string(tc.chain) || aws.ToString(got.ServerCertificateMetadata.Arn) != aws.ToString(m.Arn) {
				t.Fatalf("GetServerCertificate = %+v", got)
			}
			_, err = iamClient(c).UploadServerCertificate(ctx, in)
			wantCode(t, err, "EntityAlreadyExists")
		})
	}
}

func TestIAMServerCertificateNotFound(t *testing.T) {
	t.Parallel()
	c := newFake(t)
	client := iamClient(c)
	_, err := client.GetServerCertificate(ctx, &iam.GetServerCertificateInput{ServerCertificateName: aws.String("nope")})
	wantCode(t, err, "NoSuchEntity")
	if !asErr(err, new(*iamtypes.NoSuchEntityException)) {
		t.Fatalf("NoSuchEntity decoded as %T, want the modeled exception", err)
	}
	_, err = client.DeleteServerCertificate(ctx, &iam.DeleteServerCertificateInput{ServerCertificateName: aws.String("nope")})
	wantCode(t, err, "NoSuchEntity")

	uploadCert(t, c, "web")
	must[*iam.DeleteServerCertificateOutput](t)(client.DeleteServerCertificate(ctx, &iam.DeleteServerCertificateInput{ServerCertificateName: aws.String("web")}))
	_, err = client.GetServerCertificate(ctx, &iam.GetServerCertificateInput{ServerCertificateName: aws.String("web")})
	wantCode(t, err, "NoSuchEntity")
}

func TestIAMListServerCertificates(t *testing.T) {
	t.Parallel()
	c := newFake(t)
	client := iamClient(c)
	tc := newTestCert(t, certOpts{})
	for _, p := range []struct{ name, path string }{{"a", "/"}, {"b", "/team/"}, {"c", "/team/"}} {
		must[*iam.UploadServerCertificateOutput](t)(client.UploadServerCertificate(ctx, &iam.UploadServerCertificateInput{
			ServerCertificateName: aws.String(p.name), Path: aws.String(p.path), CertificateBody: aws.String(string(tc.certPEM)), PrivateKey: aws.String(string(tc.keyPEM))}))
	}
	cases := []struct {
		name      string
		in        iam.ListServerCertificatesInput
		want      []string
		truncated bool
		wantCode  string
	}{
		{name: "all", want: []string{"a", "b", "c"}},
		{name: "path prefix", in: iam.ListServerCertificatesInput{PathPrefix: aws.String("/team")}, want: []string{"b", "c"}},
		{name: "first page", in: iam.ListServerCertificatesInput{MaxItems: aws.Int32(2)}, want: []string{"a", "b"}, truncated: true},
		{name: "MaxItems out of range", in: iam.ListServerCertificatesInput{MaxItems: aws.Int32(0)}, wantCode: "ValidationError"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := client.ListServerCertificates(ctx, &tc.in)
			wantCode(t, err, tc.wantCode)
			if err != nil {
				return
			}
			var got []string
			for _, m := range out.ServerCertificateMetadataList {
				got = append(got, aws.ToString(m.ServerCertificateName))
			}
			if !slices.Equal(got, tc.want) || out.IsTruncated != tc.truncated {
				t.Fatalf("ListServerCertificates = %v truncated=%v, want %v truncated=%v", got, out.IsTruncated, tc.want, tc.truncated)
			}
		})
	}
	var all []string
	for p := iam.NewListServerCertificatesPaginator(client, &iam.ListServerCertificatesInput{MaxItems: aws.Int32(1)}); p.HasMorePages(); {
		for _, m := range must[*iam.ListServerCertificatesOutput](t)(p.NextPage(ctx)).ServerCertificateMetadataList {
			all = append(all, aws.ToString(m.ServerCertificateName))
		}
	}
	if !slices.Equal(all, []string{"a", "b", "c"}) || c.srv.CallCount(NewCall(ServiceIAM, "ListServerCertificates")) != len(cases)+3 {
		t.Fatalf("paginated = %v after %d calls", all, c.srv.CallCount(NewCall(ServiceIAM, "ListServerCertificates")))
	}
}

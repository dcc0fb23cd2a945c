package fakeaws

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	acmtypes "github.com/aws/aws-sdk-go-v2/service/acm/types"

	"github.com/cloudlb/cloudlb/fakecloud/fakecore"
)

var acmARN = regexp.MustCompile(`^arn:aws:acm:us-east-1:123456789012:certificate/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// testCert is a certificate and its key, both PEM-encoded, generated per test.
type testCert struct {
	cert            *x509.Certificate
	key             crypto.Signer
	certPEM, keyPEM []byte
}

// certOpts shapes a test certificate; the zero value is a self-signed ECDSA P-256 leaf
// for example.com, valid from an hour ago for a year.
type certOpts struct {
	cn       string
	rsa      bool
	ca       bool
	notAfter time.Time
	// parent signs the certificate instead of its own key.
	parent *testCert
}

func newTestCert(t *testing.T, o certOpts) testCert {
	t.Helper()
	var key crypto.Signer
	var err error
	if o.rsa {
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	} else {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	if o.cn == "" {
		o.cn = "example.com"
	}
	if o.notAfter.IsZero() {
		o.notAfter = time.Now().Add(365 * 24 * time.Hour)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: o.cn, Organization: []string{"cloudlb tests"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: o.notAfter, DNSNames: []string{o.cn},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: o.ca,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	parent, signer := tmpl, key
	if o.parent != nil {
		parent, signer = o.parent.cert, o.parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
	if err != nil {
		t.Fatalf("create certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("parse certificate: %v", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("marshal key: %v", err)
	}
	return testCert{cert: cert, key: key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
	}
}

// acmClient is an ACM client of the fake, without retries like the others.
func acmClient(c *clients) *acm.Client {
	return acm.NewFromConfig(aws.Config{Region: "us-east-1", RetryMaxAttempts: 1, BaseEndpoint: aws.String(c.url),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDFAKE", "secret", "")})
}

// importCert imports a fresh self-signed certificate into the fake's ACM and returns its
// ARN, for tests that need a TLS listener.
func importCert(t *testing.T, c *clients) string {
	t.Helper()
	tc := newTestCert(t, certOpts{})
	out := must[*acm.ImportCertificateOutput](t)(acmClient(c).ImportCertificate(ctx, &acm.ImportCertificateInput{Certificate: tc.certPEM, PrivateKey: tc.keyPEM}))
	return aws.ToString(out.CertificateArn)
}

func TestACMImportCertificate(t *testing.T) {
	t.Parallel()
	ec := newTestCert(t, certOpts{cn: "ec.example.com"})
	other := newTestCert(t, certOpts{})
	ca := newTestCert(t, certOpts{cn: "ca.example.com", ca: true})
	signed := newTestCert(t, certOpts{cn: "leaf.example.com", parent: &ca})
	expired := newTestCert(t, certOpts{notAfter: time.Now().Add(-time.Minute)})
	cases := []struct {
		name                string
		cert, key, chain    []byte
		wantCode, wantAlg   string
		wantDomain, wantSAN string
	}{
		{name: "self-signed ECDSA", cert: ec.certPEM, key: ec.keyPEM, wantAlg: "EC_prime256v1", wantDomain: "ec.example.com"},
		{name: "signed with its chain", cert: signed.certPEM, key: signed.keyPEM, chain: ca.certPEM, wantAlg: "EC_prime256v1", wantDomain: "leaf.example.com"},
		{name: "key of another certificate", cert: ec.certPEM, key: other.keyPEM, wantCode: "ValidationException"},
		{name: "chain that did not sign it", cert: signed.certPEM, key: signed.keyPEM, chain: other.certPEM, wantCode: "ValidationException"},
		{name: "expired", cert: expired.certPEM, key: expired.keyPEM, wantCode: "ValidationException"},
		{name: "two certificates", cert: append(append([]byte{}, ec.certPEM...), other.certPEM...), key: ec.keyPEM, wantCode: "ValidationException"},
		{name: "not PEM", cert: []byte("not a certificate"), key: ec.keyPEM, wantCode: "ValidationException"},
		{name: "key not PEM", cert: ec.certPEM, key: []byte("not a key"), wantCode: "ValidationException"},
		{name: "key over 5 KB", cert: ec.certPEM, key: bytes.Repeat([]byte("k"), 5121), wantCode: "ValidationException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newFake(t)
			out, err := acmClient(c).ImportCertificate(ctx, &acm.ImportCertificateInput{Certificate: tc.cert, PrivateKey: tc.key, CertificateChain: tc.chain})
			wantCode(t, err, tc.wantCode)
			if tc.wantCode != "" {
				list := must[*acm.ListCertificatesOutput](t)(acmClient(c).ListCertificates(ctx, &acm.ListCertificatesInput{
					Includes: &acmtypes.Filters{KeyTypes: []acmtypes.KeyAlgorithm{acmtypes.KeyAlgorithmEcPrime256v1}}}))
				if n := len(list.CertificateSummaryList); n != 0 {
					t.Fatalf("a refused import left %d certificates", n)
				}
				return
			}
			d := must[*acm.DescribeCertificateOutput](t)(acmClient(c).DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: out.CertificateArn})).Certificate
			if !acmARN.MatchString(aws.ToString(out.CertificateArn)) || aws.ToString(d.CertificateArn) != aws.ToString(out.CertificateArn) ||
				string(d.KeyAlgorithm) != tc.wantAlg || aws.ToString(d.DomainName) != tc.wantDomain || d.Type != acmtypes.CertificateTypeImported ||
				d.Status != acmtypes.CertificateStatusIssued || d.NotAfter == nil || d.ImportedAt == nil || len(d.InUseBy) != 0 {
				t.Fatalf("ImportCertificate = %s, DescribeCertificate = %+v", aws.ToString(out.CertificateArn), d)
			}
			got := must[*acm.GetCertificateOutput](t)(acmClient(c).GetCertificate(ctx, &acm.GetCertificateInput{CertificateArn: out.CertificateArn}))
			if aws.ToString(got.Certificate) != string(tc.cert) || aws.ToString(got.CertificateChain) != string(tc.chain) {
				t.Fatalf("GetCertificate = %q / %q", aws.ToString(got.Certificate), aws.ToString(got.CertificateChain))
			}
		})
	}
}

func TestACMUnknownCertificate(t *testing.T) {
	t.Parallel()
	c := newFake(t)
	client := acmClient(c)
	cases := []struct {
		name, arn, wantCode string
	}{
		{"well-formed but unknown", "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012", "ResourceNotFoundException"},
		{"another account", "arn:aws:acm:us-east-1:210987654321:certificate/12345678-1234-1234-1234-123456789012", "ResourceNotFoundException"},
		{"not a certificate", "arn:aws:acm:us-east-1:123456789012:account/12345678", "InvalidArnException"},
		{"not an ARN", "certificate-one", "ValidationException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: aws.String(tc.arn)})
			wantCode(t, err, tc.wantCode)
			_, err = client.GetCertificate(ctx, &acm.GetCertificateInput{CertificateArn: aws.String(tc.arn)})
			wantCode(t, err, tc.wantCode)
			_, err = client.DeleteCertificate(ctx, &acm.DeleteCertificateInput{CertificateArn: aws.String(tc.arn)})
			wantCode(t, err, tc.wantCode)
		})
	}
	if _, err := client.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: aws.String(cases[0].arn)}); !asErr(err, new(*acmtypes.ResourceNotFoundException)) {
		t.Fatalf("ResourceNotFoundException decoded as %T, want the modeled exception", err)
	}
}

func TestACMListCertificates(t *testing.T) {
	t.Parallel()
	c := newFake(t)
	client := acmClient(c)
	var rsaARNs []string
	for _, cn := range []string{"a.example.com", "b.example.com"} {
		tc := newTestCert(t, certOpts{cn: cn, rsa: true})
		rsaARNs = append(rsaARNs, aws.ToString(must[*acm.ImportCertificateOutput](t)(client.ImportCertificate(ctx, &acm.ImportCertificateInput{Certificate: tc.certPEM, PrivateKey: tc.keyPEM})).CertificateArn))
	}
	ecARN := importCert(t, c)
	cases := []struct {
		name     string
		in       acm.ListCertificatesInput
		want     []string
		wantCode string
	}{
		// Without a keyTypes filter ACM lists only RSA_1024 and RSA_2048 certificates.
		{name: "default filter", want: rsaARNs},
		{name: "EC keys asked for", in: acm.ListCertificatesInput{Includes: &acmtypes.Filters{KeyTypes: []acmtypes.KeyAlgorithm{acmtypes.KeyAlgorithmEcPrime256v1}}}, want: []string{ecARN}},
		{name: "other statuses", in: acm.ListCertificatesInput{CertificateStatuses: []acmtypes.CertificateStatus{acmtypes.CertificateStatusExpired}}},
		{name: "first page", in: acm.ListCertificatesInput{MaxItems: aws.Int32(1)}, want: rsaARNs[:1]},
		{name: "MaxItems out of range", in: acm.ListCertificatesInput{MaxItems: aws.Int32(1001)}, wantCode: "ValidationException"},
		{name: "unknown token", in: acm.ListCertificatesInput{NextToken: aws.String("garbage")}, wantCode: "InvalidArgsException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := client.ListCertificates(ctx, &tc.in)
			wantCode(t, err, tc.wantCode)
			if err != nil {
				return
			}
			var got []string
			for _, s := range out.CertificateSummaryList {
				got = append(got, aws.ToString(s.CertificateArn))
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("ListCertificates = %v, want %v", got, tc.want)
			}
		})
	}
	// The paginator follows NextToken to the end.
	var all []string
	for p := acm.NewListCertificatesPaginator(client, &acm.ListCertificatesInput{MaxItems: aws.Int32(1)}); p.HasMorePages(); {
		for _, s := range must[*acm.ListCertificatesOutput](t)(p.NextPage(ctx)).CertificateSummaryList {
			all = append(all, aws.ToString(s.CertificateArn))
		}
	}
	if !slices.Equal(all, rsaARNs) {
		t.Fatalf("paginated = %v, want %v", all, rsaARNs)
	}
}

// TestACMFaultsAndCalls checks that ACM calls are counted and faulted like the Query APIs,
// with the JSON protocol's codes.
func TestACMFaultsAndCalls(t *testing.T) {
	t.Parallel()
	c := newFake(t)
	client := acmClient(c)
	arn := importCert(t, c)
	c.srv.FailNext(NewCall(ServiceACM, "DescribeCertificate"), 1, &fakecore.APIError{Code: "AccessDeniedException", Status: 403})
	_, err := client.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: aws.String(arn)})
	wantCode(t, err, "AccessDeniedException")
	c.srv.SetFaults(fakecore.Faults{ThrottleRate: 1, Operations: []string{"acm:ListCertificates"}})
	_, err = client.ListCertificates(ctx, &acm.ListCertificatesInput{})
	wantCode(t, err, "ThrottlingException")
	c.srv.SetFaults(fakecore.Faults{})
	must[*acm.DescribeCertificateOutput](t)(client.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: aws.String(arn)}))
	calls := c.srv.Calls()
	if calls[NewCall(ServiceACM, "ImportCertificate")] != 1 || calls[NewCall(ServiceACM, "DescribeCertificate")] != 2 || calls[NewCall(ServiceACM, "ListCertificates")] != 1 {
		t.Fatalf("calls = %v", CallsSummary(calls))
	}
}

package aws_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// certName is the IAM server certificate every env uploads first: its ARN (cert) follows
// from the name, so services built before the env can name it. Like AWS, the fake refuses
// listeners whose certificate does not exist.
const certName = "cloudlb-test"

// uploadCert uploads a self-signed certificate to the env's IAM as certName.
func (e *env) uploadCert(t testing.TB, cfg aws.Config) {
	t.Helper()
	pems, err := testCert()
	if err != nil {
		t.Fatal(err)
	}
	_, err = iam.NewFromConfig(cfg).UploadServerCertificate(ctx, &iam.UploadServerCertificateInput{
		ServerCertificateName: aws.String(certName), CertificateBody: aws.String(pems[0]), PrivateKey: aws.String(pems[1]),
	})
	if err != nil {
		t.Fatalf("upload the test certificate: %v", err)
	}
}

// testCert is one self-signed RSA 2048 certificate (the key type every kind of load
// balancer accepts) and its key, in PEM, made once per test binary.
var testCert = sync.OnceValues(func() ([2]string, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return [2]string{}, err
	}
	host := "shop.example.test"
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return [2]string{}, err
	}
	return [2]string{string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))}, nil
})

package awscontract_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
)

// cert1 and cert2 are the ACM certificates the TLS cases name (the cases rotate listeners
// from one to the other; the clb-tls.yaml example gets cert1). Load balancers refuse an ARN
// that is neither an ACM nor an IAM certificate of the account, on AWS, LocalStack and
// fakeaws alike, so set-up imports them and the cases use the ARNs ACM hands back.
var cert1, cert2 string

// importCertificates imports cert1 and cert2 into ACM. They are never deleted: nothing of
// the suite's cluster is left behind by them, and ACM bills nothing for imports.
func importCertificates(ctx context.Context, cfg aws.Config) error {
	client := acm.NewFromConfig(cfg)
	for _, dst := range []*string{&cert1, &cert2} {
		certPEM, keyPEM, err := selfSigned("awscontract.example.com")
		if err != nil {
			return err
		}
		out, err := client.ImportCertificate(ctx, &acm.ImportCertificateInput{Certificate: certPEM, PrivateKey: keyPEM})
		if err != nil {
			return fmt.Errorf("import a test certificate into ACM: %w", err)
		}
		*dst = aws.ToString(out.CertificateArn)
	}
	return nil
}

// selfSigned returns a PEM certificate and PKCS#8 key for name, valid for a day. RSA 2048:
// the key every load balancer type takes, and the one ListCertificates shows by default.
func selfSigned(name string) (certPEM, keyPEM []byte, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, fmt.Errorf("generate a test key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, fmt.Errorf("draw a serial number: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: name, Organization: []string{"cloudlb awscontract"}},
		DNSNames: []string{name}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("sign a test certificate: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encode a test key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), nil
}

package fakeaws

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// Certificates that TLS listeners reference live in ACM (acm.go) or in IAM as server
// certificates (iam.go). They share one store so that Classic ELB and ELBv2 can refuse an
// ARN neither service holds, and so that ACM and IAM can refuse to delete a certificate a
// listener still uses, as AWS does.

// certStore holds the certificates of both services.
type certStore struct {
	// acm is keyed by certificate ARN.
	acm *table[acmCert]
	// iam is keyed by server certificate name, unique per account whatever the path.
	iam *table[iamCert]
}

func newCertStore() *certStore {
	return &certStore{acm: newTable[acmCert](), iam: newTable[iamCert]()}
}

// rawBody is a response the handler encoded itself: ACM answers JSON, and IAM's XML
// carries its own namespace, so dispatch passes these bytes through untouched.
type rawBody []byte

// certificateExists reports whether arn names an ACM certificate or an IAM server
// certificate the fake holds.
func (s *Server) certificateExists(arn string) bool {
	if _, ok := s.certs.acm.get(arn); ok {
		return true
	}
	for _, c := range s.certs.iam.list() {
		if deref(c.meta.Arn) == arn {
			return true
		}
	}
	return false
}

// checkCertificates answers CertificateNotFound (HTTP 400, the code Classic ELB and ELBv2
// both document for CreateLoadBalancer, CreateLoadBalancerListeners, CreateListener and
// ModifyListener) for the first ARN that is neither an ACM nor an IAM certificate.
func (s *Server) checkCertificates(arns ...string) error {
	for _, arn := range arns {
		if !s.certificateExists(arn) {
			return bad("CertificateNotFound", "The specified ARN does not refer to a valid SSL certificate in AWS Identity and Access Management (IAM) or AWS Certificate Manager (ACM): %s", arn)
		}
	}
	return nil
}

// certUsers lists, sorted, the load balancers whose listeners use the certificate: ACM
// reports them as InUseBy and both services refuse to delete a certificate in use.
func (s *Server) certUsers(arn string) []string {
	seen := map[string]bool{}
	for _, lb := range s.elb.lbs.list() {
		for _, ld := range lb.desc.ListenerDescriptions {
			if ld.Listener != nil && deref(ld.Listener.SSLCertificateId) == arn {
				seen[fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:loadbalancer/%s", s.opts.Region, s.opts.AccountID, deref(lb.desc.LoadBalancerName))] = true
			}
		}
	}
	for _, l := range s.elbv2.listeners.list() {
		for _, c := range l.Certificates {
			if deref(c.CertificateArn) == arn {
				seen[deref(l.LoadBalancerArn)] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for u := range seen {
		out = append(out, u)
	}
	sort.Strings(out)
	return out
}

// parseCertificates decodes every CERTIFICATE block of a PEM bundle; anything else in it
// (another block type, trailing garbage) is an error.
func parseCertificates(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %q is not a CERTIFICATE", block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse certificate: %w", err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM-encoded certificate found")
	}
	if strings.TrimSpace(string(rest)) != "" {
		return nil, errors.New("unexpected data after the last PEM block")
	}
	return out, nil
}

// errEncryptedKey marks a passphrase-protected private key, which neither ACM nor IAM
// accepts.
var errEncryptedKey = errors.New("the private key is encrypted")

// parsePrivateKey decodes one unencrypted PEM private key: PKCS#1 RSA, SEC 1 EC or PKCS#8.
func parsePrivateKey(data []byte) (crypto.Signer, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM-encoded private key found")
	}
	if strings.TrimSpace(string(rest)) != "" {
		return nil, errors.New("unexpected data after the private key")
	}
	if block.Type == "ENCRYPTED PRIVATE KEY" || block.Headers["Proc-Type"] != "" {
		return nil, errEncryptedKey
	}
	var key any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block %q is not a private key", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported private key type %T", key)
	}
	return signer, nil
}

// keyMatches reports whether key is the private half of the certificate's public key.
func keyMatches(cert *x509.Certificate, key crypto.Signer) bool {
	pub, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(key.Public())
}

// chainCertifies reports whether each certificate of the chain signed the one before it,
// starting with the leaf: the rule ACM's import documentation states for chains.
func chainCertifies(leaf *x509.Certificate, chain []*x509.Certificate) bool {
	prev := leaf
	for _, c := range chain {
		if prev.CheckSignatureFrom(c) != nil {
			return false
		}
		prev = c
	}
	return true
}

// replyCerts writes a response of the services whose wire format differs from the ELB
// Query envelope: ACM's JSON and IAM's XML namespace.
func replyCerts(w http.ResponseWriter, req *request, body []byte, err error) {
	if req.service == ServiceACM {
		writeJSONReply(w, req.id, body, err)
		return
	}
	writeIAMReply(w, req.id, body, err)
}
